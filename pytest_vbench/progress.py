"""Progress on the controller: a line per video in verbose mode, a periodic status line, clean node ids.

Everything is driven by the items' reports (the same path with and without xdist): each report
carries its case result, whose videos carry their seconds. The status line counts items and videos
done over all workers, the rate since the first item, and an ETA per dimension (videos left x the
dimension's seconds per video so far / workers). It is printed at most every
``vbench_progress_interval`` seconds (ini, default 30), and only when stdout is a terminal unless
``--vbench-progress always``.

Node ids: pytest prints node ids relative to the invocation directory by treating their first part
as a path under the rootdir, which turns ``vbench::dim[prompt]`` into ``../vbench::dim[prompt]``
whenever pytest runs outside the rootdir. :func:`keep_vbench_ids` leaves the generated ids as they are.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

PROPERTY = "vbench"  # = plugin.PROPERTY


@dataclass
class DimensionProgress:
    """Counts of one dimension."""

    items: int = 0
    items_done: int = 0
    videos: int = 0
    videos_done: int = 0
    seconds: float = 0.0  # summed per-video seconds of the videos done

    def eta(self, workers: int) -> float | None:
        """Seconds left at this dimension's pace so far (None before its first video)."""
        if self.videos_done == 0 or self.seconds <= 0:
            return None if self.videos > self.videos_done else 0.0
        return (self.videos - self.videos_done) * (self.seconds / self.videos_done) / max(1, workers)


@dataclass
class Progress:
    """What the controller knows of the run so far."""

    dims: dict[str, DimensionProgress] = field(default_factory=dict)
    started: float = field(default_factory=time.monotonic)
    workers: int = 1

    @classmethod
    def for_cases(cls, cases: list[Any], workers: int = 1) -> Progress:
        """Totals from the collected cases (their found videos)."""
        out = cls(workers=max(1, workers))
        for case in cases:
            d = out.dims.setdefault(case.dimension, DimensionProgress())
            d.items += 1
            d.videos += len(case.videos)
        return out

    def add(self, result: dict[str, Any]) -> None:
        """Count one finished case result."""
        d = self.dims.setdefault(result["dimension"], DimensionProgress())
        d.items_done += 1
        videos = result.get("videos", [])
        d.videos_done += len(videos) + len(result.get("errors", []))
        d.seconds += sum(float(v.get("seconds", 0.0)) for v in videos)

    def status(self, now: float | None = None) -> str:
        """``vbench: 12/48 items, 55/240 videos, 1.8 videos/s, ETA subject_consistency 2m10s, ...``"""
        now = time.monotonic() if now is None else now
        items = sum(d.items for d in self.dims.values())
        items_done = sum(d.items_done for d in self.dims.values())
        videos = sum(d.videos for d in self.dims.values())
        videos_done = sum(d.videos_done for d in self.dims.values())
        elapsed = max(now - self.started, 1e-9)
        etas = []
        for name, d in self.dims.items():
            if d.items_done >= d.items:
                continue
            eta = d.eta(self.workers)
            etas.append(f"{name} {'?' if eta is None else _duration(eta)}")
        text = (f"vbench: {items_done}/{items} items, {videos_done}/{videos} videos, "
                f"{videos_done / elapsed:.2f} videos/s")
        return text + (f", ETA {', '.join(etas)}" if etas else "")


def _duration(seconds: float) -> str:
    s = int(round(seconds))
    if s >= 3600:
        return f"{s // 3600}h{s % 3600 // 60:02d}m"
    if s >= 60:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s}s"


def video_lines(result: dict[str, Any]) -> list[str]:
    """One line per video of a case result: name and seconds (failed videos say FAILED)."""
    lines = [f"    {v['video']}  {float(v.get('seconds', 0.0)):.2f}s" for v in result.get("videos", [])]
    lines += [f"    {e['video']}  FAILED" for e in result.get("errors", [])]
    return lines


class ProgressPlugin:
    """Controller-side hooks printing progress through the terminal reporter."""

    def __init__(self, config: pytest.Config, cases: list[Any], mode: str, interval: float):
        self.config = config
        workers = getattr(config.option, "numprocesses", None)
        self.progress = Progress.for_cases(cases, workers if isinstance(workers, int) and workers > 0 else 1)
        self.interval = interval
        self.verbose = config.get_verbosity() >= 1 and mode != "never"
        self.status_on = mode == "always" or (mode == "auto" and sys.stdout.isatty())
        self.last = time.monotonic()

    @pytest.hookimpl(trylast=True)  # after the terminal's own line for the item
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        """Count the item; print its videos (verbose) and, now and then, the status line."""
        if report.when != "call":
            return
        for key, value in getattr(report, "user_properties", ()):
            if key != PROPERTY:
                continue
            result = json.loads(value)
            self.progress.add(result)
            tr = self.config.pluginmanager.get_plugin("terminalreporter")
            if tr is None:
                return
            if self.verbose:
                for line in video_lines(result):
                    tr.write_line(line)
            now = time.monotonic()
            if self.status_on and now - self.last >= self.interval:
                self.last = now
                tr.write_line(self.progress.status(now), cyan=True)


def keep_vbench_ids(config: pytest.Config) -> None:
    """Print ``vbench::dim[prompt]`` as it is from any invocation directory (no ``../`` in front)."""
    original: Callable[[Any], Any] = config.cwd_relative_nodeid

    def cwd_relative_nodeid(nodeid: Any) -> Any:  # str, or pytest 9's NodeId
        text = str(nodeid)
        if text == "vbench" or text.startswith("vbench::"):
            return nodeid  # unchanged, of the type pytest passed in
        return original(nodeid)

    setattr(config, "cwd_relative_nodeid", cwd_relative_nodeid)  # noqa: B010 (an instance override)


def install(config: pytest.Config, cases: list[Any]) -> None:
    """Register the progress plugin (controller) and the node-id rule; called from plugin.pytest_configure."""
    keep_vbench_ids(config)
    mode = config.getoption("vbench_progress") or "auto"
    try:
        interval = float(config.getini("vbench_progress_interval") or 30)
    except ValueError:
        raise pytest.UsageError("ini vbench_progress_interval must be a number of seconds") from None
    config.pluginmanager.register(ProgressPlugin(config, cases, mode, interval), "vbench-progress")
