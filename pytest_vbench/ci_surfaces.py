"""The verdict where CI looks: a ``vbench::gate`` test case in the JUnit XML and a red final line.

The controller's :class:`~pytest_vbench.plugin.ResultsPlugin` decides the verdict in
``pytest_sessionfinish``. :class:`GateSurfaces` runs after it and after junitxml's own
``pytest_sessionfinish`` (trylast), still before the terminal's final line, and reads ``vb.verdict``
(``passed``, ``failures``):

* JUnit (``--junitxml``): one extra test case ``vbench::gate`` (classname ``vbench``, name
  ``gate``), failed with the FAIL lines as its message when the gate fails, passed otherwise; it
  carries the verdict as a ``vbench_gate`` property.
* Terminal: when the gate fails the final line gains ``1 vbench gate FAILED`` and turns red
  (pytest would otherwise print a green ``4 passed`` over an exit status of 1).

Nothing here decides anything: a missing verdict (collect-only, interrupted before the
verdict) adds nothing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest
from _pytest._code.code import TerminalRepr

GATE_NODEID = "vbench::gate"
#: the key of the terminal's final line (``4 passed, 1 vbench gate FAILED in 3.2s``)
FAILED_STAT = "vbench gate FAILED"


@dataclass
class _Crash:
    """The one-line cause that pytest's short summary and junitxml's ``message`` read."""

    message: str
    path: str = "vbench"
    lineno: int = 0


class GateFailureRepr(TerminalRepr):
    """The gate's FAIL lines as a failure representation (terminal and JUnit)."""

    def __init__(self, lines: list[str]):
        self.lines = list(lines) or ["vbench gate failed"]
        self.reprcrash = _Crash("\n".join(self.lines))

    def toterminal(self, tw: Any) -> None:
        """Write the FAIL lines."""
        for line in self.lines:
            tw.line(line, red=True)

    def __str__(self) -> str:
        return "\n".join(self.lines)


def gate_reports(verdict: dict[str, Any], location: str) -> list[pytest.TestReport]:
    """The call and teardown reports of the ``vbench::gate`` case for ``verdict``."""
    passed = bool(verdict.get("passed")) and not verdict.get("failures")
    props = [("vbench_gate", json.dumps({"passed": passed, "failures": list(verdict.get("failures", []))},
                                        ensure_ascii=False))]
    loc = (location, None, GATE_NODEID)
    call = pytest.TestReport(GATE_NODEID, loc, {"vbench": 1}, "passed" if passed else "failed",
                             None if passed else GateFailureRepr(list(verdict.get("failures", []))), "call",
                             user_properties=props)
    teardown = pytest.TestReport(GATE_NODEID, loc, {"vbench": 1}, "passed", None, "teardown",
                                 user_properties=props)
    return [call, teardown]


class GateSurfaces:
    """Controller-side: publishes ``vb.verdict`` to junitxml and the terminal's final line."""

    def __init__(self, vb: Any):
        self.vb = vb
        self.done = False

    def pytest_report_header(self, config: pytest.Config) -> list[str]:
        """Say up front when the run is partial on purpose (present-only suite, shard, ...)."""
        lines = [f"vbench: partial on purpose: {reason}" for reason in getattr(self.vb, "planned_partial", [])]
        if (getattr(self.vb, "identity", None) or {}).get("fake_checkpoints"):
            lines.append(f"vbench: FAKE CHECKPOINTS in {self.vb.cache_dir} (pytest-vbench fake-cache): the scores "
                         f"are meaningless")
        return lines

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        """Runs after ResultsPlugin's (the verdict) and junitxml's (the file, which is written again)."""
        verdict = getattr(self.vb, "verdict", None)
        if verdict is None or self.done:
            return
        self.done = True
        reports = gate_reports(verdict, str(getattr(self.vb, "videos", "vbench")))
        add_junit_case(session.config, reports)
        if not reports[0].passed:
            mark_final_line(session.config)


def add_junit_case(config: pytest.Config, reports: list[pytest.TestReport]) -> bool:
    """Feed the gate's reports to junitxml only (no terminal letter, no --lf entry) and write its file again
    (junitxml wrote it in its own pytest_sessionfinish, before the verdict existed); False without --junitxml."""
    from _pytest.junitxml import xml_key

    xml = config.stash.get(xml_key, None)
    if xml is None:
        return False
    for report in reports:
        xml.pytest_runtest_logreport(report)
    xml.pytest_sessionfinish()
    return True


def mark_final_line(config: pytest.Config) -> bool:
    """Add ``1 vbench gate FAILED`` to the terminal's final line and make that line red."""
    tr = config.pluginmanager.get_plugin("terminalreporter")
    if tr is None:
        return False
    tr.stats.setdefault(FAILED_STAT, []).append(FAILED_STAT)
    try:  # pytest colours unknown keys yellow and the line red only for failed/error: say red for this key
        from _pytest import terminal

        terminal._color_for_type.setdefault(FAILED_STAT, "red")
        determine = tr._determine_main_color

        def red_when_gate_failed(unknown_type_seen: bool) -> str:
            return "red" if FAILED_STAT in tr.stats else str(determine(unknown_type_seen))

        tr._determine_main_color = red_when_gate_failed
        tr._main_color = None  # recomputed for the final line
    except AttributeError:  # a pytest without these internals: the words are still there
        pass
    return True


class NearMissHint:
    """Every process: a failed item that found no video names the files whose names almost match.

    The hint is added to the item's failure text (terminal, JUnit) from ``case.near_misses``, which
    suite.py fills at collection time; the result JSON is left as the runner wrote it.
    """

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
        """Append ``names that almost match: ...`` to a "no video found" failure."""
        report = yield
        case = getattr(item, "case", None)
        near = getattr(case, "near_misses", None)
        if near and report.when == "call" and report.failed and isinstance(report.longrepr, str) \
                and not getattr(case, "videos", None):
            report.longrepr += "\nnames that almost match (rename them to the expected names): " + \
                ", ".join(repr(m) for m in near)
        return report
