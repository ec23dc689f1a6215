"""Run one case (dimension, prompt) through its dimension module and build its plain-JSON result.

The result is what an item attaches to its report; the controller merges such results from any
process in any order. A failing video is reported in ``errors`` and does not stop the other videos
of the case from being scored.
"""

from __future__ import annotations

import importlib
import time
import traceback
from typing import TYPE_CHECKING, Any

from .scoring import VideoScore
from .suite import Case, VideoRef
from .video import VideoError

if TYPE_CHECKING:
    from .runtime import Runtime


class CaseFailed(Exception):
    """A case finished but some of its videos could not be scored, or it had none."""

    def __init__(self, result: dict[str, Any]):
        self.result = result
        super().__init__(failure_message(result))


def failure_message(result: dict[str, Any]) -> str:
    """One readable message for a failed case."""
    lines = []
    if not result["videos"] and not result["errors"]:
        lines.append(f"no video found for prompt {result['prompt']!r} ({result['dimension']}); expected "
                     f"one of: {', '.join(result['missing'])} in the videos directory or its "
                     f"'{result['folder']}/' subfolder")
    for err in result["errors"]:
        lines.append(err["error"])
    return "\n".join(lines)


def _video_entry(video: VideoRef, score: VideoScore, seconds: float) -> dict[str, Any]:
    entry = {"video": video.name, "path": str(video.path), "sample": video.sample}
    entry.update(score.to_json())
    entry["seconds"] = round(seconds, 6)
    return entry


def run_case(case: Case, runtime: Runtime) -> dict[str, Any]:
    """Score every video of ``case``; return the result dict (never raises for a bad video)."""
    module = importlib.import_module(case.dim.module_name)
    result = {
        "dimension": case.dimension,
        "prompt": case.prompt,
        "order": case.order,
        "folder": case.dim.folder,
        "videos": [],
        "errors": [],
        "missing": list(case.missing),
    }
    started = time.perf_counter()
    batch = getattr(module, "score_case", None)
    if batch is not None and case.videos:
        outcomes = batch(case.videos, case, runtime)
        per = (time.perf_counter() - started) / len(case.videos)
        for video, outcome in zip(case.videos, outcomes):
            _record(result, video, outcome, per)
    else:
        for video in case.videos:
            t0 = time.perf_counter()
            try:
                outcome = module.score_video(video, case, runtime)
            except VideoError as exc:
                outcome = exc
            except Exception as exc:  # a bug or a model error: keep the other videos, show the cause
                outcome = RuntimeError(f"{video.path}: {type(exc).__name__}: {exc}\n{traceback.format_exc(limit=-3)}")
            _record(result, video, outcome, time.perf_counter() - t0)
    result["seconds"] = round(time.perf_counter() - started, 6)
    return result


def _record(result: dict[str, Any], video: VideoRef, outcome: VideoScore | Exception, seconds: float) -> None:
    if isinstance(outcome, Exception):
        message = str(outcome)
        if str(video.path) not in message:
            message = f"{video.path}: {message}"
        result["errors"].append({"video": video.name, "path": str(video.path), "sample": video.sample,
                                 "error": message})
    else:
        result["videos"].append(_video_entry(video, outcome, seconds))


def is_failure(result: dict[str, Any]) -> bool:
    """True when the case's item should fail: a video errored, or no video was found at all."""
    return bool(result["errors"]) or not result["videos"]
