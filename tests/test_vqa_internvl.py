"""vqa_score with InternVL3 (Hugging Face format), checked against t2v_metrics 3.0's InternVL forward.

t2v_metrics loads InternVL with the hub's remote code (``trust_remote_code``), which cannot be had
here. The references ``tests/parity/vqa_score_internvl3*.json`` were made by
``tools/t2v_metrics_vqa_reference.py --backend internvl3-8b``: t2v_metrics 3.0's own
``InternVL2Model.forward`` (frame sampling, tiles, prompt, generate, softmax) with the public
OpenGVLab/InternVL chat code (``InternVLChatModel``, commit recorded in the reference) standing in for
the remote code, on the seeded tiny snapshot of :func:`pytest_vbench.models.vqa.tiny.write_internvl3`
turned into OpenGVLab's layout by the tool.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from test_vqa_score import VIDEOS, reference  # noqa: E402

from pytest_vbench.models import vqa
from pytest_vbench.models.vqa import internvl, tiny

from parity_harness import bar  # noqa: E402

TINY = "tiny-internvl3"
REFS = ["vqa_score_internvl3.json", "vqa_score_internvl3_f12.json"]


@pytest.fixture(scope="module")
def ivl_cache(tmp_path_factory) -> Path:
    """A cache holding the seeded tiny InternVL3 snapshot as ``vqa_model/tiny-internvl3``."""
    cache = tmp_path_factory.mktemp("vqa_internvl_cache")
    tiny.write_internvl3(vqa.snapshot_dir(cache, TINY))
    return cache


class _Runtime:
    def __init__(self, cache: Path, options: vqa.VQAOptions):
        self.cache_dir, self.device, self.options = cache, "cpu", {"vqa": options.to_json()}


def test_defaults_are_t2v_metrics_internvl_defaults():
    ref = reference(REFS[0])
    assert ref["forward_kwargs"] == {}
    assert ref["defaults"] == {"question_template": internvl.DEFAULT_QUESTION, "answer_template": "Yes",
                               "num_frames": internvl.DEFAULT_FRAMES}


@pytest.mark.parametrize("total,n,want", [(16, 16, [0, 1, 2, 3, 4, 5, 6, 7, 8, 8, 9, 10, 11, 12, 13, 14]),
                                          (9, 12, [0, 1, 1, 2, 3, 3, 4, 5, 5, 6, 7, 7]),
                                          (30, 4, [3, 10, 17, 25])])  # 3.625 + round(14.5) = 3.625 + 14: half to even
def test_frame_indices_are_segment_midpoints_with_numpy_rounding(total, n, want):
    assert internvl.frame_indices(total, n) == want


def test_query_expands_one_tile_per_frame():
    text = internvl.query_text("Q?", 2, 3, system="S")
    assert text == ("<|im_start|>system\nS<|im_end|>\n<|im_start|>user\n"
                    "Frame1: <img><IMG_CONTEXT><IMG_CONTEXT><IMG_CONTEXT></img>\n"
                    "Frame2: <img><IMG_CONTEXT><IMG_CONTEXT><IMG_CONTEXT></img>\nQ?<|im_end|>\n<|im_start|>assistant\n")


def test_a_frame_rate_is_refused_in_preflight_for_internvl(ivl_cache):
    text = vqa.preflight(vqa.VQAOptions(model=TINY, fps=4.0), ivl_cache)
    assert text is not None and "vbench_vqa_frames" in text
    assert vqa.preflight(vqa.VQAOptions(model=TINY), ivl_cache) is None


def test_batched_scores_equal_one_at_a_time(ivl_cache):
    """Batching (used on accelerators) gives one-at-a-time values within the parity bar (checked on CPU)."""
    scorer = vqa.load(_Runtime(ivl_cache, vqa.VQAOptions(model=TINY, frames=4)))
    frames = [scorer.frames(p) for p in sorted(VIDEOS.iterdir())]
    one = [scorer.score(f, "a cat playing with a ball") for f in frames]
    many = scorer.score_many(frames, "a cat playing with a ball", batch=True)
    assert many == pytest.approx(one, abs=bar("vqa_score"), rel=0) and len(set(many)) == len(many)
