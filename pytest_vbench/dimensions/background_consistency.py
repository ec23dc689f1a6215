"""background_consistency: CLIP ViT-B/32 similarity of each frame to the previous and the first.

* model: OpenAI CLIP ViT-B/32 image encoder (``clip_model/ViT-B-32.pt``); fp32 on CPU, the OpenAI
  fp16 layout on CUDA (as the official ``clip.load``)
* frames: L1, every frame, T-clip-f (bicubic short side 224 on float, no antialias, crop 224)
* per pair i >= 1: ``(max(0, cos(f_{i-1}, f_i)) + max(0, cos(f_0, f_i))) / 2`` on L2-normalised
  features; ``video_sim = sum``, ``cnt_per_video = T - 1``, ``video_results = video_sim / (T - 1)``
* unit: pair (dimension score = sum of video_sim / sum of cnt_per_video)
* reproduces: ``vbench/background_consistency.py`` of vbench 0.1.5

A one-frame video (a .png) divides by zero in the official code; here it fails its item with a
message, and the other videos still count.
"""

from __future__ import annotations

from ..clip_transforms import clip_float
from ..scoring import VideoScore
from ..video import VideoError, check_resize, load_video

BATCH = 32


def encode(model, images, device: str):
    """L2-normalised image features, in batches, in the model's dtype."""
    import torch
    import torch.nn.functional as F

    dtype = model.visual.conv1.weight.dtype
    feats = []
    with torch.no_grad():
        for i in range(0, len(images), BATCH):
            feats.append(model.encode_image(images[i:i + BATCH].to(device, dtype)))
    return F.normalize(torch.cat(feats), dim=-1, p=2)


def pair_scores(feats) -> list[float]:
    """The official per-pair scores from normalised features (cosines as Python floats)."""
    import torch.nn.functional as F

    prev = F.cosine_similarity(feats[:-1], feats[1:]).tolist()
    first = F.cosine_similarity(feats[:1].expand_as(feats[1:]), feats[1:]).tolist()
    return [(max(0.0, p) + max(0.0, f)) / 2 for p, f in zip(prev, first)]


def pair_total(feats) -> tuple[float, int]:
    """``(video_sim, cnt_per_video)``: the per-pair scores added in order (as the official loop), the pair count.

    The pair statistics of background_consistency and subject_consistency.
    """
    video_sim = 0.0
    for s in pair_scores(feats):
        video_sim += s
    return video_sim, len(feats) - 1


def consistency(feats) -> VideoScore:
    """Pair-unit statistics and the official record from per-frame features."""
    video_sim, n = pair_total(feats)
    return VideoScore(video_sim, n, {"video_results": video_sim / n, "video_sim": video_sim, "cnt_per_video": n})


def pair_frames(video, runtime, dimension: str):
    """Every frame of ``video`` (the L1 decord reader, shared with the other decord dimensions); a video of
    fewer than 2 frames fails with a message (the official code divides by zero there)."""
    frames = runtime.decoded(video.path, "decord", lambda: load_video(video.path))
    if len(frames) < 2:
        raise VideoError(f"{video.path}: has {len(frames)} frame; {dimension} compares frame pairs "
                         f"and needs at least 2 (the official code divides by zero here)")
    return frames


def score_video(video, case, runtime) -> VideoScore:
    """Score one video."""
    frames = pair_frames(video, runtime, "background_consistency")
    check_resize(video.path, frames.shape[1], frames.shape[2], 224, "the CLIP transform")
    return consistency(encode(runtime.model("clip_b32"), clip_float(frames), runtime.device))
