"""Write the candidate videos of the static-filter parity check (committed, small).

    python tools/make_static_filter_videos.py tests/parity/videos/static_filter

Two temporal_flickering prompts: 12 candidates (indices 0..11, so that ``-10`` sorts before ``-2``)
mixing still, slowly and fast moving content, and 3 candidates (fewer than 5 survive).
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from make_motion_videos import canvas, shapes, write  # noqa: E402

PROMPT_A = "In a still frame, a stop sign"
PROMPT_B = "a toilet, frozen in time"


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for i in range(12):
        kind = i % 3
        if kind == 0:
            frames = [canvas(128, 128, 100 + i)] * 5
        elif kind == 1:
            frames = [shapes(t, 128, 128, 100 + i, 1) for t in range(5)]
        else:
            frames = [shapes(t, 128, 128, 100 + i, 12) for t in range(5)]
        write(out / f"{PROMPT_A}-{i}.mp4", frames, 8)
    for i in range(3):
        frames = [canvas(128, 136, 200 + i)] * 4 if i != 1 else [shapes(t, 128, 136, 200 + i, 20) for t in range(4)]
        write(out / f"{PROMPT_B}-{i}.mp4", frames, 16)
    print(f"wrote videos to {out}")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
