"""Write the synthetic videos of the motion parity checks (committed, small).

    python tools/make_motion_videos.py tests/parity/videos/motion
"""

from __future__ import annotations

import sys
from pathlib import Path

import cv2
import numpy as np


def canvas(h: int, w: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    base = cv2.resize(rng.integers(0, 256, (max(h // 16, 2), max(w // 16, 2), 3), dtype=np.uint8), (w, h),
                      interpolation=cv2.INTER_CUBIC)
    return base


def shapes(t: int, h: int, w: int, seed: int, speed: int) -> np.ndarray:
    img = canvas(h, w, seed).copy()
    cv2.circle(img, ((w // 4 + speed * t) % w, h // 2), max(h // 6, 3), (255, 255, 255), -1)
    cv2.rectangle(img, (w // 2, (h // 4 + speed * t) % h), (w // 2 + w // 6, (h // 4 + speed * t) % h + h // 6),
                  (0, 0, 255), -1)
    return img


def write(path: Path, frames, fps: float) -> None:
    h, w = frames[0].shape[:2]
    vw = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (w, h))
    assert vw.isOpened(), path
    for f in frames:
        vw.write(f)
    vw.release()


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    # RAFT needs >= 128 px per side (padded): below, its coarsest correlation level has a side of 1
    # and the official code silently produces NaN scores (small-0.mp4 keeps that case)
    write(out / "shapes8fps-0.mp4", [shapes(t, 128, 160, 1, 6) for t in range(10)], 8)
    write(out / "static16fps-0.mp4", [canvas(128, 176, 2)] * 12, 16)
    pan = canvas(128, 512, 3)
    write(out / "pan24fps-0.mp4", [pan[:, 4 * t:4 * t + 160] for t in range(19)], 24)
    write(out / "shapes30fps-0.mp4", [shapes(t, 130, 198, 4, 2) for t in range(21)], 30)
    write(out / "odd130x170-0.mp4", [shapes(t, 130, 170, 5, 4) for t in range(6)], 8)
    write(out / "big256-0.mp4", [shapes(t, 256, 320, 6, 1) for t in range(4)], 8)
    write(out / "small-0.mp4", [shapes(t, 96, 128, 8, 3) for t in range(4)], 8)
    for n in (1, 2, 3):
        write(out / f"short{n}-0.mp4", [shapes(t, 128, 160, 7, 5) for t in range(n)], 8)
    print(f"wrote videos to {out}")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
