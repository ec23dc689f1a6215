"""vqa_score options from the YAML config (``vqa:``), the ini keys and the command line: precedence and errors."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest

from pytest_vbench import gate
from pytest_vbench.models import vqa
from pytest_vbench.models.vqa import internvl, llava_ov, qwen, tiny

PARITY = Path(__file__).parent / "parity"
VIDEOS = PARITY / "videos" / "vqa_score"
TINY = "tiny-qwen2.5-vl"


def _yaml(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "vbench.yaml"
    p.write_text(text, encoding="utf-8")
    return p


def test_yaml_vqa_keys_are_the_ini_keys():
    from pytest_vbench import plugin

    ini_keys: set[str] = set()
    parser = SimpleNamespace(addini=lambda name, *a, **k: ini_keys.add(name))
    group = SimpleNamespace(addoption=lambda *a, **k: None)
    plugin._add_vqa_options(group, parser)
    assert ini_keys == {f"vbench_vqa_{k}" for k in vqa.CONFIG_KEYS}


def test_yaml_vqa_mapping_is_read_by_load_config(tmp_path):
    path = _yaml(tmp_path, 'fail_under: {vqa_score: 20}\nvqa:\n  model: internvl3-8b\n  question: \'Is "{}" shown?\'\n'
                           '  frames: 12\n')
    thresholds, extra = gate.load_config(path)
    assert [t.name for t in thresholds] == ["vqa_score"]
    assert extra["vqa"] == {"model": "internvl3-8b", "question": 'Is "{}" shown?', "frames": "12"}


@pytest.mark.parametrize("body, message", [
    ("vqa: [1, 2]", "vqa must be a mapping"),
    ("vqa: {frame: 8}", "unknown vqa key(s) ['frame']"),
    ("vqa: {fps: true}", "vqa.fps must be a string or a number"),
    ("vqa: {question: 'no placeholder'}", "must contain {} once"),
    ("vqa: {fps: 2, frames: 8}", "not both"),
    ("vqa: {frames: 1}", "at least 2"),
])
def test_a_bad_yaml_vqa_value_is_a_config_error_naming_the_file(tmp_path, body, message):
    path = _yaml(tmp_path, body + "\n")
    with pytest.raises(gate.GateError) as info:
        gate.load_config(path)
    assert str(path) in str(info.value) and message in str(info.value)


def test_precedence_command_line_then_yaml_then_ini_then_t2v_metrics_defaults():
    ini = {"model": "llava-onevision-qwen2-7b-ov", "question": 'ini "{}"?', "answer": "No", "fps": "", "frames": "12"}
    yaml = {"question": 'yaml "{}"?', "fps": "2"}
    o = vqa.combine(ini, yaml)
    # per key: YAML over ini; fps and frames are one setting, so YAML's fps drops the ini's frames
    assert (o.model, o.question, o.answer, o.fps, o.frames) == ("llava-onevision-qwen2-7b-ov", 'yaml "{}"?', "No", 2.0,
                                                                  None)
    assert vqa.combine(ini, yaml, "internvl3-8b").model == "internvl3-8b"  # --vbench-vqa-model wins
    assert vqa.combine(ini, {"model": "qwen2.5-vl-3b"}).model == "qwen2.5-vl-3b"
    kept = vqa.combine(ini, {"answer": "Yes"})  # YAML says nothing about frames: the ini's frame count stays
    assert (kept.frames, kept.fps, kept.answer) == (12, None, "Yes")
    # nothing set anywhere: t2v_metrics' defaults of the backend the snapshot has
    empty = vqa.combine({k: "" for k in vqa.CONFIG_KEYS}, {})
    assert empty == vqa.VQAOptions()
    assert empty.resolved(qwen.DEFAULTS) == vqa.VQAOptions("qwen2.5-vl-7b", 'Does this image show "{}"?', "Yes", 8.0,
                                                           None)
    assert empty.resolved(llava_ov.DEFAULTS).question == \
        'Does this image show "{}"? Answer the question with Yes or No'
    assert empty.resolved(internvl.DEFAULTS).question == 'Does this figure show "{}"? Please answer Yes or No.'
    assert (empty.resolved(llava_ov.DEFAULTS).frames, empty.resolved(internvl.DEFAULTS).frames) == (16, 16)


def test_plugin_takes_yaml_over_ini_and_names_the_source_of_a_bad_value():
    from pytest_vbench.plugin import _vqa_options

    ini = {"vbench_vqa_model": "", "vbench_vqa_question": 'ini "{}"?', "vbench_vqa_answer": "",
           "vbench_vqa_fps": "4", "vbench_vqa_frames": ""}
    config = SimpleNamespace(getini=ini.__getitem__, getoption=lambda name: None)
    got = _vqa_options(config, {"question": 'yaml "{}"?'})
    assert (got["question"], got["fps"]) == ('yaml "{}"?', 4.0)
    config = SimpleNamespace(getini=ini.__getitem__, getoption=lambda name: "internvl3-8b")
    assert _vqa_options(config, {"model": "qwen2.5-vl-3b"})["model"] == "internvl3-8b"
    bad = SimpleNamespace(getini={**ini, "vbench_vqa_fps": "-1"}.__getitem__, getoption=lambda name: None)
    with pytest.raises(pytest.UsageError, match="vqa_score: the VQA frame rate must be positive"):
        _vqa_options(bad, {})


def test_plugin_yaml_templates_override_the_ini_ones(pytester, tmp_path):
    """End to end: the YAML's templates and frame rate (the fps-2 t2v_metrics reference) beat conflicting ini
    values, and reach the scoring."""
    ref = json.loads((PARITY / "vqa_score_qwen2_5_vl_fps2.json").read_text(encoding="utf-8"))
    kw = ref["forward_kwargs"]
    cache = tmp_path / "cache"
    tiny.write_qwen2_5_vl(vqa.snapshot_dir(cache, TINY))
    (pytester.path / "pytest.ini").write_text(
        "[pytest]\nvbench_vqa_model = not-this-one\nvbench_vqa_question = Ignored {}?\nvbench_vqa_frames = 6\n",
        encoding="utf-8")
    cfg = pytester.path / "vbench.yaml"
    cfg.write_text(json.dumps({"vqa": {"model": TINY, "question": kw["question_template"],
                                       "answer": kw["answer_template"], "fps": kw["fps"]}}), encoding="utf-8")
    out = tmp_path / "r.json"
    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "-c", str(pytester.path / "pytest.ini"), "--vbench-config", str(cfg),
        "--vbench-videos", str(VIDEOS), "--vbench-mode", "custom", "--vbench-dims", "vqa_score",
        "--vbench-cache-dir", str(cache), "--vbench-device", "cpu", "--vbench-json", str(out))
    result.assert_outcomes(passed=3)
    rep = json.loads(out.read_text(encoding="utf-8"))
    got = {r["video"]: r["record"]["video_results"] for r in rep["dimensions"]["vqa_score"]["results"]}
    assert got == pytest.approx(ref["results"], abs=1e-5)
    # pytest-vbench gate reads the same config file and ignores its vqa: mapping
    from pytest_vbench import cli

    assert cli.main(["gate", str(out), "--config", str(cfg)]) == 0
    # the report names the snapshot by content: a baseline scored with another one is refused before any item
    assert rep["identity"]["checkpoints"]["vqa_model"].startswith(f"{TINY}:")
    other = vqa.snapshot_dir(cache, "other")
    tiny.write_qwen2_5_vl(other, seed=1)
    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "--vbench-videos", str(VIDEOS), "--vbench-mode", "custom",
        "--vbench-dims", "vqa_score", "--vbench-cache-dir", str(cache), "--vbench-vqa-model", "other",
        "--vbench-device", "cpu", "--vbench-baseline", str(out))
    assert result.ret == 4
    result.stderr.fnmatch_lines(["*checkpoint digests differ: vqa_model*"])
