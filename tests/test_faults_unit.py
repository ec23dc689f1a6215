"""The fail-closed guarantees, in process: completeness, the verdict, error capture, writers, usage errors.

End-to-end runs with injected faults (signals, crashes, NaN, full disk) are in tests/test_faults.py;
docs/guarantees.md names the test that shows each guarantee.
"""

from __future__ import annotations

import errno
import json
import math
import os
import signal

import pytest

from pytest_vbench import report as rep
from pytest_vbench import results
from pytest_vbench.results import CaseResult, Tracker, assess, decide
from pytest_vbench.runner import run_case
from pytest_vbench.runtime import Runtime
from pytest_vbench.scoring import VideoScore
from pytest_vbench.suite import Case, VideoRef

from synthetic import noise_frames, write_video

IDS = ["vbench::d[a]", "vbench::d[b]", "vbench::d[c]"]


# ------------------------------------------------------------------------------------ completeness
def test_complete_run_has_no_reasons():
    c = assess(IDS, IDS, set(IDS), {})
    assert c.complete and c.texts == [] and c.failure_lines() == []


def test_deselected_items_make_the_run_incomplete_and_block_the_gate():
    c = assess(IDS, IDS[:1], {IDS[0]}, {})
    assert not c.complete and "2 of 3 item(s) deselected" in c.texts[0]
    assert c.failure_lines()[0].startswith("FAIL incomplete run: 2 of 3 item(s) deselected")
    allowed = assess(IDS, IDS[:1], {IDS[0]}, {}, allow_partial=True)
    assert not allowed.complete and allowed.failure_lines() == []  # still says incomplete


def test_interrupted_and_crashed_runs_are_never_allowed():
    interrupted = assess(IDS, IDS, {IDS[0]}, {}, interrupted="SIGTERM", allow_partial=True)
    assert interrupted.texts == ["interrupted (SIGTERM): 2 of 3 item(s) have no result"]
    assert interrupted.failure_lines() and "allow-partial" not in interrupted.failure_lines()[0]
    crashed = assess(IDS, IDS, {IDS[0], IDS[1]}, {IDS[2]: "worker 'gw0' crashed"}, allow_partial=True)
    assert "1 item(s) ended without a result (crashed)" in crashed.texts[0] and crashed.failure_lines()


def test_not_run_items_and_planned_partiality():
    stopped = assess(IDS, IDS, {IDS[0]}, {}, stopped="stopping after 1 failures")
    assert stopped.texts == ["2 of 3 item(s) not run (stopping after 1 failures): vbench::d[b], vbench::d[c]"]
    planned = assess(IDS[:2], IDS[:2], set(IDS[:2]), {}, planned=["shard 1/2: 2 of 3 items"])
    assert not planned.complete and planned.failure_lines() == []  # may pass, still marked partial
    mixed = assess(IDS[:2], IDS[:1], {IDS[0]}, {}, planned=["shard 1/2: 2 of 3 items"])
    assert mixed.failure_lines()  # a deselection on top of a shard is not planned


def test_tracker_reads_reports_like_the_plugin():
    t = Tracker(IDS)
    t.on_collected(IDS)
    t.on_report(IDS[0], failed=False, has_result=True)
    t.on_report(IDS[1], failed=True, has_result=True)  # a failing case still has its result
    t.on_report(IDS[2], failed=True, has_result=False, why="worker 'gw1' crashed while running it")
    t.on_report("test_other.py::test_x", failed=True, has_result=False)  # not a vbench item
    c = t.assess()
    assert [r.kind for r in c.reasons] == ["crashed"] and "gw1" in c.texts[0]
    t.expected = IDS[:2]  # a shard: the expected set shrank after collection
    assert t.assess().complete


def test_verdict_passes_only_with_exit_status_zero():
    gate = {"passed": True, "failures": []}
    assert decide(dict(gate), assess(IDS, IDS, set(IDS), {}), 0)["passed"] is True
    failed = decide(dict(gate), assess(IDS, IDS, set(IDS), {}), 1, "1 item(s) failed")
    assert failed["passed"] is False and failed["failures"] == ["FAIL exit status 1: 1 item(s) failed"]


