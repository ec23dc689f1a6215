"""motion_smoothness: how well a frame interpolator predicts the skipped frames.

* model: AMT-S (``amt_model/amt-s.pth``, :mod:`pytest_vbench.models.amt`), fp32, ``t = 0.5``,
  one iteration, scale 1 (the official CLI never downscales: see the dimension docs)
* frames: OpenCV, every frame, BGR->RGB uint8. The even frames 0, 2, 4, ... are the inputs, each
  ``uint8 / 255.0``, replicate-padded to a multiple of 16 (``pad//2`` before); the middle frame of
  every consecutive even pair is predicted, unpadded and converted back with
  ``clip(x * 255, 0, 255)`` and a truncating ``uint8`` cast
* per pair k: ``d_k = mean(|F_{2k+1} - pred_k|)`` on uint8 (all pixels and channels), so a video of N
  frames has ``ceil(N/2) - 1`` comparisons (the last frame of an even-length video is unused)
* per video: ``score = (255 - mean_k d_k) / 255``
* unit: video (dimension score = mean over videos)
* reproduces: ``vbench/motion_smoothness.py`` of vbench 0.1.5

The official code holds every decoded frame and every prediction of the video; here frames stream
through a window of ``2 * batch + 1`` frames, ``batch`` pairs going through the network at once (one
on the CPU; on an accelerator up to 4, see :func:`pytest_vbench.models.amt.pairs_per_pass`). Batched
passes differ from single ones by float rounding only. Where the official code crashes the
whole run (fewer than 3 frames: ``AssertionError``) or silently computes NaN (frames so small that
the coarsest correlation level has a side of 1), the video's item fails with a clear message instead.
"""

from __future__ import annotations

import numpy as np

from ..scoring import VideoScore
from ..video import VideoError, opencv_frames

#: frame pairs per AMT pass; None: models.amt.pairs_per_pass (1 on the CPU, which is bit-identical to
#: the official loop at the same thread count; 4 pairs are ~25 % faster on 2 threads, not bit-identical)
BATCH: int | None = None
#: the correlation pyramid has 4 levels on 1/8-resolution features (1/64 at the coarsest); below 128
#: padded pixels a side of that level is 1 and the official lookup divides by zero (NaN frames)
MIN_SIDE = 128


def pad16(x):
    """AMT's ``InputPadder`` with divisor 16: replicate-pad H and W, ``pad//2`` before."""
    import torch.nn.functional as F

    return F.pad(x, padding(x.shape[-2:]), mode="replicate")


def padding(hw) -> list[int]:
    """``[left, right, top, bottom]`` of :func:`pad16` for a frame of ``(H, W)``."""
    h, w = hw
    ph, pw = (((h // 16) + 1) * 16 - h) % 16, (((w // 16) + 1) * 16 - w) % 16
    return [pw // 2, pw - pw // 2, ph // 2, ph - ph // 2]


def to_input(rgb: np.ndarray):
    """``(1, 3, H, W)`` float32 in 0..1, computed as the official ``img2tensor`` does."""
    import torch

    return torch.from_numpy(np.ascontiguousarray(rgb)).permute(2, 0, 1).unsqueeze(0) / 255.0


def to_uint8(pred) -> np.ndarray:
    """``(H, W, 3)`` uint8 of a 0..1 ``(3, H, W)`` prediction: scale, clip, truncate (``tensor2img``)."""
    return (pred * 255.0).permute(1, 2, 0).cpu().numpy().clip(0, 255).astype(np.uint8)


def frame_diff(a: np.ndarray, b: np.ndarray) -> float:
    """Mean absolute difference of two uint8 frames (``cv2.absdiff`` then ``np.mean``)."""
    import cv2

    return float(np.mean(cv2.absdiff(a, b)))


def pair_diffs(model, frames, device: str = "cpu", batch: int | None = None) -> list[float]:
    """``d_k`` for an iterable of RGB uint8 ``(H, W, 3)`` frames, holding at most ``2*batch+1`` frames."""
    import torch

    from ..models.amt import interpolate, pairs_per_pass

    diffs: list[float] = []
    evens: list = []  # input tensors, E_j ... E_{j+len-1}
    odds: list[np.ndarray] = []  # the frames between them, compared with the predictions
    pad = None

    def run():
        nonlocal evens, odds
        k = len(evens) - 1
        a = torch.cat(evens[:-1]).to(device)
        b = torch.cat(evens[1:]).to(device)
        preds = interpolate(model, pad16(a), pad16(b))
        h, w = a.shape[-2:]
        preds = preds[..., pad[2]:pad[2] + h, pad[0]:pad[0] + w]
        for pred, odd in zip(preds, odds[:k]):
            diffs.append(frame_diff(odd, to_uint8(pred)))
        evens, odds = evens[-1:], odds[k:]

    shape = None
    for i, frame in enumerate(frames):
        if shape is None:
            shape = frame.shape
            pad = padding(shape[:2])
            padded = [shape[0] + pad[2] + pad[3], shape[1] + pad[0] + pad[1]]
            if min(padded) < MIN_SIDE:
                raise VideoError(f"frames of {shape[1]}x{shape[0]} are too small for AMT-S's correlation pyramid "
                                 f"(needs at least {MIN_SIDE - 15} px on each side; the official code computes "
                                 f"NaN interpolations here or fails)")
            batch = batch or BATCH or pairs_per_pass(device, padded)
        elif frame.shape != shape:
            raise VideoError(f"frame {i} is {frame.shape[1]}x{frame.shape[0]}, frame 0 is {shape[1]}x{shape[0]}: "
                             f"the frame size changes inside the video")
        if i % 2:
            odds.append(frame)
        else:
            evens.append(to_input(frame))
            if len(evens) == (batch or 1) + 1:  # batch is set on frame 0
                run()
    if len(evens) > 1:
        run()
    return diffs


def smoothness(diffs: list[float]) -> float:
    """The official per-video score from the per-pair differences."""
    vfi = np.mean(np.array(diffs))
    return float((255.0 - vfi) / 255.0)


def score_video(video, case, runtime) -> VideoScore:
    """Score one video."""
    import cv2

    def rgb():
        for bgr in opencv_frames(video.path):
            yield cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)

    try:
        diffs = pair_diffs(runtime.model("amt"), rgb(), runtime.device)
    except VideoError as exc:
        if str(video.path) in str(exc):
            raise
        raise VideoError(f"{video.path}: {exc}") from None
    if not diffs:
        raise VideoError(f"{video.path}: motion_smoothness needs at least 3 frames (it predicts frame 1 from "
                         f"frames 0 and 2); the official code stops the whole evaluation with an AssertionError "
                         f"here")
    value = smoothness(diffs)
    return VideoScore(value, 1, {"video_results": value})
