"""spatial_relationship: are the two objects placed as the prompt says (GRiT, ObjectDet).

* model: GRiT ViT-B, test task ObjectDet, family ``grit``
* frames: 16 middle frames, >768 px rule as object_class (see :mod:`.grit_common`)
* per frame: boxes (integer-truncated) of the instances whose description is object_a or
  object_b; over every pair (same-class pairs included, direction ignored): 0 unless the centres
  differ more along the relation's axis; then 1 if IoU < 0.1 else 0.1/IoU; the frame score is the
  best pair (0 without a pair)
* unit: frame (dimension score = mean frame score over all frames); record
  ``{"video_results": mean, "frame_results": [16 scores]}``
* reproduces: ``vbench/spatial_relationship.py`` of vbench 0.1.5
"""

from __future__ import annotations

import math

from ..scoring import VideoScore
from ..video import VideoError
from . import auxiliary, grit_rules
from .grit_common import video_predictions

TASK = "ObjectDet"
RELATIONS = ("on the left of", "on the right of", "on the top of", "on the bottom of")


def relation(case) -> tuple[str, str, str]:
    info = auxiliary.field(case, "spatial_relationship",
                           lambda v: isinstance(v, dict) and {"object_a", "object_b", "relationship"} <= set(v),
                           " with object_a, object_b and relationship")
    if info["relationship"] not in RELATIONS:
        raise VideoError(f"prompt {case.prompt!r}: unknown relationship {info['relationship']!r}; "
                         f"expected one of {', '.join(RELATIONS)}")
    return info["object_a"], info["object_b"], info["relationship"]


def score_video(video, case, runtime) -> VideoScore:
    a, b, rel = relation(case)
    frames = video_predictions(video.path, runtime, TASK, "tensor")
    rec = grit_rules.spatial_video(frames, a, b, rel)
    scores = rec["frame_results"]
    return VideoScore(math.fsum(scores), len(scores), rec)
