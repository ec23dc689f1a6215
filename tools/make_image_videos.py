"""Write the synthetic inputs of the image-feature parity checks (committed: a few KB to ~100 KB each).

    python tools/make_image_videos.py tests/parity/videos/image

Smooth moving gradients with a few shapes (they compress well), in the shapes the transforms care
about: non-square 320x512 (HxW), longer side > 512 (the imaging_quality resize), 16 and 33 frames,
a .gif, a .png, and a 1-frame video.
"""

from __future__ import annotations

import sys
from pathlib import Path

import cv2
import numpy as np
from PIL import Image


def scene(t: int, h: int, w: int, seed: int) -> np.ndarray:
    """One RGB uint8 frame: a gradient background and two moving discs."""
    rng = np.random.default_rng(seed)
    c1, c2 = rng.integers(0, 256, 3), rng.integers(0, 256, 3)
    y, x = np.mgrid[0:h, 0:w]
    a = ((x + 3 * t) % w) / max(w - 1, 1)
    img = (c1[None, None, :] * (1 - a[..., None]) + c2[None, None, :] * a[..., None])
    for k in range(2):
        cy, cx = h * (0.3 + 0.4 * k), (w * (0.2 + 0.3 * k) + 5 * t * (1 + k)) % w
        r = min(h, w) * (0.12 + 0.05 * k)
        img[(y - cy) ** 2 + (x - cx) ** 2 < r * r] = rng.integers(0, 256, 3)
    return img.astype(np.uint8)


def write_mp4(path: Path, frames: list[np.ndarray], fps: float = 8.0) -> None:
    h, w = frames[0].shape[:2]
    vw = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (w, h))
    assert vw.isOpened(), path
    for f in frames:
        vw.write(cv2.cvtColor(f, cv2.COLOR_RGB2BGR))
    vw.release()


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    write_mp4(out / "wide320x512-0.mp4", [scene(t, 320, 512, 1) for t in range(16)])
    write_mp4(out / "large360x640-0.mp4", [scene(t, 360, 640, 2) for t in range(16)])
    write_mp4(out / "long33-0.mp4", [scene(t, 240, 320, 3) for t in range(33)])
    write_mp4(out / "single-0.mp4", [scene(0, 240, 320, 4)])
    write_mp4(out / "big3-0.mp4", [scene(t, 216, 528, 7) for t in range(3)])  # longer side > 512, 3 frames
    gif = [Image.fromarray(scene(t, 96, 128, 5)) for t in range(8)]
    gif[0].save(out / "anim-0.gif", save_all=True, append_images=gif[1:], duration=125, loop=0)
    Image.fromarray(scene(0, 120, 160, 6)).save(out / "still-0.png")
    print(f"wrote 7 inputs to {out}")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