def test_saved_reports_are_judged_from_their_reasons_or_data():
    report = {"dimensions": {"temporal_flickering": {"prompts": {"expected": 3, "not_run": 2}}}}
    assert results.from_report(report).failure_lines()  # an older report without the keys: from the data
    assert results.from_report(report, allow_partial=True).failure_lines() == []
    report.update(complete=False, incomplete_reasons=["x"], incompleteness=[{"kind": "interrupted", "text": "x"}])
    assert results.from_report(report, allow_partial=True).failure_lines()


def test_cli_gate_applies_the_partial_run_rule(tmp_path, capsys):
    from pytest_vbench.cli import main
    from pytest_vbench.report import Results

    r = Results(["temporal_flickering"], {"mode": "standard", "source": "s", "sha256": "0" * 64, "entries": 3})
    r.expected["temporal_flickering"] = 3
    r.add({"dimension": "temporal_flickering", "prompt": "a", "order": 0, "folder": "temporal_flickering",
           "videos": [{"video": "a-0.mp4", "path": "/v/a-0.mp4", "sample": 0, "sum": 0.99, "count": 1,
                       "record": {"video_results": 0.99}}], "errors": [], "missing": []})
    path = tmp_path / "r.json"
    rep.write_json(r.summary(), path)
    assert main(["gate", str(path), "--fail-under", "temporal_flickering=50"]) == 1
    assert "FAIL incomplete run: temporal_flickering: 2 of 3 prompt(s) have no result" in capsys.readouterr().out
    assert main(["gate", str(path), "--fail-under", "temporal_flickering=50", "--allow-partial"]) == 0
    assert "INCOMPLETE RUN" in capsys.readouterr().out


# ------------------------------------------------------------------------------------ error capture
@pytest.fixture
def flicker_case(tmp_path) -> Case:
    videos = [VideoRef(write_video(tmp_path / f"p-{i}.mp4", noise_frames(i, n=4)), i) for i in range(3)]
    return Case("temporal_flickering", "p", 0, videos=videos)


def _fail_second(exc: BaseException):
    from pytest_vbench.dimensions import temporal_flickering as tf

    original = tf.score_video

    def score(video, case, runtime):
        if video.sample == 1:
            raise exc
        return original(video, case, runtime)
    return score


@pytest.mark.parametrize("exc", [SystemExit(3), RuntimeError("model failed to load"), MemoryError()])
def test_every_error_in_a_video_becomes_its_failure(monkeypatch, flicker_case, exc):
    from pytest_vbench.dimensions import temporal_flickering as tf

    monkeypatch.setattr(tf, "score_video", _fail_second(exc))
    monkeypatch.delattr(tf, "score_case")  # the one-video-at-a-time path
    result = run_case(flicker_case, Runtime("cpu"))
    assert [v.sample for v in result.videos] == [0, 2] and result.failed
    (err,) = result.errors
    assert err.error.startswith(f"{flicker_case.videos[1].path}: {type(exc).__name__}")


def test_keyboard_interrupt_still_interrupts(monkeypatch, flicker_case):
    from pytest_vbench.dimensions import temporal_flickering as tf

    monkeypatch.setattr(tf, "score_video", _fail_second(KeyboardInterrupt()))
    with pytest.raises(KeyboardInterrupt):
        run_case(flicker_case, Runtime("cpu"))


@pytest.mark.parametrize("exc", [SystemExit(2), ValueError("bad batch")])
def test_an_error_in_the_batched_path_fails_every_video_with_its_message(monkeypatch, flicker_case, exc):
    from pytest_vbench.dimensions import temporal_flickering as tf

    def broken(videos, case, runtime):
        raise exc
    monkeypatch.setattr(tf, "score_case", broken)
    result = run_case(flicker_case, Runtime("cpu"))
    assert not result.videos and len(result.errors) == 3
    assert all(type(exc).__name__ in e.error and e.path in e.error for e in result.errors)
    monkeypatch.setattr(tf, "score_case", lambda videos, case, runtime: [VideoScore(1.0, 1)])  # too few
    assert "returned 1 outcome(s) for 3 video(s)" in run_case(flicker_case, Runtime("cpu")).errors[0].error


