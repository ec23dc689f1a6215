"""Video decoders and frame sampling, as the official VBench code reads videos.

* OpenCV (``cv2.VideoCapture``), used by temporal_flickering, motion_smoothness, dynamic_degree:
  frames read sequentially, BGR uint8.
* decord for ``.mp4`` / PIL for ``.gif`` and ``.png`` (the official ``load_video``), RGB uint8,
  optional decode-time resize and middle-frame sampling.

Decoders raise :class:`VideoError` with the file name and what to do; they never return an empty
video. Nothing here imports torch.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np


class VideoError(Exception):
    """A video that cannot be read, or is too short for a dimension."""


#: a resize whose output would have a side longer than this (an extreme aspect ratio such as 1x1000
#: scaled to a short side of 224 asks for a 224x224000 frame, tens of GB per video) fails its video
MAX_RESIZED_SIDE = 16384

#: videos whose decoder returned fewer frames than the container declares: path -> (read, declared);
#: the runner turns an entry into a note on that video's result (the number is kept, as officially)
SHORT_READS: dict[str, tuple[int, int]] = {}


def check_resize(path: str | Path | None, height: int, width: int, short_side: int, what: str) -> None:
    """Raise :class:`VideoError` when scaling the short side of a ``height x width`` frame to ``short_side``
    would need an absurd allocation (see :data:`MAX_RESIZED_SIDE`)."""
    short, long_ = min(height, width), max(height, width)
    where = f"{path}: " if path is not None else ""  # without a path, the runner names the file
    if short <= 0:
        raise VideoError(f"{where}frames of {width}x{height} pixels cannot be resized; the file is damaged")
    resized = long_ * short_side / short
    if resized > MAX_RESIZED_SIDE:
        raise VideoError(f"{where}frames of {width}x{height} pixels would become {resized:,.0f} pixels long when "
                         f"{what} scales the short side to {short_side} (an extreme aspect ratio; the limit is "
                         f"{MAX_RESIZED_SIDE:,}); regenerate the video at a usual aspect ratio")


def middle_indices(num_frames: int, vlen: int) -> list[int]:
    """The official ``get_frame_indices(sample='middle')``: one frame from the middle of each segment."""
    if vlen <= 0:
        return []
    k = min(num_frames, vlen)
    bounds = np.linspace(start=0, stop=vlen, num=k + 1).astype(int)
    idx = [int((bounds[j] + bounds[j + 1] - 1) // 2) for j in range(k)]
    if len(idx) < num_frames:
        idx += [idx[-1]] * (num_frames - len(idx))
    return idx


def _check_file(path: Path) -> None:
    if not path.is_file():
        raise VideoError(f"{path}: no such video file")
    if path.stat().st_size == 0:
        raise VideoError(f"{path}: the file is empty (0 bytes); regenerate the video")


def opencv_frames(path: str | Path) -> Iterator[np.ndarray]:
    """Yield the BGR uint8 frames of a video with OpenCV, one at a time (no whole-video buffer)."""
    import cv2

    path = Path(path)
    _check_file(path)
    cap = cv2.VideoCapture(str(path))
    try:
        if not cap.isOpened():
            raise VideoError(f"{path}: OpenCV cannot open this file; is it a valid video (corrupt or "
                             f"unsupported container)?")
        declared = int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
        n = 0
        while True:
            ok, frame = cap.read()
            if not ok:
                break
            n += 1
            yield frame
        if n == 0:
            raise VideoError(f"{path}: OpenCV decoded no frame; the file is corrupt or truncated")
        if n < declared:
            SHORT_READS[str(path)] = (n, declared)
    finally:
        cap.release()


def opencv_fps(path: str | Path) -> float:
    """The frame rate OpenCV reports (``CAP_PROP_FPS``), as the official motion dimensions read it."""
    import cv2

    cap = cv2.VideoCapture(str(path))
    try:
        return float(cap.get(cv2.CAP_PROP_FPS))
    finally:
        cap.release()


def _pil_frames(path: Path) -> np.ndarray:
    from PIL import Image, ImageSequence

    try:
        with Image.open(path) as img:
            if path.suffix.lower() == ".png":
                frames = [np.asarray(img.convert("RGB"))]
            else:
                frames = [np.asarray(f.convert("RGB")) for f in ImageSequence.Iterator(img)]
    except (OSError, SyntaxError, ValueError) as exc:
        raise VideoError(f"{path}: cannot read image frames ({exc}); is the file corrupt?") from None
    if not frames:
        raise VideoError(f"{path}: no frame in the file")
    return np.stack(frames)


def load_video(path: str | Path, num_frames: int | None = None, width: int | None = None,
               height: int | None = None) -> np.ndarray:
    """The official L1 loader: RGB uint8 ``(T, H, W, 3)``; decord for mp4, PIL for gif/png.

    ``num_frames`` selects middle indices (spec 2.1); ``width``/``height`` ask decord for a
    decode-time resize (ignored for gif/png, as officially).
    """
    path = Path(path)
    _check_file(path)
    suffix = path.suffix.lower()
    if suffix in (".gif", ".png"):
        frames = _pil_frames(path)
        if num_frames is not None:
            frames = frames[middle_indices(num_frames, len(frames))]
        return frames
    try:
        import decord
    except ImportError:
        raise VideoError("decord is needed to read .mp4 files for this dimension: pip install decord") from None
    kwargs = {"num_threads": 1}
    if width is not None and height is not None:
        kwargs.update(width=width, height=height)
    try:
        reader = decord.VideoReader(str(path), **kwargs)
        vlen = len(reader)
        if vlen == 0:
            raise VideoError(f"{path}: decord found no frame; the file is corrupt or truncated")
        indices = list(range(vlen)) if num_frames is None else middle_indices(num_frames, vlen)
        frames = reader.get_batch(indices).asnumpy()
    except VideoError:
        raise
    except Exception as exc:  # decord raises its own DECORDError and RuntimeError
        raise VideoError(f"{path}: decord cannot decode this file ({str(exc).splitlines()[0][:200]}); "
                         f"is it a valid H.264/MP4 video?") from None
    return frames
