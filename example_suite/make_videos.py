"""Generate the example suite: tiny procedural videos named after real VBench prompts.

Run ``python example_suite/make_videos.py`` to (re)create ``example_suite/videos/``. The videos are
deterministic (seeded), 64x64, 16 frames at 8 fps, written with OpenCV's mp4v codec.
"""

from __future__ import annotations

import sys
from pathlib import Path

import cv2
import numpy as np

HERE = Path(__file__).resolve().parent
# (prompt from VBench_full_info.json, kind of motion)
PROMPTS = [
    ("In a still frame, a stop sign", "still"),
    ("a toilet, frozen in time", "flicker"),
    ("a laptop, frozen in time", "drift"),
]


def frames(kind: str, seed: int, n: int = 16, size: int = 64) -> list[np.ndarray]:
    """BGR uint8 frames of one synthetic video."""
    rng = np.random.default_rng(seed)
    base = rng.integers(0, 256, size=(size // 8, size // 8, 3), dtype=np.uint8)
    base = cv2.resize(base, (size, size), interpolation=cv2.INTER_CUBIC)
    out = []
    for t in range(n):
        img = base.astype(np.int16)
        if kind == "flicker":
            img = img + int(rng.integers(-25, 26))
        elif kind == "drift":
            img = np.roll(img, t, axis=1)
        else:
            img = img + rng.integers(-2, 3, size=img.shape)
        out.append(np.clip(img, 0, 255).astype(np.uint8))
    return out


def write(path: Path, imgs: list[np.ndarray], fps: float = 8.0) -> None:
    """Write frames as an mp4 file."""
    h, w = imgs[0].shape[:2]
    vw = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (w, h))
    for img in imgs:
        vw.write(img)
    vw.release()


def main(out: Path = HERE / "videos") -> None:
    out.mkdir(parents=True, exist_ok=True)
    for p, (prompt, kind) in enumerate(PROMPTS):
        for i in range(5):
            write(out / f"{prompt}-{i}.mp4", frames(kind, seed=100 * p + i))
    print(f"wrote {5 * len(PROMPTS)} videos to {out}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE / "videos")
