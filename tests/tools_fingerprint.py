"""The checkpoint fingerprint used by tools/parity_*.py, shared with the tests."""

from __future__ import annotations

import importlib.util
from pathlib import Path

_spec = importlib.util.spec_from_file_location(
    "parity_image", Path(__file__).resolve().parents[1] / "tools" / "parity_image.py")
_mod = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_mod)
fingerprint = _mod.fingerprint
