"""Frames and GRiT predictions shared by object_class, multiple_objects, color and spatial_relationship.

The official dimensions read 16 middle frames with ``load_video`` (decord for mp4, PIL for
gif/png) and, when the short side is above 768 px, shrink them so that it becomes 720 px, in one
of two ways (kit README 6.2, spec 4.8-4.12):

* ``"tensor"`` (object_class, multiple_objects, spatial_relationship): the frames become a
  float32 tensor and go through ``torchvision.transforms.Resize((int(s*h), int(s*w)))``
  (bilinear, antialias on), so the model sees fractional values;
* ``"uint8"`` (color): each uint8 frame goes through ``cv2.resize(..., INTER_LINEAR)``.

Below 768 px both paths hand the model the decoded integer values. The predictions of one
video for one (task, path) pair are computed once per process and kept in ``runtime.memo``, so a
video shared by several GRiT dimensions in one worker is detected once.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..video import VideoError, load_video

NUM_FRAMES = 16
#: frames per GRiT backbone pass; None: models.grit.predictor.frames_per_pass (1 on the CPU)
BATCH: int | None = None
SHORT_SIDE_LIMIT = 768
TARGET_SHORT_SIDE = 720.0


def resized_size(h: int, w: int) -> tuple[int, int] | None:
    """The official target size ``(int(s*h), int(s*w))`` with ``s = 720/min(h, w)``, or None."""
    if min(h, w) <= SHORT_SIDE_LIMIT:
        return None
    scale = TARGET_SHORT_SIDE / min(h, w)
    return int(scale * h), int(scale * w)


def prepare_frame(frame: np.ndarray, kind: str) -> np.ndarray:
    """One decoded RGB uint8 ``(H, W, 3)`` frame as the official dimension hands it to GRiT."""
    h, w = frame.shape[:2]
    size = resized_size(h, w)
    if kind == "uint8":
        if size is None:
            return frame
        import cv2

        return cv2.resize(frame, (size[1], size[0]), interpolation=cv2.INTER_LINEAR)
    if kind != "tensor":
        raise ValueError(f"unknown frame kind {kind!r}")
    import torch
    from torchvision.transforms import Resize

    t = torch.from_numpy(np.ascontiguousarray(frame)).permute(2, 0, 1).float()
    if size is not None:
        # Per frame: Resize treats every image of a batch independently, so this equals the
        # official whole-video call without holding a float32 copy of the video.
        t = Resize(size=size)(t)
    return t.permute(1, 2, 0).numpy()


def as_rules(instances) -> list:
    """Predictor output -> the official per-instance tuples ``(description, [int box], [det_obj...])``."""
    names = [inst.det_obj for inst in instances]
    return [(inst.description, [int(x) for x in inst.box], names) for inst in instances]


def video_predictions(path: Path, runtime, task: str, kind: str) -> list:
    """The per-frame instance lists (official tuples) of one video for one GRiT task."""
    key = (str(path), task, kind)
    memo = runtime.memo.setdefault("grit", {})
    if key in memo:
        return memo[key]
    frames = runtime.decoded(path, "decord", lambda: load_video(path, num_frames=NUM_FRAMES),
                             num_frames=NUM_FRAMES)
    if len(frames) == 0:
        raise VideoError(f"{path}: the video has no frames; regenerate it")
    from ..models.grit.predictor import frames_per_pass

    model = runtime.model("grit")
    prepared = [prepare_frame(frame, kind) for frame in frames]  # 16 frames at most (official count)
    batch = BATCH or frames_per_pass(runtime.device, prepared[0].shape[:2])
    out = []
    for start in range(0, len(prepared), batch):
        out += [as_rules(instances) for instances in model.many(prepared[start:start + batch], task)]
    if len(memo) > 4096:  # keep the per-process cache bounded on huge suites
        memo.clear()
    memo[key] = out
    return out
