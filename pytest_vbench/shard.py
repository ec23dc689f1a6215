"""``--vbench-shard K/N``: run one of N deterministic, cost-balanced parts of the suite.

The parts are the lanes of :func:`pytest_vbench.schedule.lanes` (blocks of dimensions sharing a
model family kept together, equal estimated cost), computed from the suite, the dimensions and the
expected videos only, so every job of a CI matrix computes the same split without talking to the
others. The other items are deselected at collection; the run's expected counts are the shard's
(contract 4), and the request is recorded in ``VBenchSession.planned_partial`` (contract 2).
The report carries ``shard`` (index, count and the whole suite's expected prompts per dimension),
which lets ``pytest-vbench merge`` rebuild the report of one run from the N shard reports.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

_SPEC = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*$")


class ShardError(ValueError):
    """A ``--vbench-shard`` value that is not ``K/N`` with ``1 <= K <= N``."""


def add_options(group: Any) -> None:
    """Register ``--vbench-shard``."""
    group.addoption("--vbench-shard", metavar="K/N", default=None,
                    help="run shard K of N (1-based): a deterministic part of the items balanced by estimated "
                         "cost; merge the N reports with `pytest-vbench merge`")


def parse(spec: str) -> tuple[int, int]:
    """``"2/4"`` -> ``(2, 4)``."""
    m = _SPEC.match(spec or "")
    if not m or not 1 <= int(m.group(1)) <= int(m.group(2)):
        raise ShardError(f"--vbench-shard must be K/N with 1 <= K <= N (for example 2/4), got {spec!r}")
    return int(m.group(1)), int(m.group(2))


def select(cases: Sequence[Any], index: int, count: int) -> list[Any]:
    """The cases of shard ``index`` (1-based) of ``count``, in suite order."""
    from .schedule import lanes

    chosen = {id(c) for c in lanes(cases, count)[index - 1]}
    return [c for c in cases if id(c) in chosen]


class Shard:
    """The shard a run was asked for: which item names it runs and the whole suite's expected counts."""

    def __init__(self, cases: Sequence[Any], index: int, count: int):
        self.index, self.count = index, count
        self.cases = select(cases, index, count)
        self.names = {c.item_name for c in self.cases}
        self.total = len(cases)
        self.suite_expected: dict[str, int] = {}
        for c in cases:
            self.suite_expected[c.dimension] = self.suite_expected.get(c.dimension, 0) + 1

    @property
    def reason(self) -> str:
        """The planned-partiality reason (contract 2)."""
        return f"shard {self.index}/{self.count}: {len(self.cases)} of {self.total} items"

    def to_json(self) -> dict[str, Any]:
        """What the report records (``shard`` key)."""
        return {"index": self.index, "count": self.count, "items": len(self.cases),
                "suite_expected": dict(self.suite_expected)}


def from_config(config: Any, cases: Sequence[Any]) -> Shard | None:
    """The shard the options ask for (None without ``--vbench-shard``); raises :class:`ShardError`."""
    spec = config.getoption("vbench_shard", None)
    if spec is None:
        return None
    index, count = parse(spec)
    return Shard(cases, index, count)


def record(results: Any, shard: Shard | None) -> None:
    """Put the shard into the report (``Results.shard``) so that ``merge`` can rebuild the whole run."""
    results.shard = None if shard is None else shard.to_json()


def deselect(config: Any, items: list[Any], shard: Shard | None) -> None:
    """Deselect the vbench items outside ``shard`` (other tests of the session are left alone)."""
    if shard is None:
        return
    keep: list[Any] = []
    drop: list[Any] = []
    for item in items:
        case = getattr(item, "case", None)
        (drop if case is not None and case.item_name not in shard.names else keep).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


def merge_expected(reports: Sequence[dict[str, Any]]) -> dict[str, int] | None:
    """Expected prompts of the whole run when ``reports`` are shards of one run (None when none is a shard).

    Raises ValueError for shards of different splits, a shard given twice, or a mix of shard and
    whole-run reports.
    """
    shards = [r.get("shard") for r in reports]
    if not any(shards):
        return None
    if not all(shards):
        raise ValueError("some reports are shards (--vbench-shard) and some are not; merge the shards of one run")
    counts = {s["count"] for s in shards if s}
    expected = [s["suite_expected"] for s in shards if s]
    if len(counts) > 1 or any(e != expected[0] for e in expected):
        raise ValueError("the shard reports come from different splits (other N, dimensions or videos)")
    indices = [s["index"] for s in shards if s]
    twice = sorted({i for i in indices if indices.count(i) > 1})
    if twice:
        raise ValueError(f"shard(s) {', '.join(map(str, twice))} given more than once")
    return dict(expected[0])
