"""dynamic_degree: does the video move? RAFT optical flow between sampled frames.

* model: RAFT-large (``raft_model/models/raft-things.pth``), 20 updates, fp32
* frames: OpenCV, BGR->RGB, float 0..255; every ``interval``-th frame with
  ``interval = max(1, round(fps / 8))`` (Python round of OpenCV's fps); the sampled frames are held
  as uint8 (the official code holds the whole video as float32) and go through RAFT one pair at a
  time on the CPU
* per pair: pad both frames to a multiple of 8 (replicate, split ``pad//2`` before), flow, magnitude
  over the **padded** frame, score = float32 mean of the ``int(Hp*Wp*0.05)`` largest magnitudes
* per video: ``thres = 6 * min(H, W) / 256`` (first frame, unpadded), ``count_num = round(4 *
  kept/16)``; True as soon as the number of scores > thres reaches count_num while scanning the
  pairs in order (so count_num 0 is True with one pair; a single kept frame is False)
* **pairs stop once the answer is decided** (:func:`decided`): the per-video result is that boolean
  alone, so RAFT stops as soon as count_num scores above thres have been seen (True) or the pairs left
  can no longer reach count_num (False). The result is exactly the official one; the official code
  scores every pair. ``EARLY_STOP = False`` scores every pair (the parity check does both).
* unit: video (dimension score = mean of the booleans)
* reproduces: ``vbench/dynamic_degree.py`` of vbench 0.1.5
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..scoring import VideoScore
from ..video import VideoError, opencv_fps, opencv_frames

if TYPE_CHECKING:
    from ..runtime import Runtime
    from ..suite import Case, VideoRef

BATCH: int | None = None  # frame pairs per RAFT pass; None: models.raft.pairs_per_pass (1 on the CPU)
#: RAFT's coarsest correlation level is 1/64 of the padded frame; with a side of 1 its bilinear lookup
#: (align_corners) divides by zero and every score is NaN, which the official code silently turns
#: into False. We refuse such videos instead.
MIN_SIDE = 128


def frame_interval(fps: float) -> int:
    """The official temporal subsampling step."""
    return max(1, round(fps / 8))


def params(first_hw: tuple[int, int], kept: int) -> tuple[float, int]:
    """(thres, count_num) of the official ``set_params``."""
    return 6.0 * (min(first_hw) / 256.0), round(4 * (kept / 16.0))


#: stop scoring pairs once the per-video answer is decided (exact: see :func:`decided`)
EARLY_STOP = True


def decided(scores: list[float], thres: float, count_num: int, pairs: int) -> bool:
    """True when :func:`moved` of the full list of ``pairs`` scores is already fixed by its prefix ``scores``.

    Either count_num scores above thres have been seen (``moved`` returns True at that point whatever
    follows), or even if every remaining pair scored above thres the count could not reach count_num
    (``moved`` is False). Never before the first score: ``moved`` of an empty list is False, while
    the official answer with count_num 0 is True once one pair has been scored.
    """
    if not scores:
        return False
    count = sum(1 for s in scores if s > thres)
    return count >= count_num or count + (pairs - len(scores)) < count_num


def moved(scores: list[float], thres: float, count_num: int) -> bool:
    """The official ``check_move`` scan."""
    count = 0
    for s in scores:
        if s > thres:
            count += 1
        if count >= count_num:
            return True
    return False


def pad8(x: Any) -> Any:
    """RAFT's ``InputPadder`` ('sintel' mode): replicate-pad H and W up to a multiple of 8."""
    import torch.nn.functional as F

    h, w = x.shape[-2:]
    ph, pw = (((h // 8) + 1) * 8 - h) % 8, (((w // 8) + 1) * 8 - w) % 8
    return F.pad(x, [pw // 2, pw - pw // 2, ph // 2, ph - ph // 2], mode="replicate")


#: fraction of the largest flow magnitudes averaged per pair (official ``get_score``)
FRACTION = 0.05


def top_magnitude(flow_hw2: np.ndarray, fraction: float = FRACTION) -> float:
    """Mean of the ``fraction`` largest flow magnitudes (float32, as the official ``get_score``).

    dynamic_degree uses 5 %, the static filter of temporal_flickering 2 %.
    """
    rad = np.sqrt(np.square(flow_hw2[..., 0]) + np.square(flow_hw2[..., 1])).flatten()
    cut = int(rad.size * fraction)
    return float(np.mean(np.abs(np.sort(-rad))[:cut]).item())  # contiguous, descending: the same float32 sum


def pair_scores(model: Any, frames: Iterable[np.ndarray], device: str, batch: int | None = None,
                fraction: float = FRACTION, stop: Callable[[list[float]], bool] | None = None) -> list[float]:
    """Scores of consecutive pairs of an iterable of RGB uint8 ``(H, W, 3)`` frames, ``batch`` pairs a pass.

    The one RAFT scoring of the package: dynamic_degree and the static filter both call it. ``stop``,
    when given, is asked before each pass with the scores so far; when it answers True no further
    pair is scored and the scores so far are returned.
    """
    import torch

    from ..models.raft import features, flow, pairs_per_pass

    scores: list[float] = []
    window: list[Any] = []
    carried: list[Any] = []  # the features of the window's first frame: the last frame of the previous pass

    def run(pairs_from: list[Any]) -> None:
        frames_in = pad8(torch.stack(pairs_from).to(device))
        with torch.no_grad():
            # each frame is encoded once, also when it ends one pass and starts the next (see features())
            new = features(model, frames_in[len(carried):])
            fm = torch.cat([*carried, new]) if carried else new
            fl = flow(model, frames_in[:-1], frames_in[1:], fmaps=(fm[:-1], fm[1:]))
        carried[:] = [fm[-1:]]
        for f in fl.permute(0, 2, 3, 1).cpu().numpy():
            scores.append(top_magnitude(f, fraction))

    for frame in frames:
        if stop is not None and window and stop(scores):
            return scores
        if batch is None:
            batch = BATCH or pairs_per_pass(device, frame.shape[:2])
        window.append(torch.from_numpy(np.ascontiguousarray(frame)).permute(2, 0, 1).float())
        if len(window) == batch + 1:
            run(window)
            window = window[-1:]
    if len(window) > 1 and not (stop is not None and stop(scores)):
        run(window)
    return scores


def too_small(hw: tuple[int, int]) -> bool:
    """True when RAFT cannot score frames of ``hw`` (padded to a multiple of 8, under :data:`MIN_SIDE`)."""
    return min(-(-d // 8) * 8 for d in hw) < MIN_SIDE


class RGBFrames:
    """OpenCV frames of a video (every ``step``-th), BGR->RGB, remembering the size and count for ``params``."""

    def __init__(self, path: str | Path, step: int = 1) -> None:
        self.path, self.step = path, step
        self.hw: tuple[int, int] | None = None
        self.count = 0
        self.first: np.ndarray | None = None
        self.last: np.ndarray | None = None

    def __iter__(self) -> Iterator[np.ndarray]:
        import cv2

        for i, bgr in enumerate(opencv_frames(self.path)):
            if i % self.step:
                continue
            if self.hw is None:
                self.hw = (int(bgr.shape[0]), int(bgr.shape[1]))
                if too_small(self.hw):
                    raise VideoError(f"{self.path}: frames of {bgr.shape[1]}x{bgr.shape[0]} are too small for "
                                     f"RAFT's correlation pyramid (needs at least {MIN_SIDE} px on each side; "
                                     f"the official code returns NaN scores and False here)")
            self.count += 1
            rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
            if self.first is None:
                self.first = rgb
            self.last = rgb
            yield rgb


def score_video(video: VideoRef, case: Case, runtime: Runtime) -> VideoScore:
    """Score one video."""
    frames = RGBFrames(video.path, frame_interval(opencv_fps(video.path)))
    held = list(frames)  # count_num depends on the number of sampled frames: known before any pair
    assert frames.hw is not None  # opencv_frames raises a VideoError when it decodes no frame
    thres, count_num = params(frames.hw, frames.count)
    pairs = len(held) - 1
    stop = (lambda got: decided(got, thres, count_num, pairs)) if EARLY_STOP else None
    scores = pair_scores(runtime.model("raft"), held, runtime.device, stop=stop)
    value = moved(scores, thres, count_num)
    return VideoScore(float(value), 1, {"video_results": value})
