"""Test plugin: under ``VBENCH_STRICT_SKIPS=1`` (set by ``.ci/run``) a skipped test fails, naming why."""

from __future__ import annotations

import os

import pytest


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Under ``VBENCH_STRICT_SKIPS=1`` (set by ``.ci/run``) a skipped test fails, naming why it skipped.

    CI installs every extra and the parity inputs are committed, so any skip there is missing
    coverage; locally, skips that name a missing optional extra stay skips.
    """
    outcome = yield
    report = outcome.get_result()
    if os.environ.get("VBENCH_STRICT_SKIPS") == "1" and report.skipped and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.outcome = "failed"
        report.longrepr = f"skipped, and VBENCH_STRICT_SKIPS=1 makes skips fail: {reason}"
