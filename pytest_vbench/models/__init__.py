"""Model families: one loader per family, called lazily (once per process) by the runtime.

``LOADERS`` maps a family name (as used in the dimension table's ``families``) to
``"module:function"`` inside this package; the function takes the :class:`~pytest_vbench.runtime.Runtime`
and returns the ready model on ``runtime.device``. Dimension issues add their rows here.
"""

from __future__ import annotations

import importlib

#: family -> "module:function" (relative to this package)
LOADERS: dict[str, str] = {
    "tag2text": "tag2text.loader:load",
    "musiq": "musiq:load",
    "dino": "dino:load",
    "raft": "raft:load",
    "amt": "amt:load",
    "clip_b32": "clip:load_b32",
    "clip_l14": "clip:load_l14",
    "aesthetic": "clip:load_aesthetic",
    "viclip": "viclip:load",
    "umt": "umt:load",
    "grit": "grit.predictor:load",
    "vqa": "vqa:load",
}

#: family -> top-level packages its loader imports (beyond the core dependencies); a dimension using
#: the family is "implemented" only when all of them can be imported (tests/test_table.py checks
#: this against the loaders' imports)
REQUIRES: dict[str, tuple[str, ...]] = {
    "tag2text": ("torch", "timm", "transformers"),
    "musiq": ("torch", "pyiqa"),
    "dino": ("torch", "timm"),
    "raft": ("torch", "torchvision"),
    "amt": ("torch",),
    "clip_b32": ("torch", "open_clip"),
    "clip_l14": ("torch", "open_clip"),
    "aesthetic": ("torch", "open_clip"),
    "viclip": ("torch", "torchvision"),
    "umt": ("torch",),
    "grit": ("torch", "torchvision"),
    "vqa": ("torch", "torchvision", "transformers", "decord"),
}


class ModelUnavailable(RuntimeError):
    """A family that this installation cannot load (no loader, or a missing optional dependency)."""


def load(family: str, runtime):
    """Load ``family`` for ``runtime`` (no caching here: the runtime caches)."""
    try:
        target = LOADERS[family]
    except KeyError:
        raise ModelUnavailable(f"no loader for model family {family!r} in this version of pytest-vbench") from None
    module_name, func = target.split(":")
    module = importlib.import_module(f"{__name__}.{module_name}")
    return getattr(module, func)(runtime)
