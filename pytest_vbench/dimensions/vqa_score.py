"""vqa_score (beyond VBench 1.0): does the video show what its prompt asks? P("Yes") of a video-language model.

- Model: a VQAScore backend (:mod:`pytest_vbench.models.vqa`), Qwen2.5-VL 7B by default, chosen with
  ``--vbench-vqa-model`` / ini ``vbench_vqa_model`` (Qwen2.5-VL or LLaVA-OneVision; ``config.json`` decides).
- Frames: t2v_metrics' sampling per backend (Qwen: 8 fps or ``vbench_vqa_frames`` frames, qwen-vl-utils'
  resize; LLaVA-OneVision: 16 frames or ``vbench_vqa_frames``, 384x384).
- Formula: P(first generated token = "Yes" | video, ``Does this image show "{prompt}"?``), exactly as
  t2v_metrics 3.0's ``VQAScore`` computes it (templates configurable: ``vbench_vqa_question``,
  ``vbench_vqa_answer``); the dimension score is the mean over videos.
- Unit: video. Group: ``extra`` (never part of Quality, Semantic or Total).
- Reproduces: ``t2v_metrics/models/vqascore_models/qwen2vl_model.py`` and ``llavaov_model.py`` (t2v_metrics 3.0).
"""

from __future__ import annotations

import math

from ..scoring import VideoScore
from ..video import VideoError


def score_video(video, case, runtime) -> VideoScore:
    """P("Yes") for one video of ``case.prompt``."""
    from decord._ffi.base import DECORDError

    scorer = runtime.model("vqa")
    opts = scorer.options
    try:
        decoder = "qwen-vl-utils" if scorer.kind == "qwen2_5_vl" else f"vqa-{scorer.kind}"  # frames differ per backend
        frames = runtime.decoded(video.path, decoder, lambda: scorer.frames(video.path),
                                 fps=opts.fps, frames=opts.frames)
    except (RuntimeError, DECORDError, ValueError) as exc:  # unreadable (decord), too few frames (ValueError)
        raise VideoError(f"{video.path}: cannot sample frames for vqa_score ({exc}); check that the file is "
                         f"a readable video with at least 2 frames") from None
    p = scorer.score(frames, case.prompt)
    if not math.isfinite(p):
        raise ValueError(f"{video.path}: vqa_score gave a non-finite probability ({p})")
    return VideoScore(p, 1, {"video_results": p})
