"""subject_consistency: DINO ViT-B/16 similarity of each frame to the previous and the first.

* model: DINO ViT-B/16 (``dino_model/dino_vitbase16_pretrain.pth``), fp32
* frames: L1 every frame, float32 0..255 -> T-dino: short side 224 bilinear without antialias or
  rounding, **no crop** (aspect ratio kept), /255, ImageNet normalisation
* per pair i >= 1: ``(max(0, cos(f_{i-1}, f_i)) + max(0, cos(f_0, f_i))) / 2`` on L2-normalised
  class-token features; ``video_results = sum / (T - 1)``
* unit: pair (dimension score = sum of pair scores / number of pairs over all videos)
* frames go through the model one at a time on CPU (as officially; measured fastest there) and in
  batches of 8 on accelerators (same numbers to ~1e-7)
* reproduces: ``vbench/subject_consistency.py`` of vbench 0.1.5 (single-process aggregation; the
  official multi-GPU path averages per-video values instead)

A one-frame video divides by zero officially; here it fails its item with a message.
"""

from __future__ import annotations

from ..scoring import VideoScore
from ..video import check_resize
from .background_consistency import pair_frames, pair_total

#: frames per DINO forward pass: one on CPU (measured 7.4 s vs 8.0 s for 8 frames of 224x358 at batch
#: 8, one thread), 8 on accelerators
BATCH = {"cpu": 1}
ACCELERATOR_BATCH = 8
MEAN, STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)


def preprocess(frames):
    """uint8 ``(T, H, W, 3)`` -> float ``(T, 3, 224, W')`` (T-dino)."""
    import torch
    from torchvision import transforms as T

    pipe = T.Compose([T.Resize(size=224, antialias=False), T.Lambda(lambda x: x.float().div(255.0)),
                      T.Normalize(MEAN, STD)])
    return torch.cat([pipe(torch.from_numpy(frames[i:i + 16]).permute(0, 3, 1, 2).float())
                      for i in range(0, len(frames), 16)])


def encode(model, images, device: str):
    """L2-normalised DINO features, in batches."""
    import torch
    import torch.nn.functional as F

    from ..models.dino import features

    out = []
    batch = BATCH.get(device.split(":")[0], ACCELERATOR_BATCH)
    with torch.no_grad():
        for i in range(0, len(images), batch):
            out.append(features(model, images[i:i + batch].to(device)))
    return F.normalize(torch.cat(out), dim=-1, p=2)


def score_video(video, case, runtime) -> VideoScore:
    """Score one video."""
    frames = pair_frames(video, runtime, "subject_consistency")
    check_resize(video.path, frames.shape[1], frames.shape[2], 224, "the DINO transform")
    video_sim, n = pair_total(encode(runtime.model("dino"), preprocess(frames), runtime.device))
    return VideoScore(video_sim, n, {"video_results": video_sim / n})
