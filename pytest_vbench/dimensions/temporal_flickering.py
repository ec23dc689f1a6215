"""temporal_flickering: how little consecutive frames differ (no model).

* model: none
* frames: OpenCV, every frame, BGR uint8 (official ``get_frames``); streamed pair by pair here
  instead of holding the whole video
* formula: ``MAE_i = mean(|F_i - F_{i+1}|)`` in float32 (numpy), ``score = (255 - mean_i MAE_i)/255``
  with the outer mean also in float32 (``np.mean(array).item()``), final arithmetic in double
* unit: video (dimension score = mean over videos)
* reproduces: ``vbench/temporal_flickering.py`` of vbench 0.1.5

The official code silently skips a video with no decodable frame and returns NaN for a one-frame
video; here both fail their item with a clear message (other videos of the prompt still count).
"""

from __future__ import annotations

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