def test_a_dimension_module_that_cannot_import_fails_its_videos(monkeypatch, flicker_case):
    import importlib

    real = importlib.import_module

    def fake(name, *a):
        if name.endswith("temporal_flickering"):
            raise ImportError("No module named 'decord'")
        return real(name, *a)
    monkeypatch.setattr(importlib, "import_module", fake)
    result = run_case(flicker_case, Runtime("cpu"))
    assert len(result.errors) == 3 and "decord" in result.errors[0].error


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_a_non_finite_video_score_fails_that_video(monkeypatch, flicker_case, value):
    from pytest_vbench.dimensions import temporal_flickering as tf

    original = tf.score_video

    def score(video, case, runtime):
        if video.sample == 2:
            return VideoScore(value, 1, {"video_results": value})
        return original(video, case, runtime)
    monkeypatch.setattr(tf, "score_video", score)
    result = run_case(flicker_case, Runtime("cpu"))
    assert [v.sample for v in result.videos] == [0, 1]
    assert "not a finite number" in result.errors[0].error
    # the same check on results read from another process (JSON allows NaN)
    data = json.loads(json.dumps(result.to_json()))
    data["videos"][0]["sum"] = value
    assert len(CaseResult.from_json(data).videos) == 1
    data["videos"][0]["sum"] = None  # how a strict JSON writer saves a non-finite number
    assert len(CaseResult.from_json(data).errors) == 2


# ------------------------------------------------------------------------------------ writers
def _report_with(value: float) -> dict:
    from pytest_vbench.report import Results

    r = Results(["temporal_flickering"], {"mode": "custom", "source": "s", "sha256": "0" * 64, "entries": 1})
    out = r.summary()
    out["dimensions"]["temporal_flickering"]["raw"] = value
    return out


def test_writers_never_crash_on_non_finite_numbers(tmp_path):
    report = _report_with(math.nan)
    p = rep.write_json(report, tmp_path / "r.json")
    assert json.loads(p.read_text())["dimensions"]["temporal_flickering"]["raw"] is None
    rep.write_official(report, tmp_path / "off", "x")
    assert rep.format_table(report) and rep.markdown(report)


def test_full_disk_leaves_every_output_complete_or_absent(tmp_path, monkeypatch):
    md = tmp_path / "summary.md"
    md.write_text("earlier step\n")
    old = tmp_path / "r.json"
    old.write_text("{}")
    real = rep._write_all
    calls = []

    def full_on_second(fd, data):
        calls.append(fd)
        if len(calls) == 2:
            real(fd, data[:10])  # a short write, then the disk is full
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        real(fd, data)
    monkeypatch.setattr(rep, "_write_all", full_on_second)
    outputs = [rep.Output(old, "new json"), rep.Output(md, "## block\n" * 10, append=True)]
    with pytest.raises(rep.OutputError) as info:
        rep.write_outputs(outputs)
    assert "the disk is full" in str(info.value.strerror) and str(md) in info.value.strerror
    assert "\n" not in info.value.strerror
    assert md.read_text() == "earlier step\n" and old.read_text() == "{}"  # untouched
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.json", "summary.md"]  # no .part left


def test_markdown_block_is_appended_whole(tmp_path):
    md = tmp_path / "s.md"
    md.write_text("a\n")
    rep.write_outputs([rep.Output(md, "b\nc\n", append=True)])
    assert md.read_text() == "a\nb\nc\n"


def test_official_file_names_are_colon_free_and_partial_is_named(tmp_path):
    assert ":" not in rep.official_path({"complete": True}, tmp_path).name
    assert rep.official_path({"complete": False}, tmp_path, "run").name == "run_eval_results.partial.json"


