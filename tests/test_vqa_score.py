"""vqa_score: P("Yes") of a video-language model, checked against t2v_metrics 3.0's own code.

The references in ``tests/parity/vqa_score_qwen2_5_vl*.json`` were made by
``tools/t2v_metrics_vqa_reference.py`` (t2v_metrics 3.0 + transformers 4.49 in a side venv) on the
committed videos in ``tests/parity/videos/vqa_score`` and the seeded tiny snapshot written by
:func:`pytest_vbench.models.vqa.tiny.write_qwen2_5_vl` (its file digests are in the reference and
checked first, so a changed writer cannot pass silently). The parity test itself, with the digest
check: ``tests/test_parity.py::test_parity[vqa_score_qwen2_5_vl*.json]``.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from pytest_vbench import dimensions, scoring, suite
from pytest_vbench import report as report_mod
from pytest_vbench.models import vqa
from pytest_vbench.models.vqa import qwen, tiny

from parity_harness import bar  # noqa: E402

PARITY = Path(__file__).parent / "parity"
VIDEOS = PARITY / "videos" / "vqa_score"
TINY = "tiny-qwen2.5-vl"


def reference(name: str) -> dict:
    return json.loads((PARITY / name).read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def vqa_cache(tmp_path_factory) -> Path:
    """A cache holding the seeded tiny Qwen2.5-VL snapshot as ``vqa_model/tiny-qwen2.5-vl``."""
    cache = tmp_path_factory.mktemp("vqa_cache")
    tiny.write_qwen2_5_vl(vqa.snapshot_dir(cache, TINY))
    return cache


class _Runtime:
    def __init__(self, cache: Path, options: vqa.VQAOptions):
        self.cache_dir, self.device, self.options = cache, "cpu", {"vqa": options.to_json()}


@pytest.fixture(scope="module")
def scorer(vqa_cache):
    return vqa.load(_Runtime(vqa_cache, vqa.VQAOptions(model=TINY)))


def test_defaults_are_t2v_metrics_defaults():
    ref = reference("vqa_score_qwen2_5_vl.json")
    assert ref["defaults"]["question_template"] == vqa.DEFAULT_QUESTION
    assert ref["defaults"]["answer_template"] == vqa.DEFAULT_ANSWER
    assert ref["fps"] == vqa.DEFAULT_FPS


@pytest.mark.parametrize("total,fps_in,fps,n,want", [
    (16, 8.0, 8.0, None, 16), (30, 24.0, 8.0, None, 10), (9, 4.0, 8.0, None, 8), (3, 8.0, 8.0, None, 2),
    (200, 8.0, 8.0, None, 200), (2000, 8.0, 8.0, None, 768), (100, 25.0, 2.0, None, 8),
    (100, 25.0, None, 7, 8), (100, 25.0, None, 5, 4),
])
def test_frame_count_is_qwen_vl_utils_rule(total, fps_in, fps, n, want):
    assert qwen.frame_count(total, fps_in, fps, n) == want


def test_a_frame_count_above_the_video_length_is_refused():
    with pytest.raises(ValueError, match="between 2 and 9"):
        qwen.frame_count(9, 8.0, None, 12)


def test_smart_resize_bounds():
    h, w = qwen.smart_resize(48, 64, 28, qwen.VIDEO_MIN_PIXELS, qwen.T2V_MAX_PIXELS)
    assert (h, w) == (280, 392) and h * w >= qwen.VIDEO_MIN_PIXELS
    h, w = qwen.smart_resize(720, 1280, 28, qwen.VIDEO_MIN_PIXELS, qwen.T2V_MAX_PIXELS)
    assert h % 28 == w % 28 == 0 and h * w <= qwen.T2V_MAX_PIXELS and abs(w / h - 16 / 9) < 0.1


def test_positions_follow_transformers_4_49_after_a_long_video(scorer):
    """16 frames = 8 time patches: 4.49 continues the text at 1 + max(time) = 15, transformers 5 at max(h, w)."""
    frames = scorer.frames(VIDEOS / "a red car driving on a road-0.mp4")
    inputs = scorer.backend.inputs(frames, "q")
    grid = tuple(int(v) for v in inputs["video_grid_thw"][0])
    ours = scorer.backend.positions(inputs["input_ids"], grid, 1.0)
    theirs, _ = scorer.backend.model.model.get_rope_index(
        inputs["input_ids"], inputs["mm_token_type_ids"], None, inputs["video_grid_thw"],
        inputs["second_per_grid_ts"], inputs["attention_mask"])
    is_video = (inputs["input_ids"][0] == scorer.backend.model.config.video_token_id).nonzero().flatten()
    first, last = int(is_video[0]), int(is_video[-1])
    assert ours[:, :, : last + 1].equal(theirs[:, :, : last + 1])  # same up to the end of the video
    video_max = int(ours[:, 0, first:last + 1].max())
    assert video_max == int(ours[0, 0, first]) + 7 * 2  # last time patch at 7 * 1.0 s * 2 tokens/s
    assert int(ours[0, 0, last + 1]) == video_max + 1
    assert int(theirs[0, 0, last + 1]) != int(ours[0, 0, last + 1])


def test_score_moves_with_the_prompt(scorer):
    frames = scorer.frames(VIDEOS / "a red car driving on a road-0.mp4")
    a = scorer.score(frames, "a red car driving on a road")
    b = scorer.score(frames, "a cat playing with a ball")
    assert 0 < a < 1 and 0 < b < 1 and abs(a - b) > 1e-4


def test_batched_scores_equal_one_at_a_time(scorer):
    """Batching (used on accelerators) gives one-at-a-time values within the parity bar (checked on CPU).

    The two red-car clips share a shape (one batch of 2, with M-RoPE positions per row); the others go alone."""
    frames = [scorer.frames(p) for p in sorted(VIDEOS.iterdir())]
    assert len({tuple(f.shape) for f in frames}) == 3
    one = [scorer.score(f, "a red car driving on a road") for f in frames]
    many = scorer.score_many(frames, "a red car driving on a road", batch=True)
    assert many == pytest.approx(one, abs=bar("vqa_score"), rel=0) and len(set(many)) == len(many)


def test_score_case_fails_only_the_videos_a_model_error_hits(scorer, monkeypatch):
    from types import SimpleNamespace

    from pytest_vbench.dimensions import vqa_score as dim
    from pytest_vbench.video import VideoError

    videos = [SimpleNamespace(path=VIDEOS / "a red car driving on a road-0.mp4"),
              SimpleNamespace(path=VIDEOS / "missing.mp4")]
    runtime = SimpleNamespace(model=lambda family: scorer, decoded=lambda path, decoder, load, **kw: load())
    out = dim.score_case(videos, SimpleNamespace(prompt="a red car"), runtime)
    assert isinstance(out[1], VideoError) and "missing.mp4" in str(out[1]) and 0 < out[0].sum < 1

    def boom(frames, prompt, **kwargs):
        raise RuntimeError("out of memory")

    monkeypatch.setattr(scorer, "score_many", boom)
    out = dim.score_case(videos, SimpleNamespace(prompt="a red car"), runtime)
    assert isinstance(out[0], RuntimeError) and "out of memory" in str(out[0]) and "road-0.mp4" in str(out[0])
    assert isinstance(out[1], VideoError)


def test_a_model_error_fails_only_the_video_or_the_batch_it_hit(scorer, monkeypatch):
    """One at a time (CPU) a model error fails its own video; batched (accelerators) the videos of its batch."""
    from types import SimpleNamespace

    from pytest_vbench.dimensions import vqa_score as dim

    paths = sorted(VIDEOS.iterdir())  # two red-car clips of one shape, two others
    videos = [SimpleNamespace(path=p) for p in paths]
    runtime = SimpleNamespace(model=lambda family: scorer, decoded=lambda path, decoder, load, **kw: load())
    frames = [scorer.frames(p) for p in paths]
    prompt = SimpleNamespace(prompt="a red car driving on a road")
    good = [scorer.score(f, prompt.prompt) for f in frames]
    real_score, real_batch = scorer.score, scorer.backend.p_answer_batch
    victim = 2  # one of the two clips that are not the red-car pair

    def score(f, text):
        if f is frames[victim]:
            raise RuntimeError("CUDA out of memory")
        return real_score(f, text)

    monkeypatch.setattr(scorer, "score", score)
    runtime.decoded = lambda path, decoder, load, **kw: frames[paths.index(path)]
    out = dim.score_case(videos, prompt, runtime)
    assert isinstance(out[victim], RuntimeError) and "CUDA out of memory" in str(out[victim])
    assert str(paths[victim]) in str(out[victim])
    assert [o.sum for i, o in enumerate(out) if i != victim] == [g for i, g in enumerate(good) if i != victim]

    def batch(fs, question, answer):
        if len(fs) == 2:
            raise RuntimeError("CUDA out of memory (batch of 2)")
        return real_batch(fs, question, answer)

    monkeypatch.setattr(scorer, "score", real_score)
    monkeypatch.setattr(scorer.backend, "p_answer_batch", batch)
    many = scorer.score_many(frames, prompt.prompt, batch=True, capture=True)
    failed = [i for i, m in enumerate(many) if isinstance(m, Exception)]
    assert len(failed) == 2 and {tuple(frames[i].shape) for i in failed} == {tuple(frames[failed[0]].shape)}
    assert [m for m in many if not isinstance(m, Exception)] == pytest.approx(
        [g for i, g in enumerate(good) if i not in failed], abs=bar("vqa_score"), rel=0)
    with pytest.raises(RuntimeError, match="batch of 2"):
        scorer.score_many(frames, prompt.prompt, batch=True)


# ------------------------------------------------------------------------------------- options
def test_options_parse_and_refuse_bad_values():
    o = vqa.VQAOptions.parse()
    assert (o.model, o.question, o.answer, o.fps, o.frames) == ("qwen2.5-vl-7b", None, None, None, None)
    r = o.resolved(qwen.DEFAULTS)  # unset fields: the backend's t2v_metrics defaults
    assert (r.question, r.answer, r.fps, r.frames) == (vqa.DEFAULT_QUESTION, "Yes", 8.0, None)
    assert vqa.VQAOptions.parse(frames="12").resolved(qwen.DEFAULTS).fps is None
    for kwargs, msg in (({"question": "no placeholder"}, "must contain"), ({"fps": "2", "frames": "8"}, "not both"),
                        ({"frames": "1"}, "at least 2"), ({"fps": "0"}, "positive"), ({"model": "../x"}, "folder")):
        with pytest.raises(ValueError, match=msg):
            vqa.VQAOptions.parse(**kwargs)


def test_preflight_names_the_missing_model_and_the_command(tmp_path, vqa_cache):
    text = vqa.preflight(vqa.VQAOptions(), tmp_path)
    assert "qwen2.5-vl-7b" in text and "pytest-vbench download --dims vqa_score --vqa-model qwen2.5-vl-7b" in text
    assert str(tmp_path / "vqa_model" / "qwen2.5-vl-7b") in text
    assert vqa.preflight(vqa.VQAOptions(model=TINY), vqa_cache) is None
    partial = tmp_path / "vqa_model" / "partial"
    partial.mkdir(parents=True)
    for f in vqa.snapshot_dir(vqa_cache, TINY).iterdir():
        if f.name != "tokenizer.json":
            (partial / f.name).write_bytes(f.read_bytes())
    assert "lacks tokenizer.json" in vqa.preflight(vqa.VQAOptions(model="partial"), tmp_path)


# ------------------------------------------------------------------ the extra group stays outside
def test_vqa_score_never_moves_quality_semantic_or_total():
    d = dimensions.get("vqa_score")
    assert d.group == dimensions.EXTRA and d.group not in dimensions.GROUPS and d.custom_mode
    raws = {n: 0.5 for n in dimensions.DIMENSIONS if dimensions.DIMENSIONS[n].group in dimensions.GROUPS}
    base = scoring.final_scores(raws)
    for value in (0.0, 1.0):
        with_vqa = scoring.final_scores({**raws, "vqa_score": value})
        assert {g: (s.value, s.missing) for g, s in with_vqa.items()} == {g: (s.value, s.missing) for g, s in base.items()}
    partial = scoring.final_scores({"temporal_flickering": 0.9})
    assert "vqa_score" not in partial["total"].missing


def test_report_keeps_vqa_score_out_of_the_official_file_and_says_so():
    results = report_mod.Results(["temporal_flickering", "vqa_score"], {"source": "x", "sha256": "0" * 64,
                                                                         "mode": "custom"}, 1)
    for dim, value in (("temporal_flickering", 0.9), ("vqa_score", 0.25)):
        results.expected[dim] = 1
        results.add({"dimension": dim, "prompt": "p", "order": 0, "missing": [], "errors": [], "seconds": 0.1,
                     "videos": [{"video": "p-0.mp4", "path": "/v/p-0.mp4", "sample": 0, "sum": value, "count": 1,
                                 "record": {"video_results": value}}]})
    rep = results.summary()
    assert rep["dimensions"]["vqa_score"]["raw"] == 0.25
    assert "vqa_score" not in report_mod.official_results(rep) and "temporal_flickering" in report_mod.official_results(rep)
    lines = report_mod.format_table(rep)
    assert any(line.startswith("Extra") and "vqa_score" in line and "not part of" in line for line in lines)
    assert "**Extra**: vqa_score" in report_mod.markdown(rep)


def test_standard_mode_scores_every_prompt_for_vqa_score(tmp_path):
    s = suite.load_suite(None)
    cases = suite.standard_cases(s, [dimensions.get("vqa_score")], tmp_path, samples=1)
    assert len(cases) == len({e["prompt_en"] for e in s.entries})
    first = s.entries[0]
    assert cases[0].prompt == first["prompt_en"] and cases[0].missing == [f"{first['prompt_en']}-0.mp4"]


# ------------------------------------------------------------------------------ through the plugin
def _run(pytester, *args):
    return pytester.runpytest_subprocess("-p", "no:cacheprovider", *map(str, args))


def test_plugin_custom_mode_scores_a_folder_by_prompt(pytester, vqa_cache, tmp_path):
    ref = reference("vqa_score_qwen2_5_vl.json")
    common = ["--vbench-videos", VIDEOS, "--vbench-mode", "custom", "--vbench-dims", "vqa_score",
              "--vbench-cache-dir", vqa_cache, "--vbench-vqa-model", TINY, "--vbench-device", "cpu"]
    a, b = tmp_path / "n0.json", tmp_path / "n2.json"
    result = _run(pytester, *common, "--vbench-json", a)
    result.assert_outcomes(passed=3)
    result.stdout.fnmatch_lines(["*vqa_score*extra*", "Extra*vqa_score*not part of Quality, Semantic or Total*"])
    rep = json.loads(a.read_text(encoding="utf-8"))
    dim = rep["dimensions"]["vqa_score"]
    got = {r["video"]: r["record"]["video_results"] for r in dim["results"]}
    assert got == pytest.approx(ref["results"], abs=1e-5)
    assert dim["raw"] == pytest.approx(math.fsum(got.values()) / len(got), abs=1e-12)
    assert rep["scores"]["total"]["value"] is None and "vqa_score" not in rep["scores"]["total"]["missing"]
    _run(pytester, *common, "--vbench-json", b, "-n", "2").assert_outcomes(passed=3)
    ra, rb = (json.loads(p.read_text(encoding="utf-8")) for p in (a, b))
    assert json.dumps({k: v for k, v in ra.items() if k != "runtime"}, sort_keys=True) == \
        json.dumps({k: v for k, v in rb.items() if k != "runtime"}, sort_keys=True)


def test_plugin_missing_model_is_a_usage_error_before_any_item(pytester, tmp_path):
    result = _run(pytester, "--vbench-videos", VIDEOS, "--vbench-mode", "custom", "--vbench-dims", "vqa_score",
                  "--vbench-cache-dir", tmp_path)
    assert result.ret == 4  # usage error
    result.stderr.fnmatch_lines(["*vqa_score needs the model 'qwen2.5-vl-7b'*",
                                 f"*Fetch it with:  pytest-vbench download --dims vqa_score --vqa-model "
                                 f"qwen2.5-vl-7b --cache-dir {tmp_path} (the hub repository "
                                 f"Qwen/Qwen2.5-VL-7B-Instruct at revision cc594898*"])


def test_plugin_ini_templates_reach_the_workers(pytester, vqa_cache, tmp_path):
    ref = reference("vqa_score_qwen2_5_vl_fps2.json")
    kw = ref["forward_kwargs"]
    (pytester.path / "pytest.ini").write_text(f"[pytest]\nvbench_vqa_model = {TINY}\nvbench_vqa_question = {kw['question_template']}\n"
                     f"vbench_vqa_answer = {kw['answer_template']}\nvbench_vqa_fps = {kw['fps']}\n",
                                              encoding="utf-8")
    out = tmp_path / "r.json"
    # -c: pytest looks for the ini file from the --vbench-videos path (this repository) otherwise
    _run(pytester, "-c", pytester.path / "pytest.ini", "--vbench-videos", VIDEOS, "--vbench-mode", "custom",
         "--vbench-dims", "vqa_score",
         "--vbench-cache-dir", vqa_cache, "--vbench-device", "cpu", "--vbench-json", out, "-n", "2"
         ).assert_outcomes(passed=3)
    got = {r["video"]: r["record"]["video_results"]
           for r in json.loads(out.read_text(encoding="utf-8"))["dimensions"]["vqa_score"]["results"]}
    assert got == pytest.approx(ref["results"], abs=1e-5)


def test_plugin_unreadable_video_fails_its_item_only(pytester, vqa_cache, tmp_path):
    videos = tmp_path / "videos"
    videos.mkdir()
    good = "a red car driving on a road-0.mp4"
    (videos / good).write_bytes((VIDEOS / good).read_bytes())
    (videos / "a broken clip-0.mp4").write_bytes(b"\x00garbage" * 50)
    out = tmp_path / "r.json"
    result = _run(pytester, "--vbench-videos", videos, "--vbench-mode", "custom", "--vbench-dims", "vqa_score",
                  "--vbench-cache-dir", vqa_cache, "--vbench-vqa-model", TINY, "--vbench-device", "cpu",
                  "--vbench-json", out)
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*a broken clip-0.mp4*cannot sample frames for vqa_score*"])
    assert result.ret != 0


def test_a_threshold_on_vqa_score_gates_like_any_dimension():
    from pytest_vbench import gate

    raws = {"vqa_score": 0.5, "temporal_flickering": 0.9}
    groups = scoring.final_scores(raws)
    assert gate.evaluate([gate.parse_threshold("vqa_score=60")], raws, groups) == \
        ["FAIL vqa_score: 50.00% < 60% (--vbench-fail-under)"]
    assert gate.evaluate([gate.parse_threshold("vqa_score=40")], raws, groups) == []


def test_vqa_score_is_never_selected_by_default():
    from types import SimpleNamespace

    from pytest_vbench.plugin import VBenchSession

    config = SimpleNamespace(getoption=lambda name: None, getini=lambda name: "")
    for mode, in_suite in (("custom", None), ("standard", set(dimensions.DIMENSIONS))):
        dims = VBenchSession._select_dims(SimpleNamespace(config=config, mode=mode), in_suite)
        assert dims and "vqa_score" not in [d.name for d in dims]
