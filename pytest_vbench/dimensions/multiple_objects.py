"""multiple_objects: are both objects of the prompt detected in the same frame (GRiT, ObjectDet).

* model: GRiT ViT-B, test task ObjectDet, family ``grit``
* frames: 16 middle frames, >768 px rule as object_class (see :mod:`.grit_common`)
* per frame: success iff both names of ``auxiliary_info.object`` (``"a and b"``, split at
  ``" and "``, stripped) are in ``set(det_obj)`` of the frame
* unit: frame; record ``{"video_results": rate, "success_frame_count": n, "frame_count": 16}``
* reproduces: ``vbench/multiple_objects.py`` of vbench 0.1.5
"""

from __future__ import annotations

from ..scoring import VideoScore
from . import auxiliary, grit_rules
from .grit_common import video_predictions

TASK = "ObjectDet"


def objects(case) -> str:
    return str(auxiliary.field(case, "object", lambda v: isinstance(v, str) and " and " in v, " of the form 'a and b'"))


def score_video(video, case, runtime) -> VideoScore:
    frames = video_predictions(video.path, runtime, TASK, "tensor")
    rec = grit_rules.multiple_objects_video(frames, objects(case))
    return VideoScore(rec["success_frame_count"], rec["frame_count"], rec)
