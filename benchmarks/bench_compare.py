"""Does the baseline comparison know VBench's noise? Simulation of paired runs, and bootstrap cost.

Per-prompt results are drawn shaped like VBench's: 5 videos per prompt, the real prompt sets per
dimension of the bundled suite (or a 10 % subset of its prompts), continuous dimensions with a
prompt effect plus per-video noise, binary ones (dynamic_degree, human_action, color: per video;
object_class, multiple_objects, scene: per frame). A "generator" fixes the prompt effects; a
"run" draws the videos. Two runs of one generator are the null case; a regression lowers one
dimension (or every dimension, for Total) by a given number of points.

    python benchmarks/bench_compare.py                 # everything below (~15 min on one core)
    python benchmarks/bench_compare.py --part cost     # resamples vs stability of the bounds, seconds
    python benchmarks/bench_compare.py --part null --reps 400
    python benchmarks/bench_compare.py --part power --reps 200

Prints Markdown tables (the ones in docs/compare.md).
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pytest_vbench import compare
from pytest_vbench.dimensions import DIMENSIONS, FRAME, PAIR
from pytest_vbench.suite import load_suite

SAMPLES = 5
#: kind, mean, prompt spread, video spread (continuous: scores; binary: logit spread of the prompt
#: effect, and of the video effect for per-frame dimensions)
SHAPES = {
    "subject_consistency": ("cont", 0.95, 0.03, 0.010),
    "background_consistency": ("cont", 0.96, 0.02, 0.008),
    "temporal_flickering": ("cont", 0.97, 0.015, 0.005),
    "motion_smoothness": ("cont", 0.98, 0.010, 0.004),
    "dynamic_degree": ("binary", 0.55, 1.5, 0.0),
    "aesthetic_quality": ("cont", 0.60, 0.07, 0.04),
    "imaging_quality": ("cont", 0.65, 0.07, 0.04),
    "object_class": ("binary", 0.85, 1.5, 1.0),
    "multiple_objects": ("binary", 0.50, 1.5, 1.0),
    "human_action": ("binary", 0.90, 1.5, 0.0),
    "color": ("binary", 0.80, 1.5, 0.0),
    "spatial_relationship": ("cont", 0.60, 0.25, 0.15),
    "scene": ("binary", 0.45, 1.5, 1.0),
    "temporal_style": ("cont", 0.24, 0.015, 0.008),
    "appearance_style": ("cont", 0.22, 0.015, 0.008),
    "overall_consistency": ("cont", 0.27, 0.020, 0.010),
}
UNIT_COUNT = {PAIR: 15, FRAME: 16}  # 16-frame videos: 15 frame pairs, 16 frames; else one per video


def suite_layout(fraction: float = 1.0, seed: int = 0) -> tuple[list[str], list[str], np.ndarray]:
    """(prompts, dims, membership[prompt, dim]) of the bundled suite, or of a random share of its prompts."""
    entries = load_suite().entries
    prompts = sorted({e["prompt_en"] for e in entries})
    if fraction < 1:
        rng = np.random.default_rng(seed)
        prompts = sorted(rng.choice(prompts, size=max(1, round(fraction * len(prompts))), replace=False).tolist())
    index = {p: i for i, p in enumerate(prompts)}
    dims = [d for d in DIMENSIONS if d in SHAPES]  # VBench's 16 (extra dimensions are not simulated)
    member = np.zeros((len(prompts), len(dims)), dtype=bool)
    for e in entries:
        if e["prompt_en"] in index:
            for d in e["dimension"]:
                member[index[e["prompt_en"]], dims.index(d)] = True
    return prompts, dims, member


def generator(dims: list[str], n_prompts: int, rng: np.random.Generator) -> np.ndarray:
    """Prompt effects of one generator: (prompts, dims) mean score (continuous) or logit (binary)."""
    eff = np.empty((n_prompts, len(dims)))
    for j, d in enumerate(dims):
        kind, mean, spread, _ = SHAPES[d]
        if kind == "cont":
            eff[:, j] = rng.normal(mean, spread, n_prompts)
        else:
            eff[:, j] = rng.normal(math.log(mean / (1 - mean)), spread, n_prompts)
    return eff


def run(dims: list[str], eff: np.ndarray, member: np.ndarray, rng: np.random.Generator,
        drop: dict[str, float] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Per-prompt (sum, count) of one run: 5 videos per prompt; ``drop`` lowers dimensions by points."""
    drop = drop or {}
    n = eff.shape[0]
    sums, counts = np.zeros_like(eff), np.zeros_like(eff)
    for j, d in enumerate(dims):
        kind, _, _, vspread = SHAPES[d]
        unit = UNIT_COUNT.get(DIMENSIONS[d].unit, 1)
        shift = drop.get(d, 0.0) / 100
        if kind == "cont":
            scores = np.clip(eff[:, j:j + 1] + rng.normal(0, vspread, (n, SAMPLES)) - shift, 0, 1)
            total = scores.sum(axis=1) * unit
        else:
            logit = eff[:, j:j + 1] + rng.normal(0, vspread, (n, SAMPLES)) if vspread else \
                np.repeat(eff[:, j:j + 1], SAMPLES, axis=1)
            prob = np.clip(1 / (1 + np.exp(-logit)) - shift, 0, 1)
            total = rng.binomial(unit, prob).sum(axis=1).astype(float)
        scale = 1 / DIMENSIONS[d].scale  # imaging_quality sums are 0-100 per video
        sums[:, j] = np.where(member[:, j], total * scale, 0)
        counts[:, j] = np.where(member[:, j], unit * SAMPLES, 0)
    return sums, counts


