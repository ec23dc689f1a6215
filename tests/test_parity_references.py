"""The parity harness itself: references, fingerprints and the stated tolerances.

One parametrised check over every reference in ``tests/parity/*.json``: it names a dimension with a
tolerance in the harness, is read by a parity test, and its recorded checkpoint fingerprints are
real (non-zero) numbers. Then: the fingerprint sees nested weights (a drift there changes it), and
``docs/parity.md`` states exactly the harness's tolerances.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from pytest_vbench.dimensions import DIMENSIONS, OFFICIAL_NAMES

from parity_harness import PARITY, ROOT, TOLERANCES, abs_sum, fingerprint

REFERENCES = sorted(PARITY.glob("*.json"))
#: references that are not one dimension's outputs, and the dimension whose test reads them
SHARED = {"static_filter": "temporal_flickering", "grit_official_layout": "object_class",
          "tag2text_beam": "scene", "tag2text_official_layout": "scene",
          "vqa_score_qwen2_5_vl": "vqa_score", "vqa_score_qwen2_5_vl_fps2": "vqa_score",
          "vqa_score_llava_onevision": "vqa_score", "vqa_score_llava_onevision_f12": "vqa_score",
          "vqa_score_internvl3": "vqa_score", "vqa_score_internvl3_f12": "vqa_score"}
TEST_SOURCES = {p.name: p.read_text(encoding="utf-8") for p in (ROOT / "tests").glob("test_*.py")}


def _dimension(path: Path) -> str:
    stem = path.stem.removesuffix("_tiny")
    return SHARED.get(stem, stem)


def _fingerprints(ref: dict) -> list[float]:
    runs = ref.get("runs")
    found = [r["fingerprint"] for r in runs.values() if "fingerprint" in r] if isinstance(runs, dict) else []
    return found + ([ref["fingerprint"]] if "fingerprint" in ref else [])


@pytest.mark.parametrize("path", REFERENCES, ids=lambda p: p.name)
def test_every_reference_is_checked_with_a_stated_tolerance(path):
    ref = json.loads(path.read_text(encoding="utf-8"))
    assert _dimension(path) in TOLERANCES
    readers = [name for name, src in TEST_SOURCES.items() if path.name in src or f'"{path.stem}"' in src
               or (path.stem in OFFICIAL_NAMES and 'f"{dim}.json"' in src)]
    assert readers, f"no parity test reads {path.name}"
    for fp in _fingerprints(ref):  # a 0 here means the generator's weights were invisible to the guard
        assert isinstance(fp, float) and fp > 0, f"{path.name}: degenerate checkpoint fingerprint {fp!r}"


def test_all_16_dimensions_have_a_tolerance_and_official_references():
    assert set(TOLERANCES) >= OFFICIAL_NAMES and set(TOLERANCES) <= set(DIMENSIONS)
    covered = {_dimension(p) for p in REFERENCES}
    for kit in ("grit", "tag2text"):
        covered |= {p.stem for p in (PARITY / kit / "reference").glob("*.json")}
    assert covered >= OFFICIAL_NAMES, sorted(OFFICIAL_NAMES - covered)


def test_fingerprint_covers_nested_state_dicts(tmp_path):
    torch = pytest.importorskip("torch")
    w = torch.arange(6, dtype=torch.float32).reshape(2, 3) - 2.5
    path = tmp_path / "amt-s.pth"
    torch.save({"state_dict": {"a.weight": w, "steps": torch.tensor(3)}, "epoch": 1}, path)
    assert fingerprint([path]) == pytest.approx(float(w.abs().sum())) == abs_sum({"x": [w]})
    torch.save({"state_dict": {"a.weight": w * 1.001, "steps": torch.tensor(3)}, "epoch": 1}, path)
    assert fingerprint([path]) != pytest.approx(float(w.abs().sum()), rel=1e-12)  # a nested drift shows
    torch.save({"epoch": 1}, path)
    with pytest.raises(ValueError, match="no floating weights"):
        fingerprint([path])


def test_docs_state_the_tests_tolerances():
    text = (ROOT / "docs" / "parity.md").read_text(encoding="utf-8")
    stated = {}
    for line in text.splitlines():
        m = re.match(r"\| (\w+) \| ([0-9.e-]+) \|", line)
        if m:
            stated[m.group(1)] = float(m.group(2))
    assert stated == {d: t["bar"] for d, t in TOLERANCES.items()}
