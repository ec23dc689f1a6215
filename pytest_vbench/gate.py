"""Thresholds and the baseline gate: parsing them and deciding the verdict.

All values are in the leaderboard's **percent** scale: a dimension threshold compares with the raw
dimension score x 100 (what the leaderboard shows per dimension), a ``quality`` / ``semantic`` /
``total`` threshold with the normalised group score x 100. A value in (0, 1] is refused as a likely
0-1 scale value unless written with a ``%`` sign (``dynamic_degree=1%``).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .dimensions import DIMENSIONS, suggest
from .scoring import GroupScore

if TYPE_CHECKING:
    from .compare import Comparison

GROUP_NAMES = ("quality", "semantic", "total")


class GateError(ValueError):
    """A threshold, config or baseline that cannot be used (a usage error)."""


@dataclass(frozen=True)
class Threshold:
    """``name`` must score at least ``percent`` (leaderboard percent scale)."""

    name: str
    percent: float
    source: str = "command line"


def _canonical(name: str, where: str) -> str:
    key = name.strip().lower().replace(" ", "_").replace("-", "_")
    if key in GROUP_NAMES or key in DIMENSIONS:
        return key
    raise GateError(f"{where}: unknown threshold name {name!r}{suggest(key, [*GROUP_NAMES, *DIMENSIONS])}; "
                    f"use a dimension name or one of quality, semantic, total")


def parse_value(text: object, name: str, where: str) -> float:
    """Parse a percent value; refuse what looks like the 0-1 scale."""
    raw = str(text).strip()
    explicit = raw.endswith("%")
    if explicit:
        raw = raw[:-1].strip()
    try:
        value = float(raw)
    except ValueError:
        raise GateError(f"{where}: threshold for {name} is not a number: {text!r}") from None
    if not math.isfinite(value) or not (0.0 <= value <= 100.0):
        raise GateError(f"{where}: threshold for {name} must be a percentage in [0, 100], got {text!r}")
    if 0.0 < value <= 1.0 and not explicit:
        raise GateError(f"{where}: threshold {name}={text} looks like the 0-1 scale; thresholds are in the "
                        f"leaderboard's percent scale (did you mean {name}={value * 100:g}?). "
                        f"Write {name}={text}% if you really mean {text} percent.")
    return value


def parse_threshold(spec: str, where: str = "--vbench-fail-under") -> Threshold:
    """Parse ``NAME=VALUE``."""
    if "=" not in spec:
        raise GateError(f"{where}: expected NAME=VALUE (e.g. total=80), got {spec!r}")
    name, value = spec.split("=", 1)
    key = _canonical(name, where)
    return Threshold(key, parse_value(value, key, where), where)


def load_config(path: str | Path) -> tuple[list[Threshold], dict[str, Any]]:
    """Read a YAML config: ``fail_under: {name: percent}``, optional ``baseline``, ``max_regression``, the
    comparison keys of :mod:`pytest_vbench.compare` (``max_drop``, ``confidence``, ``resamples``) and
    ``vqa`` (vqa_score's options, returned as ``extra["vqa"]``)."""
    import yaml

    p = Path(path).expanduser()
    where = str(p)
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8"))
    except OSError as exc:
        raise GateError(f"cannot read config file {p}: {exc.strerror or exc}") from None
    except yaml.YAMLError as exc:
        raise GateError(f"config file {p} is not valid YAML: {exc}") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise GateError(f"config file {p} must be a mapping with keys fail_under, baseline, max_regression")
    from . import compare

    allowed = ("fail_under", "baseline", "max_regression", "vqa", *compare.CONFIG_KEYS)
    unknown = sorted(set(data) - set(allowed))
    if unknown:
        raise GateError(f"config file {p}: unknown key(s) {unknown}; allowed: {', '.join(allowed)}")
    fail_under = data.get("fail_under") or {}
    if not isinstance(fail_under, dict):
        raise GateError(f"config file {p}: fail_under must be a mapping of name: percent")
    thresholds = [Threshold(_canonical(k, where), parse_value(v, k, where), where) for k, v in fail_under.items()]
    extra: dict[str, Any] = {}
    if data.get("baseline") is not None:
        base = Path(str(data["baseline"])).expanduser()
        extra["baseline"] = str(base if base.is_absolute() else p.parent / base)
    if data.get("max_regression") is not None:
        extra["max_regression"] = parse_regression(data["max_regression"], where)
    extra.update(compare.read_config(data, where))  # max_drop, confidence, resamples
    if data.get("vqa") is not None:  # vqa_score's model, templates and frames (models.vqa.combine)
        from .models.vqa import read_config

        try:
            extra["vqa"] = read_config(data["vqa"], where)
        except ValueError as exc:
            raise GateError(str(exc)) from None
    return thresholds, extra


def parse_regression(value: object, where: str) -> float:
    """Allowed regression against the baseline, in percentage points (>= 0)."""
    try:
        v = float(str(value).strip().rstrip("%"))
    except ValueError:
        raise GateError(f"{where}: max regression must be a number of percentage points, got {value!r}") from None
    if not math.isfinite(v) or v < 0:  # NaN/inf would silently switch the baseline check off
        raise GateError(f"{where}: max regression must be a finite number >= 0, got {value!r}")
    return v


def load_baseline(path: str | Path) -> dict[str, float]:
    """Percent scores (dimensions raw x100, groups x100) from a previous ``--vbench-json`` report."""
    p = Path(path).expanduser()
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
        out = {}
        for name, d in data["dimensions"].items():
            if d.get("raw") is not None:
                out[name] = d["raw"] * 100
        for name, g in data["scores"].items():
            if g.get("value") is not None and not g.get("partial"):
                out[name] = g["value"] * 100
        return out
    except OSError as exc:
        raise GateError(f"cannot read baseline {p}: {exc.strerror or exc}") from None
    except (ValueError, KeyError, TypeError, AttributeError):
        raise GateError(f"baseline {p} is not a pytest-vbench JSON report (written by --vbench-json)") from None


def current_percent(raws: dict[str, float], groups: dict[str, GroupScore]) -> dict[str, float | None]:
    """Percent scores of this run, keyed like thresholds."""
    out: dict[str, float | None] = {k: v * 100 for k, v in raws.items()}
    for name, g in groups.items():
        out[name] = None if g.value is None else g.value * 100
    return out


def evaluate(thresholds: list[Threshold], raws: dict[str, float], groups: dict[str, GroupScore],
             baseline: Comparison | None = None, max_regression: float = 0.0,
             missing_as_zero: bool = False) -> list[str]:
    """Every failed gate as one ``FAIL ...`` line (empty list: the gate passes)."""
    now = current_percent(raws, groups)
    fails: list[str] = []
    for t in thresholds:
        value = now.get(t.name)
        group = groups.get(t.name)
        if value is None:
            why = "no score (no video was scored)" if t.name in DIMENSIONS else "no score"
            if group is not None and group.missing:
                why = f"cannot be computed: missing {', '.join(group.missing)}"
            fails.append(f"FAIL {t.name}: {why}; threshold {t.percent:g}% ({t.source})")
        elif group is not None and group.partial and not missing_as_zero:
            fails.append(f"FAIL {t.name}: only a partial score ({value:.2f}%) is available, missing "
                         f"{', '.join(group.missing)}; threshold {t.percent:g}% ({t.source})")
        elif value < t.percent:
            fails.append(f"FAIL {t.name}: {value:.2f}% < {t.percent:g}% ({t.source})")
    if baseline is not None:  # a compare.Comparison: the paired bootstrap and the rule decide (compare.py)
        fails += baseline.failures()
    return fails
