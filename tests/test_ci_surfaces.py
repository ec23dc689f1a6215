"""The verdict where CI looks: the ``vbench::gate`` JUnit case and the terminal's final line."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from _pytest.junitxml import LogXML

from pytest_vbench.ci_surfaces import FAILED_STAT, gate_reports

ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _junit_with(tmp_path: Path, verdict: dict) -> ET.Element:
    xml = LogXML(str(tmp_path / "j.xml"), None, family="xunit2")
    xml.pytest_sessionstart()
    for report in gate_reports(verdict, "videos"):
        xml.pytest_runtest_logreport(report)
    xml.pytest_sessionfinish()
    return ET.parse(tmp_path / "j.xml").getroot()


def test_gate_case_passed_and_failed_in_junit(tmp_path):
    ok = _junit_with(tmp_path, {"passed": True, "failures": []})
    suite = ok.find("testsuite")
    assert (suite.get("tests"), suite.get("failures")) == ("1", "0")
    case = suite.find("testcase")
    assert (case.get("classname"), case.get("name")) == ("vbench", "gate")
    assert case.find("failure") is None
    prop = case.find("properties/property")
    assert prop.get("name") == "vbench_gate" and json.loads(prop.get("value"))["passed"] is True

    lines = ["FAIL total: 80.00% < 85.00%", "FAIL subject_consistency: 90.00% < 95.00%"]
    bad = _junit_with(tmp_path, {"passed": False, "failures": lines}).find("testsuite")
    assert (bad.get("tests"), bad.get("failures")) == ("1", "1")
    failure = bad.find("testcase/failure")
    assert failure.get("message") == "\n".join(lines)
    assert failure.text.splitlines() == lines


@pytest.mark.parametrize("xdist", [[], ["-n", "2"]], ids=["n0", "n2"])
def test_gate_failure_is_a_failed_junit_case_and_a_red_final_line(pytester, small_suite, flicker_videos, tmp_path,
                                                                  xdist):
    junit = tmp_path / "junit.xml"
    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "--color=yes", "--vbench-videos", str(flicker_videos),
        "--vbench-full-info", str(small_suite), "--vbench-fail-under", "temporal_flickering=100",
        f"--junitxml={junit}", *xdist)
    assert result.ret == 1
    suite = ET.parse(junit).getroot().find("testsuite")
    assert (suite.get("tests"), suite.get("failures")) == ("4", "1")  # 3 items + the gate
    cases = {c.get("name"): c for c in suite.iter("testcase")}
    gate = cases["gate"]
    assert gate.get("classname") == "vbench"
    assert gate.find("failure").get("message").startswith("FAIL temporal_flickering")
    assert all(c.find("failure") is None for name, c in cases.items() if name != "gate")
    final = [line for line in result.stdout.lines if " in " in ANSI.sub("", line) and "passed" in line][-1]
    assert f"3 passed, 1 {FAILED_STAT}" in ANSI.sub("", final)
    assert final.startswith("\x1b[31m")  # red separator: the main colour of the line
    assert "\x1b[32m" not in final.split("passed")[1]  # nothing green after the counts
