"""Cost estimates and locality plans: which worker (or shard) runs which (dimension, prompt) item.

One planner serves shards (``shard.py``) and the xdist scheduler below. It

1. groups dimensions into *blocks* that share a model family (union-find over families, optional
   ones included: the four GRiT dimensions are one block, background_consistency and
   appearance_style another, temporal_style and overall_consistency a third...);
2. lays the items out in one sequence, block after block (largest block first), items of a block
   in suite order;
3. cuts the sequence into N contiguous *lanes* of equal estimated cost, moving each cut to a block
   boundary when one lies within 15 % of a lane's cost of the ideal cut, else to a prompt
   boundary. A lane so loads the families of the blocks it covers, and at most N - 1 blocks are
   split between two lanes;
4. orders each lane's items by video (prompt, then dimension), so dimensions of one lane that read
   the same video run back to back and share one decode (``Runtime.decoded``): the lane's models
   stay loaded for the whole session, so this order costs no extra model load.

Cost of an item = the dimension's estimated CPU seconds per video x its videos (found + missing,
so the plan depends on the suite, not on which files exist). The figures come from the benchmark
pages in ``docs/dimensions/`` (CPU, 2 threads); only their ratios matter. The xdist scheduler uses
the seconds per video measured by the previous run on this machine instead where it has them
(remembered in pytest's cache, :func:`cost_model`); shards always use the table, so that every job
of a CI matrix computes the same split.

The xdist scheduler (:class:`LocalityScheduling`, made by ``pytest_xdist_make_scheduler`` when the
run uses xdist's default ``--dist load``) gives worker ``gwK`` lane K, sent in chunks of halving
size (half the lane, a quarter, ...); a worker that has finished its lane takes the last (smallest)
chunk of the lane with the most work left, so a wrong estimate costs a little locality at the end
of a run, never at its start, and the workers finish close together.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Any

#: estimated CPU seconds per video (ratios matter; from the benchmark tables in docs/dimensions/)
COST: dict[str, float] = {
    "subject_consistency": 8.0, "background_consistency": 4.0, "temporal_flickering": 0.2,
    "motion_smoothness": 10.0, "dynamic_degree": 8.0, "aesthetic_quality": 20.0, "imaging_quality": 10.0,
    "object_class": 30.0, "multiple_objects": 25.0, "human_action": 55.0, "color": 35.0,
    "spatial_relationship": 25.0, "scene": 10.0, "appearance_style": 1.2, "temporal_style": 34.0,
    "overall_consistency": 34.0, "vqa_score": 60.0,
}
DEFAULT_COST = 10.0
#: a cut moves to a block boundary within this fraction of a lane's cost
BLOCK_SLACK = 0.15
#: chunks per lane sent to an xdist worker (the unit a finished worker can take from another lane)
CHUNKS_PER_LANE = 8


def item_cost(case: Any) -> float:
    """Estimated cost of one case: per-video cost x expected videos (at least one)."""
    return COST.get(case.dimension, DEFAULT_COST) * max(1, len(case.videos) + len(case.missing))


CACHE_KEY = "vbench/seconds-per-video"


def measure(cases: Any) -> dict[str, float]:
    """Mean seconds per video of each dimension over freshly scored cases (no store hit)."""
    seen: dict[str, list[float]] = {}
    for case in cases:
        if case.get("videos") and not case.get("store_hits") and case.get("seconds") is not None:
            seen.setdefault(case["dimension"], []).append(float(case["seconds"]) / len(case["videos"]))
    return {d: sum(v) / len(v) for d, v in seen.items() if sum(v) > 0}


def remember(cache: Any, cases: Any) -> None:
    """Keep this run's measured seconds per video in pytest's cache for the next run's xdist plan."""
    found = measure(cases)
    if found:
        known = cache.get(CACHE_KEY, {})
        cache.set(CACHE_KEY, {**(known if isinstance(known, dict) else {}), **found})