def paired(prompts, dims, member, base, cur) -> compare.Paired:
    """Keep the dimensions present and wrap two runs as :class:`compare.Paired`."""
    keep = [j for j in range(len(dims)) if member[:, j].any()]
    rows = member[:, keep].any(axis=1)
    return compare.Paired([dims[j] for j in keep], [p for p, r in zip(prompts, rows) if r],
                          base[0][rows][:, keep], base[1][rows][:, keep], cur[0][rows][:, keep],
                          cur[1][rows][:, keep], [], [])


def total_drop(dims: list[str], points: float) -> dict[str, float]:
    """Per-dimension raw drops (points) that lower every normalised score, hence Total, by ``points``."""
    return {d: points * (DIMENSIONS[d].max - DIMENSIONS[d].min) for d in dims}


def simulate(layout, drop: dict | None, reps: int, resamples: int, seed: int, tolerance: float = 0.0):
    """Comparisons of ``reps`` generator pairs; returns the list of Comparison objects."""
    prompts, dims, member = layout
    rng = np.random.default_rng(seed)
    out = []
    for r in range(reps):
        eff = generator(dims, len(prompts), rng)
        base = run(dims, eff, member, rng)
        cur = run(dims, eff, member, rng, drop)
        out.append(compare.compare_paired(paired(prompts, dims, member, base, cur),
                                          compare.Tolerances(tolerance), resamples=resamples, seed=r))
    return out


def part_cost(args) -> None:
    """How many resamples make the bounds stable to 0.01 points, and what they cost."""
    layout = suite_layout()
    prompts, dims, member = layout
    rng = np.random.default_rng(1)
    eff = generator(dims, len(prompts), rng)
    p = paired(prompts, dims, member, run(dims, eff, member, rng), run(dims, eff, member, rng))
    print(f"full suite: {len(p.prompts)} prompts, {len(p.dims)} dimensions; spread of the bounds over "
          f"{args.seeds} bootstrap seeds (points)\n")
    print("| resamples | seconds per comparison | Quality/Semantic/Total: max SD of a bound | dimensions: max SD "
          "of a bound | dimensions: max SD / interval half-width |")
    print("|---:|---:|---:|---:|---:|")
    for b in args.resamples_list:
        bounds, secs = [], []
        for s in range(args.seeds):
            t0 = time.perf_counter()
            st = compare.bootstrap(p, resamples=b, seed=s)
            secs.append(time.perf_counter() - t0)
            bounds.append([[st[n][3], st[n][4]] for n in st])
        names = list(st)
        bounds = np.array(bounds)  # (seeds, names, 2)
        sd = bounds.std(axis=0, ddof=1).max(axis=1)
        half = (bounds[..., 1] - bounds[..., 0]).mean(axis=0) / 2
        groups = [i for i, n in enumerate(names) if n in compare.GROUP_NAMES]
        dims_i = [i for i, n in enumerate(names) if n not in compare.GROUP_NAMES]
        rel = sd[dims_i] / half[dims_i]
        print(f"| {b} | {np.median(secs):.2f} | {sd[groups].max():.4f} | {sd[dims_i].max():.3f} "
              f"({names[dims_i[int(np.argmax(sd[dims_i]))]]}) | {100 * rel.max():.1f} % |")
    print("\nhalf-widths of the intervals (points): " + ", ".join(f"{n} {h:.2f}" for n, h in zip(names, half)))


