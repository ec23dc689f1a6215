"""Fault injection end to end: partial runs, crashes, signals, NaN, a full disk, conflicting outputs.

Each test runs pytest in a subprocess with the fault plugin ``tests/vbench_faults.py`` (``-p
vbench_faults``, faults chosen with ``VBENCH_FAULTS``), without xdist and with ``-n 2``. Every
surface must agree: exit status, terminal, JSON, Markdown, the official file. The logic is unit
tested in tests/test_faults_unit.py; these runs show it holds in a real session.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

TESTS = Path(__file__).parent


@pytest.fixture
def faults(monkeypatch):
    """Set the faults of the next runs (and make the fault plugin importable in the subprocess)."""
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")]))

    def choose(spec: dict[str, str]) -> None:
        monkeypatch.setenv("VBENCH_FAULTS", json.dumps(spec))
    choose({})
    return choose


def run(pytester, *args):
    return pytester.runpytest_subprocess("-p", "no:cacheprovider", "-p", "vbench_faults", *map(str, args))


def load(path) -> dict:
    return json.loads(Path(path).read_text(encoding="utf-8"))


def common(small_suite, flicker_videos, tmp_path):
    return ["--vbench-videos", flicker_videos, "--vbench-full-info", small_suite,
            "--vbench-json", tmp_path / "r.json", "--vbench-markdown", tmp_path / "s.md",
            "--vbench-results-dir", tmp_path / "official"]


def assert_incomplete_everywhere(result, tmp_path, reason: str) -> dict:
    """Exit status non-zero; the terminal, JSON and Markdown say FAIL and incomplete; no official file."""
    assert result.ret != 0
    result.stdout.fnmatch_lines(["INCOMPLETE RUN*", f"*{reason}*", "FAIL incomplete run*"])
    report = load(tmp_path / "r.json")
    assert report["complete"] is False and any(reason in r for r in report["incomplete_reasons"])
    assert report["verdict"]["passed"] is False
    md = (tmp_path / "s.md").read_text()
    assert "**Verdict: FAIL**" in md and "INCOMPLETE RUN" in md and reason in md
    assert not list((tmp_path / "official").glob("*_eval_results.json"))
    return report


def test_partial_run_never_passes_the_gate_unless_allowed(pytester, faults, small_suite, flicker_videos, tmp_path):
    args = [*common(small_suite, flicker_videos, tmp_path), "--vbench-fail-under", "temporal_flickering=50"]
    result = run(pytester, *args, "-k", "stop")
    result.assert_outcomes(passed=1, deselected=2)
    assert result.ret == 1
    report = assert_incomplete_everywhere(result, tmp_path, "2 of 3 item(s) deselected")
    assert report["dimensions"]["temporal_flickering"]["covers"] == "1 of 3 prompts"
    # asked for explicitly: the gate may pass, the report still says partial, the official file is named so
    (tmp_path / "s.md").unlink()
    result = run(pytester, *args, "-k", "stop", "--vbench-allow-partial")
    assert result.ret == 0
    report = load(tmp_path / "r.json")
    assert report["complete"] is False and report["verdict"]["passed"] is True
    assert report["scores"]["quality"]["covers"] == "partial prompts: temporal_flickering 1/3"
    (official,) = (tmp_path / "official").iterdir()
    assert official.name.endswith("_eval_results.partial.json") and ":" not in official.name
    assert "INCOMPLETE RUN" in (tmp_path / "s.md").read_text()
    # planned partiality (contract for shards and present-only suites): fewer cases at configure time and a
    # reason in planned_partial; the gate may pass, the report still says partial
    official.unlink()
    pytester.makeconftest("""
        import pytest

        @pytest.hookimpl(trylast=True)
        def pytest_configure(config):
            from pytest_vbench.plugin import _KEY
            vb = config.stash[_KEY]
            vb.cases = vb.cases[:1]
            vb.planned_partial.append("shard 1/3: 1 of 3 items")
    """)
    result = run(pytester, *args)
    result.assert_outcomes(passed=1)
    assert result.ret == 0
    report = load(tmp_path / "r.json")
    assert report["complete"] is False and report["incomplete_reasons"] == ["shard 1/3: 1 of 3 items"]
    assert report["verdict"]["passed"] is True and report["planned_partial"] == ["shard 1/3: 1 of 3 items"]
    assert [p.name.endswith(".partial.json") for p in (tmp_path / "official").iterdir()] == [True]


def test_nan_raise_and_systemexit_fail_their_videos(pytester, faults, small_suite, flicker_videos, tmp_path):
    faults({"toilet, frozen in time-2": "nan", "stop sign-1": "exit", "laptop, frozen in time-0": "raise"})
    result = run(pytester, *common(small_suite, flicker_videos, tmp_path), "--vbench-fail-under",
                 "temporal_flickering=1%")
    result.assert_outcomes(failed=3)
    result.stdout.fnmatch_lines(["*toilet, frozen in time-2.mp4: the score is not a finite number*",
                                 "*laptop, frozen in time-0.mp4*RuntimeError*injected fault*",
                                 "FAIL exit status 1: 3 item(s) failed"])
    report = load(tmp_path / "r.json")
    dim = report["dimensions"]["temporal_flickering"]
    assert report["complete"] is True and report["verdict"]["passed"] is False
    assert math_finite(dim["raw"]) and dim["videos"]["failed"] == 1 + 5 + 1  # SystemExit in the batch: whole prompt
    assert any("SystemExit" in e["error"] for e in dim["errors"])


def math_finite(x) -> bool:
    import math

    return isinstance(x, float) and math.isfinite(x)


@pytest.mark.parametrize("fault", ["sigkill", "os_exit"])
def test_worker_killed_mid_item_marks_the_run_crashed(pytester, faults, small_suite, flicker_videos, tmp_path, fault):
    faults({"toilet, frozen in time-2": fault})
    result = run(pytester, *common(small_suite, flicker_videos, tmp_path), "-n", "2", "--max-worker-restart", "0")
    report = assert_incomplete_everywhere(result, tmp_path, "ended without a result (crashed)")
    assert report["dimensions"]["temporal_flickering"]["prompts"]["scored"] <= 2


@pytest.mark.parametrize("workers,fault", [("0", "hang"), ("2", "hang"), ("2", "sigterm"), ("0", "sigint")])
def test_sigterm_gives_a_partial_report_and_a_nonzero_exit(pytester, faults, small_suite, flicker_videos, tmp_path,
                                                           workers, fault):
    if fault == "hang":  # a hung item, cancelled from outside as CI does (SIGTERM to the whole process group)
        mark = tmp_path / "hanging"
        faults({"toilet, frozen in time-2": "hang"})
        env = {**os.environ, "VBENCH_FAULTS_MARK": str(mark)}
        cmd = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "vbench_faults", "-p", "no:randomly",
               "-n", workers, *map(str, common(small_suite, flicker_videos, tmp_path))]
        proc = subprocess.Popen(cmd, cwd=pytester.path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                text=True, start_new_session=True)
        for _ in range(600):
            if mark.exists() or proc.poll() is not None:
                break
            time.sleep(0.1)
        time.sleep(0.5)  # the other worker may still be starting its item
        os.killpg(proc.pid, signal.SIGTERM)
        out, _ = proc.communicate(timeout=120)
        assert proc.returncode == pytest.ExitCode.INTERRUPTED, out
        assert "INCOMPLETE RUN" in out and "interrupted (SIGTERM)" in out
        report = load(tmp_path / "r.json")
        assert report["complete"] is False and report["verdict"]["passed"] is False
        assert not list((tmp_path / "official").glob("*"))
    else:  # the controller gets SIGTERM while a worker scores; or Ctrl-C (SIGINT) without xdist
        faults({"toilet, frozen in time-2": fault})
        result = run(pytester, *common(small_suite, flicker_videos, tmp_path), "-n", workers)
        assert result.ret == pytest.ExitCode.INTERRUPTED
        why = "SIGTERM" if fault == "sigterm" else "KeyboardInterrupt"
        assert_incomplete_everywhere(result, tmp_path, f"interrupted ({why})")


def test_outputs_are_usage_errors_before_any_item_or_complete_or_absent(pytester, faults, small_suite, flicker_videos,
                                                                         tmp_path):
    base = ["--vbench-videos", flicker_videos, "--vbench-full-info", small_suite]
    result = run(pytester, *base, "--vbench-json", tmp_path / "x", "--vbench-markdown", tmp_path / "x")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--vbench-markdown and --vbench-json both write*"])
    result = run(pytester, *base, "--vbench-device", "gpu")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--vbench-device: unknown device 'gpu'*"])
    # a full disk: one clear line, the summary still printed, no file and no .part left
    faults({"nothing": "enospc"})
    (tmp_path / "s.md").write_text("earlier step\n")
    result = run(pytester, *common(small_suite, flicker_videos, tmp_path))
    assert result.ret == 1
    result.stdout.fnmatch_lines(["*VBench summary*", "vbench: cannot write *: No space left on device; the disk is "
                                 "full; no report file was written*"])
    assert not [p for p in tmp_path.rglob("*") if p.name.endswith(".part") or p.name.startswith("r.json")]
    assert not list(tmp_path.glob("official/*"))
    assert (tmp_path / "s.md").read_text() == "earlier step\n" and not (tmp_path / "r.json").exists()


def test_exit_reason_counts_each_failed_item_once(pytester, faults, small_suite, flicker_videos, tmp_path):
    # A user test beside the vbench items fails in its call and again in its fixture's teardown: pytest
    # counts two failed reports, the verdict's FAIL line counts one item.
    pytester.makepyfile(test_user="""
        import pytest

        @pytest.fixture
        def broken():
            yield
            raise RuntimeError("teardown fails too")

        def test_user(broken):
            assert False
    """)
    result = run(pytester, *common(small_suite, flicker_videos, tmp_path))
    result.assert_outcomes(passed=3, failed=1, errors=1)
    report = load(tmp_path / "r.json")
    assert report["verdict"]["failures"] == ["FAIL exit status 1: 1 item(s) failed"]
