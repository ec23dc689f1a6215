"""The parity harness: one checkpoint fingerprint and one tolerance table for every parity test.

* :func:`fingerprint` — sum of |w| over every floating tensor of the seeded checkpoints a test
  writes, nested containers included (AMT's ``{"state_dict": ...}``); each reference in
  ``tests/parity/*.json`` records it per run, and the tests refuse a checkpoint whose fingerprint
  differs (``FINGERPRINT_REL``): the generator drifted and the reference no longer applies.
* :data:`TOLERANCES` — the per-video bar of each dimension's official parity test, and the other
  bars its references are held to. ``tests/test_parity.py`` reads them from here and
  ``docs/parity.md`` states the same numbers (``tests/test_parity_references.py`` checks both).
* :func:`check_snapshot` — a seeded VQA snapshot is the one a reference was made with.
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

#: dimension -> its per-video bar (the largest allowed |ours - official| per video, or per compared value,
#: see ``what``) and ``also``: the other bars its parity references are held to, by name.
#: ``tests/test_parity.py`` reads every bar from here (``tolerance``); ``docs/parity.md`` states them all.
TOLERANCES: dict[str, dict[str, Any]] = {
    "temporal_flickering": {"bar": 1e-6, "what": "per-video value",
                            "also": {"score": 1e-6, "static filter pair scores": 1e-4}},
    "imaging_quality": {"bar": 1e-4, "what": "per-video value, 0-100 scale",
                        "also": {"tiny reference": 1e-5, "tiny score": 1e-7}},
    "subject_consistency": {"bar": 1e-6, "what": "per-video value",
                            "also": {"tiny score": 1e-7, "tiny features": 5e-6}},
    "background_consistency": {"bar": 1e-6, "what": "per-video value", "also": {"score": 1e-6}},
    "appearance_style": {"bar": 1e-6, "what": "per-video value", "also": {"score": 1e-6}},
    "aesthetic_quality": {"bar": 1e-6, "what": "per-video value", "also": {"score": 1e-6}},
    "dynamic_degree": {"bar": 1e-4, "what": "per-pair flow score before the threshold; booleans identical"},
    "motion_smoothness": {"bar": 1e-5, "what": "per-video value (per-pair differences 1e-3)",
                          "also": {"pair differences": 1e-3}},
    "temporal_style": {"bar": 1e-5, "what": "per-video value"},
    "overall_consistency": {"bar": 1e-5, "what": "per-video value"},
    "human_action": {"bar": 1e-5, "what": "sigmoid top-5 probabilities; decisions identical"},
    "object_class": {"bar": 1e-4, "what": "detection scores (boxes 1e-2 px); records and score identical"},
    "multiple_objects": {"bar": 1e-4, "what": "detection scores (boxes 1e-2 px); records and score identical"},
    "color": {"bar": 1e-4, "what": "detection scores (boxes 1e-2 px); records and score identical"},
    "spatial_relationship": {"bar": 1e-4, "what": "detection scores (boxes 1e-2 px); records and score identical"},
    "scene": {"bar": 0.0, "what": "tags, captions, records and score identical"},
    # beyond VBench 1.0: parity with t2v_metrics 3.0's VQAScore (abs 1e-5, or rel 1e-4 of the value)
    "vqa_score": {"bar": 1e-5, "what": "P(Yes) per video against t2v_metrics 3.0 (or rel 1e-4)",
                  "also": {"relative": 1e-4}},
}


def bar(dimension: str) -> float:
    """The per-video tolerance of ``dimension``'s parity test."""
    return float(TOLERANCES[dimension]["bar"])


def tolerance(dimension: str, name: str = "bar") -> float:
    """``dimension``'s per-video bar (``name="bar"``) or one of its other bars (``also``)."""
    row = TOLERANCES[dimension]
    return float(row["bar"] if name == "bar" else row["also"][name])


def tensor_digest(path: Path) -> str:
    """sha256 over the names, dtypes, shapes and bytes of a safetensors file's tensors (not its header layout)."""
    import hashlib

    from safetensors import safe_open

    h = hashlib.sha256()
    with safe_open(str(path), "pt") as f:
        for name in sorted(f.keys()):
            t = f.get_tensor(name).contiguous()
            h.update(f"{name}|{t.dtype}|{tuple(t.shape)}|".encode())
            h.update(t.numpy().tobytes())
    return h.hexdigest()


def check_snapshot(folder: Path, ref: dict) -> None:
    """The snapshot files are the reference's: byte digests, except the weights, compared by tensor content
    (names, dtypes, shapes, bytes), so that another safetensors release's header layout does not matter."""
    import hashlib

    got = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.iterdir() if p.name != "model.safetensors"}
    assert got == {k: v for k, v in ref["snapshot"].items() if k != "model.safetensors"}
    assert tensor_digest(folder / "model.safetensors") == ref["snapshot_tensors"]["model.safetensors"]
