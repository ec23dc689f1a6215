"""The baseline comparison: paired bootstrap over prompts, the rule, tolerances, comparability."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import numpy as np
import pytest

from pytest_vbench import compare
from pytest_vbench.compare import CompareError, Settings, Tolerances
from pytest_vbench.gate import evaluate, load_config
from pytest_vbench.report import Results
from pytest_vbench.scoring import final_scores

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

SUITE = {"mode": "standard", "source": "test", "sha256": "abc", "entries": 0}


def make_report(per_prompt: dict[str, dict[str, list[float]]], samples: int = 5, suite=SUITE, identity=None) -> dict:
    """A report dict from {dimension: {prompt: [per-video scores]}} (one unit per video)."""
    dims = list(per_prompt)
    res = Results(dims, dict(suite), samples)
    for name, prompts in per_prompt.items():
        res.expected[name] = len(prompts)
        for order, (prompt, scores) in enumerate(prompts.items()):
            res.add({"dimension": name, "prompt": prompt, "order": order, "folder": name, "errors": [], "missing": [],
                     "videos": [{"video": f"{prompt}-{i}.mp4", "path": f"/v/{prompt}-{i}.mp4", "sample": i,
                                 "sum": float(s), "count": 1, "record": None} for i, s in enumerate(scores)]})
    out = res.summary()
    if identity is not None:
        out["identity"] = identity
    return out


def noisy(seed: int, shift: float = 0.0, prompts: int = 40, dims=("temporal_flickering", "aesthetic_quality"),
          spread: float = 0.05, effects=None) -> dict:
    rng = np.random.default_rng(seed)
    effects = effects if effects is not None else np.random.default_rng(0).normal(0.8, 0.05, (len(dims), prompts))
    data = {}
    for j, d in enumerate(dims):
        data[d] = {f"prompt {i}": list(np.clip(effects[j, i] + rng.normal(0, spread, 5) - shift, 0, 1))
                   for i in range(prompts)}
    return make_report(data)


def test_identical_runs_have_zero_delta_and_no_change():
    a = noisy(1)
    c = compare.compare(a, json.loads(json.dumps(a)), resamples=500)
    for n in c.names:
        assert (n.delta, n.low, n.high) == (0.0, 0.0, 0.0)
        assert n.status == compare.NO_CHANGE
    assert c.failures() == []


def test_constant_shift_is_exact_and_significant():
    base = noisy(1)
    cur = make_report({d: {p: [v["sum"] - 0.02 for v in vids]
                           for p, vids in _videos(base, d).items()} for d in base["dimensions"]})
    c = compare.compare(base, cur, resamples=500)
    tf = c.by_name()["temporal_flickering"]
    assert tf.delta == pytest.approx(-2.0, abs=1e-9)
    assert (tf.low, tf.high) == (pytest.approx(-2.0, abs=1e-9), pytest.approx(-2.0, abs=1e-9))  # paired: no noise
    assert tf.status == compare.REGRESSED and tf.p_drop == pytest.approx(1 / 501)


def _videos(report, dim):
    return {c["prompt"]: c["videos"] for c in report["cases"] if c["dimension"] == dim}


def test_point_estimates_match_the_reports_and_scoring():
    base, cur = noisy(1), noisy(2, shift=0.01)
    c = compare.compare(base, cur, resamples=200)
    for d in ("temporal_flickering", "aesthetic_quality"):
        n = c.by_name()[d]
        assert n.baseline == pytest.approx(base["dimensions"][d]["raw"] * 100, abs=1e-9)
        assert n.current == pytest.approx(cur["dimensions"][d]["raw"] * 100, abs=1e-9)
    # groups are partial here (2 of 16 dimensions): not compared, as before
    assert "quality" not in c.by_name() and "total" not in c.by_name()
    full = compare.compare(base, cur, resamples=200, missing_as_zero=True)
    q_b = final_scores({d: base["dimensions"][d]["raw"] for d in base["dimensions"]}, missing_as_zero=True)
    q_c = final_scores({d: cur["dimensions"][d]["raw"] for d in cur["dimensions"]}, missing_as_zero=True)
    assert full.by_name()["total"].delta == pytest.approx((q_c["total"].value - q_b["total"].value) * 100, abs=1e-9)


def test_bootstrap_spread_matches_the_paired_standard_error():
    base, cur = noisy(1, prompts=60, dims=("temporal_flickering",)), noisy(2, prompts=60, dims=("temporal_flickering",))
    stats = compare.bootstrap(compare.pair(base, cur), resamples=20000, seed=3)
    diffs = np.array([np.mean([v["sum"] for v in _videos(cur, "temporal_flickering")[p]])
                      - np.mean([v["sum"] for v in _videos(base, "temporal_flickering")[p]])
                      for p in _videos(base, "temporal_flickering")]) * 100
    se = diffs.std(ddof=0) / math.sqrt(len(diffs))
    _, _, delta, low, high, _, _ = stats["temporal_flickering"]
    assert delta == pytest.approx(diffs.mean(), abs=1e-9)
    assert (high - low) / (2 * 1.96) == pytest.approx(se, rel=0.06)


def test_prompts_are_resampled_with_all_their_dimensions():
    """Two dimensions sharing prompts move together in the resamples (a per-dimension resample would not)."""
    rng = np.random.default_rng(5)
    effects = rng.normal(0, 0.1, 50)
    data_b = {d: {f"p{i}": [0.5] * 5 for i in range(50)} for d in ("aesthetic_quality", "imaging_quality")}
    data_c = {d: {f"p{i}": [0.5 + effects[i]] * 5 for i in range(50)} for d in ("aesthetic_quality", "imaging_quality")}
    data_c["imaging_quality"] = {p: [100 * x for x in v] for p, v in data_c["imaging_quality"].items()}
    data_b["imaging_quality"] = {p: [100 * x for x in v] for p, v in data_b["imaging_quality"].items()}
    p = compare.pair(make_report(data_b), make_report(data_c))
    a = compare.bootstrap(p, resamples=2000, seed=1)
    # same prompt weights in both dimensions: identical interval (imaging_quality's scale 0.01 applied)
    assert a["aesthetic_quality"][3:5] == pytest.approx(a["imaging_quality"][3:5], abs=1e-9)


def test_deterministic_for_a_seed_and_independent_of_case_order():
    base, cur = noisy(1), noisy(2, shift=0.005)
    one = compare.compare(base, cur, resamples=1000).to_json()
    shuffled = dict(cur, cases=list(reversed(cur["cases"])))
    two = compare.compare(base, shuffled, resamples=1000).to_json()
    assert json.dumps(one, sort_keys=True) == json.dumps(two, sort_keys=True)
    other = compare.compare(base, cur, resamples=1000, seed=7).to_json()
    assert other["names"][0]["low"] != one["names"][0]["low"]


def test_fixed_point_totals_are_exact():
    rng = np.random.default_rng(0)
    cols = rng.random((300, 4)) * [1, 100, 15, 1e-3]
    q_cols, quantum = compare._fixed_point(cols, 300)
    assert np.all(q_cols == np.round(q_cols))
    assert np.abs(q_cols * quantum - cols).max() <= 1e-12 * 100
    w = rng.integers(0, 5, (10, 300)).astype(float)
    w[:, -1] = 300 - w[:, :-1].sum(axis=1).clip(max=300)  # any weights summing to n
    forward = (w @ q_cols) * quantum
    backward = (w[:, ::-1] @ q_cols[::-1]) * quantum
    assert np.array_equal(forward, backward)


def test_sign_flip_p_value_equals_the_exact_enumeration():
    """With 10 prompts all 1024 sign patterns can be enumerated: the Monte-Carlo p-value must agree."""
    import itertools

    rng = np.random.default_rng(2)
    for trial in range(5):
        eff = rng.normal(0.5, 0.1, 10)
        b = {f"p{i}": list(eff[i] + rng.normal(0, 0.05, 5)) for i in range(10)}
        shift = [0.0, 0.03, -0.03, 0.3, -0.2][trial]  # 0.3: the runs' sums lie in different binades
        c = {f"p{i}": list(eff[i] + shift + rng.normal(0, 0.05, 5)) for i in range(10)}
        base, cur = make_report({"aesthetic_quality": b}), make_report({"aesthetic_quality": c})
        stats = compare.bootstrap(compare.pair(base, cur), resamples=20000, seed=trial)
        diff = np.array([np.mean(c[p]) - np.mean(b[p]) for p in sorted(b)])
        signs = np.array(list(itertools.product([1, -1], repeat=10)))
        exact = np.mean(signs @ diff <= diff.sum() + 1e-12)
        assert stats["aesthetic_quality"][5] == pytest.approx(exact, abs=0.01)
        assert stats["aesthetic_quality"][6] == pytest.approx(np.mean(signs @ diff >= diff.sum() - 1e-12), abs=0.01)


def test_holm_adjustment():
    adj = compare._holm({"a": 0.01, "b": 0.04, "c": 0.03})
    assert adj == {"a": pytest.approx(0.03), "c": pytest.approx(0.06), "b": pytest.approx(0.06)}


def test_old_fixed_rule_and_new_rule_disagree():
    """Noise: the old rule (any point drop) fails, the new one does not. A real small drop: the reverse."""
    base, cur = noisy(1, spread=0.15, prompts=30), noisy(2, spread=0.15, prompts=30)
    c = compare.compare(base, cur, resamples=2000)
    dropped = [n for n in c.names if n.delta < 0]
    assert dropped, "the seed must give at least one point drop"
    assert c.failures() == []  # noise: not significant
    assert all(n.status == compare.NO_CHANGE for n in dropped)
    old_rule = [n.name for n in dropped if n.current < n.baseline - 0.0]  # the old --vbench-max-regression 0
    assert old_rule
    # a consistent 0.6-point drop with little noise: significant, beyond a 0.5 tolerance; the old rule
    # with max_regression 1 would have let it pass
    base2, cur2 = noisy(1, spread=0.002), noisy(2, spread=0.002, shift=0.006)
    c2 = compare.compare(base2, cur2, Tolerances(0.5), resamples=2000)
    tf = c2.by_name()["temporal_flickering"]
    assert tf.status == compare.REGRESSED and -1 < tf.delta < -0.5
    assert c2.failures()[0].startswith("FAIL temporal_flickering: regressed to ")
    c3 = compare.compare(base2, cur2, Tolerances(None, {"temporal_flickering": 1.0}), resamples=2000)
    assert c3.by_name()["temporal_flickering"].status == compare.WITHIN_TOLERANCE
    assert c3.failures() == [line for line in c3.failures() if "aesthetic_quality" in line]


def test_float_noise_floor_stays_underneath():
    base = noisy(1)
    cur = make_report({d: {p: [v["sum"] - 1e-9 for v in vids] for p, vids in _videos(base, d).items()}
                       for d in base["dimensions"]})
    c = compare.compare(base, cur, resamples=300)
    assert all(n.p_drop < 0.01 for n in c.names)  # consistently lower: "significant"...
    assert all(n.status == compare.NO_CHANGE for n in c.names)  # ...but float noise


def test_improvement_is_reported():
    base, cur = noisy(1, spread=0.002), noisy(2, spread=0.002, shift=-0.01)
    c = compare.compare(base, cur, resamples=1000)
    assert {n.status for n in c.names} == {compare.IMPROVED}


def test_unpaired_prompts_are_reported_and_left_out():
    base, cur = noisy(1), noisy(2)
    cur["cases"] = [x for x in cur["cases"] if x["prompt"] != "prompt 3"]
    base["cases"] = [x for x in base["cases"] if not (x["prompt"] == "prompt 5" and x["dimension"] == "aesthetic_quality")]
    c = compare.compare(base, cur, resamples=200)
    assert ("temporal_flickering", "prompt 3") in c.only_baseline
    assert ("aesthetic_quality", "prompt 5") in c.only_current
    assert any("only in baseline" in line for line in c.notes())
    n = c.by_name()["temporal_flickering"]
    kept = [x for x in base["cases"] if x["dimension"] == "temporal_flickering" and x["prompt"] != "prompt 3"]
    expected = math.fsum(v["sum"] for x in kept for v in x["videos"]) / sum(len(x["videos"]) for x in kept)
    assert n.baseline == pytest.approx(expected * 100, abs=1e-9)
    assert c.to_json()["only_in_baseline"][0] == ["temporal_flickering", "prompt 3"]


IDENT = {"pytest_vbench": "0.1.0", "precision": "fp32", "implementations": {"temporal_flickering": "aaa"},
         "checkpoints": {"raft_model/models/raft-things.pth": "d1"}}


@pytest.mark.parametrize("change,message", [
    (lambda r: r["suite"].update(sha256="other"), "prompt suite"),
    (lambda r: r.update(samples_per_prompt=3), "samples per prompt: baseline 5, this run 3"),
    (lambda r: r["identity"].update(precision="fp16"), "precision: baseline fp32, this run fp16"),
    (lambda r: r["identity"]["implementations"].update(temporal_flickering="bbb"), "implementation changed: temporal_flickering"),
    (lambda r: r["identity"]["checkpoints"].update({"raft_model/models/raft-things.pth": "d2"}), "checkpoint digests differ"),
])
def test_incomparable_baseline_is_refused_unless_forced(change, message):
    base = noisy(1)
    base["identity"] = json.loads(json.dumps(IDENT))
    cur = json.loads(json.dumps(base))
    change(cur)
    with pytest.raises(CompareError, match=message) as exc:
        compare.compare(base, cur, resamples=200)
    assert "--vbench-baseline-force" in str(exc.value)
    forced = compare.compare(base, cur, resamples=200, force=True)
    assert forced.forced and message.split(":")[0] in forced.forced[0]
    assert forced.to_json()["forced"] == forced.forced and "baseline-force" in forced.notes()[0]


def test_every_difference_is_listed():
    base = noisy(1)
    base["identity"] = json.loads(json.dumps(IDENT))
    cur = json.loads(json.dumps(base))
    cur["suite"]["sha256"], cur["samples_per_prompt"] = "x", 4
    with pytest.raises(CompareError) as exc:
        compare.check_comparable(base, cur)
    assert "prompt suite" in str(exc.value) and "samples per prompt" in str(exc.value)


def test_tolerances_from_config_and_command_line(tmp_path):
    cfg = tmp_path / "vbench.yaml"
    cfg.write_text("max_regression: 0.3\nmax_drop:\n  total: 0.5\n  dynamic degree: 2\nconfidence: 90\nresamples: 5000\n")
    _, extra = load_config(cfg)
    s = Settings.build(extra)
    assert (s.tolerances.of("total"), s.tolerances.of("dynamic_degree"), s.tolerances.of("color")) == (0.5, 2, 0.3)
    assert (s.confidence, s.resamples) == (0.9, 5000)
    s = Settings.build(extra, ["color=1", "0.1"], confidence="0.99")
    assert (s.tolerances.of("total"), s.tolerances.of("color"), s.tolerances.of("scene"), s.confidence) == (0.5, 1, 0.1, 0.99)
    s = Settings.build(extra, [], max_regression="0.7")  # --vbench-max-regression: the default tolerance
    assert (s.tolerances.of("scene"), s.tolerances.of("total")) == (0.7, 0.5)
    cfg.write_text("max_drop: {default: 1, total: 0.2}\nmax_regression: 0.3\n")
    _, extra = load_config(cfg)
    assert Settings.build(extra).tolerances.of("scene") == 1  # max_drop's default wins over max_regression


@pytest.mark.parametrize("text,message", [
    ("max_drop: .nan\n", "finite number"),
    ("max_drop: -1\n", "finite number >= 0"),
    ("max_drop: {totl: 1}\n", "did you mean 'total'"),
    ("confidence: 1.5\n", r"confidence must be in \(0.5, 1\)"),
    ("resamples: 10\n", "at least 100"),
])
def test_bad_comparison_config(tmp_path, text, message):
    cfg = tmp_path / "bad.yaml"
    cfg.write_text(text)
    with pytest.raises(CompareError, match=message):
        load_config(cfg)


def test_gate_evaluate_uses_the_comparison():
    base2, cur2 = noisy(1, spread=0.002), noisy(2, spread=0.002, shift=0.006)
    c = compare.compare(base2, cur2, resamples=1000)
    raws = {d: v["raw"] for d, v in cur2["dimensions"].items()}
    fails = evaluate([], raws, final_scores(raws), c)
    assert fails == c.failures() and len(fails) == 2


def test_simulated_false_alarms_and_power_small_case():
    """The bench_compare simulation at a small size: null runs on a 10 % subset rarely fail; a 1-point
    Total drop on the full suite is caught."""
    import bench_compare as sim

    layout = sim.suite_layout(0.1, seed=3)
    null = sim.simulate(layout, None, reps=40, resamples=1000, seed=11)
    per_name = [n.p_drop < c.alpha for c in null for n in c.names]
    assert len(per_name) == 40 * 19
    assert np.mean(per_name) <= 0.025 + 3 * math.sqrt(0.025 * 0.975 / 40)  # correlated names: per-run MC error
    assert sum(any(n.status == compare.REGRESSED for n in c.names) for c in null) <= 4
    full = sim.suite_layout()
    hit = sim.simulate(full, sim.total_drop(full[1], 1.0), reps=6, resamples=1000, seed=12)
    assert sum(c.by_name()["total"].status == compare.REGRESSED for c in hit) >= 5
    assert all(c.by_name()["total"].high < 0 for c in hit)


def test_nothing_in_common_fails_closed():
    base = noisy(1, dims=("temporal_flickering",))
    cur = noisy(2, dims=("aesthetic_quality",))
    c = compare.compare(base, cur, resamples=200)
    assert c.names == [] and c.failures()[0].startswith("FAIL baseline: no dimension could be compared")


def test_report_block_is_strict_json_when_a_small_dimension_has_no_resample():
    rng = np.random.default_rng(0)
    big = {f"p{i}": list(rng.random(5)) for i in range(30)}
    base = make_report({"aesthetic_quality": big, "temporal_flickering": {"p0": [0.9] * 5}})
    cur = make_report({"aesthetic_quality": {p: [x + 0.01 for x in v] for p, v in big.items()},
                       "temporal_flickering": {"p0": [0.8] * 5}})
    c = compare.compare(base, cur, resamples=300)
    tf = c.by_name()["temporal_flickering"]
    assert math.isfinite(tf.low)  # some resamples miss p0; the others still give the interval
    json.dumps(c.to_json(), allow_nan=False)
    row = compare.NameComparison("x", 1.0, 1.0, 0.0, float("nan"), float("nan"), 1.0, 1.0)
    assert row.to_json()["low"] is None


def test_html_without_matplotlib_is_a_usage_error(monkeypatch, tmp_path, capsys):
    from pytest_vbench import plots
    from pytest_vbench.cli import main

    report = tmp_path / "r.json"
    report.write_text(json.dumps(noisy(1)))
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib -> ImportError
    with pytest.raises(ImportError, match=r"pytest-vbench\[plots\]"):
        plots.require_matplotlib()
    assert main(["gate", str(report), "--html", str(tmp_path / "r.html")]) == 2
    assert "pip install 'pytest-vbench[plots]'" in capsys.readouterr().err
    assert not (tmp_path / "r.html").exists()


@pytest.mark.parametrize("shift", [5e-7, 1e-6])
def test_float_noise_of_one_micro_point_is_never_a_regression(shift):
    """Thread counts move per-video sums by ~1e-6: at or under the floor on raw scores, nothing regresses
    (dimensions, and the group scores that normalisation stretches)."""
    base = noisy(1)
    cur = make_report({d: {p: [v["sum"] - shift for v in vids] for p, vids in _videos(base, d).items()}
                       for d in base["dimensions"]})
    c = compare.compare(base, cur, resamples=300)
    assert [n.name for n in c.names if n.status != compare.NO_CHANGE] == []
    assert compare.noise_floor("temporal_flickering") == pytest.approx(1e-4)
    assert compare.noise_floor("total") > compare.noise_floor("quality") > 1e-4


@pytest.mark.parametrize("video", [{"sum": None, "count": 1}, {"sum": "nan", "count": 1}, {"count": 1},
                                   {"sum": 0.5, "count": -1}, "not a video"])
def test_a_baseline_with_a_damaged_video_score_is_refused_when_loaded(tmp_path, video):
    report = {"suite": {}, "dimensions": {}, "cases": [{"dimension": "temporal_flickering", "prompt": "a cat",
                                                        "videos": [{"sum": 0.9, "count": 1}, video]}]}
    path = tmp_path / "base.json"
    path.write_text(json.dumps(report))
    with pytest.raises(CompareError, match=r"temporal_flickering\[a cat\] holds a video without a finite score"):
        compare.load_report(path)
    report["cases"][0]["videos"].pop()
    path.write_text(json.dumps(report))
    assert compare.load_report(path)["cases"][0]["videos"] == [{"sum": 0.9, "count": 1}]


def test_identity_records_optional_checkpoints(tmp_path):
    # temporal_flickering loads RAFT when its static filter runs; a different RAFT can select other videos,
    # so its digest is part of what makes two runs comparable.
    from pytest_vbench import compare, weights

    raft = [c for c in weights.CHECKPOINTS if "raft" in c.families]
    assert raft
    for c in raft:
        weights.record_manifest(tmp_path, c.path, 1, "ab" * 32)
    ident = compare.identity(["temporal_flickering"], tmp_path)
    assert {c.path for c in raft} <= set(ident["checkpoints"])
    other = {"identity": {**ident, "checkpoints": {**ident["checkpoints"], raft[0].path: "cd" * 32}}}
    assert any("checkpoint digests differ" in d for d in compare.differences({"identity": ident}, other))
