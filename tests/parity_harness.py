"""The parity harness: one checkpoint fingerprint and one tolerance table for every parity test.

* :func:`fingerprint` — sum of |w| over every floating tensor of the seeded checkpoints a test
  writes, nested containers included (AMT's ``{"state_dict": ...}``); each reference in
  ``tests/parity/*.json`` records it per run, and the tests refuse a checkpoint whose fingerprint
  differs (``FINGERPRINT_REL``): the generator drifted and the reference no longer applies.
* :data:`TOLERANCES` — the per-video bar of each dimension's official parity test. The parity
  tests read their bar from here and ``docs/parity.md`` states the same numbers
  (``tests/test_parity_references.py`` checks both).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
PARITY = ROOT / "tests" / "parity"

_spec = importlib.util.spec_from_file_location("tools_parity_image", ROOT / "tools" / "parity_image.py")
assert _spec is not None and _spec.loader is not None
_tools = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_tools)
#: the fingerprint tools/parity_*.py recorded with the references (one definition, in tools/)
fingerprint = _tools.fingerprint
abs_sum = _tools.abs_sum

#: relative tolerance on a recorded checkpoint fingerprint
FINGERPRINT_REL = 1e-12

#: dimension -> largest allowed |ours - official| per video (or per compared value, see ``what``)
TOLERANCES: dict[str, dict[str, Any]] = {
    "temporal_flickering": {"bar": 1e-6, "what": "per-video value"},
    "imaging_quality": {"bar": 1e-4, "what": "per-video value, 0-100 scale"},
    "subject_consistency": {"bar": 1e-6, "what": "per-video value"},
    "background_consistency": {"bar": 1e-6, "what": "per-video value"},
    "appearance_style": {"bar": 1e-6, "what": "per-video value"},
    "aesthetic_quality": {"bar": 1e-6, "what": "per-video value"},
    "dynamic_degree": {"bar": 1e-4, "what": "per-pair flow score before the threshold; booleans identical"},
    "motion_smoothness": {"bar": 1e-5, "what": "per-video value (per-pair differences 1e-3)"},
    "temporal_style": {"bar": 1e-5, "what": "per-video value"},
    "overall_consistency": {"bar": 1e-5, "what": "per-video value"},
    "human_action": {"bar": 1e-5, "what": "sigmoid top-5 probabilities; decisions identical"},
    "object_class": {"bar": 1e-4, "what": "detection scores (boxes 1e-2 px); records and score identical"},
    "multiple_objects": {"bar": 1e-4, "what": "detection scores (boxes 1e-2 px); records and score identical"},
    "color": {"bar": 1e-4, "what": "detection scores (boxes 1e-2 px); records and score identical"},
    "spatial_relationship": {"bar": 1e-4, "what": "detection scores (boxes 1e-2 px); records and score identical"},
    "scene": {"bar": 0.0, "what": "tags, captions, records and score identical"},
    # beyond VBench 1.0: parity with t2v_metrics 3.0's VQAScore (abs 1e-5, or rel 1e-4 of the value)
    "vqa_score": {"bar": 1e-5, "what": "P(Yes) per video against t2v_metrics 3.0 (or rel 1e-4)"},
}


def bar(dimension: str) -> float:
    """The per-video tolerance of ``dimension``'s parity test."""
    return float(TOLERANCES[dimension]["bar"])
