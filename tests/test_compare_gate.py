"""The baseline comparison end to end: pytest, ``pytest-vbench gate`` and ``merge`` give one verdict."""

from __future__ import annotations

import base64
import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from pytest_vbench.cli import main

from synthetic import noise_frames, write_video

PROMPTS = 8  # the first 8 temporal_flickering prompts of the bundled suite (5 "A tranquil tableau ...")


def run(pytester, *args):
    """Run pytest in a subprocess (in-process runs would re-import OpenCV, which crashes)."""
    return pytester.runpytest_subprocess("-p", "no:cacheprovider", *map(str, args))


def load(path) -> dict:
    return json.loads(Path(path).read_text(encoding="utf-8"))


def _pytest(cwd: Path, *args) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(Path(__file__).parents[1]), os.environ.get("PYTHONPATH", "")]))
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *map(str, args)], cwd=cwd,
                          capture_output=True, text=True, env=env, check=False)


def _videos(root: Path, suite: Path, amplitude: int, seed: int = 0) -> Path:
    root.mkdir()
    for p, entry in enumerate(json.loads(suite.read_text())):
        for i in range(5):
            write_video(root / f"{entry['prompt_en']}-{i}.mp4",
                        noise_frames(seed=seed + 10 * p + i, amplitude=amplitude))
    return root


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> dict:
    """Eight prompts; baseline videos (little flicker) and their report; current videos (more flicker)."""
    from pytest_vbench.suite import load_suite

    root = tmp_path_factory.mktemp("compare")
    entries = [e for e in load_suite().entries if e["dimension"] == ["temporal_flickering"]][:PROMPTS]
    suite = root / "suite8.json"
    suite.write_text(json.dumps(entries), encoding="utf-8")
    base_dir, cur_dir = _videos(root / "base", suite, 3), _videos(root / "cur", suite, 9)
    base = root / "base.json"
    done = _pytest(root, "--vbench-videos", base_dir, "--vbench-full-info", suite, "--vbench-json", base,
                   "--vbench-cache-dir", root / "empty-cache")
    assert done.returncode == 0, done.stdout + done.stderr
    return {"suite": suite, "base_dir": base_dir, "cur_dir": cur_dir, "base": base}


def _cfg(path: Path, baseline: Path, extra: str = "") -> Path:
    path.write_text(f"fail_under:\n  temporal_flickering: 99.99\nbaseline: {baseline}\nmax_drop: 0.1\n"
                    f"resamples: 2000\n{extra}")
    return path


def _pngs(html: str) -> list[bytes]:
    return [base64.b64decode(m) for m in re.findall(r'src="data:image/png;base64,([^"]+)"', html)]


def test_same_verdict_in_pytest_gate_and_merge(pytester, world, tmp_path, capsys):
    cur, s1, s2, merged, page = (tmp_path / n for n in ("cur.json", "s1.json", "s2.json", "m.json", "r.html"))
    common = ["--vbench-videos", world["cur_dir"], "--vbench-full-info", world["suite"]]
    cfg = _cfg(tmp_path / "vbench.yaml", world["base"])
    md = tmp_path / "summary.md"
    result = run(pytester, *common, "--vbench-config", cfg, "--vbench-json", cur, "--vbench-markdown", md,
                 "--vbench-html", page)
    assert result.ret == 1
    report = load(cur)
    failures = report["verdict"]["failures"]
    assert len(failures) == 2 and failures[0].startswith("FAIL temporal_flickering: ")
    assert re.match(r"FAIL temporal_flickering: regressed to \d+\.\d\d% from baseline \d+\.\d\d% \(delta -\d+\.\d\d "
                    r"points, 95% CI \[-\d+\.\d\d, -\d+\.\d\d\], adjusted p=0\.00\d\d; allowed drop 0\.1 points\)",
                    failures[1]), failures[1]
    assert all(line in result.stdout.lines for line in failures)
    result.stdout.fnmatch_lines(["compared with baseline over 8 paired prompts*", "temporal_flickering*regressed"])
    assert report["comparison"]["names"][0]["status"] == "regressed"
    assert "### Compared with the baseline" in md.read_text()

    # the HTML page: verdict, tables, three embedded PNGs (delta bars, largest drops, radar); linked
    html = page.read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>") and html.rstrip().endswith("</html>")
    assert "Verdict: FAIL" in html and "regressed" in html and "Prompts with the largest drops" in html
    images = _pngs(html)
    assert len(images) == 3
    for png in images:
        img = Image.open(io.BytesIO(png))
        img.verify()
        assert img.format == "PNG" and img.size[0] > 300
    assert f"[r.html]({page})" in md.read_text()
    assert not list(tmp_path.glob("*.part"))

    # 2: the saved report, gated by the command
    capsys.readouterr()
    assert main(["gate", str(cur), "--config", str(cfg)]) == 1
    out = capsys.readouterr().out.splitlines()
    assert [line for line in out if line.startswith("FAIL")] == failures

    # 3: two shards of the run, merged and gated
    # (each shard is a partial run on purpose: --vbench-allow-partial)
    run(pytester, *common, "--vbench-json", s1, "-k", "tranquil", "--vbench-allow-partial")
    run(pytester, *common, "--vbench-json", s2, "-k", "not tranquil", "--vbench-allow-partial")
    assert main(["merge", str(s1), str(s2), "-o", str(merged), "--config", str(cfg)]) == 1
    out = capsys.readouterr().out.splitlines()
    assert [line for line in out if line.startswith("FAIL")] == failures
    m = load(merged)
    assert m["verdict"]["failures"] == failures
    assert m["comparison"] == report["comparison"] and m["identity"] == report["identity"]

    # deterministic: the same merged report (but its finishing time), byte for byte
    again = tmp_path / "again.json"
    assert main(["merge", str(s1), str(s2), "-o", str(again), "--config", str(cfg)]) == 1
    def strip(p):
        return json.dumps({k: v for k, v in load(p).items() if k != "runtime"})
    assert strip(again) == strip(merged)