def test_conflicting_or_unwritable_outputs_are_found_before_the_run(tmp_path):
    (tmp_path / "adir").mkdir()
    (tmp_path / "afile").write_text("x")
    problems = rep.check_outputs([("--vbench-json", tmp_path / "r.json", "file"),
                                  ("--vbench-markdown", tmp_path / "r.json", "file"),
                                  ("--vbench-html", tmp_path / "adir", "file"),
                                  ("--vbench-results-dir", tmp_path / "afile", "dir"),
                                  ("--junitxml", tmp_path / "afile" / "j.xml", "file")])
    assert len(problems) == 4
    assert "--vbench-markdown and --vbench-json both write" in problems[0]
    assert "is a directory" in problems[1] and "is a file" in problems[2] and "not a directory" in problems[3]
    assert rep.check_outputs([("--vbench-json", tmp_path / "new" / "deeper" / "r.json", "file")]) == []


# ------------------------------------------------------------------------------------ usage errors
@pytest.mark.parametrize("text", ["nan", "inf", "-inf", ".nan"])
def test_non_finite_tolerances_are_usage_errors(text, tmp_path):
    from pytest_vbench.gate import GateError, load_config, parse_regression, parse_threshold

    with pytest.raises(GateError):
        parse_regression(text, "--vbench-max-regression")
    with pytest.raises(GateError):
        parse_threshold(f"total={text}")
    cfg = tmp_path / "g.yaml"
    cfg.write_text(f"max_regression: {text if text.startswith('.') else '.' + text.lstrip('-')}\n")
    with pytest.raises(GateError, match="finite"):
        load_config(cfg)
    cfg.write_text("max_drop: .inf\n")
    with pytest.raises(GateError, match="finite"):
        load_config(cfg)


def test_unusable_devices_are_found_at_start():
    from pytest_vbench.runtime import check_device

    assert check_device("auto") is None and check_device("cpu") is None
    assert "unknown device 'gpu'" in check_device("gpu")
    import torch

    if not torch.cuda.is_available():
        assert "no cuda device" in check_device("cuda") and "no cuda device" in check_device("cuda:0")


def test_sigterm_raises_keyboard_interrupt_while_installed():
    from pytest_vbench import signals

    before = signal.getsignal(signal.SIGTERM)
    signals.install()
    try:
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGTERM)
            for _ in range(1000):  # the handler runs between bytecodes, right after the kill
                pass
        assert signals.why_interrupted() == "SIGTERM"
    finally:
        signals.uninstall()
        signals.received.clear()
    assert signal.getsignal(signal.SIGTERM) == before



# ------------------------------------------------------------------------------------ names
def test_custom_mode_names_cannot_take_the_process_down(tmp_path):
    from pytest_vbench.dimensions import DIMENSIONS
    from pytest_vbench.suite import custom_cases

    d = tmp_path / "custom"
    d.mkdir()
    write_video(d / "caf\u00e9-0.mp4", noise_frames(1, n=3))  # NFC
    write_video(d / "cafe\u0301-1.mp4", noise_frames(2, n=3))  # NFD: the same prompt
    for junk in ("._caf\u00e9-0.mp4", ".hidden.mp4", "notes.txt", "frame.jpg"):
        (d / junk).write_bytes(b"not a video")
    bad = os.path.join(os.fsencode(d), b"bad\xff-0.mp4")  # not UTF-8: must never reach OpenCV
    with open(bad, "wb") as fh:
        fh.write(b"\x00" * 100)
    cases, _ = custom_cases([DIMENSIONS["temporal_flickering"]], d)
    assert {c.prompt: len(c.videos) for c in cases} == {"caf\u00e9": 2, "bad\\xff": 1}
    result = run_case(next(c for c in cases if c.prompt == "bad\\xff"), Runtime("cpu"))
    assert "the file name is not valid UTF-8" in result.errors[0].error
    json.dumps(result.to_json(), ensure_ascii=False).encode("utf-8")  # writable as it is
    assert run_case(next(c for c in cases if c.prompt == "caf\u00e9"), Runtime("cpu")).videos


