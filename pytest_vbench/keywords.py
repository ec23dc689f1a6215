"""``-k`` with spaces inside a prompt: ``pytest --vbench-videos out/ -k "temporal_flickering and stop sign"``.

pytest's ``-k`` grammar has no spaces inside a name, so ``stop sign`` alone is a syntax error there.
Every vbench item carries its prompt with runs of white space turned into ``_`` as a keyword
(``In_a_still_frame,_a_stop_sign``), and pytest matches keywords by substring, so ``stop_sign``
selects it.

:class:`SpacedKeywords` lets pytest read an expression that has runs of plain words (no
``and``/``or``/``not`` or parenthesis between them) with each run joined by ``_``, and only while
pytest selects the items (``pytest_collection_modifyitems``). ``config.option.keyword`` stays
the expression the user typed for the rest of the session: in the header, for other plugins and
conftests, in xdist workers. An expression pytest can already parse never has such a run (two
names side by side are a syntax error), so it is evaluated exactly as typed.
"""

from __future__ import annotations

import re
from collections.abc import Generator
from typing import Any

import pytest

_OPERATORS = frozenset({"and", "or", "not", "(", ")"})


def prompt_keyword(prompt: str) -> str:
    """The keyword a vbench item carries for its prompt: runs of white space become ``_``."""
    return re.sub(r"\s+", "_", prompt)


def joined(expr: str) -> str | None:
    """``expr`` with every run of plain words joined by ``_``; None when it has no run of two or more words."""
    out: list[str] = []
    run: list[str] = []
    changed = False

    def flush() -> None:
        nonlocal changed
        if run:
            changed = changed or len(run) > 1
            out.append("_".join(run))
            run.clear()

    for tok in re.split(r"(\(|\)|\s+)", expr):
        if not tok or tok.isspace():
            continue
        if tok in _OPERATORS:
            flush()
            out.append(tok)
        else:
            run.append(tok)
    flush()
    return " ".join(out) if changed else None


class SpacedKeywords:
    """Registered by the plugin when ``--vbench-videos`` is given; see the module docstring."""

    @pytest.hookimpl(wrapper=True)
    def pytest_collection_modifyitems(self, config: pytest.Config, items: list[pytest.Item]) -> Generator[None, Any, None]:
        """pytest's keyword selection reads the joined expression; the typed one is restored afterwards."""
        typed = config.option.keyword
        reading = joined(typed or "")
        if reading is None:
            return (yield)
        config.option.keyword = reading
        try:
            return (yield)
        finally:
            config.option.keyword = typed
