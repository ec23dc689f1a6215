"""End-to-end runs of the plugin through pytester: items, reports, verdicts, bad input, xdist."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from pytest_vbench.dimensions.temporal_flickering import flicker_score
from pytest_vbench.video import opencv_frames

from synthetic import noise_frames, write_video


def run(pytester, *args, cache=False):
    """Run pytest in a subprocess (in-process runs would re-import OpenCV, which crashes)."""
    return pytester.runpytest_subprocess(*([] if cache else ["-p", "no:cacheprovider"]), *map(str, args))


def load(path) -> dict:
    return json.loads(Path(path).read_text(encoding="utf-8"))


def without_runtime(report: dict) -> dict:
    return {k: v for k, v in report.items() if k != "runtime"}


def test_run_scores_every_prompt_and_matches_the_formula(pytester, small_suite, flicker_videos, tmp_path):
    out = tmp_path / "r.json"
    result = run(pytester, "--vbench-videos", flicker_videos, "--vbench-full-info", small_suite,
                 "--vbench-json", out)
    result.assert_outcomes(passed=3)
    result.stdout.fnmatch_lines(["*VBench summary*", "temporal_flickering*quality*", "Quality*PARTIAL*"])
    report = load(out)
    per_video = [flicker_score(opencv_frames(p)) for p in sorted(flicker_videos.iterdir())]
    dim = report["dimensions"]["temporal_flickering"]
    assert dim["raw"] == pytest.approx(np.mean(per_video), abs=1e-12)
    assert dim["videos"] == {"scored": 15, "missing": 0, "failed": 0}
    assert dim["prompts"] == {"expected": 3, "scored": 3, "failed": 0, "not_run": 0}
    assert report["suite"]["sha256"] and report["suite"]["source"] == str(small_suite)
    assert report["verdict"]["passed"] is True
    assert sorted(r["record"]["video_results"] for r in dim["results"]) == pytest.approx(sorted(per_video))


def test_xdist_gives_identical_json(pytester, small_suite, flicker_videos, tmp_path):
    a, b = tmp_path / "n0.json", tmp_path / "n2.json"
    common = ["--vbench-videos", flicker_videos, "--vbench-full-info", small_suite]
    run(pytester, *common, "--vbench-json", a).assert_outcomes(passed=3)
    run(pytester, *common, "--vbench-json", b, "-n", "2").assert_outcomes(passed=3)
    ra, rb = load(a), load(b)
    assert rb["runtime"]["workers"] == 2
    assert json.dumps(without_runtime(ra), sort_keys=True) == json.dumps(without_runtime(rb), sort_keys=True)


def test_bad_videos_fail_their_item_only(pytester, small_suite, flicker_videos, tmp_path):
    (flicker_videos / "a toilet, frozen in time-1.mp4").write_bytes(b"\x00garbage" * 100)
    (flicker_videos / "a toilet, frozen in time-2.mp4").write_bytes(b"")
    write_video(flicker_videos / "a toilet, frozen in time-3.mp4", noise_frames(1, n=1))
    for i in range(5):
        (flicker_videos / f"a laptop, frozen in time-{i}.mp4").unlink()
    out = tmp_path / "r.json"
    result = run(pytester, "--vbench-videos", flicker_videos, "--vbench-full-info", small_suite,
                 "--vbench-json", out)
    result.assert_outcomes(passed=1, failed=2)
    result.stdout.fnmatch_lines([
        "*a toilet, frozen in time-1.mp4*OpenCV*",
        "*a toilet, frozen in time-2.mp4: the file is empty*",
        "*a toilet, frozen in time-3.mp4*single frame*",
        "*no video found for prompt 'a laptop, frozen in time'*a laptop, frozen in time-0.mp4*",
    ])
    dim = load(out)["dimensions"]["temporal_flickering"]
    assert dim["videos"] == {"scored": 7, "missing": 5, "failed": 3}
    assert dim["prompts"]["failed"] == 2 and dim["count"] == 7  # good videos of a failing prompt still count


def test_threshold_failure_sets_exit_status(pytester, small_suite, flicker_videos):
    result = run(pytester, "--vbench-videos", flicker_videos, "--vbench-full-info", small_suite,
                 "--vbench-fail-under", "temporal_flickering=99.9", "--vbench-fail-under", "temporal_flickering=50")
    result.assert_outcomes(passed=3)
    assert result.ret == 1
    result.stdout.fnmatch_lines(["FAIL temporal_flickering: *% < 99.9% (--vbench-fail-under)"])
    assert result.stdout.str().count("FAIL temporal_flickering") == 1


def test_thresholds_from_ini_and_config_and_no_summary(pytester, small_suite, flicker_videos):
    pytester.makeini("[pytest]\nvbench_fail_under =\n    temporal_flickering=99.9\n")
    cfg = pytester.path / "gate.yaml"
    cfg.write_text("fail_under:\n  quality: 10\n")
    result = run(pytester, "--vbench-videos", flicker_videos, "--vbench-full-info", small_suite,
                 "--vbench-config", cfg, "--no-summary")
    assert result.ret == 1  # decided in sessionfinish, so --no-summary does not skip the gate
    result = run(pytester, "--vbench-videos", flicker_videos, "--vbench-full-info", small_suite,
                 "--vbench-config", cfg)
    result.stdout.fnmatch_lines(["FAIL temporal_flickering*(ini vbench_fail_under)",
                                 "FAIL quality: only a partial score*"])


def test_missing_as_zero_matches_official_script(pytester, small_suite, flicker_videos, tmp_path):
    out = tmp_path / "r.json"
    run(pytester, "--vbench-videos", flicker_videos, "--vbench-full-info", small_suite,
        "--vbench-missing-as-zero", "--vbench-json", out)
    report = load(out)
    raw = report["dimensions"]["temporal_flickering"]["raw"]
    # official cal_final_score: every other dimension is raw 0
    quality = ((raw - 0.6293) / (1 - 0.6293) + (0 - 0.1462) / (1 - 0.1462) + (0 - 0.2615) / (1 - 0.2615)
               + (0 - 0.706) / (0.9975 - 0.706)) / 6.5
    semantic = ((0 - 0.0009) / (0.2855 - 0.0009)) / 9
    assert report["scores"]["quality"]["value"] == pytest.approx(quality, abs=1e-12)
    assert report["scores"]["total"]["value"] == pytest.approx((4 * quality + semantic) / 5, abs=1e-12)


@pytest.mark.parametrize("args,message", [
    (["--vbench-dims", "temporal_flickerin"], "*did you mean 'temporal_flickering'*"),
    (["--vbench-fail-under", "total=0.8"], "*looks like the 0-1 scale*"),
    (["--vbench-config", "missing.yaml"], "*cannot read config file*missing.yaml*"),
    (["--vbench-full-info", "nope.json"], "*cannot read prompt suite*nope.json*"),
    (["--vbench-mode", "custom", "--vbench-dims", "color,temporal_flickering"],
     "*custom cannot run color*auxiliary info*"),
    (["--vbench-prompt-file", "p.json"], "*--vbench-prompt-file needs --vbench-mode custom*"),
    (["--vbench-samples", "0"], "*--vbench-samples must be a positive integer*"),
])
def test_usage_errors(pytester, flicker_videos, args, message):
    result = run(pytester, "--vbench-videos", flicker_videos, *args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([message])


def test_a_named_dimension_the_suite_has_no_prompt_for_is_a_usage_error(pytester, small_suite, flicker_videos):
    result = run(pytester, "--vbench-videos", flicker_videos, "--vbench-full-info", small_suite,
                 "--vbench-dims", "temporal_flickering,subject_consistency")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--vbench-dims: the prompt suite*has no prompt for subject_consistency*"])


def test_missing_videos_directory(pytester, tmp_path):
    result = run(pytester, "--vbench-videos", tmp_path / "nowhere")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--vbench-videos:*nowhere does not exist*"])


def test_keyword_with_spaces_lf_and_exitfirst(pytester, small_suite, flicker_videos):
    common = ["--vbench-videos", str(flicker_videos), "--vbench-full-info", str(small_suite)]
    pytester.makeconftest("""
        import json
        def pytest_collection_finish(session):
            with open("selected.json", "w") as fh:
                json.dump({"keyword": session.config.option.keyword, "items": [i.nodeid for i in session.items]}, fh)
    """)
    result = run(pytester, *common, "-k", "temporal_flickering and stop sign", cache=True)
    result.assert_outcomes(passed=1, deselected=2)
    seen = load(pytester.path / "selected.json")
    assert seen["items"] == ["vbench::temporal_flickering[In a still frame, a stop sign]"]
    assert seen["keyword"] == "temporal_flickering and stop sign"  # as typed: not rewritten for the session
    xdist = run(pytester, *common, "-k", "temporal_flickering and stop sign", "-n", "2")
    xdist.assert_outcomes(passed=1)  # each worker selects with the same reading
    (flicker_videos / "a toilet, frozen in time-0.mp4").write_bytes(b"broken")
    run(pytester, *common, cache=True).assert_outcomes(passed=2, failed=1)
    result = run(pytester, *common, "--lf", cache=True)
    result.assert_outcomes(failed=1, deselected=2)
    result = run(pytester, *common, "-x")
    result.assert_outcomes(passed=1, failed=1)  # stops at the second item, the broken one


def test_collect_only_lists_items(pytester, small_suite, flicker_videos):
    result = run(pytester, "--vbench-videos", flicker_videos, "--vbench-full-info", small_suite,
                 "--collect-only", "-q", "-p", "no:xdist")  # the plugin works without pytest-xdist
    result.stdout.fnmatch_lines(["vbench::temporal_flickering[[]In a still frame, a stop sign[]]",
                                 "*3 tests collected*"])
    assert "VBench summary" not in result.stdout.str()


def test_reports_junit_official_markdown(pytester, small_suite, flicker_videos, tmp_path):
    junit, official, md = tmp_path / "j.xml", tmp_path / "official", tmp_path / "summary.md"
    md.write_text("earlier step\n")
    run(pytester, "--vbench-videos", flicker_videos, "--vbench-full-info", small_suite,
        f"--junitxml={junit}", "--vbench-results-dir", official, "--vbench-markdown", md,
        "--vbench-fail-under", "total=5").assert_outcomes(passed=3)
    assert junit.read_text().count('<property name="vbench"') == 3
    (eval_file,) = official.glob("results_*_eval_results.json")
    data = load(eval_file)
    score, records = data["temporal_flickering"]
    assert len(records) == 15 and set(records[0]) == {"video_path", "video_results"}
    assert Path(records[0]["video_path"]).is_file()
    assert score == pytest.approx(np.mean([r["video_results"] for r in records]))
    text = md.read_text()
    assert text.startswith("earlier step\n") and "**Verdict: FAIL**" in text and "| temporal_flickering |" in text


def test_custom_mode_single_file_and_directory(pytester, tmp_path):
    d = tmp_path / "custom"
    d.mkdir()
    write_video(d / "a dog running-0.mp4", noise_frames(1))
    write_video(d / "a dog running-1.mp4", noise_frames(2))
    write_video(d / "waves.mp4", noise_frames(3))
    out = tmp_path / "r.json"
    result = run(pytester, "--vbench-videos", d, "--vbench-mode", "custom", "--vbench-json", out,
                 "--vbench-dims", "temporal_flickering")
    result.assert_outcomes(passed=2)
    report = load(out)
    assert report["suite"]["mode"] == "custom"
    assert [c["prompt"] for c in report["cases"]] == ["a dog running", "waves"]
    run(pytester, "--vbench-videos", d / "waves.mp4", "--vbench-mode", "custom",
        "--vbench-dims", "temporal_flickering").assert_outcomes(passed=1)
    # without --vbench-dims, custom mode asks for every implemented custom-capable dimension
    result = run(pytester, "--vbench-videos", d, "--vbench-mode", "custom", "--vbench-cache-dir", tmp_path / "empty")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*missing*(needed by subject_consistency)*"])
    # listing the items needs no checkpoints: --collect-only skips the checkpoint preflight
    result = run(pytester, "--vbench-videos", d, "--vbench-mode", "custom", "--vbench-cache-dir", tmp_path / "empty",
                 "--collect-only", "-q")
    assert result.ret == pytest.ExitCode.OK, result.stderr.str()
    result.stdout.fnmatch_lines(["vbench::subject_consistency*", "*tests collected*"])


def test_merge_shards_equals_one_run(pytester, small_suite, flicker_videos, tmp_path):
    from pytest_vbench.cli import main

    common = ["--vbench-videos", flicker_videos, "--vbench-full-info", small_suite]
    full, s1, s2, merged = (tmp_path / n for n in ("full.json", "s1.json", "s2.json", "merged.json"))
    run(pytester, *common, "--vbench-json", full)
    assert run(pytester, *common, "--vbench-json", s1, "-k", "stop").ret == 1  # a partial run fails...
    assert run(pytester, *common, "--vbench-json", s2, "-k", "not stop", "--vbench-allow-partial").ret == 0  # ...unless asked
    assert load(s2)["complete"] is False and load(s2)["verdict"]["passed"] is True
    assert main(["merge", str(s2), str(s1), "-o", str(merged)]) == 0
    a, b = without_runtime(load(full)), without_runtime(load(merged))
    a.pop("verdict")
    assert json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


def test_plugin_is_silent_and_light_when_inactive(pytester):
    pytester.makepyfile("def test_ok():\n    assert True\n")
    result = pytester.runpytest_subprocess()
    result.assert_outcomes(passed=1)
    assert "VBench summary" not in result.stdout.str() and "vbench:" not in result.stdout.str()
    code = ("import sys, pytest_vbench.plugin; "
            "print(sorted(m for m in ('torch', 'numpy', 'cv2') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_cache_dir_resolution_order(pytester, small_suite, flicker_videos, tmp_path, monkeypatch):
    common = ["--vbench-videos", flicker_videos, "--vbench-full-info", small_suite, "--collect-only", "-q", "-v"]
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("VBENCH_CACHE_DIR", raising=False)
    run(pytester, *common).stdout.fnmatch_lines([f"*cache {tmp_path}/home/.cache/vbench"])
    monkeypatch.setenv("VBENCH_CACHE_DIR", str(tmp_path / "env"))
    run(pytester, *common).stdout.fnmatch_lines([f"*cache {tmp_path}/env"])
    monkeypatch.setenv("CACHEROOT", str(tmp_path / "ini"))
    ini = pytester.makeini("[pytest]\nvbench_cache_dir = $CACHEROOT/c\n")
    run(pytester, *common, "-c", ini).stdout.fnmatch_lines([f"*cache {tmp_path}/ini/c"])
    run(pytester, *common, "-c", ini, "--vbench-cache-dir", "~/opt").stdout.fnmatch_lines(
        [f"*cache {tmp_path}/home/opt"])


def test_model_dimension_end_to_end_with_fake_checkpoints(pytester, tmp_path):
    pytest.importorskip("pyiqa")
    pytest.importorskip("decord")
    from pytest_vbench import fake_checkpoints

    d = tmp_path / "custom"
    d.mkdir()
    write_video(d / "a dog running-0.mp4", noise_frames(1, n=4))
    write_video(d / "a dog running-1.mp4", noise_frames(2, n=4))
    cache = tmp_path / "cache"
    common = ["--vbench-videos", d, "--vbench-mode", "custom", "--vbench-dims", "imaging_quality,temporal_flickering",
              "--vbench-cache-dir", cache]
    result = run(pytester, *common)
    assert result.ret == pytest.ExitCode.USAGE_ERROR  # preflight: nothing runs without the checkpoint
    result.stderr.fnmatch_lines(["*missing  *pyiqa_model/musiq_spaq_ckpt-358bb6af.pth  (needed by imaging_quality)",
                                 "*pytest-vbench download --dims imaging_quality,temporal_flickering*"])
    fake_checkpoints.write("musiq", cache, seed=0, tiny=True)
    out = tmp_path / "r.json"
    run(pytester, *common, "--vbench-json", out, "-n", "2").assert_outcomes(passed=2)
    report = load(out)
    iq = report["dimensions"]["imaging_quality"]
    assert iq["videos"]["scored"] == 2 and iq["raw"] is not None
    assert iq["raw"] == pytest.approx(np.mean([r["record"]["video_results"] for r in iq["results"]]) / 100)
