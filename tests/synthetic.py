"""Deterministic synthetic videos for tests (OpenCV, mp4v)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np


def noise_frames(seed: int, n: int = 16, h: int = 48, w: int = 64, amplitude: int = 8) -> list[np.ndarray]:
    """A smooth random background with per-frame noise of the given amplitude (BGR uint8)."""
    rng = np.random.default_rng(seed)
    base = cv2.resize(rng.integers(0, 256, (h // 8, w // 8, 3), dtype=np.uint8), (w, h),
                      interpolation=cv2.INTER_CUBIC).astype(np.int16)
    return [np.clip(base + rng.integers(-amplitude, amplitude + 1, base.shape), 0, 255).astype(np.uint8)
            for _ in range(n)]


def write_video(path: Path, frames: list[np.ndarray], fps: float = 8.0, fourcc: str = "mp4v") -> Path:
    """Write BGR frames to ``path``."""
    h, w = frames[0].shape[:2]
    vw = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), fps, (w, h))
    assert vw.isOpened(), f"cannot open a {fourcc} writer for {path}"
    for f in frames:
        vw.write(f)
    vw.release()
    return path


def write_large_png(path: Path, height: int = 600, width: int = 840) -> Path:
    """A deterministic lossless frame whose SHORTER side is above 512 too, so every imaging_quality
    preprocessing mode resizes it (longer: 365x512; shorter: 512x716; shorter_centercrop: 512x512)."""
    from PIL import Image

    y, x = np.mgrid[0:height, 0:width].astype(np.float64)
    img = np.stack([128 + 100 * np.sin(x / 23.0 + y / 41.0), 128 + 90 * np.cos(x / 17.0 - y / 29.0),
                    (x * 7 + y * 3) % 256], axis=-1)
    img[(x // 60 + y // 60) % 2 == 0] *= 0.6  # sharp edges for the resampling to act on
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.clip(img, 0, 255).astype(np.uint8)).save(path)
    return path
