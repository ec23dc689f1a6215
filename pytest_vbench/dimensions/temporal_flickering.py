"""temporal_flickering: how little consecutive frames differ (no model).

* model: none
* frames: OpenCV, every frame, BGR uint8 (official ``get_frames``); streamed pair by pair here
  instead of holding the whole video
* formula: ``MAE_i = mean(|F_i - F_{i+1}|)`` in float32 (numpy), ``score = (255 - mean_i MAE_i)/255``
  with the outer mean also in float32 (``np.mean(array).item()``), final arithmetic in double
* unit: video (dimension score = mean over videos)
* reproduces: ``vbench/temporal_flickering.py`` of vbench 0.1.5

Static filter: when a prompt has more than 5 candidate files (``{prompt}-0`` ... ``{prompt}-N``, the
official generation recipe makes 25), :func:`score_case` selects the static ones exactly as the
official ``static_filter`` (:mod:`pytest_vbench.static_filter`: RAFT, candidates in sorted path order,
the first 5 static) and scores only those; every candidate's entry carries a ``note`` saying whether
it was selected and why not. With 5 or fewer candidates no filtering happens (as the official
evaluation of already filtered or custom videos).

The official code silently skips a video with no decodable frame and returns NaN for a one-frame
video; here both fail their item with a clear message (other videos of the prompt still count).
"""

from __future__ import annotations

import time

import numpy as np

from ..scoring import VideoScore
from ..video import VideoError, opencv_frames


def flicker_score(frames) -> float:
    """The official per-video score from an iterable of same-sized frames."""
    maes = []
    prev = None
    for frame in frames:
        cur = np.asarray(frame, dtype=np.float32)
        if prev is not None:
            if prev.shape != cur.shape:
                raise VideoError(f"frame size changes inside the video ({prev.shape} -> {cur.shape})")
            maes.append(np.mean(np.abs(prev - cur)))
        prev = cur
    if not maes:
        raise VideoError("has a single frame; temporal_flickering needs at least 2")
    return (255.0 - np.mean(np.array(maes, dtype=np.float32)).item()) / 255.0


def score_video(video, case, runtime) -> VideoScore:
    """Score one video."""
    try:
        value = flicker_score(opencv_frames(video.path))
    except VideoError as exc:
        msg = str(exc)
        raise VideoError(msg if msg.startswith(str(video.path)) else f"{video.path}: {msg}") from None
    return VideoScore(value, 1, {"video_results": value})


def _score(video, case, runtime):
    try:
        return score_video(video, case, runtime)
    except VideoError as exc:
        return exc
    except Exception as exc:  # keep the other videos, show the cause
        return RuntimeError(f"{video.path}: {type(exc).__name__}: {exc}")


def depends_on_case(videos) -> bool:
    """True when one video's result depends on the case's other videos (the static filter runs)."""
    from .. import static_filter as sf

    return len(videos) > sf.WANT


def score_case(videos, case, runtime) -> list:
    """Score a prompt's videos; with more than 5 candidates, only the first 5 static ones (official filter)."""
    from .. import static_filter as sf

    want = getattr(case, "keep", None) or sf.WANT  # --vbench-samples static videos per prompt
    if not sf.filters(case, videos):
        return [_reported(video, runtime, time.perf_counter(), _score(video, case, runtime)) for video in videos]
    model = runtime.model("raft")
    outcomes: dict[str, object] = {}
    selected = 0
    for video in sorted(videos, key=lambda v: str(v.path)):  # the official lexicographic order
        t0 = time.perf_counter()
        outcome, static = _candidate(video, case, runtime, model, want, selected)
        selected += static
        outcomes[str(video.path)] = _reported(video, runtime, t0, outcome)
    if selected < want:
        import warnings

        warnings.warn(f"temporal_flickering: prompt {case.prompt!r} has {selected} static videos among "
                      f"{len(videos)} candidates (the official filter warns and scores those)", stacklevel=2)
    return [outcomes[str(v.path)] for v in videos]


def _candidate(video, case, runtime, model, want: int, selected: int) -> tuple[object, bool]:
    """One candidate, in the official order: its outcome, and whether it is one of the static videos scored."""
    from .. import static_filter as sf

    if selected >= want:
        return VideoScore(0.0, 0, None, f"not tested: {want} static candidates sort before it"), False
    try:
        verdict = sf.check_video(video.path, model, runtime.device)
    except VideoError as exc:
        return exc, False
    if not verdict.static:
        return VideoScore(0.0, 0, None, f"not static: {verdict.reason}"), False
    outcome = _score(video, case, runtime)
    if isinstance(outcome, VideoScore):
        outcome.note = f"static, selected {selected + 1} of {want} (official filtered_videos/{case.prompt}-{selected})"
    return outcome, True


def _reported(video, runtime, t0: float, outcome: object) -> object:
    """``outcome``, after telling the live progress that ``video`` is done (``Runtime.video_done``)."""
    done = getattr(runtime, "video_done", None)
    if done is not None:
        done(video, time.perf_counter() - t0, isinstance(outcome, BaseException))
    return outcome
