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

import contextlib
import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
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
    """Controller-side hooks printing progress through the terminal reporter.

    Without xdist the items run in this process: each video's line (verbose) and the status line are
    printed as the video finishes (``Runtime.on_video``), inside a long item. With xdist they are
    printed when the item's report arrives.
    """

    def __init__(self, config: pytest.Config, cases: list[Any], mode: str, interval: float,
                 runtime: Callable[[], Any] | None = None):
        self.config = config
        self.runtime = runtime  # this process's Runtime (None: items never run here)
        self.live: list[str] = []  # video lines already printed for the running item
        self.live_seconds = 0.0
        self.running: DimensionProgress | None = None
        workers = getattr(config.option, "numprocesses", None)
        self.progress = Progress.for_cases(cases, workers if isinstance(workers, int) and workers > 0 else 1)
        self.interval = interval
        self.verbose = config.get_verbosity() >= 1 and mode != "never"
        self.status_on = mode == "always" or (mode == "auto" and sys.stdout.isatty())
        self.last = time.monotonic()

    def pytest_sessionstart(self, session: pytest.Session) -> None:
        """The terminal reporter exists now: keep its short progress location ``vbench``."""
        reporter = self.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            keep_vbench_location(reporter)

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_call(self, item: pytest.Item) -> Any:
        """Without xdist: report each video of the item as it finishes."""
        case = getattr(item, "case", None)
        if self.runtime is None or case is None or not (self.verbose or self.status_on):
            return (yield)
        runtime = self.runtime()
        self.live, self.live_seconds = [], 0.0
        self.running = self.progress.dims.get(case.dimension)
        runtime.on_video = self._video_done
        try:
            return (yield)
        finally:
            runtime.on_video = None
            self.running = None

    def _video_done(self, name: str, seconds: float, failed: bool) -> None:
        tr = self.config.pluginmanager.get_plugin("terminalreporter")
        if tr is None:
            return
        line = f"    {name}  {'FAILED' if failed else f'{seconds:.2f}s'}"
        self.live.append(line)
        if self.running is not None:  # counted live; the item's report replaces these counts
            self.running.videos_done += 1
            self.running.seconds += seconds
            self.live_seconds += seconds
        capman = self.config.pluginmanager.get_plugin("capturemanager")
        with capman.global_and_fixture_disabled() if capman is not None else contextlib.nullcontext():
            if self.verbose:  # output capture is active inside the item: suspended for these lines
                tr.write_line(line)
                tr.currentfspath = None  # the item's result word re-prints its node id below the videos
            self._maybe_status(tr, live=True)

    def _maybe_status(self, tr: Any, live: bool = False) -> None:
        now = time.monotonic()
        if self.status_on and now - self.last >= self.interval:
            self.last = now
            tr.write_line(self.progress.status(now), cyan=True)
            if live:
                tr.currentfspath = None

    @pytest.hookimpl(trylast=True)  # after the terminal's own line for the item
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        """Count the item; print its videos (verbose) and, now and then, the status line."""
        if report.when != "call":
            return
        for key, value in getattr(report, "user_properties", ()):
            if key != PROPERTY:
                continue
            result = json.loads(value)
            live = self.live if not hasattr(report, "node") else []  # xdist reports carry the worker node
            d = self.progress.dims.get(result["dimension"])
            if live and d is not None:  # undo the live counts: add() counts the item's videos once
                d.videos_done -= len(live)
                d.seconds -= self.live_seconds
            self.live, self.live_seconds = [], 0.0
            self.progress.add(result)
            tr = self.config.pluginmanager.get_plugin("terminalreporter")
            if tr is None:
                return
            if self.verbose:
                shown = set(live)
                for line in video_lines(result):
                    if line not in shown:
                        tr.write_line(line)
            self._maybe_status(tr)


def keep_vbench_ids(config: pytest.Config) -> None:
    """Print ``vbench::dim[prompt]`` as it is from any invocation directory (no ``../`` in front)."""
    original: Callable[[Any], Any] = config.cwd_relative_nodeid

    def cwd_relative_nodeid(nodeid: Any) -> Any:  # str, or pytest 9's NodeId
        text = str(nodeid)
        if text == "vbench" or text.startswith("vbench::"):
            return nodeid  # unchanged, of the type pytest passed in
        return original(nodeid)

    setattr(config, "cwd_relative_nodeid", cwd_relative_nodeid)  # noqa: B010 (an instance override)


def keep_vbench_location(reporter: Any) -> None:
    """Print the short progress line's location as ``vbench`` from any invocation directory.

    pytest prints ``rootdir / <path part of the node id>`` relative to where it was started, which gives
    ``../../vbench`` outside the rootdir; an absolute path under the start directory prints as ``vbench``.
    """
    original: Callable[..., Any] = reporter.write_fspath_result

    def write_fspath_result(nodeid: str, res: str, **markup: bool) -> None:
        text = str(nodeid)
        if text.startswith("vbench::"):
            text = f"{Path(reporter.startpath) / 'vbench'}::{text[len('vbench::'):]}"
        original(text, res, **markup)

    setattr(reporter, "write_fspath_result", write_fspath_result)  # noqa: B010 (an instance override)


def install(config: pytest.Config, cases: list[Any], runtime: Callable[[], Any] | None = None) -> None:
    """Register the progress plugin (controller) and the node-id rule; called from plugin.pytest_configure.

    ``runtime`` returns this process's Runtime (items run here without xdist)."""
    keep_vbench_ids(config)
    mode = config.getoption("vbench_progress") or "auto"
    try:
        interval = float(config.getini("vbench_progress_interval") or 30)
    except ValueError:
        raise pytest.UsageError("ini vbench_progress_interval must be a number of seconds") from None
    config.pluginmanager.register(ProgressPlugin(config, cases, mode, interval, runtime), "vbench-progress")
