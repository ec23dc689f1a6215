"""appearance_style: CLIP ViT-B/32 image-text similarity with the style phrase, per frame.

* model: OpenAI CLIP ViT-B/32, image and text towers (``clip_model/ViT-B-32.pt``)
* text: ``auxiliary_info.appearance_style`` (e.g. "oil painting"), CLIP BPE, 77 tokens; its
  features are computed once per prompt
* frames: L1 every frame, uint8, PIL per frame (T-clip-pil: antialiased bicubic short side 224,
  crop 224); frames are batched (the official loop feeds one at a time)
* per frame: ``exp(logit_scale) * <img, txt> / 100`` on normalised features; per video:
  ``video_results = mean``, ``frame_results`` = the list, ``cur_sim`` = the last frame's score
* unit: frame (dimension score = sum of all frame scores / number of frames)
* reproduces: ``vbench/appearance_style.py`` of vbench 0.1.5 (single-process aggregation; the
  official multi-GPU path averages only each video's last frame, a bug we do not copy)
"""

from __future__ import annotations

import numpy as np

from ..clip_transforms import clip_pil
from ..scoring import VideoScore
from ..video import load_video
from . import auxiliary

BATCH = 32


def text_features(model, text: str, runtime):
    """Normalised text features of ``text``, cached per process."""
    import open_clip
    import torch

    cache = runtime.memo.setdefault("clip_b32_text", {})
    if text not in cache:
        with torch.no_grad():
            tokens = open_clip.tokenize([text]).to(runtime.device)
            feats = model.encode_text(tokens)
            cache[text] = feats / feats.norm(dim=-1, keepdim=True)
    return cache[text]


def frame_scores(model, frames, text_feats, device: str) -> list[float]:
    """The official per-frame scores: ``float(logit_scale.exp() * img @ txt) / 100``."""
    import torch

    out: list[float] = []
    dtype = model.visual.conv1.weight.dtype
    with torch.no_grad():
        for i in range(0, len(frames), BATCH):
            img = model.encode_image(clip_pil(frames[i:i + BATCH]).to(device, dtype))
            img = img / img.norm(dim=-1, keepdim=True)
            logits = (model.logit_scale.exp() * img) @ text_feats.t()
            out += [float(v) / 100 for v in logits[:, 0].cpu()]
    return out


def score_video(video, case, runtime) -> VideoScore:
    """Score one video."""
    style = auxiliary.field(case, "appearance_style", auxiliary.text)
    model = runtime.model("clip_b32")
    frames = runtime.decoded(video.path, "decord", lambda: load_video(video.path))
    scores = frame_scores(model, frames, text_features(model, style, runtime), runtime.device)
    record = {"video_results": float(np.mean(scores)), "frame_results": scores, "cur_sim": scores[-1]}
    return VideoScore(sum(scores), len(scores), record)
