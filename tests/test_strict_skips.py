"""CI turns skips into failures (``VBENCH_STRICT_SKIPS=1``); locally a skip stays a skip."""

from __future__ import annotations

import os
from pathlib import Path

TESTS = Path(__file__).resolve().parent


def _run(pytester, monkeypatch, strict: str | None):
    pytester.makepyfile(test_x="""
        import pytest

        def test_needs_an_extra():
            pytest.importorskip("no_such_optional_extra_pkg")

        @pytest.mark.xfail(reason="known")
        def test_known_failure():
            assert False
    """)
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")]))
    if strict is None:
        monkeypatch.delenv("VBENCH_STRICT_SKIPS", raising=False)
    else:
        monkeypatch.setenv("VBENCH_STRICT_SKIPS", strict)
    return pytester.runpytest_subprocess("-p", "strict_skips", "-p", "no:cacheprovider")


def test_skips_fail_under_strict_skips(pytester, monkeypatch):
    result = _run(pytester, monkeypatch, "1")
    result.assert_outcomes(failed=1, xfailed=1)
    result.stdout.fnmatch_lines(["*VBENCH_STRICT_SKIPS=1 makes skips fail*no_such_optional_extra_pkg*"])


def test_skips_stay_skips_locally(pytester, monkeypatch):
    _run(pytester, monkeypatch, None).assert_outcomes(skipped=1, xfailed=1)
