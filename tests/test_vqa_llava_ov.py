"""vqa_score with LLaVA-OneVision (Hugging Face format), checked against t2v_metrics 3.0's llava-onevision path.

The references ``tests/parity/vqa_score_llava_onevision*.json`` were made by
``tools/t2v_metrics_vqa_reference.py --backend llava-onevision-qwen2-7b-ov`` (t2v_metrics 3.0 +
transformers 4.49 + LLaVA-NeXT's ``llava`` package in a side venv) on the committed videos and the
seeded tiny snapshot written by :func:`pytest_vbench.models.vqa.tiny.write_llava_onevision` (its file
digests are in the reference and checked first). The tool turns the llava-hf snapshot into the
lmms-lab form that t2v_metrics reads (same tensors, LLaVA-NeXT's names and config).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_vqa_score import VIDEOS, reference  # noqa: E402

from pytest_vbench.models import vqa
from pytest_vbench.models.vqa import llava_ov, tiny

from parity_harness import bar  # noqa: E402

TINY = "tiny-llava-onevision"
REFS = ["vqa_score_llava_onevision.json", "vqa_score_llava_onevision_f12.json"]


@pytest.fixture(scope="module")
def ov_cache(tmp_path_factory) -> Path:
    """A cache holding the seeded tiny LLaVA-OneVision snapshot as ``vqa_model/tiny-llava-onevision``."""
    cache = tmp_path_factory.mktemp("vqa_ov_cache")
    tiny.write_llava_onevision(vqa.snapshot_dir(cache, TINY))
    return cache


class _Runtime:
    def __init__(self, cache: Path, options: vqa.VQAOptions):
        self.cache_dir, self.device, self.options = cache, "cpu", {"vqa": options.to_json()}


def test_defaults_are_t2v_metrics_llava_onevision_defaults():
    ref = reference(REFS[0])
    assert ref["forward_kwargs"] == {}
    assert ref["defaults"] == {"question_template": llava_ov.DEFAULT_QUESTION, "answer_template": "Yes",
                               "num_frames": llava_ov.DEFAULT_FRAMES}
    resolved = vqa.VQAOptions(model=TINY).resolved(llava_ov.DEFAULTS)
    assert (resolved.question, resolved.answer, resolved.fps, resolved.frames) == \
        (llava_ov.DEFAULT_QUESTION, "Yes", None, 16)


@pytest.mark.parametrize("total,n,want", [(16, 16, list(range(16))), (9, 12, [0, 0, 1, 2, 2, 3, 4, 5, 5, 6, 7, 8]),
                                          (30, 4, [0, 9, 19, 29]), (10, 3, [0, 4, 9])])
def test_frame_indices_truncate_like_numpy_linspace_int(total, n, want):
    assert llava_ov.frame_indices(total, n) == want


def test_prompt_is_llava_next_qwen_1_5_conversation():
    assert llava_ov.prompt_text("Q?") == ("<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n"
                                          "<|im_start|>user\n<image>\nQ?<|im_end|>\n<|im_start|>assistant\n")


def test_video_tokens_and_frames(ov_cache):
    scorer = vqa.load(_Runtime(ov_cache, vqa.VQAOptions(model=TINY, frames=4)))
    frames = scorer.frames(VIDEOS / "a red car driving on a road-0.mp4")
    assert tuple(frames.shape) == (4, 3, 384, 384) and float(frames.min()) >= -1 and float(frames.max()) <= 1
    ids = scorer.backend.input_ids("q", 4)
    assert int((ids == scorer.backend.model.config.video_token_id).sum()) == 4 * 14 * 14 + 1


def test_a_frame_rate_is_refused_in_preflight_for_llava_onevision(ov_cache):
    text = vqa.preflight(vqa.VQAOptions(model=TINY, fps=2.0), ov_cache)
    assert text is not None and "vbench_vqa_frames" in text and TINY in text
    assert vqa.preflight(vqa.VQAOptions(model=TINY, frames=8), ov_cache) is None


def test_the_model_folder_name_does_not_pick_the_backend_config_does(ov_cache, tmp_path):
    """A folder named like a Qwen model but holding LLaVA-OneVision is read as LLaVA-OneVision."""
    folder = vqa.snapshot_dir(tmp_path, "qwen2.5-vl-7b")
    folder.mkdir(parents=True)
    for f in vqa.snapshot_dir(ov_cache, TINY).iterdir():
        (folder / f.name).symlink_to(f)
    scorer = vqa.load(_Runtime(tmp_path, vqa.VQAOptions(model="qwen2.5-vl-7b")))
    assert scorer.kind == "llava_onevision" and scorer.options.frames == 16


def test_known_models_name_their_backends():
    assert vqa.MODELS["llava-onevision-qwen2-7b-ov"].backend == "llava_onevision"
    assert set(m.backend for m in vqa.MODELS.values()) <= set(vqa.BACKENDS)
    text = vqa.preflight(vqa.VQAOptions(model="llava-onevision-qwen2-7b-ov"), Path("/nonexistent"))
    assert text is not None and "llava-hf/llava-onevision-qwen2-7b-ov-hf" in text
    assert json.dumps(vqa.VQAOptions().to_json())  # travels to workers as JSON


def test_batched_scores_equal_one_at_a_time(ov_cache):
    """Batching (used on accelerators) gives one-at-a-time values within the parity bar (checked on CPU)."""
    scorer = vqa.load(_Runtime(ov_cache, vqa.VQAOptions(model=TINY, frames=8)))
    assert not scorer.batches  # CPU: one at a time, as t2v_metrics
    frames = [scorer.frames(p) for p in sorted(VIDEOS.iterdir())]
    one = [scorer.score(f, "a red car driving on a road") for f in frames]
    scorer.max_batch = 3  # 4 videos of one shape: a batch of 3 and one of 1
    many = scorer.score_many(frames, "a red car driving on a road", batch=True)
    assert many == pytest.approx(one, abs=bar("vqa_score"), rel=0) and len(set(many)) == len(many)


def test_plugin_scores_with_llava_onevision_chosen_by_option(pytester, ov_cache, tmp_path):
    """--vbench-vqa-model picks the snapshot; its config picks the backend and its defaults (16 frames)."""
    ref = reference(REFS[0])
    out = tmp_path / "r.json"
    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "--vbench-videos", str(VIDEOS), "--vbench-mode", "custom", "--vbench-dims",
        "vqa_score", "--vbench-cache-dir", str(ov_cache), "--vbench-vqa-model", TINY, "--vbench-device", "cpu",
        "--vbench-json", str(out))
    result.assert_outcomes(passed=3)
    dim = json.loads(out.read_text(encoding="utf-8"))["dimensions"]["vqa_score"]
    got = {r["video"]: r["record"]["video_results"] for r in dim["results"]}
    assert got == pytest.approx(ref["results"], abs=bar("vqa_score"))


def test_preflight_needs_only_what_the_backend_reads_and_imports_no_torch(ov_cache, tmp_path):
    """LLaVA-OneVision builds its inputs the t2v_metrics way: no chat template or processor file is needed.
    Preflight runs in the controller before any item, so it must not import torch."""
    import os
    import subprocess
    import sys

    folder = vqa.snapshot_dir(tmp_path, "ov")
    folder.mkdir(parents=True)
    for f in vqa.snapshot_dir(ov_cache, TINY).iterdir():
        if f.name not in ("chat_template.json", "preprocessor_config.json", "generation_config.json"):
            (folder / f.name).symlink_to(f)
    code = ("import sys; from pathlib import Path; from pytest_vbench.models import vqa; "
            f"print(vqa.preflight(vqa.VQAOptions(model='ov'), Path({str(tmp_path)!r}))); "
            f"print(vqa.preflight(vqa.VQAOptions(model='ov', fps=2.0), Path({str(tmp_path)!r}))); "
            "print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=os.environ.copy(),
                         check=True).stdout.splitlines()
    assert out[0] == "None" and "vbench_vqa_frames" in out[1] and out[-1] == "False"
    # a Qwen snapshot without its chat template is incomplete
    qwen_like = tmp_path / "vqa_model" / "q"
    qwen_like.mkdir()
    (qwen_like / "config.json").write_text(json.dumps({"model_type": "qwen2_5_vl"}), encoding="utf-8")
    text = vqa.preflight(vqa.VQAOptions(model="q"), tmp_path)
    assert text is not None and "chat_template.json" in text and "preprocessor_config.json" in text
