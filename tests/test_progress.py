"""Progress: the status line's counts, rate and per-dimension ETA (xdist workers), per-video lines."""

from __future__ import annotations

import json
import types
from pathlib import Path

from pytest_vbench.progress import Progress, ProgressPlugin, video_lines
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


class _Terminal:
    def __init__(self):
        self.lines: list[str] = []
        self.currentfspath = "x"

    def write_line(self, line, **markup):
        self.lines.append(line)


def test_live_video_lines_are_counted_once_and_printed_once():
    tr = _Terminal()
    runtime = types.SimpleNamespace(on_video=None)
    plugins = {"terminalreporter": tr}
    config = types.SimpleNamespace(option=types.SimpleNamespace(), get_verbosity=lambda *a: 1,
                                   pluginmanager=types.SimpleNamespace(get_plugin=plugins.get))
    plugin = ProgressPlugin(config, [_case("scene", "p", 2)], "always", 0.0, lambda: runtime)
    item = types.SimpleNamespace(case=_case("scene", "p", 2))
    call = plugin.pytest_runtest_call(item)
    next(call)  # the item starts: the runtime reports its videos live
    runtime.on_video("p-0.mp4", 0.5, False)
    runtime.on_video("p-1.mp4", 1.25, False)
    try:
        call.send(None)
    except StopIteration:
        pass
    assert runtime.on_video is None and tr.currentfspath is None  # the node id is printed again with PASSED
    result = _result("scene", "p", [0.5, 1.25])
    report = types.SimpleNamespace(when="call", user_properties=[("vbench", json.dumps(result))])
    plugin.pytest_runtest_logreport(report)
    assert [line for line in tr.lines if line.startswith("    ")] == ["    p-0.mp4  0.50s", "    p-1.mp4  1.25s"]
    assert tr.lines[-1].startswith("vbench: 1/1 items, 2/2 videos")
    assert plugin.progress.dims["scene"].seconds == 1.75


def test_batched_dimensions_report_each_video_live_with_its_own_seconds(tmp_path):
    # temporal_flickering scores through score_case (a batch): each video still reaches the live progress
    # as it finishes, and the item's result carries the same seconds (so verbose lines are printed once).
    from pytest_vbench.runner import run_case
    from pytest_vbench.runtime import Runtime

    from synthetic import noise_frames, write_video

    refs = []
    for i in range(3):
        write_video(tmp_path / f"p-{i}.mp4", noise_frames(i))
        refs.append(VideoRef(tmp_path / f"p-{i}.mp4", i))
    live: list[tuple[str, float, bool]] = []
    runtime = Runtime("cpu", tmp_path / "cache")
    runtime.on_video = lambda name, seconds, failed: live.append((name, seconds, failed))
    result = run_case(Case("temporal_flickering", "p", 0, None, refs), runtime).to_json()
    assert [name for name, _, _ in live] == ["p-0.mp4", "p-1.mp4", "p-2.mp4"]
    assert [v["seconds"] for v in result["videos"]] == [round(s, 6) for _, s, _ in live]
    assert runtime.on_video is not None and not any(failed for *_, failed in live)
