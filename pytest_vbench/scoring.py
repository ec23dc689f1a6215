"""Sufficient statistics, dimension scores, normalisation and Quality / Semantic / Total.

Every per-video result carries ``sum`` and ``count`` in its dimension's unit (pair, frame or video);
a dimension score is ``scale * fsum(sums) / sum(counts)``. ``math.fsum`` is exactly rounded, so the
result does not depend on the order in which results arrive (xdist, shards, merges).

The constants and formulas are those of Vchitect/VBench ``scripts/cal_final_score.py``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from .dimensions import DIMENSIONS, QUALITY, SEMANTIC

QUALITY_WEIGHT = 4
SEMANTIC_WEIGHT = 1


@dataclass
class VideoScore:
    """What a dimension returns for one video: sufficient statistics plus the official record."""

    sum: float
    count: int
    record: dict[str, Any] | None = None  # official per-video record without video_path; None = no record (color)
    note: str | None = None  # why a video was (not) used, e.g. by the static filter; shown in reports

    def to_json(self) -> dict[str, Any]:
        """Plain JSON form."""
        out: dict[str, Any] = {"sum": float(self.sum), "count": int(self.count), "record": self.record}
        if self.note is not None:
            out["note"] = self.note
        return out


@dataclass
class DimensionTotal:
    """The merged statistics of one dimension."""

    name: str
    sums: list[float] = field(default_factory=list)
    count: int = 0
    videos: int = 0

    def add(self, sum_: float, count: int) -> None:
        """Merge one video's statistics."""
        self.sums.append(float(sum_))
        self.count += int(count)
        self.videos += 1

    @property
    def total(self) -> float:
        """Exactly rounded sum of the per-video sums."""
        return math.fsum(self.sums)

    @property
    def raw(self) -> float | None:
        """The official dimension score, or None when nothing was counted."""
        if self.count == 0:
            return None
        return DIMENSIONS[self.name].scale * self.total / self.count


def normalise(name: str, raw: float) -> float:
    """``(raw - Min) / (Max - Min) * DIM_WEIGHT``, unclipped, as the official script does."""
    d = DIMENSIONS[name]
    return (raw - d.min) / (d.max - d.min) * d.weight


@dataclass
class GroupScore:
    """Quality, Semantic or Total: the value and which dimensions it lacks."""

    name: str
    value: float | None
    missing: list[str]

    @property
    def partial(self) -> bool:
        """True when some dimension of the group had no score."""
        return bool(self.missing)


def final_scores(raws: dict[str, float], missing_as_zero: bool = False) -> dict[str, GroupScore]:
    """Quality, Semantic and Total from raw dimension scores.

    By default a missing dimension is left out and the group is *partial* (the mean over the
    dimensions present, with their weights). With ``missing_as_zero`` a missing dimension counts as
    raw 0, exactly like the official ``cal_final_score.py`` (then nothing is partial).
    """
    groups: dict[str, GroupScore] = {}
    for group in (QUALITY, SEMANTIC):
        num, den, missing = 0.0, 0.0, []
        for d in DIMENSIONS.values():
            if d.group != group:
                continue
            raw = raws.get(d.name)
            if raw is None:
                if not missing_as_zero:
                    missing.append(d.name)
                    continue
                raw = 0.0
            num += normalise(d.name, raw)
            den += d.weight
        groups[group] = GroupScore(group, num / den if den else None, missing)
    q, s = groups[QUALITY], groups[SEMANTIC]
    if q.value is None or s.value is None:
        total = None
    else:
        total = (q.value * QUALITY_WEIGHT + s.value * SEMANTIC_WEIGHT) / (QUALITY_WEIGHT + SEMANTIC_WEIGHT)
    groups["total"] = GroupScore("total", total, q.missing + s.missing)
    return groups
