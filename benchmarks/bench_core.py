"""Core benchmarks: temporal_flickering seconds per video, and the plugin's overhead per item.

    python benchmarks/bench_core.py            # prints figures; nothing is asserted

1. temporal_flickering on synthetic videos (16 frames 320x512, and 81 frames 1280x720) with
   OpenCV decoding: seconds per video and peak RSS growth (frames are streamed pair by pair).
2. The plugin's own overhead: the full standard suite (1362 items, all 16 dimensions) is collected,
   run with instant fake results and summarised, and compared with plain pytest running 1362 trivial
   tests. The difference per item is the plugin's cost (collection + result transport + report).
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import cv2
import numpy as np

HERE = Path(__file__).resolve().parent


def write_video(path: Path, n: int, h: int, w: int, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    base = cv2.resize(rng.integers(0, 256, (h // 16, w // 16, 3), dtype=np.uint8), (w, h))
    vw = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 16, (w, h))
    for t in range(n):
        vw.write(np.roll(base, 2 * t, axis=1))
    vw.release()


def bench_flicker() -> None:
    from pytest_vbench.dimensions.temporal_flickering import flicker_score
    from pytest_vbench.video import opencv_frames

    with tempfile.TemporaryDirectory() as d:
        for n, h, w in ((16, 320, 512), (81, 720, 1280)):
            p = Path(d) / f"v{n}.mp4"
            write_video(p, n, h, w)
            rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            times = []
            for _ in range(3):
                t0 = time.perf_counter()
                flicker_score(opencv_frames(p))
                times.append(time.perf_counter() - t0)
            rss1 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            frame_mb = h * w * 3 / 1e6
            print(f"temporal_flickering {n:3d} frames {w}x{h}: {min(times):.3f} s/video (best of 3); "
                  f"peak RSS growth {(rss1 - rss0) / 1024:.1f} MB (one frame = {frame_mb:.1f} MB uint8, "
                  f"the whole video would be {n * frame_mb:.0f} MB)")


FAKE_PLUGIN = textwrap.dedent('''
    import pytest
    from pytest_vbench import dimensions, runner, weights
    from pytest_vbench.results import CaseResult

    dimensions.Dimension.implemented = property(lambda self: True)
    weights.preflight = lambda *args, **kwargs: None

    def fake_run_case(case, runtime):
        videos = [{"video": f"{case.prompt}-{i}.mp4", "path": f"/v/{case.prompt}-{i}.mp4", "sample": i,
                   "sum": 0.9 + i / 100, "count": 1, "record": {"video_results": 0.9 + i / 100},
                   "seconds": 0.0} for i in range(5)]
        return CaseResult.from_json({"dimension": case.dimension, "prompt": case.prompt, "order": case.order,
                                     "folder": case.dim.folder, "videos": videos, "errors": [], "missing": []})

    runner.run_case = fake_run_case
''')

TRIVIAL = "import pytest\n@pytest.mark.parametrize('i', range(1362))\ndef test_x(i):\n    pass\n"


def timed(cmd: list[str], cwd: Path) -> float:
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    elapsed = time.perf_counter() - t0
    if proc.returncode not in (0, 5):  # 5: the start-up probe collects nothing on purpose
        print(proc.stdout[-2000:], proc.stderr[-2000:])
        raise SystemExit(f"benchmark run failed with exit {proc.returncode}")
    return elapsed


def bench_overhead() -> None:
    with tempfile.TemporaryDirectory() as d:
        d = Path(d)
        (d / "videos").mkdir()
        (d / "fakevbench.py").write_text(FAKE_PLUGIN)
        (d / "test_trivial.py").write_text(TRIVIAL)
        env_py = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
        os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (str(d), os.environ.get("PYTHONPATH")) if p)
        report = d / "r.json"
        vb = timed(env_py + ["-p", "fakevbench", "--vbench-videos", "videos", "--vbench-json", str(report),
                             "--ignore=test_trivial.py"], d)
        base = timed(env_py + ["test_trivial.py"], d)
        empty = timed(env_py + ["--co", "test_trivial.py", "-k", "nothing_matches"], d)
        items = sum(x["prompts"]["scored"] for x in json.loads(report.read_text())["dimensions"].values())
        print(f"plugin overhead: full standard suite, {items} items with fake results: {vb:.2f} s "
              f"({vb / items * 1000:.2f} ms/item); plain pytest, 1362 trivial tests: {base:.2f} s "
              f"({base / 1362 * 1000:.2f} ms/item); pytest start-up alone {empty:.2f} s")
        print(f"  -> plugin's own cost per item: {(vb - base) / items * 1000:.2f} ms "
              f"(collection + result transport + aggregation + JSON report)")


if __name__ == "__main__":
    bench_flicker()
    bench_overhead()
