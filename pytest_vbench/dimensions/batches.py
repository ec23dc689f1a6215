"""Scoring the videos of one prompt in batches, for the dimensions that define ``score_case``.

Each video is prepared on its own (decode and transform: an error fails that video only), then the
prepared inputs go through the model in chunks (an error fails that chunk's videos only). Errors
are returned as they were raised; the runner (:func:`pytest_vbench.runner.failure`) turns them into
per-video failures naming the file, with a traceback excerpt for anything but a ``VideoError``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any


def in_batches(videos: Sequence[Any], prepare: Callable[[Any], Any],
               run: Callable[[list[Any], list[Any]], Sequence[Any]], size: int,
               runtime: Any = None) -> list[Any]:
    """One outcome per video, in order.

    ``prepare(video)`` gives a video's model input; ``run(inputs, videos)`` scores up to ``size``
    prepared inputs at once and returns one outcome (a ``VideoScore`` or an exception) per input.
    With ``runtime``, each video is reported to its live progress (``Runtime.video_done``) when its
    chunk ends: its own preparing time plus its share of the chunk's model time.
    """
    out: list[Any] = [None] * len(videos)
    ready: list[tuple[int, Any]] = []
    prep: dict[int, float] = {}
    done = getattr(runtime, "video_done", None)
    for i, video in enumerate(videos):
        t0 = time.perf_counter()
        try:
            ready.append((i, prepare(video)))
        except Exception as exc:  # noqa: BLE001 - reported on this video by the runner
            out[i] = exc
            if done is not None:
                done(video, time.perf_counter() - t0, True)
        prep[i] = time.perf_counter() - t0
    for start in range(0, len(ready), size):
        chunk = ready[start:start + size]
        t0 = time.perf_counter()
        try:
            outcomes = list(run([x for _, x in chunk], [videos[i] for i, _ in chunk]))
            if len(outcomes) != len(chunk):
                raise RuntimeError(f"a batch of {len(chunk)} video(s) gave {len(outcomes)} outcome(s)")
        except Exception as exc:  # noqa: BLE001 - reported on each video of the chunk by the runner
            outcomes = [exc] * len(chunk)
        share = (time.perf_counter() - t0) / len(chunk)
        for (i, _), outcome in zip(chunk, outcomes):
            out[i] = outcome
            if done is not None:
                done(videos[i], prep[i] + share, isinstance(outcome, BaseException))
    return out


def one(score_case: Callable[[list[Any], Any, Any], Sequence[Any]], video: Any, case: Any, runtime: Any) -> Any:
    """``score_video`` of a batched module: its ``score_case`` on one video, raising the video's error."""
    (outcome,) = score_case([video], case, runtime)
    if isinstance(outcome, BaseException):
        raise outcome
    return outcome