def test_suite_prompts_too_long_or_spelled_twice(tmp_path):
    from pytest_vbench.dimensions import DIMENSIONS
    from pytest_vbench.suite import Suite, standard_cases

    long_prompt = "a very long prompt " * 20  # > 255 bytes as a file name
    entries = [{"prompt_en": long_prompt, "dimension": ["temporal_flickering"]},
               {"prompt_en": "caf\u00e9", "dimension": ["temporal_flickering"]},
               {"prompt_en": "cafe\u0301", "dimension": ["temporal_flickering"]}]
    cases = standard_cases(Suite(entries, "s", "0"), [DIMENSIONS["temporal_flickering"]], tmp_path)
    assert [c.prompt for c in cases] == [long_prompt, "caf\u00e9"]  # NFC/NFD: one case
    result = run_case(cases[0], Runtime("cpu"))
    assert result.failed and "longer than 255 bytes" in result.failure_message()


# ------------------------------------------------------------------------------------ odd videos
def test_an_absurd_resize_fails_the_video_fast(tmp_path):
    import numpy as np

    from pytest_vbench.dimensions import background_consistency, subject_consistency
    from pytest_vbench.video import VideoError, check_resize

    class RT:
        device = "cpu"

        def decoded(self, path, decoder, load, **params):
            return np.zeros((4, 1, 1000, 3), dtype=np.uint8)  # a 1x1000 video

        def model(self, family):
            raise AssertionError("no model may be loaded for this video")

    video = VideoRef(tmp_path / "thin-0.mp4", 0)
    for module in (subject_consistency, background_consistency):
        with pytest.raises(VideoError, match="would become 224,000 pixels long"):
            module.score_video(video, Case(module.__name__.rsplit(".", 1)[1], "thin", 0), RT())
    check_resize("ok.mp4", 1080, 1920, 224, "x")  # an ordinary video passes
    from pytest_vbench.clip_transforms import clip_float, clip_pil  # aesthetic_quality, appearance_style

    for transform in (clip_float, clip_pil):
        with pytest.raises(VideoError, match="^frames of 1000x1 pixels would become"):
            transform(np.zeros((2, 1, 1000, 3), dtype=np.uint8))
    from pytest_vbench.models import umt, viclip  # human_action; temporal_style, overall_consistency

    for transform in (umt.transform, viclip.transform):
        with pytest.raises(VideoError, match="^frames of 1000x1 pixels would become"):
            transform(np.zeros((2, 1, 1000, 3), dtype=np.uint8))
        assert transform(np.zeros((2, 240, 320, 3), dtype=np.uint8)).shape[-1] == 224  # ordinary frames pass


def test_a_short_read_leaves_a_note_and_keeps_the_number(monkeypatch, flicker_case):
    import cv2

    from pytest_vbench.dimensions import temporal_flickering as tf

    expected = tf.flicker_score(tf.opencv_frames(flicker_case.videos[0].path))
    real = cv2.VideoCapture

    class Declares16:
        def __init__(self, path):
            self.cap = real(path)

        def get(self, prop):
            return 16.0 if prop == cv2.CAP_PROP_FRAME_COUNT else self.cap.get(prop)

        def __getattr__(self, name):
            return getattr(self.cap, name)
    monkeypatch.setattr(cv2, "VideoCapture", Declares16)
    result = run_case(flicker_case, Runtime("cpu"))
    assert [v.note for v in result.videos] == ["the decoder read 4 of the 16 frames the container declares (a "
                                               "damaged or truncated file?); scored on the frames read, as the "
                                               "official code does"] * 3
    assert result.videos[0].sum == expected
    monkeypatch.setattr(cv2, "VideoCapture", real)
    assert [v.note for v in run_case(flicker_case, Runtime("cpu")).videos] == [None] * 3


def test_every_surface_says_incomplete(tmp_path):
    from pytest_vbench import plots

    report = _report_with(0.99)
    results.to_report(report, assess(IDS, IDS[:1], {IDS[0]}, {}))
    report["verdict"] = decide({"passed": True, "failures": []}, assess(IDS, IDS[:1], {IDS[0]}, {}))
    for text in ("\n".join(rep.format_table(report)), rep.markdown(report, report["verdict"]),
                 plots.render_html(report), rep.render_json(report)):
        assert "INCOMPLETE RUN" in text or '"complete": false' in text
        assert "2 of 3 item(s) deselected" in text
