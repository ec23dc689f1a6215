"""Progress: the status line's counts, rate and per-dimension ETA (xdist workers), per-video lines."""

from __future__ import annotations

from pathlib import Path

from pytest_vbench.progress import Progress, video_lines
from pytest_vbench.suite import Case, VideoRef


def _case(dim: str, prompt: str, n: int) -> Case:
    return Case(dim, prompt, 0, None, [VideoRef(Path(f"{prompt}-{i}.mp4"), i) for i in range(n)])


def _result(dim: str, prompt: str, seconds: list[float], failed: int = 0) -> dict:
    return {"dimension": dim, "prompt": prompt,
            "videos": [{"video": f"{prompt}-{i}.mp4", "seconds": s} for i, s in enumerate(seconds)],
            "errors": [{"video": f"{prompt}-x{i}.mp4", "error": "bad"} for i in range(failed)]}


def test_status_counts_rate_and_eta_per_dimension():
    cases = [_case("dynamic_degree", p, 5) for p in "abcd"] + [_case("temporal_flickering", p, 5) for p in "ab"]
    progress = Progress.for_cases(cases, workers=2)
    progress.started = 100.0
    progress.add(_result("dynamic_degree", "a", [2.0] * 5))
    # dynamic_degree: 15 videos left at 2 s each over 2 workers = 15 s; temporal_flickering not started yet
    assert progress.status(now=110.0) == ("vbench: 1/6 items, 5/30 videos, 0.50 videos/s, "
                                          "ETA dynamic_degree 15s, temporal_flickering ?")
    for p in "bcd":
        progress.add(_result("dynamic_degree", p, [2.0] * 4, failed=1))
    progress.add(_result("temporal_flickering", "a", [60.0] * 5))
    assert progress.status(now=200.0) == ("vbench: 5/6 items, 25/30 videos, 0.25 videos/s, "
                                          "ETA temporal_flickering 2m30s")


def test_one_line_per_video_with_seconds():
    assert video_lines(_result("scene", "p", [0.5, 1.25], failed=1)) == [
        "    p-0.mp4  0.50s", "    p-1.mp4  1.25s", "    p-x0.mp4  FAILED"]
