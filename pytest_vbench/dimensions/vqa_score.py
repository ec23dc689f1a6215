"""vqa_score (beyond VBench 1.0): does the video show what its prompt asks? P("Yes") of a video-language model.

- Model: a VQAScore backend (:mod:`pytest_vbench.models.vqa`), Qwen2.5-VL 7B by default, chosen with
  ``--vbench-vqa-model`` / ini ``vbench_vqa_model`` (Qwen2.5-VL, LLaVA-OneVision or InternVL3;
  ``config.json`` decides).
- Frames: t2v_metrics' sampling per backend (Qwen: 8 fps or ``vbench_vqa_frames`` frames, qwen-vl-utils'
  resize; LLaVA-OneVision: 16 frames or ``vbench_vqa_frames``, 384x384; InternVL3: 16 frames, 448x448 tiles).
- Formula: P(first generated token = "Yes" | video, the backend's question with the prompt), exactly as
  t2v_metrics 3.0's ``VQAScore`` computes it (templates configurable: ``vbench_vqa_question``,
  ``vbench_vqa_answer``); the dimension score is the mean over videos.
- Unit: video. Group: ``extra`` (never part of Quality, Semantic or Total).
- Batching: on accelerators the videos of one prompt with the same frame shape share a forward pass
  (:meth:`VQAScorer.score_many`); on CPU one at a time. A model error fails only the videos it was scoring.
- Reproduces: ``t2v_metrics/models/vqascore_models/qwen2vl_model.py``, ``llavaov_model.py`` and
  ``internvl_model.py`` (t2v_metrics 3.0).
"""

from __future__ import annotations

import math
import traceback

from ..scoring import VideoScore
from ..video import VideoError


def _frames(video, scorer, runtime):
    """The backend's frames of one video, or a VideoError naming the file."""
    from decord._ffi.base import DECORDError

    opts = scorer.options
    decoder = "qwen-vl-utils" if scorer.kind == "qwen2_5_vl" else f"vqa-{scorer.kind}"  # frames differ per backend
    try:
        return runtime.decoded(video.path, decoder, lambda: scorer.frames(video.path), fps=opts.fps, frames=opts.frames)
    except (RuntimeError, DECORDError, ValueError) as exc:  # unreadable (decord), too few frames (ValueError)
        return VideoError(f"{video.path}: cannot sample frames for vqa_score ({exc}); check that the file is "
                          f"a readable video with at least 2 frames")


def _outcome(video, p: float):
    if not math.isfinite(p):
        return ValueError(f"{video.path}: vqa_score gave a non-finite probability ({p})")
    return VideoScore(p, 1, {"video_results": p})


def score_video(video, case, runtime) -> VideoScore:
    """P("Yes") for one video of ``case.prompt``."""
    scorer = runtime.model("vqa")
    frames = _frames(video, scorer, runtime)
    if isinstance(frames, Exception):
        raise frames
    outcome = _outcome(video, scorer.score(frames, case.prompt))
    if isinstance(outcome, Exception):
        raise outcome
    return outcome


def score_case(videos, case, runtime) -> list:
    """P("Yes") for every video of ``case.prompt``: one outcome (score or exception) per video, in order."""
    scorer = runtime.model("vqa")
    outcomes: list = [_frames(v, scorer, runtime) for v in videos]
    ok = [i for i, o in enumerate(outcomes) if not isinstance(o, Exception)]
    if not ok:
        return outcomes
    try:  # a model error (out of memory, say) fails the videos it was scoring (one, or one batch), with the cause
        probs = scorer.score_many([outcomes[i] for i in ok], case.prompt, capture=True)
    except Exception as exc:  # anything else fails every video of the case
        probs = [exc] * len(ok)
    for i, p in zip(ok, probs):
        outcomes[i] = _failure(videos[i], p) if isinstance(p, BaseException) else _outcome(videos[i], p)
    return outcomes


def _failure(video, exc: BaseException) -> RuntimeError:
    tb = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__, limit=-3))
    return RuntimeError(f"{video.path}: {type(exc).__name__}: {exc}\n{tb}")
