"""The CLIP image transforms of the official code (spec 2.6), on torchvision.

* :func:`clip_float` (T-clip-f; background_consistency, aesthetic_quality): decoded uint8 frames
  are turned into float32 0..255 (the official ``torch.Tensor(array)``), resized so the short side is
  224 with bicubic interpolation and **no** antialias, no clamping or rounding, center-cropped to 224,
  divided by 255 and normalised. Done in chunks of frames: per-image ops, so the result is the same
  as the official whole-video call, without a float copy of the whole video in memory.
* :func:`clip_pil` (T-clip-pil; appearance_style): PIL bicubic resize (PIL always antialiases),
  center crop, ``ToTensor``, normalise.
"""

from __future__ import annotations

import numpy as np

MEAN = (0.48145466, 0.4578275, 0.40821073)
STD = (0.26862954, 0.26130258, 0.27577711)
CHUNK = 16


def _float_pipeline(n_px: int = 224):
    from torchvision import transforms as T

    return T.Compose([T.Resize(n_px, interpolation=T.InterpolationMode.BICUBIC, antialias=False),
                      T.CenterCrop(n_px), T.Lambda(lambda x: x.float().div(255.0)), T.Normalize(MEAN, STD)])


def clip_float(frames: np.ndarray, n_px: int = 224):
    """uint8 ``(T, H, W, 3)`` -> float ``(T, 3, n_px, n_px)`` as the official ``clip_transform``."""
    import torch

    from .video import check_resize

    check_resize(None, frames.shape[1], frames.shape[2], n_px, "the CLIP transform")
    pipe = _float_pipeline(n_px)
    out = [pipe(torch.from_numpy(frames[i:i + CHUNK]).permute(0, 3, 1, 2).float())
           for i in range(0, len(frames), CHUNK)]
    return torch.cat(out)


def clip_pil(frames: np.ndarray, n_px: int = 224):
    """uint8 ``(T, H, W, 3)`` -> float ``(T, 3, n_px, n_px)`` as the official ``clip_transform_Image``."""
    import torch
    from PIL import Image
    from torchvision import transforms as T

    from .video import check_resize

    check_resize(None, frames.shape[1], frames.shape[2], n_px, "the CLIP transform")
    pipe = T.Compose([T.Resize(n_px, interpolation=T.InterpolationMode.BICUBIC), T.CenterCrop(n_px),
                      T.ToTensor(), T.Normalize(MEAN, STD)])
    return torch.stack([pipe(Image.fromarray(f)) for f in frames])
