"""object_class: is the prompt's object detected in each frame (GRiT, ObjectDet task).

* model: GRiT ViT-B (``grit_model/grit_b_densecap_objectdet.pth``), test task ObjectDet, family
  ``grit`` (:mod:`pytest_vbench.models.grit`)
* frames: 16 middle frames (decord / PIL); short side > 768 px -> float32 tensor resized to a short
  side of 720 with torchvision ``Resize`` (see :mod:`.grit_common`)
* per frame: success iff ``auxiliary_info.object`` is in ``set(det_obj)`` of the frame (the
  ObjectDet names of every kept box; a frame without detections fails)
* unit: frame (dimension score = successful frames / all frames); record
  ``{"video_results": rate, "success_frame_count": n, "frame_count": 16}``
* reproduces: ``vbench/object_class.py`` of vbench 0.1.5
"""

from __future__ import annotations

from ..scoring import VideoScore
from . import auxiliary, grit_rules
from .grit_common import video_predictions

TASK = "ObjectDet"


def target(case) -> str:
    return str(auxiliary.field(case, "object", auxiliary.text))


def score_video(video, case, runtime) -> VideoScore:
    frames = video_predictions(video.path, runtime, TASK, "tensor")
    rec = grit_rules.object_class_video(frames, target(case))
    return VideoScore(rec["success_frame_count"], rec["frame_count"], rec)
