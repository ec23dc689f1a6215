"""Parity with the official outputs: one test id per reference in ``tests/parity/*.json``.

``test_parity[<reference>]`` runs what the default tier checks of a reference, ``test_parity[<reference>-full]``
(``-m slow``) the rest of it; references made with full-size checkpoints only run under ``-m slow``.
How each format is built, run and compared: ``tests/parity_adapters.py``; the bars:
``parity_harness.TOLERANCES`` (stated in ``docs/parity.md``).
"""

from __future__ import annotations

import pytest

from parity_adapters import FORMATS, REFERENCES, Ctx, load


def _params() -> list:
    out = []
    for name, ref in REFERENCES.items():
        if ref.fast is not None:
            out.append(pytest.param(name, ref.fast, id=name))
        if ref.full is not None:
            out.append(pytest.param(name, ref.full, id=name if ref.fast is None else f"{name}-full",
                                    marks=pytest.mark.slow))
    return out


@pytest.fixture
def restore_threads():
    torch = pytest.importorskip("torch")
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


@pytest.mark.parametrize("name,options", _params())
def test_parity(name, options, seeded_cache, tmp_path, restore_threads):
    ref = REFERENCES[name]
    ctx = Ctx(name, load(name), ref.dimension, seeded_cache, tmp_path)
    FORMATS[ref.format](ctx, **options)
    assert ctx.compared, f"{name}: nothing was compared"
