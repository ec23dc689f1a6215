"""Comparing a run with a baseline: paired bootstrap over prompts, the regression rule, comparability.

Everything here reads plain report dicts (``--vbench-json``), so the plugin, ``pytest-vbench gate``
and ``pytest-vbench merge`` share one code path. The per-prompt sufficient statistics are the
report's ``cases`` (each: dimension, prompt, videos with ``sum`` and ``count``).

The bootstrap resamples the prompts present in both runs with replacement; a drawn prompt brings
all its videos in every dimension it belongs to, in both runs (pairing). For every resample each
dimension is recomputed from the weighted per-prompt sums and counts, then Quality, Semantic and
Total with :func:`pytest_vbench.scoring.final_scores`. All numbers are in the leaderboard's percent
scale (dimension raw x 100, group score x 100), deltas in percentage points.

The p-values come from the paired sign-flip test over the same prompts (swap a prompt's two runs,
all its dimensions together), which stays valid with few prompts.

The rule (see ``docs/compare.md``): a name *regressed* when its drop is significant (one-sided
Holm-adjusted p-value below ``(1 - confidence) / 2`` over all names compared, so the gate as a whole
false-alarms at most at that level) AND larger than its tolerance (``max_drop``) AND larger than
the float-noise floor.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import math
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from .dimensions import DIMENSIONS, GROUPS
from .gate import GateError

#: raw-score differences at or below this are float noise (thread counts, devices), never a regression
FLOAT_NOISE_RAW = 1e-6
FLOAT_NOISE_POINTS = FLOAT_NOISE_RAW * 100
DEFAULT_CONFIDENCE = 0.95
#: resamples by default: bounds of the full suite stable to 0.01 points (benchmarks/bench_compare.py)
DEFAULT_RESAMPLES = 100_000
DEFAULT_SEED = 20240
_CHUNK = 500  # resamples per vectorised block (memory ~ 4 MB per block on the full suite)
GROUP_NAMES = (*GROUPS, "total")

REGRESSED, IMPROVED, WITHIN_TOLERANCE, NO_CHANGE = "regressed", "improved", "within tolerance", "no significant change"


#: keys of the YAML config (``--vbench-config``) read by this module
CONFIG_KEYS = ("max_drop", "confidence", "resamples")


class CompareError(GateError):
    """A baseline that cannot be compared with this run (a usage error), or bad comparison settings."""


# ------------------------------------------------------------------------------------ tolerances
@dataclass(frozen=True)
class Tolerances:
    """Allowed drop in percentage points: one per name, else the default (None: not set, 0 applies)."""

    default: float | None = None
    per_name: dict = field(default_factory=dict)

    def of(self, name: str) -> float:
        """The tolerance that applies to ``name``."""
        return self.per_name.get(name, self.default or 0.0)

    def over(self, base: Tolerances) -> Tolerances:
        """These tolerances (a later source, e.g. the command line) overriding ``base``."""
        return Tolerances(self.default if self.default is not None else base.default,
                          {**base.per_name, **self.per_name})

    def to_json(self) -> dict:
        """Plain JSON form."""
        return {"default": self.default or 0.0, **({"per_name": dict(sorted(self.per_name.items()))}
                                                   if self.per_name else {})}


def _canonical(name: str, where: str) -> str:
    from .dimensions import suggest

    key = str(name).strip().lower().replace(" ", "_").replace("-", "_")
    if key in GROUP_NAMES or key in DIMENSIONS:
        return key
    raise CompareError(f"{where}: unknown name {name!r} in max_drop{suggest(key, [*GROUP_NAMES, *DIMENSIONS])}; "
                       f"use a dimension name, quality, semantic, total or default")


def parse_points(value, where: str) -> float:
    """A tolerance in percentage points: a finite number >= 0."""
    try:
        v = float(str(value).strip().rstrip("%"))
    except ValueError:
        raise CompareError(f"{where}: a tolerance must be a number of percentage points, got {value!r}") from None
    if not math.isfinite(v) or v < 0:
        raise CompareError(f"{where}: a tolerance must be a finite number >= 0, got {value!r}")
    return v


def parse_max_drop(value, where: str) -> Tolerances:
    """YAML ``max_drop``: a number (the default for every name) or ``{name: points, default: points}``."""
    if isinstance(value, dict):
        default = parse_points(value["default"], where) if "default" in value else None
        per = {_canonical(k, where): parse_points(v, where) for k, v in value.items() if k != "default"}
        return Tolerances(default, per)
    return Tolerances(parse_points(value, where), {})


def parse_max_drop_options(specs: list[str], where: str = "--vbench-max-drop") -> Tolerances:
    """``[NAME=]POINTS`` options (a bare number is the default for every name)."""
    default, per = None, {}
    for spec in specs:
        if "=" in spec:
            name, points = spec.split("=", 1)
            per[_canonical(name, where)] = parse_points(points, where)
        else:
            default = parse_points(spec, where)
    return Tolerances(default, per)


def parse_confidence(value, where: str = "--vbench-confidence") -> float:
    """A confidence level in (0.5, 1) (``95`` and ``95%`` read as 0.95)."""
    try:
        v = float(str(value).strip().rstrip("%"))
    except ValueError:
        raise CompareError(f"{where}: confidence must be a number such as 0.95, got {value!r}") from None
    if 1 < v < 100:
        v /= 100
    if not (math.isfinite(v) and 0.5 < v < 1):
        raise CompareError(f"{where}: confidence must be in (0.5, 1), e.g. 0.95, got {value!r}")
    return v


def parse_resamples(value, where: str = "--vbench-resamples") -> int:
    """A number of bootstrap resamples (>= 100)."""
    try:
        v = int(str(value).strip())
    except ValueError:
        raise CompareError(f"{where}: resamples must be an integer, got {value!r}") from None
    if v < 100:
        raise CompareError(f"{where}: resamples must be at least 100, got {value!r}")
    return v


def read_config(data: dict, where: str) -> dict:
    """The comparison keys of a YAML config mapping, parsed (``max_drop``, ``confidence``, ``resamples``)."""
    out: dict[str, Any] = {}
    if data.get("max_drop") is not None:
        out["max_drop"] = parse_max_drop(data["max_drop"], where)
    if data.get("confidence") is not None:
        out["confidence"] = parse_confidence(data["confidence"], where)
    if data.get("resamples") is not None:
        out["resamples"] = parse_resamples(data["resamples"], where)
    return out


@dataclass
class Settings:
    """How a run is compared with its baseline (from the config file, then the command line)."""

    tolerances: Tolerances = field(default_factory=Tolerances)
    confidence: float = DEFAULT_CONFIDENCE
    resamples: int = DEFAULT_RESAMPLES
    seed: int = DEFAULT_SEED
    force: bool = False

    @classmethod
    def build(cls, config: dict, max_drop: list[str] | None = None, max_regression=None, confidence=None,
              resamples=None, force: bool = False) -> Settings:
        """Merge config-file values (``load_config``'s extra dict) with command-line values (which win).

        ``max_regression`` (``--vbench-max-regression`` / ``max_regression:``) is kept as the default
        tolerance: the allowed drop of every name without its own ``max_drop`` entry.
        """
        tol = config.get("max_drop") or Tolerances()
        if "max_regression" in config:
            tol = Tolerances(config["max_regression"]).over(tol) if tol.default is None else tol
        if max_regression is not None:
            tol = Tolerances(parse_points(max_regression, "--vbench-max-regression")).over(tol)
        if max_drop:
            tol = parse_max_drop_options(max_drop).over(tol)
        conf = parse_confidence(confidence) if confidence is not None else config.get("confidence", DEFAULT_CONFIDENCE)
        res = parse_resamples(resamples) if resamples is not None else config.get("resamples", DEFAULT_RESAMPLES)
        return cls(tol, conf, res, DEFAULT_SEED, bool(force))

    def to_json(self) -> dict:
        """Plain JSON form (recorded in the verdict)."""
        return {"max_drop": self.tolerances.to_json(), "confidence": self.confidence, "resamples": self.resamples,
                "seed": self.seed, "force": self.force}


# ------------------------------------------------------------------------------------ comparability
def _version() -> str | None:
    try:
        return metadata.version("pytest-vbench")
    except metadata.PackageNotFoundError:
        return None


def _module_digest(module: str) -> str | None:
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.origin or not Path(spec.origin).is_file():
        return None
    return hashlib.sha256(Path(spec.origin).read_bytes()).hexdigest()[:16]


def identity(dims: list[str], cache_dir: Path | None = None, precision: str = "fp32") -> dict:
    """What must match for two runs to be compared: implementations, checkpoint digests, precision.

    A dimension's implementation is the sha256 of its module's source (read, not imported); a
    checkpoint's digest is the one recorded when it was downloaded (else the pinned one).
    """
    from . import weights

    manifest = weights.read_manifest(cache_dir) if cache_dir is not None else {}
    ckpts = {}
    for c in weights.for_dimensions(dims, optional=True):  # RAFT too: it picks temporal_flickering's videos
        ckpts[c.path] = (manifest.get(c.path) or {}).get("sha256") or c.sha256
    out: dict[str, Any] = {"pytest_vbench": _version(), "precision": precision,
           "implementations": {d: _module_digest(DIMENSIONS[d].module_name) for d in dims},
           "checkpoints": dict(sorted(ckpts.items()))}
    if cache_dir is not None and (Path(cache_dir) / weights.FAKE_MARKER).is_file():
        out["fake_checkpoints"] = True  # a `pytest-vbench fake-cache` dry run: every report says so
    return out


def differences(a: dict, b: dict, a_name: str = "baseline", b_name: str = "this run") -> list[str]:
    """What differs between two reports in ways that make their scores incomparable."""
    out = []
    sa, sb = a.get("suite", {}), b.get("suite", {})
    if sa.get("sha256") != sb.get("sha256"):
        out.append(f"different prompt suites: {a_name} sha256 {str(sa.get('sha256'))[:12]} ({sa.get('source')}), "
                   f"{b_name} {str(sb.get('sha256'))[:12]} ({sb.get('source')})")
    na, nb = a.get("samples_per_prompt"), b.get("samples_per_prompt")
    if na != nb:
        out.append(f"samples per prompt: {a_name} {na}, {b_name} {nb}")
    ia, ib = a.get("identity") or {}, b.get("identity") or {}
    pa, pb = a.get("precision", ia.get("precision")), b.get("precision", ib.get("precision"))
    if pa is not None and pb is not None and pa != pb:
        out.append(f"precision: {a_name} {pa}, {b_name} {pb}")
    impl_a, impl_b = ia.get("implementations") or {}, ib.get("implementations") or {}
    changed = [d for d in impl_a if d in impl_b and impl_a[d] and impl_b[d] and impl_a[d] != impl_b[d]]
    if changed:
        out.append(f"dimension implementation changed: {', '.join(changed)} "
                   f"(pytest-vbench {ia.get('pytest_vbench')} vs {ib.get('pytest_vbench')})")
    if bool(ia.get("fake_checkpoints")) != bool(ib.get("fake_checkpoints")):
        fake = a_name if ia.get("fake_checkpoints") else b_name
        out.append(f"{fake} was made with FAKE checkpoints (pytest-vbench fake-cache), the other with real ones")
    ca, cb = a.get("checkpoints", ia.get("checkpoints")) or {}, b.get("checkpoints", ib.get("checkpoints")) or {}
    digest = [p for p in ca if p in cb and ca[p] and cb[p] and ca[p] != cb[p]]
    if digest:
        out.append(f"checkpoint digests differ: {', '.join(digest)}")
    return out


def check_comparable(baseline: dict, current: dict, force: bool = False) -> list[str]:
    """The differences (recorded when forced); raises :class:`CompareError` listing them otherwise."""
    diff = differences(baseline, current)
    if diff and not force:
        raise CompareError("the baseline cannot be compared with this run:\n  - " + "\n  - ".join(diff)
                           + "\nuse a baseline made with the same suite, samples, implementations, checkpoints "
                             "and precision, or pass --vbench-baseline-force to compare anyway (recorded in the report)")
    return diff


def load_report(path: str | Path, what: str = "baseline") -> dict:
    """A ``--vbench-json`` report as a dict, with its per-prompt cases."""
    p = Path(path).expanduser()
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except OSError as exc:
        raise CompareError(f"cannot read {what} {p}: {exc.strerror or exc}") from None
    except ValueError:
        raise CompareError(f"{what} {p} is not a pytest-vbench JSON report (written by --vbench-json)") from None
    if not (isinstance(data, dict) and isinstance(data.get("cases"), list) and isinstance(data.get("dimensions"), dict)
            and isinstance(data.get("suite"), dict)):
        if _is_official_results(data):
            raise CompareError(f"{what} {p} is an official eval_results file ({{dimension: [score, per-video "
                               f"records]}}, as --vbench-results-dir writes it): it has no per-prompt sums; expected "
                               f"the pytest-vbench JSON report of that run (written by --vbench-json)")
        raise CompareError(f"{what} {p} is not a pytest-vbench JSON report (written by --vbench-json): expected an "
                           f"object with 'schema', 'suite', 'dimensions' and per-prompt 'cases'")
    for case in data["cases"]:  # the pairing sums these: a bad one must stop here, not crash the session's end
        for video in case.get("videos", []) if isinstance(case, dict) else [None]:
            try:
                ok = math.isfinite(float(video["sum"])) and int(video["count"]) >= 0  # type: ignore[index]
            except (TypeError, ValueError, KeyError):
                ok = False
            if not ok:
                where = f"{case.get('dimension')}[{case.get('prompt')}]" if isinstance(case, dict) else "a case"
                raise CompareError(f"{what} {p}: {where} holds a video without a finite score and count "
                                   f"({video!r}); the report is damaged or hand-edited: write it again with "
                                   f"--vbench-json")
    return data


def _is_official_results(data: object) -> bool:
    """True for ``{dimension: [score, [record, ...]]}``, the official ``<name>_eval_results.json``."""
    return (isinstance(data, dict) and bool(data) and
            all(isinstance(v, list) and len(v) == 2 and isinstance(v[1], list) for v in data.values()))


# ------------------------------------------------------------------------------------ pairing
#: per name: (baseline, current, delta, low, high, p_drop, p_gain)
Stats = tuple[float, float, float, float, float, float, float]

@dataclass
class Paired:
    """Per-prompt sums and counts of both runs over the prompts they share (rows) and dimensions (columns)."""

    dims: list[str]
    prompts: list[str]
    base_sum: Any  # numpy arrays, shape (prompts, dims)
    base_count: Any
    cur_sum: Any
    cur_count: Any
    only_baseline: list[tuple[str, str]]
    only_current: list[tuple[str, str]]


def _per_prompt(report: dict) -> dict[tuple[str, str], tuple[float, int]]:
    out = {}
    for case in report["cases"]:
        sums = [float(v["sum"]) for v in case["videos"]]
        out[(case["dimension"], case["prompt"])] = (math.fsum(sums), sum(int(v["count"]) for v in case["videos"]))
    return out


def pair(baseline: dict, current: dict) -> Paired:
    """Match (dimension, prompt) cases of two reports; cases found in one run only are listed, not paired."""
    import numpy as np

    b, c = _per_prompt(baseline), _per_prompt(current)
    both = [k for k in c if k in b and b[k][1] > 0 and c[k][1] > 0]
    rank = {n: i for i, n in enumerate(DIMENSIONS)}
    dims = sorted({d for d, _ in both}, key=rank.__getitem__)
    prompts = sorted({p for _, p in both})
    pi = {p: i for i, p in enumerate(prompts)}
    di = {d: j for j, d in enumerate(dims)}
    arrays = [np.zeros((len(prompts), len(dims))) for _ in range(4)]
    for d, p in both:
        i, j = pi[p], di[d]
        arrays[0][i, j], arrays[1][i, j] = b[(d, p)]
        arrays[2][i, j], arrays[3][i, j] = c[(d, p)]
    def key(k):
        return (rank[k[0]], k[1])
    only_b = sorted((k for k in b if k not in c or not c[k][1]), key=key)
    only_c = sorted((k for k in c if k not in b or not b[k][1]), key=key)
    return Paired(dims, prompts, arrays[0], arrays[1], arrays[2], arrays[3], only_b, only_c)


# ------------------------------------------------------------------------------------ bootstrap
def _scores(sums, counts, dims: list[str], missing_as_zero: bool) -> dict:
    """Percent scores per name from (resamples, dims) sums and counts (numpy arrays, NaN where count 0)."""
    import numpy as np

    from .scoring import final_scores

    with np.errstate(invalid="ignore", divide="ignore"):
        raw = sums / counts
    raws = {d: raw[:, j] * DIMENSIONS[d].scale for j, d in enumerate(dims)}
    out = {d: v * 100 for d, v in raws.items()}
    for name, g in final_scores(raws, missing_as_zero=missing_as_zero).items():
        if g.value is not None and not g.partial:  # a scalar when no dimension of the group is present
            out[name] = np.broadcast_to(np.asarray(g.value * 100, dtype=np.float64), (sums.shape[0],))
    return out


def _holm(pvalues: dict[str, float]) -> dict[str, float]:
    """Holm step-down adjusted p-values (family-wise error control over the names compared)."""
    order = sorted(pvalues, key=lambda n: (pvalues[n], n))
    m, running, out = len(order), 0.0, {}
    for i, name in enumerate(order):
        running = max(running, min(1.0, (m - i) * pvalues[name]))
        out[name] = running
    return out


@dataclass
class NameComparison:
    """One name (dimension or group) compared with the baseline, in percent / percentage points."""

    name: str
    baseline: float
    current: float
    delta: float
    low: float
    high: float
    p_drop: float  # one-sided: evidence that current < baseline
    p_gain: float
    p_drop_adjusted: float = 1.0
    p_gain_adjusted: float = 1.0
    tolerance: float = 0.0
    status: str = NO_CHANGE

    def to_json(self) -> dict:
        """Plain JSON form (rounded to 1e-9 so that the report is stable)."""
        out = {}
        for k, v in self.__dict__.items():  # non-finite (no resample had the name) -> null
            out[k] = (round(v, 9) if math.isfinite(v) else None) if isinstance(v, float) else v
        return out


@dataclass
class Comparison:
    """The comparison of a run with its baseline: per-name results and what was (not) paired."""

    names: list[NameComparison]
    confidence: float
    resamples: int
    seed: int
    prompts_paired: int
    only_baseline: list[tuple[str, str]]
    only_current: list[tuple[str, str]]
    forced: list[str] = field(default_factory=list)
    baseline_source: str | None = None
    largest_drops: list[dict] = field(default_factory=list)  # per (dimension, prompt), worst first

    @property
    def alpha(self) -> float:
        """One-sided significance level of the gate (family-wise over the names compared)."""
        return (1 - self.confidence) / 2

    def by_name(self) -> dict[str, NameComparison]:
        """Results keyed by name."""
        return {n.name: n for n in self.names}

    def failures(self) -> list[str]:
        """One ``FAIL`` line per regressed name."""
        if not self.names:  # fail closed: a baseline was asked for and nothing could be compared
            return ["FAIL baseline: no dimension could be compared (no (dimension, prompt) case is in both runs)"]
        pct = f"{self.confidence * 100:g}%"
        return [f"FAIL {n.name}: regressed to {n.current:.2f}% from baseline {n.baseline:.2f}% "
                f"(delta {n.delta:+.2f} points, {pct} CI [{n.low:+.2f}, {n.high:+.2f}], "
                f"adjusted p={n.p_drop_adjusted:.4f}; allowed drop {n.tolerance:g} points)"
                for n in self.names if n.status == REGRESSED]

    def notes(self) -> list[str]:
        """Lines about what the comparison left out or forced."""
        out = []
        if self.forced:
            out.append("baseline compared although it differs (--vbench-baseline-force): " + "; ".join(self.forced))
        for label, cases in (("baseline", self.only_baseline), ("this run", self.only_current)):
            if cases:
                shown = ", ".join(f"{d}[{p}]" for d, p in cases[:3]) + (" ..." if len(cases) > 3 else "")
                out.append(f"{len(cases)} case(s) only in {label}, left out of the comparison: {shown}")
        return out

    def to_json(self) -> dict:
        """The ``comparison`` block of the JSON report."""
        return {"baseline": self.baseline_source, "confidence": self.confidence, "resamples": self.resamples,
                "seed": self.seed, "alpha": round(self.alpha, 12), "adjustment": "holm",
                "float_noise_points": FLOAT_NOISE_POINTS, "prompts_paired": self.prompts_paired,
                "only_in_baseline": [list(k) for k in self.only_baseline],
                "only_in_current": [list(k) for k in self.only_current],
                "forced": self.forced, "names": [n.to_json() for n in self.names],
                "largest_drops": self.largest_drops}


def _fixed_point(columns, n: int):
    """Columns as integer multiples of a power-of-two quantum, small enough that any weighted sum of
    ``n`` resampled rows is exact in float64: the resampled totals then do not depend on the BLAS
    summation order (threads, machines), which keeps reports byte-identical.
    Rounding moves a per-prompt sum by at most 2**-52 * n * its column's largest value; ``n`` counts
    every row that can enter one weighted sum."""
    import numpy as np

    peak = np.abs(columns).max(axis=0)
    half = columns.shape[1] // 2  # baseline columns, then the current run's: one quantum per pair, so
    peak = np.tile(np.maximum(peak[:half], peak[half:]), 2)  # that swapping the runs keeps the units
    peak[peak == 0] = 1.0
    quantum = np.exp2(np.ceil(np.log2(peak * n)) - 52)
    return np.round(columns / quantum), quantum


def _blocks(total: int):
    done = 0
    while done < total:
        size = min(_CHUNK, total - done)
        yield done, size
        done += size


def bootstrap(paired: Paired, confidence: float = DEFAULT_CONFIDENCE, resamples: int = DEFAULT_RESAMPLES,
              seed: int = DEFAULT_SEED, missing_as_zero: bool = False) -> dict[str, Stats]:
    """Per name: (baseline, current, delta, low, high, p_drop, p_gain).

    The interval is the percentile interval of the paired bootstrap over prompts. The one-sided
    p-values come from the paired sign-flip (permutation) test over prompts with as many random
    flips: under "the two runs come from the same generator" swapping a prompt's two runs (all its
    dimensions together) changes nothing, so the p-value stays valid with few prompts, where
    bootstrap intervals are too narrow (see ``docs/compare.md``).

    Deterministic for a given seed: draws come in fixed blocks from numpy's PCG64 and the
    resampled sums are exact (see :func:`_fixed_point`).
    """
    import numpy as np

    n, dims, k = len(paired.prompts), paired.dims, len(paired.dims)
    if n == 0:
        return {}
    # point estimates: every paired prompt once (exactly rounded sums, as the report's)
    point_b = _scores(np.array([[math.fsum(paired.base_sum[:, j]) for j in range(k)]]),
                      paired.base_count.sum(axis=0, keepdims=True), dims, missing_as_zero)
    point_c = _scores(np.array([[math.fsum(paired.cur_sum[:, j]) for j in range(k)]]),
                      paired.cur_count.sum(axis=0, keepdims=True), dims, missing_as_zero)
    names = [name for name in point_c if name in point_b]
    rng = np.random.Generator(np.random.PCG64(seed))
    # columns: baseline sums, counts, current sums, counts (fixed point, exact under any weights)
    stacked, quantum = _fixed_point(np.concatenate([paired.base_sum, paired.base_count, paired.cur_sum,
                                                    paired.cur_count], axis=1), 2 * n)
    swapped = np.concatenate([stacked[:, 2 * k:], stacked[:, :2 * k]], axis=1)

    def deltas_of(totals):
        sb = _scores(totals[:, :k], totals[:, k:2 * k], dims, missing_as_zero)
        sc = _scores(totals[:, 2 * k:3 * k], totals[:, 3 * k:], dims, missing_as_zero)
        return {name: sc[name] - sb[name] for name in names}

    observed = deltas_of(np.ones((1, n)) @ stacked * quantum)
    boot = {name: np.empty(resamples) for name in names}
    below = {name: 0 for name in names}  # sign flips giving a delta <= the observed one
    above = {name: 0 for name in names}
    for start, size in _blocks(resamples):
        idx = rng.integers(0, n, size=(size, n))
        weights = np.bincount((idx + (np.arange(size) * n)[:, None]).ravel(), minlength=size * n)
        weights = weights.reshape(size, n).astype(np.float64)
        for name, d in deltas_of((weights @ stacked) * quantum).items():  # integer sums: exact in any order
            boot[name][start:start + size] = d
        flip = rng.integers(0, 2, size=(size, n)).astype(np.float64)
        for name, d in deltas_of(((1 - flip) @ stacked + flip @ swapped) * quantum).items():
            below[name] += int(np.count_nonzero(d <= observed[name][0]))
            above[name] += int(np.count_nonzero(d >= observed[name][0]))
    tail = (1 - confidence) / 2
    out = {}
    for name in names:
        d = boot[name][np.isfinite(boot[name])]  # a resample may miss every prompt of a small dimension
        low, high = ((float(x) for x in np.quantile(d, [tail, 1 - tail])) if d.size
                     else (float("nan"), float("nan")))
        base, cur = float(point_b[name][0]), float(point_c[name][0])
        out[name] = (base, cur, cur - base, low, high, (1 + below[name]) / (resamples + 1),
                     (1 + above[name]) / (resamples + 1))
    return out


def compare(baseline: dict, current: dict, tolerances: Tolerances | None = None,
            confidence: float = DEFAULT_CONFIDENCE, resamples: int = DEFAULT_RESAMPLES, seed: int = DEFAULT_SEED,
            force: bool = False, missing_as_zero: bool | None = None, baseline_source: str | None = None) -> Comparison:
    """Compare a report with its baseline report: check comparability, bootstrap, apply the rule."""
    forced = check_comparable(baseline, current, force)
    if missing_as_zero is None:
        missing_as_zero = bool(current.get("missing_as_zero"))
    paired = pair(baseline, current)
    result = compare_paired(paired, tolerances, confidence, resamples, seed, missing_as_zero)
    result.forced, result.baseline_source = forced, baseline_source
    result.largest_drops = prompt_drops(paired, result)
    return result


def prompt_drops(paired: Paired, comparison: Comparison, per_dimension: int = 3, limit: int = 12) -> list[dict]:
    """The (dimension, prompt) cases that dropped most, so their videos can be opened.

    Up to ``per_dimension`` worst prompts of each dimension, dimensions that regressed first, then
    those with a significant drop within tolerance, then the others by their delta.
    """
    rank = {REGRESSED: 0, WITHIN_TOLERANCE: 1}
    by_name = comparison.by_name()
    order = sorted(paired.dims, key=lambda d: (rank.get(by_name[d].status, 2), by_name[d].delta, d)
                   if d in by_name else (3, 0.0, d))
    out = []
    for d in order:
        j = paired.dims.index(d)
        scale = DIMENSIONS[d].scale * 100
        rows = []
        for i, p in enumerate(paired.prompts):
            cb, cc = paired.base_count[i, j], paired.cur_count[i, j]
            if cb > 0 and cc > 0:
                before, after = scale * paired.base_sum[i, j] / cb, scale * paired.cur_sum[i, j] / cc
                if after < before:
                    rows.append((after - before, p, before, after))
        rows.sort()
        out += [{"dimension": d, "prompt": p, "baseline": round(float(b), 9), "current": round(float(a), 9),
                 "delta": round(float(a - b), 9)} for _, p, b, a in rows[:per_dimension]]
    return out[:limit]


def noise_floor(name: str) -> float:
    """The float-noise floor of ``name`` in percentage points: :data:`FLOAT_NOISE_RAW` on every raw score.

    A group score is a weighted mean of normalised scores, ``(raw - Min) / (Max - Min)``, so a raw
    move of the floor moves it by at most the floor over the smallest ``Max - Min`` of the group's
    dimensions (Total: of all of them). A relative slack of 1e-9 keeps a move of exactly the floor
    (1e-6 computed in binary floating point) below it.
    """
    if name in DIMENSIONS:
        return FLOAT_NOISE_POINTS * (1 + 1e-9)
    rows = [d for d in DIMENSIONS.values() if d.in_official_total and (name == "total" or d.group == name)]
    widest = max((1.0 / (d.max - d.min) for d in rows), default=1.0)
    return FLOAT_NOISE_POINTS * max(1.0, widest) * (1 + 1e-9)


def compare_paired(paired: Paired, tolerances: Tolerances | None = None, confidence: float = DEFAULT_CONFIDENCE,
                   resamples: int = DEFAULT_RESAMPLES, seed: int = DEFAULT_SEED,
                   missing_as_zero: bool = False) -> Comparison:
    """Bootstrap already paired statistics and apply the rule to every name."""
    tolerances = tolerances or Tolerances()
    stats = bootstrap(paired, confidence, resamples, seed, missing_as_zero)
    order = [*paired.dims, *(g for g in GROUP_NAMES if g in stats)]
    rows = [NameComparison(name, *stats[name], tolerance=tolerances.of(name)) for name in order if name in stats]
    adj_drop = _holm({r.name: r.p_drop for r in rows})
    adj_gain = _holm({r.name: r.p_gain for r in rows})
    alpha = (1 - confidence) / 2
    for r in rows:
        r.p_drop_adjusted, r.p_gain_adjusted = adj_drop[r.name], adj_gain[r.name]
        floor = noise_floor(r.name)
        significant_drop = r.p_drop_adjusted < alpha and -r.delta > floor
        if significant_drop and -r.delta > r.tolerance:
            r.status = REGRESSED
        elif significant_drop:
            r.status = WITHIN_TOLERANCE
        elif r.p_gain_adjusted < alpha and r.delta > floor:
            r.status = IMPROVED
    return Comparison(rows, confidence, resamples, seed, len(paired.prompts), paired.only_baseline,
                      paired.only_current)


def format_table(comparison: Comparison) -> list[str]:
    """The comparison as terminal lines: name, baseline, current, delta, interval, p, status."""
    pct = f"{comparison.confidence * 100:g}% CI"
    header = ["name", "baseline", "current", "delta", pct, "p (adj.)", "max drop", "status"]
    rows = [[n.name, f"{n.baseline:.2f}", f"{n.current:.2f}", f"{n.delta:+.2f}",
             f"[{n.low:+.2f}, {n.high:+.2f}]", f"{n.p_drop_adjusted:.4f}", f"{n.tolerance:g}", n.status]
            for n in comparison.names]
    widths = [max(len(header[i]), *(len(r[i]) for r in rows)) if rows else len(header[i]) for i in range(len(header))]
    fmt = "  ".join(f"{{:{'<' if i in (0, 7) else '>'}{w}}}" for i, w in enumerate(widths))
    lines = [(f"compared with baseline over {comparison.prompts_paired} paired prompts "
              f"({comparison.resamples} bootstrap resamples, seed {comparison.seed})"),
             fmt.format(*header), fmt.format(*("-" * w for w in widths))]
    lines = [line.rstrip() for line in lines + [fmt.format(*r) for r in rows]]
    return lines + comparison.notes()


def verdict(report: dict, thresholds: list, baseline: dict | None = None, settings: Settings | None = None,
            baseline_source: str | None = None) -> tuple[dict, Comparison | None]:
    """The verdict of a report dict: thresholds and, with a baseline report, the comparison.

    One function for ``pytest``, ``pytest-vbench gate`` and ``pytest-vbench merge``, so the three
    give the same verdict and lines for the same numbers.
    """
    from . import gate
    from .scoring import GroupScore, final_scores

    settings = settings or Settings()
    missing_as_zero = bool(report.get("missing_as_zero"))
    raws = {n: d["raw"] for n, d in report["dimensions"].items() if d.get("raw") is not None}
    scores = report.get("scores") or {}
    if all(isinstance(scores.get(g), dict) for g in GROUP_NAMES):  # computed once, by report.Results.summary
        groups = {g: GroupScore(g, scores[g].get("value"), list(scores[g].get("missing") or [])) for g in GROUP_NAMES}
    else:
        groups = final_scores(raws, missing_as_zero=missing_as_zero)
    comparison = None
    if baseline is not None:
        comparison = compare(baseline, report, settings.tolerances, settings.confidence, settings.resamples,
                             settings.seed, settings.force, missing_as_zero, baseline_source)
    failures = gate.evaluate(thresholds, raws, groups, comparison, missing_as_zero=missing_as_zero)
    out = {"passed": not failures, "failures": failures,
           "thresholds": [{"name": t.name, "percent": t.percent, "source": t.source} for t in thresholds],
           "baseline": baseline is not None}
    if comparison is not None:
        out["comparison_settings"] = settings.to_json()
    return out, comparison


def markdown_extra(comparison: Comparison | None, html: str | None = None) -> str:
    """What the Markdown summary adds: the comparison table, and a link to the HTML report if written."""
    out = "" if comparison is None else "\n" + markdown(comparison)
    if html:
        out += f"\nHTML report with plots: [{Path(html).name}]({html})\n"
    return out


def markdown(comparison: Comparison) -> str:
    """The comparison as a Markdown block."""
    pct = f"{comparison.confidence * 100:g}% CI"
    out = ["### Compared with the baseline", "",
           (f"{comparison.prompts_paired} paired prompts, {comparison.resamples} bootstrap resamples; "
            f"a name regresses when its drop is significant (Holm-adjusted one-sided p < {comparison.alpha:g}) "
            f"and larger than its allowed drop."), "",
           f"| name | baseline | current | delta | {pct} | p (adj.) | max drop | status |",
           "|---|---:|---:|---:|---:|---:|---:|---|"]
    for n in comparison.names:
        status = f"**{n.status}**" if n.status == REGRESSED else n.status
        out.append(f"| {n.name} | {n.baseline:.2f} | {n.current:.2f} | {n.delta:+.2f} | "
                   f"[{n.low:+.2f}, {n.high:+.2f}] | {n.p_drop_adjusted:.4f} | {n.tolerance:g} | {status} |")
    out += [""] + [f"- {line}" for line in comparison.notes()]
    return "\n".join(out).rstrip() + "\n"


def check_shards(shards: list[dict], names: list[str] | None = None) -> dict | None:
    """Refuse shards that overlap (a case in two shards) or differ (suite, samples, implementations...).

    Returns the shards' common ``identity`` (None when they carry none).
    """
    names = names or [f"shard {i + 1}" for i in range(len(shards))]
    problems = []
    for i in range(1, len(shards)):
        problems += differences(shards[0], shards[i], names[0], names[i])
    if any(bool(s.get("missing_as_zero")) != bool(shards[0].get("missing_as_zero")) for s in shards):
        problems.append("missing-as-zero differs between shards")
    seen: dict[tuple[str, str], str] = {}
    overlap = []
    for name, shard in zip(names, shards):
        for case in shard["cases"]:
            key = (case["dimension"], case["prompt"])
            if key in seen:
                overlap.append(f"{key[0]}[{key[1]}] in {seen[key]} and {name}")
            else:
                seen[key] = name
    if overlap:
        shown = "; ".join(overlap[:5]) + (f"; ... ({len(overlap)} in all)" if len(overlap) > 5 else "")
        problems.append(f"shards overlap: {shown}")
    if problems:
        raise CompareError("cannot merge these reports:\n  - " + "\n  - ".join(problems)
                           + "\nmerge the reports of disjoint shards of one run (same suite, samples, "
                             "implementations and checkpoints)")
    ids: list[dict[str, Any]] = [s["identity"] for s in shards if s.get("identity") is not None]
    if not ids:
        return None
    merged: dict[str, Any] = {**ids[0], "implementations": {}, "checkpoints": {}}  # shards may select different dimensions
    for ident in ids:
        merged["implementations"].update(ident.get("implementations") or {})
        merged["checkpoints"].update(ident.get("checkpoints") or {})
    rank = {n: k for k, n in enumerate(DIMENSIONS)}
    merged["implementations"] = dict(sorted(merged["implementations"].items(), key=lambda kv: rank.get(kv[0], 99)))
    merged["checkpoints"] = dict(sorted(merged["checkpoints"].items()))
    return merged