def part_null(args) -> None:
    """False alarms: two runs of the same generator."""
    print("| suite | prompts | reps | per name: sign-flip p < 2.5 % (nominal 2.5 %) | per name: bootstrap interval "
          "below 0 (nominal 2.5 %) | gate false-alarm rate (Holm, nominal <= 2.5 %) "
          "| run-to-run SD of delta, points: total / dynamic_degree / aesthetic_quality |")
    print("|---|---:|---:|---:|---:|---:|---|")
    for label, frac in (("full", 1.0), ("10 % subset", 0.1)):
        layout = suite_layout(frac)
        res = simulate(layout, None, args.reps, args.bootstrap, seed=100)
        per = [n.p_drop < c.alpha for c in res for n in c.names]
        boot = [n.high < 0 for c in res for n in c.names]
        gate = [any(n.status == compare.REGRESSED for n in c.names) for c in res]
        sd = {k: np.std([c.by_name()[k].delta for c in res if k in c.by_name()])
              for k in ("total", "dynamic_degree", "aesthetic_quality")}
        r1, r2 = np.mean(per), np.mean(gate)
        e1 = 2 * math.sqrt(0.025 * 0.975 / args.reps)  # per run: the names of one run are correlated
        e2 = 2 * math.sqrt(0.025 * 0.975 / len(gate))
        print(f"| {label} | {len(layout[0])} | {args.reps} | {100 * r1:.2f} % (MC ±{100 * e1:.2f}) | "
              f"{100 * np.mean(boot):.2f} % | "
              f"{100 * r2:.1f} % (MC ±{100 * e2:.1f}) | {sd['total']:.2f} / {sd['dynamic_degree']:.2f} / "
              f"{sd['aesthetic_quality']:.2f} |")


def part_power(args) -> None:
    """Power: the share of runs in which a real drop is flagged as regressed (tolerance 0)."""
    targets = ["total", "dynamic_degree", "aesthetic_quality", "subject_consistency", "object_class"]
    print("| suite | drop (points) | " + " | ".join(targets) + " |")
    print("|---|---:|" + "---:|" * len(targets))
    for label, frac in (("full", 1.0), ("10 % subset", 0.1)):
        layout = suite_layout(frac)
        for points in (0.5, 1.0, 2.0):
            cells = []
            for t in targets:
                drop = total_drop(layout[1], points) if t == "total" else {t: points}
                res = simulate(layout, drop, args.reps, args.bootstrap, seed=200)
                hit = [c.by_name()[t].status == compare.REGRESSED for c in res if t in c.by_name()]
                cells.append(f"{100 * np.mean(hit):.0f} %")
            print(f"| {label} | {points:g} | " + " | ".join(cells) + " |")


def main() -> None:
    """Command line: which part, how many repetitions."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--part", choices=("cost", "null", "power", "all"), default="all")
    ap.add_argument("--reps", type=int, default=200, help="simulated pairs of runs per cell")
    ap.add_argument("--bootstrap", type=int, default=2000, help="bootstrap resamples per comparison in the simulation")
    ap.add_argument("--seeds", type=int, default=5, help="bootstrap seeds per row of the cost table")
    ap.add_argument("--resamples-list", type=lambda s: [int(x) for x in s.split(",")],
                    default=[1000, 2000, 5000, 10000, 20000])
    args = ap.parse_args()
    if args.part in ("cost", "all"):
        part_cost(args)
        print()
    if args.part in ("null", "all"):
        part_null(args)
        print()
    if args.part in ("power", "all"):
        part_power(args)


if __name__ == "__main__":
    main()
