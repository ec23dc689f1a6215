"""imaging_quality: MUSIQ (SPAQ) technical quality of every frame.

* model: pyiqa MUSIQ arch, ``pyiqa_model/musiq_spaq_ckpt-358bb6af.pth``; fp32
* frames: L1 (decord mp4 / PIL gif,png), every frame, uint8 -> float32 without rounding
* transform (mode ``longer``, the official default): if max(H, W) > 512, resize to
  ``(int(s*H), int(s*W))`` with ``s = 512/max(H, W)``, bilinear, no antialias, on float; then /255.
  Modes ``shorter``, ``shorter_centercrop`` and ``None`` via ``imaging_quality_preprocessing_mode``.
* per video: mean over frames of the MUSIQ score (0-100 scale); one frame per forward pass on CPU
  (fastest there), batches on accelerators (same numbers to ~1e-6)
* unit: video; dimension score = mean over videos / 100
* reproduces: ``vbench/imaging_quality.py`` of vbench 0.1.5
"""

from __future__ import annotations

from ..scoring import VideoScore
from ..video import VideoError, load_video

#: frames per forward pass. On CPU one frame at a time is fastest (measured: 16 frames of 320x512,
#: batch 1: 12.3 s, batch 8: 16.5 s, one thread); on accelerators larger batches pay off.
BATCH = {"cpu": 1}
DEFAULT_ACCELERATOR_BATCH = 16
MODES = ("longer", "shorter", "shorter_centercrop", "None")
CHUNK = 16  # frames converted to float and preprocessed at a time


def preprocess(frames, mode: str = "longer"):
    """uint8 ``(T, H, W, 3)`` -> float ``(T, 3, H', W')`` in [0, 1] as the official ``transform``."""
    import torch
    from torchvision import transforms

    images = torch.from_numpy(frames).permute(0, 3, 1, 2).float()
    if mode not in MODES:
        raise ValueError(f"imaging_quality_preprocessing_mode must be one of {MODES}, got {mode!r}")
    _, _, h, w = images.shape
    if mode.startswith("shorter") and min(h, w) > 512:
        s = 512.0 / min(h, w)
        images = transforms.Resize(size=(int(s * h), int(s * w)), antialias=False)(images)
        if mode == "shorter_centercrop":
            images = transforms.CenterCrop(512)(images)
    elif mode == "longer" and max(h, w) > 512:
        s = 512.0 / max(h, w)
        images = transforms.Resize(size=(int(s * h), int(s * w)), antialias=False)(images)
    return images / 255.0


def frame_scores(model, images, device: str) -> list[float]:
    """MUSIQ score per frame, in batches."""
    import torch

    out: list[float] = []
    batch = BATCH.get(device.split(":")[0], DEFAULT_ACCELERATOR_BATCH)
    with torch.no_grad():
        for start in range(0, len(images), batch):
            scores = model(images[start:start + batch].to(device))
            out += [float(s) for s in scores.reshape(-1)]
    return out


def score_video(video, case, runtime) -> VideoScore:
    """Score one video."""
    frames = runtime.decoded(video.path, "decord", lambda: load_video(video.path))
    if len(frames) == 0:
        raise VideoError(f"{video.path}: no frame")
    mode = runtime.options.get("imaging_quality_preprocessing_mode", "longer")
    model = runtime.model("musiq")
    scores: list[float] = []
    # float32 copies of CHUNK frames at a time (every step is per frame, so chunking changes no number):
    # a 720p 81-frame video would otherwise hold ~0.9 GB of float frames before the resize
    for start in range(0, len(frames), CHUNK):
        scores += frame_scores(model, preprocess(frames[start:start + CHUNK], mode), runtime.device)
    value = sum(scores) / len(scores)
    return VideoScore(value, 1, {"video_results": value})