def cost_model(measured: dict[str, float] | None) -> Callable[[Any], float]:
    """Item cost from measured seconds per video where known, else the table scaled to the measured ones.

    Used by the xdist scheduler (one machine); shards always use the table, so that every job of a
    CI matrix computes the same split.
    """
    good = {d: float(v) for d, v in (measured or {}).items() if isinstance(v, (int, float)) and v > 0}
    if not good:
        return item_cost
    ratios = sorted(good[d] / COST.get(d, DEFAULT_COST) for d in good)
    scale = ratios[len(ratios) // 2]

    def cost(case: Any) -> float:
        per = good.get(case.dimension, COST.get(case.dimension, DEFAULT_COST) * scale)
        return per * max(1, len(case.videos) + len(case.missing))

    return cost


def blocks(dimensions: Sequence[str]) -> dict[str, str]:
    """``{dimension: block}``: dimensions sharing a model family (optional ones too) share a block."""
    from .dimensions import DIMENSIONS

    parent = {d: d for d in dimensions}

    def root(d: str) -> str:
        while parent[d] != d:
            parent[d] = parent[parent[d]]
            d = parent[d]
        return d

    owner: dict[str, str] = {}
    for d in dimensions:
        row = DIMENSIONS.get(d)
        for family in (*row.families, *row.optional_families) if row else ():
            if family in owner:
                a, b = root(owner[family]), root(d)
                if a != b:
                    parent[max(a, b)] = min(a, b)
            else:
                owner[family] = d
    return {d: root(d) for d in dimensions}


def _rank(dimension: str) -> int:
    from .dimensions import DIMENSIONS

    names = list(DIMENSIONS)
    return names.index(dimension) if dimension in names else len(names)


def sequence(cases: Sequence[Any], cost: Callable[[Any], float] = item_cost) -> list[Any]:
    """All cases in block order (largest estimated block first), suite order within a block."""
    block_of = blocks(sorted({c.dimension for c in cases}, key=_rank))
    totals: dict[str, float] = {}
    for c in cases:
        totals[block_of[c.dimension]] = totals.get(block_of[c.dimension], 0.0) + cost(c)
    order = sorted(totals, key=lambda b: (-totals[b], _rank(b)))
    position = {b: i for i, b in enumerate(order)}
    return sorted(cases, key=lambda c: (position[block_of[c.dimension]], c.order, _rank(c.dimension), c.prompt))


def _cuts(seq: Sequence[Any], n: int, cost: Callable[[Any], float], boundary: Callable[[int], int]) -> list[int]:
    """Indices splitting ``seq`` into ``n`` contiguous parts of about equal cost (preferring strong boundaries)."""
    prefix = [0.0]
    for c in seq:
        prefix.append(prefix[-1] + cost(c))
    total = prefix[-1]
    target = total / n if n else 0.0
    cuts, last = [], 0
    for k in range(1, n):
        ideal = k * target
        window = [i for i in range(last, len(seq) + 1) if abs(prefix[i] - ideal) <= BLOCK_SLACK * target]
        if window:
            best = max(window, key=lambda i: (boundary(i), -abs(prefix[i] - ideal), -i))
        else:
            best = min(range(last, len(seq) + 1), key=lambda i: (abs(prefix[i] - ideal), i))
        cuts.append(best)
        last = best
    return [0, *cuts, len(seq)]


def lanes(cases: Sequence[Any], n: int, cost: Callable[[Any], float] = item_cost) -> list[list[Any]]:
    """The plan: ``n`` lanes of cases, balanced by cost, each lane ordered by video."""
    if n < 1:
        raise ValueError("the number of lanes must be at least 1")
    seq = sequence(cases, cost)
    block_of = blocks(sorted({c.dimension for c in cases}, key=_rank))

    def boundary(i: int) -> int:  # 2: between blocks, 1: between prompts, 0: inside a prompt's items
        if i <= 0 or i >= len(seq):
            return 2
        a, b = seq[i - 1], seq[i]
        if block_of[a.dimension] != block_of[b.dimension]:
            return 2
        return 1 if a.order != b.order else 0

    cuts = _cuts(seq, n, cost, boundary)
    return [sorted(seq[cuts[k]:cuts[k + 1]], key=lambda c: (c.order, c.prompt, _rank(c.dimension)))
            for k in range(n)]


def chunks(lane: Sequence[Any], parts: int = CHUNKS_PER_LANE,
           cost: Callable[[Any], float] = item_cost) -> list[list[Any]]:
    """A lane in up to ``parts`` contiguous chunks of halving cost (1/2, 1/4, ...), cut between prompts.

    Big chunks first keep the lane's work together; small ones at the end are what another worker
    takes when it runs out, so the end of a run stays balanced.
    """
    out: list[list[Any]] = []
    rest = list(lane)
    while rest:
        if len(out) == parts - 1 or len(rest) == 1:
            out.append(rest)
            break

        def boundary(i: int, seq: list[Any] = rest) -> int:
            return 2 if i <= 0 or i >= len(seq) or seq[i - 1].order != seq[i].order else 0

        cut = _cuts(rest, 2, cost, boundary)[1] or 1
        out.append(rest[:cut])
        rest = rest[cut:]
    return out


def families(cases: Sequence[Any]) -> list[str]:
    """The model families a set of cases needs (for messages and tests)."""
    from .dimensions import DIMENSIONS

    return sorted({f for c in cases for f in DIMENSIONS[c.dimension].families})


# ------------------------------------------------------------------------------------ xdist
try:  # pytest-xdist is optional: the scheduler exists only where xdist does
    from xdist.scheduler import LoadScopeScheduling as _Base  # type: ignore[import-untyped]
except ImportError:  # pragma: no cover - exercised on installs without xdist
    _Base = object

_WORKER = re.compile(r"gw(\d+)$")


class LocalityScheduling(_Base):
    """xdist scheduling by lanes: worker gwK runs lane K chunk by chunk, then helps the busiest lane."""

    collection: list[str] | None
    workqueue: OrderedDict[str, dict[str, bool]]

    def __init__(self, config: Any, log: Any = None, cases: dict[str, Any] | None = None,
                 report: Callable[[str], None] | None = None, cost: Callable[[Any], float] = item_cost):
        super().__init__(config, log)
        self.cases = dict(cases or {})  # nodeid -> Case (vbench items only)
        self.report = report
        self.cost = cost
        self.scope_of: dict[str, str] = {}
        self.lane_of: dict[str, int | None] = {}
        self.cost_of: dict[str, float] = {}
        self.plan: list[list[Any]] = []

    def _split_scope(self, nodeid: str) -> str:
        scope = self.scope_of.get(nodeid)
        return scope if scope is not None else str(super()._split_scope(nodeid))

    def _lane(self, node: Any) -> int:
        m = _WORKER.match(str(getattr(getattr(node, "gateway", None), "id", "")))
        index = int(m.group(1)) if m else self.nodes.index(node)
        return index % max(1, len(self.plan))

    def _make_plan(self, collection: list[str]) -> OrderedDict[str, dict[str, bool]]:
        ids = {id(case): nodeid for nodeid, case in self.cases.items()}
        present = [self.cases[n] for n in collection if n in self.cases]
        self.plan = lanes(present, max(1, self.numnodes), self.cost)
        queue: OrderedDict[str, dict[str, bool]] = OrderedDict()
        for k, lane in enumerate(self.plan):
            for j, chunk in enumerate(chunks(lane, cost=self.cost)):
                scope = f"vbench-lane{k}-chunk{j}"
                queue[scope] = {}
                for case in chunk:
                    nodeid = ids[id(case)]
                    self.scope_of[nodeid] = scope
                    queue[scope][nodeid] = False
                self.lane_of[scope] = k
                self.cost_of[scope] = sum(self.cost(c) for c in chunk)
        for nodeid in collection:  # other tests of the session: xdist's own scopes, run by any worker
            if nodeid not in self.scope_of:
                scope = self._split_scope(nodeid)
                queue.setdefault(scope, {})[nodeid] = False
                self.lane_of.setdefault(scope, None)
                self.cost_of.setdefault(scope, 0.0)
        if self.report is not None:
            for k, lane in enumerate(self.plan):
                fams = ", ".join(families(lane)) or "no model"
                self.report(f"vbench: locality schedule: gw{k}: {len(lane)} item(s), est. cost "
                            f"{sum(self.cost(c) for c in lane):.0f}, families {fams}")
        return queue

    def schedule(self) -> None:
        """Plan lanes once every worker has collected, then hand out chunks."""
        assert self.collection_is_completed
        if self.collection is not None:
            for node in self.nodes:
                self._reschedule(node)
            return
        if not self._check_nodes_have_same_collection():
            self.log("**Different tests collected, aborting run**")
            return
        self.collection = list(next(iter(self.registered_collections.values())))
        if not self.collection:
            return
        self.workqueue = self._make_plan(self.collection)
        for node in self.nodes:
            if self.workqueue:
                self._assign_work_unit(node)
        for node in self.nodes:
            self._reschedule(node)
        if not self.workqueue:
            for node in self.nodes:
                node.shutdown()

    def next_scope(self, node: Any) -> str:
        """The work unit ``node`` gets next: its lane's first chunk, else other tests, else steal."""
        lane = self._lane(node)
        own = [s for s in self.workqueue if self.lane_of.get(s) == lane]
        if own:
            return own[0]
        free = [s for s in self.workqueue if self.lane_of.get(s) is None]
        if free:
            return free[0]
        left: dict[int, float] = {}
        for s in self.workqueue:
            k = self.lane_of[s]
            if k is not None:
                left[k] = left.get(k, 0.0) + self.cost_of.get(s, 0.0)
        busiest = max(left, key=lambda k: (left[k], -k))
        return [s for s in self.workqueue if self.lane_of.get(s) == busiest][-1]

    def _assign_work_unit(self, node: Any) -> None:
        scope = self.next_scope(node)
        work_unit = self.workqueue.pop(scope)
        self.assigned_work.setdefault(node, {})[scope] = work_unit
        collection = self.registered_collections[node]
        node.send_runtest_some([collection.index(n) for n, done in work_unit.items() if not done])
