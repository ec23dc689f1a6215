"""Run one case (dimension, prompt) through its dimension module and build its typed result.

The result (:class:`pytest_vbench.results.CaseResult`) is what an item attaches to its report; the
controller merges such results from any process in any order. Every error raised while scoring a
case (a bad video, a model that fails to load, a bug, ``SystemExit``, an error in a batched
``score_case``) becomes a per-video failure with its message, through :func:`failure`: one place
for every code path. A failing video does not stop the other videos of the case from being
scored. Only ``KeyboardInterrupt`` (Ctrl-C, and SIGTERM, which the plugin turns into one) escapes.
"""

from __future__ import annotations

import importlib
import os
import time
import traceback
from typing import Any

from .results import CaseResult, VideoFailure, VideoResult
from .scoring import VideoScore
from .suite import Case, VideoRef
from .video import VideoError


def shown(path: object) -> str:
    """A path as text that any writer can encode: bytes that are not UTF-8 appear as ``\\xNN``."""
    return os.fsencode(str(path)).decode("utf-8", "backslashreplace")


def _bad_name(video: VideoRef) -> VideoError | None:
    """A file name that is not valid UTF-8 never reaches a decoder (OpenCV crashed on one)."""
    try:
        str(video.path).encode("utf-8")
    except UnicodeEncodeError:
        return VideoError(f"{shown(video.path)}: the file name is not valid UTF-8; rename the file (prompts are "
                          f"read from UTF-8 names)")
    return None


def failure(video: VideoRef, exc: BaseException) -> VideoFailure:
    """The per-video failure for any exception: the message names the file, a bug also shows where it happened."""
    if isinstance(exc, VideoError) or (exc.__traceback__ is None and str(video.path) in str(exc)):
        message = str(exc)  # a VideoError, or a failure a batched module already described
    else:
        where = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__, limit=-3)).rstrip()
        message = f"{type(exc).__name__}: {exc}\n{where}" if exc.__traceback__ is not None \
            else f"{type(exc).__name__}: {exc}"
    path = shown(video.path)
    message = shown(message)
    if path not in message:
        message = f"{path}: {message}"
    return VideoFailure(shown(video.name), path, video.sample, message)


def _short_read_note(video: VideoRef) -> str | None:
    from .video import SHORT_READS

    read = SHORT_READS.pop(str(video.path), None)
    if read is None:
        return None
    return (f"the decoder read {read[0]} of the {read[1]} frames the container declares (a damaged or "
            f"truncated file?); scored on the frames read, as the official code does")


def _outcome(video: VideoRef, outcome: Any, seconds: float) -> VideoResult | VideoFailure:
    short = _short_read_note(video)
    if isinstance(outcome, BaseException):
        return failure(video, outcome)
    if not isinstance(outcome, VideoScore):
        return failure(video, TypeError(f"the dimension returned {type(outcome).__name__}, not a VideoScore"))
    try:
        note = "; ".join(n for n in (outcome.note, short) if n) or None
        return VideoResult(shown(video.name), shown(video.path), video.sample, float(outcome.sum), int(outcome.count),
                           outcome.record, note, round(seconds, 6))
    except (TypeError, ValueError, OverflowError) as exc:  # int(nan) and friends
        return failure(video, exc)


def run_case(case: Case, runtime: Any) -> CaseResult:
    """Score every video of ``case``; return its result (never raises, except KeyboardInterrupt)."""
    result = CaseResult(case.dimension, case.prompt, case.order, case.dim.folder, missing=list(case.missing))
    started = time.perf_counter()
    videos = []
    for video in case.videos:
        bad = _bad_name(video)
        if bad is None:
            videos.append(video)
        else:
            result.add(failure(video, bad))
    try:
        module = importlib.import_module(case.dim.module_name)
    except KeyboardInterrupt:
        raise
    except BaseException as exc:  # noqa: B036 - SystemExit in an import fails the videos, not the session
        for video in videos:
            result.add(failure(video, exc))
        result.seconds = round(time.perf_counter() - started, 6)
        return result
    batch = getattr(module, "score_case", None)
    outcome: Any
    if batch is not None and videos:
        live = getattr(runtime, "on_video", None)
        timings: dict[str, float] = {}  # seconds of the videos the batch reported live (Runtime.video_done)
        if live is not None:
            def relay(name: str, seconds: float, failed: bool) -> None:
                timings[name] = seconds
                live(name, seconds, failed)

            runtime.on_video = relay
        try:
            outcomes = list(batch(videos, case, runtime))
            if len(outcomes) != len(videos):
                raise RuntimeError(f"score_case of {case.dimension} returned {len(outcomes)} outcome(s) for "
                                   f"{len(videos)} video(s)")
        except KeyboardInterrupt:
            raise
        except BaseException as exc:  # noqa: B036 - the whole batch failed: every video gets the message
            outcomes = [exc] * len(videos)
        finally:
            if live is not None:
                runtime.on_video = live
        per = (time.perf_counter() - started) / len(videos)
        for video, outcome in zip(videos, outcomes):  # a video's own seconds when the batch reported them
            result.add(_outcome(video, outcome, timings.get(video.name, per)))
    else:
        for video in videos:
            t0 = time.perf_counter()
            try:
                outcome = module.score_video(video, case, runtime)
            except KeyboardInterrupt:
                raise
            except BaseException as exc:  # noqa: B036 - a bug, a model error, SystemExit: keep the other videos
                outcome = exc
            errors = len(result.errors)
            result.add(_outcome(video, outcome, time.perf_counter() - t0))
            if getattr(runtime, "on_video", None) is not None:  # live progress (progress.py)
                runtime.on_video(video.name, time.perf_counter() - t0, len(result.errors) > errors)
    result.seconds = round(time.perf_counter() - started, 6)
    return result
