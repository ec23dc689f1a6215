"""``pytest-vbench fake-cache``: tiny seeded checkpoints for every family, marked FAKE in every report;
``pytest-vbench --version``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pytest_vbench import cli, compare, fake_checkpoints, weights
from pytest_vbench.dimensions import DIMENSIONS, GROUPS
from pytest_vbench.suite import load_suite

from synthetic import noise_frames, write_video

OFFICIAL = [n for n, d in DIMENSIONS.items() if d.group in GROUPS]


def _one_prompt_per_dimension() -> list[dict]:
    """The first bundled entries that, together, name each of the 16 dimensions once or more."""
    seen: set[str] = set()
    entries = []
    for e in load_suite().entries:
        if set(e["dimension"]) - seen:
            entries.append(e)
            seen.update(e["dimension"])
    assert seen == set(OFFICIAL)
    return entries


def test_version(capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(["--version"])
    assert exc.value.code == 0
    assert capsys.readouterr().out.strip() == f"pytest-vbench {cli._package_version()}"


def test_fake_cache_refuses_a_real_cache_and_unknown_dimensions(tmp_path, capsys):
    real = tmp_path / "real"
    (real / "amt_model").mkdir(parents=True)
    (real / "amt_model" / "amt-s.pth").write_bytes(b"real weights")
    assert cli.main(["fake-cache", str(real), "--dims", "motion_smoothness"]) == 2
    assert "refusing to mix fake weights into a real cache" in capsys.readouterr().err
    assert not (real / fake_checkpoints.MARKER).exists()
    assert cli.main(["fake-cache", str(tmp_path / "x"), "--dims", "temporal_flikering"]) == 2
    assert "did you mean 'temporal_flickering'" in capsys.readouterr().err


def test_every_family_of_the_16_dimensions_has_a_writer():
    families = fake_checkpoints.families_for(OFFICIAL)
    assert {"viclip", "umt"} <= set(families)
    assert [f for f in families if f not in fake_checkpoints.WRITERS] == []
    needed = {c.path for c in weights.for_dimensions(OFFICIAL)}
    assert needed  # every file preflight checks is written: see the end-to-end test below


def test_fake_marker_is_what_makes_unofficial_files_acceptable(tmp_path, monkeypatch):
    monkeypatch.delenv(weights.UNOFFICIAL_ENV, raising=False)
    fake_checkpoints.write("musiq", tmp_path, seed=1, tiny=True)
    (ckpt,) = weights.for_dimensions(["imaging_quality"])
    assert weights.check(ckpt, tmp_path).state == "mismatch"
    (tmp_path / fake_checkpoints.MARKER).write_text("{}")
    status = weights.check(ckpt, tmp_path)
    assert status.state == "unofficial" and "fake cache" in status.detail
    assert compare.identity(["imaging_quality"], tmp_path)["fake_checkpoints"] is True
    real = {"identity": compare.identity(["imaging_quality"], None)}
    fake = {"identity": compare.identity(["imaging_quality"], tmp_path)}
    assert any("FAKE checkpoints" in line for line in compare.differences(real, fake))


def test_fake_cache_runs_all_16_dimensions_through_the_plugin(pytester, tmp_path, monkeypatch):
    """One run: the fake cache alone passes preflight, every dimension scores, every surface says FAKE."""
    monkeypatch.delenv(weights.UNOFFICIAL_ENV, raising=False)  # the marker, not the variable, lets it load
    cache = tmp_path / "cache"
    assert cli.main(["fake-cache", str(cache)]) == 0
    marker = json.loads((cache / fake_checkpoints.MARKER).read_text())
    assert marker["fake"] is True and set(fake_checkpoints.families_for(OFFICIAL)) <= set(marker["families"])
    assert [c.path for c in weights.for_dimensions(OFFICIAL) if not weights.location(c, cache).is_file()] == []

    entries = _one_prompt_per_dimension()
    suite = tmp_path / "suite.json"
    suite.write_text(json.dumps(entries), encoding="utf-8")
    videos = tmp_path / "videos"
    videos.mkdir()
    for i, e in enumerate(entries):  # 128 px: the smallest side RAFT's and AMT's pyramids accept
        write_video(videos / f"{e['prompt_en']}-0.mp4", noise_frames(i, n=8, h=128, w=128))
    out, md = tmp_path / "r.json", tmp_path / "s.md"
    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "--vbench-videos", str(videos), "--vbench-full-info", str(suite),
        "--vbench-samples", "1", "--vbench-cache-dir", str(cache), "--vbench-json", str(out),
        "--vbench-markdown", str(md), "-v", "--vbench-progress", "always", "-o", "vbench_progress_interval=0")
    result.assert_outcomes(passed=sum(len(e["dimension"]) for e in entries))
    # without xdist a video's line (and the status line) is printed as it finishes, inside its item
    result.stdout.fnmatch_lines(["vbench::subject_consistency[[]*[]] ", "    *-0.mp4  *s",
                                 "vbench: */* items, */* videos, * videos/s, ETA *subject_consistency *",
                                 "vbench::subject_consistency[[]*[]] PASSED*"])
    result.stdout.fnmatch_lines(["vbench: FAKE CHECKPOINTS in *", "*VBench summary*", "FAKE CHECKPOINTS: *meaningless*"])
    report = json.loads(out.read_text(encoding="utf-8"))
    assert report["identity"]["fake_checkpoints"] is True
    assert {n: d["videos"]["scored"] for n, d in report["dimensions"].items()} == dict.fromkeys(OFFICIAL, 1)
    assert "FAKE CHECKPOINTS" in Path(md).read_text(encoding="utf-8").split("|")[0]


def test_html_and_markdown_say_fake(monkeypatch):
    from pytest_vbench import plots, report

    rep = {"identity": {"fake_checkpoints": True}, "dimensions": {}, "scores": {
        g: {"value": None, "partial": True, "missing": []} for g in ("quality", "semantic", "total")},
        "runtime": {"timing": {}}, "suite": {"source": "s", "sha256": "0" * 64, "mode": "standard"},
        "dimensions_not_implemented": []}
    monkeypatch.setattr(plots, "radar", lambda *a: None)  # no matplotlib needed for the page's text
    monkeypatch.setattr(plots, "_img", lambda *a: "")
    assert "FAKE CHECKPOINTS" in plots.render_html(rep)
    assert "FAKE CHECKPOINTS" in report.markdown(rep)
    assert report.format_table(rep)[0].startswith("FAKE CHECKPOINTS")
    real = dict(rep, identity={})
    assert "FAKE" not in plots.render_html(real) + report.markdown(real) + "\n".join(report.format_table(real))


def test_preflight_of_a_fake_cache_says_so_once(tmp_path, monkeypatch):
    # A dry run's files all differ from the published digests: one summary line, not one line per file.
    monkeypatch.delenv(weights.UNOFFICIAL_ENV, raising=False)
    dims = ["subject_consistency", "scene"]
    for family in {f for d in dims for f in weights._families(d, False)}:
        fake_checkpoints.write(family, tmp_path, seed=1, tiny=True)
    (tmp_path / fake_checkpoints.MARKER).write_text("{}")
    said: list[str] = []
    assert weights.preflight(dims, tmp_path, warn=said.append) is None
    assert len(said) == 1 and "FAKE cache" in said[0], said
    (tmp_path / fake_checkpoints.MARKER).unlink()
    monkeypatch.setenv(weights.UNOFFICIAL_ENV, "1")  # accepted for another reason: each file is named
    said.clear()
    assert weights.preflight(dims, tmp_path, warn=said.append) is None
    assert len(said) >= 3 and all("not the official file" in line for line in said), said
