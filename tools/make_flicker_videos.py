"""Write the synthetic videos of the temporal_flickering parity check (committed, a few KB each).

    python tools/make_flicker_videos.py tests/parity/videos/temporal_flickering

Deterministic content, but encoder output may differ between OpenCV builds, so the files that
produced tests/parity/temporal_flickering.json are committed rather than regenerated in CI.
"""

from __future__ import annotations

import sys
from pathlib import Path

import cv2
import numpy as np


def write(path: Path, frames, fps: float = 8.0) -> None:
    h, w = frames[0].shape[:2]
    vw = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (w, h))
    assert vw.isOpened(), path
    for f in frames:
        vw.write(np.ascontiguousarray(f))
    vw.release()


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(2024)
    base = cv2.resize(rng.integers(0, 256, (6, 8, 3), dtype=np.uint8), (64, 48), interpolation=cv2.INTER_CUBIC)
    noisy = [np.clip(base.astype(int) + rng.integers(-12, 13, base.shape), 0, 255).astype(np.uint8) for _ in range(16)]
    write(out / "noise16-0.mp4", noisy)
    write(out / "static16-0.mp4", [base] * 16)
    flick = [np.clip(base.astype(int) + (40 if t % 2 else -40), 0, 255).astype(np.uint8) for t in range(33)]
    write(out / "flicker33-0.mp4", flick)
    pan = [np.roll(cv2.resize(base, (128, 96)), 3 * t, axis=1) for t in range(24)]
    write(out / "pan24-0.mp4", pan, fps=24)
    write(out / "two-0.mp4", noisy[:2])
    print(f"wrote 5 videos to {out}")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
