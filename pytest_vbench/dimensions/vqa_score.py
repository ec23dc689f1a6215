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
  Opt-in (``--vbench-vqa-batch-prompts N``, any device): the videos of up to N prompts this process runs
  next share one left-padded pass (:meth:`VQAScorer.score_pairs`); the other prompts' results wait in
  :mod:`pytest_vbench.prefetch` for their own items. When that pass fails, this prompt is scored alone.
- Reproduces: ``t2v_metrics/models/vqascore_models/qwen2vl_model.py``, ``llavaov_model.py`` and
  ``internvl_model.py`` (t2v_metrics 3.0).
"""

from __future__ import annotations

import math
import time
import traceback

from ..scoring import VideoScore
from ..video import VideoError
from .batches import in_batches


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
    prompts = batch_prompts(runtime)
    if prompts > 1:
        return _across_prompts(videos, case, runtime, scorer, prompts)
    return _one_prompt(videos, case, runtime, scorer)


def batch_prompts(runtime) -> int:
    """How many prompts' videos may share a forward pass (``--vbench-vqa-batch-prompts``; 1 = off)."""
    return int((getattr(runtime, "options", None) or {}).get("vqa_batch_prompts") or 1)


def _one_prompt(videos, case, runtime, scorer, ready: dict | None = None) -> list:
    """The videos of one prompt: one at a time on CPU, same-shape batches on accelerators; each reported live.

    ``ready``: frames already sampled, by video path (not sampled again).
    """
    def prepare(video):
        frames = ready.pop(str(video.path)) if ready and str(video.path) in ready else _frames(video, scorer, runtime)
        if isinstance(frames, Exception):
            raise frames
        return frames

    def run(frames, chunk) -> list:
        try:  # a model error (out of memory, say) fails the videos it was scoring (one, or one batch), with the cause
            probs = scorer.score_many(frames, case.prompt, capture=True)
        except Exception as exc:  # anything else fails every video of the chunk
            probs = [exc] * len(frames)
        return [_failure(v, p) if isinstance(p, BaseException) else _outcome(v, p) for v, p in zip(chunk, probs)]

    return in_batches(videos, prepare, run, scorer.max_batch if scorer.batches else 1, runtime)


#: runtime.memo key: how many prompts this process still puts in one pass (halved after a failed pass)
_LIMIT = "vqa_score-batch-prompts"


def _across_prompts(videos, case, runtime, scorer, prompts: int) -> list:
    """This prompt's videos with those of up to ``prompts - 1`` prompts this process runs next, in one pass.

    Results computed earlier by another item are taken first (:func:`pytest_vbench.prefetch.take`).
    The other prompts' results are kept for their own items; only a successful one is kept. With no
    other prompt to score, or when the shared pass fails, this prompt is scored alone exactly as
    without the option (:func:`_one_prompt`), so an error fails only the item it belongs to; after a
    failed pass this process looks ahead half as far (down to no other prompt).
    """
    from .. import prefetch

    done = getattr(runtime, "video_done", None)
    out: list = [None] * len(videos)
    for i, got in prefetch.take(case, videos, runtime).items():
        out[i] = got.outcome
        if done is not None:
            done(videos[i], got.seconds, False)
    own: dict[int, object] = {}
    prep: dict[int, float] = {}
    for i, video in enumerate(videos):
        if out[i] is not None:
            continue
        t0 = time.perf_counter()
        frames = _frames(video, scorer, runtime)
        prep[i] = time.perf_counter() - t0
        if isinstance(frames, Exception):
            out[i] = frames
            if done is not None:
                done(video, prep[i], True)
        else:
            own[i] = frames
    if not own:
        return out
    limit = runtime.memo.get(_LIMIT, prompts)
    others = []  # (video, store key, frames, prompt, seconds to prepare)
    for other, pending in prefetch.ahead(case, limit - 1, runtime):
        for video, key in pending:
            t0 = time.perf_counter()
            frames = _frames(video, scorer, runtime)
            if not isinstance(frames, Exception):  # a bad video is left to its own item, which reports it
                others.append((video, key, frames, other.prompt, time.perf_counter() - t0))
    if others:
        pairs = [(frames, case.prompt) for frames in own.values()] + [(o[2], o[3]) for o in others]
        t0 = time.perf_counter()
        try:
            probs = scorer.score_pairs(pairs)
        except Exception:  # noqa: BLE001 - out of memory, say: later items of this process look ahead half as far
            runtime.memo[_LIMIT] = max(1, limit // 2)
        else:
            share = (time.perf_counter() - t0) / len(pairs)
            for i, p in zip(own, probs):
                out[i] = _outcome(videos[i], p)
                if done is not None:
                    done(videos[i], prep[i] + share, isinstance(out[i], Exception))
            for (video, key, _, _, seconds), p in zip(others, probs[len(own):]):
                outcome = _outcome(video, p)
                if not isinstance(outcome, Exception):
                    prefetch.put(key, outcome, seconds + share, runtime)
            return out
    # nothing ahead, or the shared pass failed: this prompt alone, exactly as without the option
    mine = list(own)
    ready = {str(videos[i].path): own[i] for i in mine}  # sampled above: not decoded again
    for i, outcome in zip(mine, _one_prompt([videos[i] for i in mine], case, runtime, scorer, ready)):
        out[i] = outcome
    return out


def _failure(video, exc: BaseException) -> RuntimeError:
    tb = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__, limit=-3))
    return RuntimeError(f"{video.path}: {type(exc).__name__}: {exc}\n{tb}")
