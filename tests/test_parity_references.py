"""The parity harness itself: references, fingerprints and the stated tolerances.

Every reference in ``tests/parity/*.json`` has a row in ``tests/parity_adapters.REFERENCES`` (so
``tests/test_parity.py`` checks it) with an adapter and a dimension with a tolerance, and its recorded
checkpoint fingerprints are real (non-zero) numbers. Then: the fingerprint sees nested weights (a drift there changes it), and
``docs/parity.md`` states exactly the harness's tolerances.
"""

from __future__ import annotations

import json
import re

import pytest

from pytest_vbench.dimensions import DIMENSIONS, OFFICIAL_NAMES

from parity_adapters import FORMATS, REFERENCES
from parity_harness import PARITY, ROOT, TOLERANCES, abs_sum, fingerprint

FILES = sorted(PARITY.glob("*.json"))


def _fingerprints(ref: dict) -> list[float]:
    runs = ref.get("runs")
    found = [r["fingerprint"] for r in runs.values() if "fingerprint" in r] if isinstance(runs, dict) else []
    return found + ([ref["fingerprint"]] if "fingerprint" in ref else [])


def test_every_reference_has_an_adapter_and_every_adapter_a_reference():
    """A new tests/parity/*.json fails here until tests/parity_adapters.py says how to check it."""
    names = {p.name for p in FILES}
    assert names - set(REFERENCES) == set(), f"references without an adapter row in REFERENCES: {sorted(names - set(REFERENCES))}"
    assert set(REFERENCES) - names == set(), f"adapter rows without a reference file: {sorted(set(REFERENCES) - names)}"
    for name, row in REFERENCES.items():
        assert row.format in FORMATS, f"{name}: no adapter for format {row.format!r}"
        assert row.dimension in TOLERANCES, f"{name}: no tolerance for {row.dimension!r}"
        assert row.fast is not None or row.full is not None, f"{name}: runs in no tier"


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_recorded_fingerprints_are_real_numbers(path):
    ref = json.loads(path.read_text(encoding="utf-8"))
    for fp in _fingerprints(ref):  # a 0 here means the generator's weights were invisible to the guard
        assert isinstance(fp, float) and fp > 0, f"{path.name}: degenerate checkpoint fingerprint {fp!r}"


def test_every_named_bar_is_used_by_an_adapter():
    """An ``also`` bar nobody reads would be a stated tolerance that no test applies."""
    source = (ROOT / "tests" / "parity_adapters.py").read_text(encoding="utf-8")
    for dim, row in TOLERANCES.items():
        for name in row.get("also", {}):
            assert f'"{name}"' in source, f"{dim}: bar {name!r} is not used by tests/parity_adapters.py"


def test_all_16_dimensions_have_a_tolerance_and_official_references():
    assert set(TOLERANCES) >= OFFICIAL_NAMES and set(TOLERANCES) <= set(DIMENSIONS)
    covered = {row.dimension for row in REFERENCES.values()}
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
    stated, also = {}, {}
    for line in text.splitlines():
        m = re.match(r"\| (\w+) \| ([0-9.e-]+) \| ([^|]*) \|", line)
        if m:
            stated[m.group(1)] = float(m.group(2))
            cell = m.group(3).strip()
            also[m.group(1)] = {} if cell in ("", "-") else {
                name: float(value) for name, value in (item.strip().rsplit(" ", 1) for item in cell.split(";"))}
    assert stated == {d: t["bar"] for d, t in TOLERANCES.items()}
    assert also == {d: t.get("also", {}) for d, t in TOLERANCES.items()}


def test_an_official_number_moved_beyond_its_bar_fails(tmp_path):
    """The harness compares for real: one per-video value moved by twice its bar fails its reference,
    and so does a changed dimension score (its own named bar)."""
    from parity_adapters import Ctx, load

    ref = load("temporal_flickering.json")
    run = FORMATS[REFERENCES["temporal_flickering.json"].format]
    ctx = Ctx("temporal_flickering.json", ref, "temporal_flickering", None, tmp_path)
    run(ctx)
    assert ctx.compared == len(ref["records"]) + 2
    moved = json.loads(json.dumps(ref))
    moved["records"][2]["video_results"] += 2 * TOLERANCES["temporal_flickering"]["bar"]
    with pytest.raises(AssertionError, match=r"temporal_flickering\.json: .*\|ours - official\|"):
        run(Ctx("temporal_flickering.json", moved, "temporal_flickering", None, tmp_path))
    moved = json.loads(json.dumps(ref))
    moved["score"] += 2 * TOLERANCES["temporal_flickering"]["also"]["score"]
    with pytest.raises(AssertionError, match=r"dimension score.*\(score\)"):
        run(Ctx("temporal_flickering.json", moved, "temporal_flickering", None, tmp_path))


def test_a_drifted_checkpoint_writer_is_refused_before_any_comparison(tmp_path, seeded_cache):
    pytest.importorskip("torch")
    from parity_adapters import Ctx

    ctx = Ctx("x.json", {}, "background_consistency", seeded_cache, tmp_path)
    made = seeded_cache("clip_b32", seed=0, tiny=True)
    assert ctx.cache("clip_b32", seed=0, tiny=True, fingerprint=made.fingerprint) == made.path
    with pytest.raises(AssertionError, match="drifted from the reference"):
        ctx.cache("clip_b32", seed=0, tiny=True, fingerprint=made.fingerprint * (1 + 1e-9))
