"""color: does the dense caption of the prompt's object carry the prompt's colour (GRiT, DenseCap).

* model: GRiT ViT-B, test task DenseCap (plus VBench's extra ObjectDet pass for ``det_obj``),
  family ``grit``
* frames: 16 middle frames as uint8; short side > 768 px -> ``cv2.resize`` (INTER_LINEAR) to a
  short side of 720 (see :mod:`.grit_common`)
* per frame, over (caption, ``det_obj[0]``) pairs (official quirk: the object name is the FIRST
  box's ObjectDet name for every caption): the object is seen with a colour iff the name equals
  the object word and the caption contains any of 12 colour words (substring test); the colour
  is right iff the caption contains the prompt's colour
* per video: ratio = right frames / seen frames; a video whose object is never seen is dropped
  (no record, not counted)
* unit: video (dimension score = mean ratio over the counted videos); record
  ``{"video_results": ratio, "cur_success_frame_rate": ratio}``
* reproduces: ``vbench/color.py`` of vbench 0.1.5 (where no video is counted the official code
  raises ZeroDivisionError; here the dimension has no score and the summary says so)
"""

from __future__ import annotations

from ..scoring import VideoScore
from . import auxiliary, grit_rules
from .grit_common import video_predictions

TASK = "DenseCap"


def colour(case) -> str:
    return str(auxiliary.field(case, "color", auxiliary.text))


def score_video(video, case, runtime) -> VideoScore:
    frames = video_predictions(video.path, runtime, TASK, "uint8")
    rec = grit_rules.color_video(frames, case.prompt, colour(case))
    if rec is None:
        obj = grit_rules.color_object_word(case.prompt, colour(case))
        return VideoScore(0.0, 0, None, note=f"dropped: {obj!r} was never detected with a colour word "
                                             "(the official code skips such videos)")
    return VideoScore(rec["video_results"], 1, rec)
