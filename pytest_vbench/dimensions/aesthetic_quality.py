"""aesthetic_quality: the LAION aesthetic predictor on CLIP ViT-L/14 image features.

* model: OpenAI CLIP ViT-L/14 (``clip_model/ViT-L-14.pt``; fp32 on CPU, OpenAI fp16 layout on
  CUDA) and ``Linear(768, 1)`` (``aesthetic_model/emb_reader/sa_0_4_vit_l_14_linear.pth``), fp32
* frames: L1, every frame, chunks of 32 through T-clip-f
* per frame: ``head(normalize(float32(feature))) / 10``; per video: float32 mean over frames
* unit: video (dimension score = mean over videos)
* reproduces: ``vbench/aesthetic_quality.py`` of vbench 0.1.5
"""

from __future__ import annotations

from ..clip_transforms import clip_float
from ..scoring import VideoScore
from ..video import load_video

BATCH = 32


def aesthetic_scores(clip_model, head, frames, device: str):
    """Per-frame aesthetic scores / 10 (a float32 tensor), 32 frames at a time as the official code."""
    import torch
    import torch.nn.functional as F

    dtype = clip_model.visual.conv1.weight.dtype
    out = []
    with torch.no_grad():
        for i in range(0, len(frames), BATCH):
            images = clip_float(frames[i:i + BATCH]).to(device, dtype)
            feats = F.normalize(clip_model.encode_image(images).to(torch.float32), dim=-1, p=2)
            out.append(head(feats).squeeze(dim=-1))
    return torch.cat(out) / 10


def score_video(video, case, runtime) -> VideoScore:
    """Score one video."""
    import torch

    frames = runtime.decoded(video.path, "decord", lambda: load_video(video.path))
    scores = aesthetic_scores(runtime.model("clip_l14"), runtime.model("aesthetic"), frames, runtime.device)
    value = torch.mean(scores, dim=0, keepdim=True).item()
    return VideoScore(value, 1, {"video_results": value})