def test_noise_passes_where_the_old_fixed_rule_failed(pytester, world, tmp_path, capsys):
    """Two runs of the same 'generator' (other seeds): a point drop, not significant: PASS."""
    other_dir = _videos(tmp_path / "other", world["suite"], 3, seed=900)
    other = tmp_path / "other.json"
    run(pytester, "--vbench-videos", other_dir, "--vbench-full-info", world["suite"], "--vbench-json", other)
    b, c = load(world["base"]), load(other)
    rb, rc = (r["dimensions"]["temporal_flickering"]["raw"] for r in (b, c))
    assert rb != rc
    worse, better = (other, world["base"]) if rc < rb else (world["base"], other)
    # the old rule (any drop beyond max_regression 0) would fail; the comparison says: no significant change
    assert main(["gate", str(worse), "--baseline", str(better), "--resamples", "2000"]) == 0
    out = capsys.readouterr().out
    assert "no significant change" in out and "FAIL" not in out


def test_incomparable_baseline_is_a_usage_error_unless_forced(pytester, world, tmp_path, capsys):
    suite8, cur_dir = world["suite"], world["cur_dir"]
    base = tmp_path / "base.json"
    data = load(world["base"])
    data["samples_per_prompt"] = 3
    data["identity"]["implementations"]["temporal_flickering"] = "0" * 16
    base.write_text(json.dumps(data))
    result = run(pytester, "--vbench-videos", cur_dir, "--vbench-full-info", suite8, "--vbench-baseline", base)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*baseline cannot be compared*", "*samples per prompt: baseline 3, this run 5*",
                                 "*dimension implementation changed: temporal_flickering*"])
    assert "passed" not in result.stdout.str()  # stopped before any item ran
    out = tmp_path / "cur.json"
    result = run(pytester, "--vbench-videos", cur_dir, "--vbench-full-info", suite8, "--vbench-baseline", base,
                 "--vbench-baseline-force", "--vbench-resamples", "500", "--vbench-json", out)
    assert result.ret == 1  # forced: compared, and the drop is real
    forced = load(out)["comparison"]["forced"]
    assert any("samples per prompt" in f for f in forced)
    # without a baseline the HTML page has the radar only
    assert main(["gate", str(world["base"]), "--html", str(tmp_path / "b.html")]) == 0
    assert len(_pngs((tmp_path / "b.html").read_text())) == 1


def test_merge_refuses_overlap_and_incompatible_shards(tmp_path, capsys):
    shard = {"schema": "pytest-vbench/1", "suite": {"sha256": "s", "source": "x"}, "samples_per_prompt": 5,
             "missing_as_zero": False, "dimensions_selected": ["temporal_flickering"], "dimensions": {},
             "cases": [{"dimension": "temporal_flickering", "prompt": "p", "order": 0, "videos": [], "errors": [],
                        "missing": []}]}
    a, b, c = tmp_path / "a.json", tmp_path / "b.json", tmp_path / "c.json"
    a.write_text(json.dumps(shard))
    b.write_text(json.dumps(shard))
    assert main(["merge", str(a), str(b), "-o", str(tmp_path / "m.json")]) == 2
    err = capsys.readouterr().err
    assert "shards overlap: temporal_flickering[p] in " in err and not (tmp_path / "m.json").exists()
    other = dict(shard, samples_per_prompt=4, cases=[dict(shard["cases"][0], prompt="q")])
    c.write_text(json.dumps(other))
    assert main(["merge", str(a), str(c), "-o", str(tmp_path / "m.json")]) == 2
    assert "samples per prompt" in capsys.readouterr().err


def test_gate_usage_errors(tmp_path, capsys):
    assert main(["gate", str(tmp_path / "nope.json")]) == 2
    assert "cannot read report" in capsys.readouterr().err
    (tmp_path / "r.json").write_text("{}")
    assert main(["gate", str(tmp_path / "r.json")]) == 2
    assert "not a pytest-vbench JSON report" in capsys.readouterr().err
