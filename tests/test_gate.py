"""Thresholds, the YAML config and the baseline gate."""

from __future__ import annotations

import json

import pytest

from pytest_vbench.gate import GateError, evaluate, load_baseline, load_config, parse_threshold
from pytest_vbench.scoring import final_scores


def test_percent_scale_and_names():
    t = parse_threshold("Total=80")
    assert (t.name, t.percent) == ("total", 80.0)
    assert parse_threshold("subject consistency=95.5").name == "subject_consistency"
    assert parse_threshold("dynamic_degree=1%").percent == 1.0


@pytest.mark.parametrize("spec,message", [
    ("total=0.8", r"looks like the 0-1 scale.*did you mean total=80"),
    ("total=120", r"percentage in \[0, 100\]"),
    ("total", "expected NAME=VALUE"),
    ("totl=80", "did you mean 'total'"),
    ("total=high", "not a number"),
])
def test_bad_thresholds(spec, message):
    with pytest.raises(GateError, match=message):
        parse_threshold(spec)


def test_config_file(tmp_path):
    cfg = tmp_path / "vbench.yaml"
    cfg.write_text("fail_under:\n  total: 80\n  temporal_flickering: 95\nbaseline: base.json\nmax_regression: 0.5\n")
    thresholds, extra = load_config(cfg)
    assert [(t.name, t.percent) for t in thresholds] == [("total", 80), ("temporal_flickering", 95)]
    assert extra == {"baseline": str(tmp_path / "base.json"), "max_regression": 0.5}


@pytest.mark.parametrize("text,message", [
    ("fail_under: [1, 2]", "fail_under must be a mapping"),
    ("fail_under:\n  total: 0.5\n", "0-1 scale"),
    ("thresholds: {}\n", "unknown key"),
    ("fail_under: {total: 80\n", "not valid YAML"),
    ("- a\n- b\n", "must be a mapping"),
])
def test_malformed_config(tmp_path, text, message):
    cfg = tmp_path / "bad.yaml"
    cfg.write_text(text)
    with pytest.raises(GateError, match=message) as exc:
        load_config(cfg)
    assert str(cfg) in str(exc.value)


def test_missing_config_file(tmp_path):
    with pytest.raises(GateError, match="cannot read config file"):
        load_config(tmp_path / "nope.yaml")


def test_evaluate_thresholds_partial_and_missing():
    raws = {"temporal_flickering": 0.95}
    groups = final_scores(raws)
    fails = evaluate([parse_threshold("temporal_flickering=96"), parse_threshold("temporal_flickering=94"),
                      parse_threshold("quality=10"), parse_threshold("semantic=10"),
                      parse_threshold("subject_consistency=50")], raws, groups)
    assert fails[0].startswith("FAIL temporal_flickering: 95.00% < 96%")
    assert "only a partial score" in fails[1] and "subject_consistency" in fails[1]
    assert "cannot be computed: missing object_class" in fails[2]
    assert fails[3].startswith("FAIL subject_consistency: no score")
    assert len(fails) == 4


def test_missing_as_zero_makes_groups_complete():
    raws = {"temporal_flickering": 0.95}
    groups = final_scores(raws, missing_as_zero=True)
    fails = evaluate([parse_threshold("quality=0%"), parse_threshold("total=0%")], raws, groups,
                     missing_as_zero=True)
    # the official rule: five missing quality dims count as raw 0 and normalise below zero
    assert fails[0] == "FAIL quality: -32.03% < 0% (--vbench-fail-under)"
    assert len(fails) == 2 and "partial" not in fails[1]


def test_baseline_regression(tmp_path):
    base = tmp_path / "base.json"
    base.write_text(json.dumps({"dimensions": {"temporal_flickering": {"raw": 0.96}},
                                "scores": {"quality": {"value": 0.9, "partial": True}}}))
    baseline = load_baseline(base)
    assert baseline == {"temporal_flickering": pytest.approx(96.0)}
    # the regression decision itself is compare.py's (tests/test_compare.py)
    bad = tmp_path / "bad.json"
    bad.write_text("[]")
    with pytest.raises(GateError, match="not a pytest-vbench JSON report"):
        load_baseline(bad)
