"""The suite benchmark: cold run, warm run from the result store, run after 10 % of videos changed; with
``--official PYTHON`` also the official vbench 0.1.5 on the same videos and checkpoints.

    python benchmarks/bench_suite.py                       # all implemented dimensions, tiny seeded checkpoints
    python benchmarks/bench_suite.py --dims temporal_flickering,imaging_quality --full-size
    python benchmarks/bench_suite.py --full-size --official /work/venvs/vbench-official/bin/python \
        --dino-hub /work/venvs/dino-hub --prompts 1 --phases cold,warm

A mixed mini suite: for every selected dimension the first two prompts of the bundled suite that
name it (their entries may name other dimensions too), two videos per prompt at 320x512 with 16
frames, one of them replaced by a 1280x720 clip. Seeded random checkpoints in the official formats
are written to a temporary cache (``--full-size``: official sizes where a writer exists, else tiny).

Each dimension runs in its own ``pytest --vbench-dims <dim>`` process, three times: cold (empty
result store), warm (same store), and after rewriting 10 % of the videos (rounded up). For each run
it prints CPU seconds (user + sys of the process, from ``os.wait4`` in a small launcher), wall seconds, peak RSS, the
scoring seconds the report records (``runtime.timing``: the items only, no interpreter start, torch
import or collection) and the store hits. Threads are fixed with ``--threads`` (OMP/MKL).

``--official PYTHON``: after our cold run of a dimension, the official vbench 0.1.5 scores the same
videos with the same checkpoint files and threads in its own process (``tools/run_official.py`` in
the side virtualenv of tools/README.md; PYTHON is that virtualenv's python). Its CPU seconds, wall
seconds and peak RSS are measured the same way (``os.wait4`` of the whole process, interpreter start
and imports included) and the table adds the ratios official/ours (CPU) and ours/official (peak RSS)
plus the whole-suite CPU ratio over the dimensions both sides ran. The four GRiT dimensions
(object_class, multiple_objects, color, spatial_relationship) need detectron2 on the official side:
they run there when detectron2 imports in PYTHON (built from source into the side virtualenv, see
docs/cost.md) and are listed as not run, with the reason, when it does not.
``--prompts N`` takes the first N prompts of each dimension (default 2), ``--phases`` picks the
phases of our side.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))


def write_video(path: Path, seed: int, n: int = 16, h: int = 320, w: int = 512) -> None:
    """A smooth random background drifting sideways with a little noise (BGR, mp4v)."""
    rng = np.random.default_rng(seed)
    base = cv2.resize(rng.integers(0, 256, (h // 16, w // 16, 3), dtype=np.uint8), (w, h),
                      interpolation=cv2.INTER_CUBIC)
    vw = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 8, (w, h))
    for t in range(n):
        frame = np.roll(base, 3 * t, axis=1).astype(np.int16) + rng.integers(-4, 5, base.shape)
        vw.write(np.clip(frame, 0, 255).astype(np.uint8))
    vw.release()


def write_checkpoints(cache: Path, families: set[str], full: bool) -> None:
    from pytest_vbench import fake_checkpoints

    for family in sorted(families):
        if family in fake_checkpoints.WRITERS:
            fake_checkpoints.write(family, cache, seed=0, tiny=not full)
        elif family in ("viclip", "umt"):
            import checkpoints_video_text as C

            if family == "viclip":
                C.write_viclip(cache, C.VICLIP_FULL if full else C.VICLIP_TINY, seed=0)
            else:
                C.write_umt(cache, C.UMT_FULL if full else C.UMT_TINY, seed=0)


def build(work: Path, dims: list[str], full: bool, hd: bool = True,
          prompts: int = 2) -> tuple[Path, Path, Path, list[Path]]:
    from pytest_vbench.dimensions import DIMENSIONS
    from pytest_vbench.suite import load_suite

    entries, seen = [], set()
    for dim in dims:
        picked = [e for e in load_suite().entries if dim in e["dimension"]][:prompts]
        for e in picked:
            if e["prompt_en"] not in seen:
                seen.add(e["prompt_en"])
                entries.append(e)
    suite = work / "suite.json"
    suite.write_text(json.dumps(entries), encoding="utf-8")
    videos = work / "videos"
    videos.mkdir()
    paths = []
    for i, e in enumerate(entries):
        for s in range(2):
            p = videos / f"{e['prompt_en']}-{s}.mp4"
            big = hd and i == 0 and s == 0
            write_video(p, seed=100 * i + s, h=720 if big else 320, w=1280 if big else 512)
            paths.append(p)
    cache = work / "cache"
    families = {f for d in dims for f in (*DIMENSIONS[d].families, *DIMENSIONS[d].optional_families)}
    write_checkpoints(cache, families, full)
    return suite, videos, cache, paths


#: a small launcher between this (large) process and the measured one. Linux carries a process's peak RSS
#: across fork and exec, so a child forked from here would report at least this process's RSS; the
#: launcher is a bare interpreter (~10 MB), so its child's ru_maxrss is the child's own.
LAUNCHER = """
import json, os, subprocess, sys, time
t0 = time.perf_counter()
p = subprocess.Popen(sys.argv[2:])
_, status, ru = os.wait4(p.pid, 0)
with open(sys.argv[1], "w") as f:
    json.dump({"cpu": ru.ru_utime + ru.ru_stime, "wall": time.perf_counter() - t0, "rss_mb": ru.ru_maxrss / 1024,
               "rc": os.waitstatus_to_exitcode(status)}, f)
"""


def measured(cmd: list[str], env: dict, cwd: Path) -> tuple[dict, str]:
    """Run ``cmd``; its CPU seconds (user + sys), wall seconds, peak RSS and exit code, and its output."""
    with tempfile.NamedTemporaryFile(suffix=".json", dir=cwd, delete=False) as f:
        usage = Path(f.name)
    proc = subprocess.run([sys.executable, "-c", LAUNCHER, str(usage), *cmd], env=env, cwd=cwd,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    m = json.loads(usage.read_text()) if usage.stat().st_size else {"rc": proc.returncode}
    usage.unlink()
    return m, proc.stdout.decode(errors="replace")


def run(dim: str, suite: Path, videos: Path, cache: Path, store: Path, out: Path, threads: int) -> dict:
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads),
               VBENCH_ACCEPT_UNOFFICIAL_CHECKPOINTS="1", PYTHONPATH=str(ROOT))
    cmd = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "no:randomly", "-q", "--no-header",
           "--vbench-videos", str(videos), "--vbench-full-info", str(suite), "--vbench-samples", "2",
           "--vbench-dims", dim, "--vbench-cache-dir", str(cache), "--vbench-result-cache", str(store),
           "--vbench-json", str(out)]
    m, output = measured(cmd, env, out.parent)
    if m["rc"] != 0:
        print(output[-3000:], file=sys.stderr)
        raise SystemExit(f"{dim}: pytest exited {m['rc']}")
    report = json.loads(out.read_text(encoding="utf-8"))
    if "," in dim:  # --together: one process for every dimension
        row = {"cpu": m["cpu"], "wall": m["wall"], "rss_mb": m["rss_mb"],
               "scoring": sum(t["seconds"] for t in report["runtime"]["timing"].values()),
               "hits": report["runtime"]["store_hits"],
               "videos": sum(d["videos"]["scored"] for d in report["dimensions"].values()),
               "raw": {n: d["raw"] for n, d in report["dimensions"].items()}}
        print(f"  {out.stem}: CPU {row['cpu']:.1f} s, wall {row['wall']:.1f} s, peak RSS {row['rss_mb']:.0f} MB, "
              f"scoring {row['scoring']:.2f} s, store hits {row['hits']} of {row['videos']}", flush=True)
        return row
    row = {"cpu": m["cpu"], "wall": m["wall"], "rss_mb": m["rss_mb"],
           "scoring": report["runtime"]["timing"][dim]["seconds"], "hits": report["runtime"]["store_hits"],
           "videos": report["dimensions"][dim]["videos"]["scored"], "raw": report["dimensions"][dim]["raw"]}
    print(f"  {out.stem}: CPU {row['cpu']:.1f} s, wall {row['wall']:.1f} s, peak RSS {row['rss_mb']:.0f} MB, "
          f"scoring {row['scoring']:.2f} s, store hits {row['hits']}", flush=True)
    return row


#: the official code of these dimensions (GRiT) builds its model with detectron2, which is not on the package
#: index: it runs only where detectron2 was built from source into the side virtualenv (docs/cost.md)
GRIT_DIMENSIONS = ("object_class", "multiple_objects", "color", "spatial_relationship")

#: dimensions whose official code cannot run in the side virtualenv, and why (filled by ``official_cannot``)
OFFICIAL_CANNOT: dict[str, str] = {}


def official_cannot(python: str) -> dict[str, str]:
    """The dimensions the official side cannot run with ``python`` and why: the GRiT ones when detectron2 does
    not import there (checked once, in a process of that python, as ``run_official.py`` would import it)."""
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    probe = subprocess.run([python, "-c", "import detectron2, detectron2.modeling, detectron2.engine"], env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    if probe.returncode == 0:
        return {}
    last = (probe.stdout.decode(errors="replace").strip().splitlines() or ["no output"])[-1]
    why = (f"needs detectron2, which does not import in {python} ({last}); build it from source into that "
           "virtualenv (docs/cost.md); GRiT kit figures: docs/dimensions/grit.md")
    return {d: why for d in GRIT_DIMENSIONS}


def run_official(dim: str, suite: Path, videos: Path, cache: Path, work: Path, threads: int, python: str,
                 dino_hub: str | None) -> dict:
    """The official vbench 0.1.5 ``compute_<dim>`` on the same videos and checkpoints, in its own process."""
    entries = []
    for e in json.loads(suite.read_text(encoding="utf-8")):
        if dim in e["dimension"]:
            vids = sorted(videos.glob(f"{glob_escape(e['prompt_en'])}-*.mp4"))
            entries.append(dict(e, video_list=[str(v) for v in vids]))
    info = work / f"official-{dim}-info.json"
    info.write_text(json.dumps(entries), encoding="utf-8")
    out = work / f"official-{dim}.json"
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads), VBENCH_CACHE_DIR=str(cache))
    env.pop("PYTHONPATH", None)
    cmd = [python, str(ROOT / "tools" / "run_official.py"), "--dimension", dim, "--videos", str(videos),
           "--full-info", str(info), "--cache-dir", str(cache), "--out", str(out), "--threads", str(threads)]
    if dim == "subject_consistency" and dino_hub:
        cmd += ["--dino-hub", dino_hub]
    m, output = measured(cmd, env, work)
    if m["rc"] != 0:
        print(output[-3000:], file=sys.stderr)
        last = (output.strip().splitlines() or [""])[-1][:120]
        print(f"  official {dim}: FAILED, exit {m['rc']}: {last}", flush=True)
        return {"error": f"exit {m['rc']}: {last}"}
    res = json.loads(out.read_text(encoding="utf-8"))
    row = {"cpu": m["cpu"], "wall": m["wall"], "rss_mb": m["rss_mb"],
           "scoring": res["seconds"], "score": res["score"], "videos": len(res["records"])}
    print(f"  official {dim}: CPU {row['cpu']:.1f} s, wall {row['wall']:.1f} s, peak RSS {row['rss_mb']:.0f} MB, "
          f"compute {row['scoring']:.2f} s, score {row['score']:.6g}", flush=True)
    return row


def glob_escape(name: str) -> str:
    return "".join(f"[{c}]" if c in "*?[" else c for c in name)


def change_videos(paths: list[Path]) -> list[Path]:
    """Rewrite 10 % of the videos (rounded up, spread over the suite) with new content."""
    n = math.ceil(0.1 * len(paths))
    changed = sorted(paths)[:: len(paths) // n][:n]
    for i, p in enumerate(changed):
        big = cv2.VideoCapture(str(p)).get(cv2.CAP_PROP_FRAME_WIDTH) > 1000
        write_video(p, seed=9000 + i, h=720 if big else 320, w=1280 if big else 512)
    print(f"changed {len(changed)} of {len(paths)} videos before the third run", flush=True)
    return changed


def together(dims: list[str], suite: Path, videos: Path, cache: Path, store: Path, work: Path,
             paths: list[Path], threads: int) -> int:
    """Whole suite in one process per phase: cold, warm, after 10 % of the videos changed."""
    spec = ",".join(dims)
    cold = run(spec, suite, videos, cache, store, work / "all-cold.json", threads)
    warm = run(spec, suite, videos, cache, store, work / "all-warm.json", threads)
    assert warm["raw"] == cold["raw"], "the warm run changed a score"
    change_videos(paths)
    changed = run(spec, suite, videos, cache, store, work / "all-changed.json", threads)
    for name, r in (("warm", warm), ("changed", changed)):
        print(f"cold / {name}: CPU {cold['cpu'] / r['cpu']:.1f}x, wall {cold['wall'] / r['wall']:.1f}x, "
              f"scoring {cold['scoring'] / max(r['scoring'], 1e-9):.1f}x")
    return 0


def main(argv: list[str] | None = None) -> int:
    from pytest_vbench import dimensions

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dims", default=",".join(d.name for d in dimensions.official() if d.implemented))
    ap.add_argument("--full-size", action="store_true", help="official-size seeded checkpoints (slow on CPU)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--together", action="store_true",
                    help="one pytest process per phase for all dimensions (whole-suite totals only)")
    ap.add_argument("--no-hd", action="store_true", help="leave out the 1280x720 clip (every video 320x512)")
    ap.add_argument("--prompts", type=int, default=2, help="prompts per dimension (2 videos each)")
    ap.add_argument("--phases", default="cold,warm,changed",
                    help="our phases, in order: cold, warm (same store), changed (after 10%% of videos changed)")
    ap.add_argument("--official", metavar="PYTHON",
                    help="python of the official vbench 0.1.5 virtualenv: score every dimension there too")
    ap.add_argument("--dino-hub", help="copy of facebookresearch/dino for the official subject_consistency")
    args = ap.parse_args(argv)
    phases = [p for p in args.phases.split(",") if p]
    if phases[:1] != ["cold"] or not set(phases) <= {"cold", "warm", "changed"}:
        ap.error("--phases starts with cold and names only cold, warm, changed")
    dims = [d.name for d in dimensions.parse_list(args.dims)]
    if args.official:
        OFFICIAL_CANNOT.clear()
        OFFICIAL_CANNOT.update(official_cannot(args.official))
    with tempfile.TemporaryDirectory(prefix="bench-suite-") as tmp:
        work = Path(tmp)
        t0 = time.perf_counter()
        suite, videos, cache, paths = build(work, dims, args.full_size, hd=not args.no_hd, prompts=args.prompts)
        print(f"mini suite: {len(json.loads(suite.read_text()))} prompts x 2 videos (320x512"
              f"{'' if args.no_hd else ', one 1280x720'}, "
              f"16 frames), {len(dims)} dimensions, {'full-size' if args.full_size else 'tiny'} seeded "
              f"checkpoints, {args.threads} threads; setup {time.perf_counter() - t0:.1f} s", flush=True)
        store = work / "store"
        if args.together:
            return together(dims, suite, videos, cache, store, work, paths, args.threads)
        rows: dict[str, dict[str, dict]] = {d: {} for d in dims}
        for dim in dims:
            rows[dim]["cold"] = run(dim, suite, videos, cache, store, work / f"{dim}-cold.json", args.threads)
            if args.official:
                if dim in OFFICIAL_CANNOT:
                    print(f"  official {dim}: not run: {OFFICIAL_CANNOT[dim]}", flush=True)
                else:
                    rows[dim]["official"] = run_official(dim, suite, videos, cache, work, args.threads,
                                                         args.official, args.dino_hub)
        if "warm" in phases:
            for dim in dims:
                rows[dim]["warm"] = run(dim, suite, videos, cache, store, work / f"{dim}-warm.json", args.threads)
                assert rows[dim]["warm"]["raw"] == rows[dim]["cold"]["raw"], f"{dim}: warm run changed the score"
        if "changed" in phases:
            change_videos(paths)
            for dim in dims:
                rows[dim]["changed"] = run(dim, suite, videos, cache, store, work / f"{dim}-changed.json",
                                           args.threads)
    if args.official:
        official_table(rows, dims)
    head = f"{'dimension':<22}{'videos':>7} | {'cold cpu':>9}{'wall':>7}{'rss MB':>8}{'score s':>9}"
    if "warm" in phases:
        head += f" | {'warm cpu':>9}{'wall':>7}{'score s':>9}{'hits':>5}"
    if "changed" in phases:
        head += f" | {'10% cpu':>8}{'wall':>7}{'score s':>9}{'hits':>5}"
    print(head)
    print("-" * len(head))
    total = {p: {"cpu": 0.0, "wall": 0.0, "scoring": 0.0} for p in phases}
    for dim in dims:
        for p in total:
            for k in total[p]:
                total[p][k] += rows[dim][p][k]
        c = rows[dim]["cold"]
        line = f"{dim:<22}{c['videos']:>7} | {c['cpu']:>9.1f}{c['wall']:>7.1f}{c['rss_mb']:>8.0f}{c['scoring']:>9.2f}"
        if "warm" in phases:
            w = rows[dim]["warm"]
            line += f" | {w['cpu']:>9.1f}{w['wall']:>7.1f}{w['scoring']:>9.3f}{w['hits']:>5}"
        if "changed" in phases:
            ch = rows[dim]["changed"]
            line += f" | {ch['cpu']:>8.1f}{ch['wall']:>7.1f}{ch['scoring']:>9.2f}{ch['hits']:>5}"
        print(line)
    print("-" * len(head))
    for p in total:
        t = total[p]
        print(f"{p:<8} total: CPU {t['cpu']:.1f} s, wall {t['wall']:.1f} s, scoring (items only) {t['scoring']:.2f} s")
    for p in phases[1:]:
        print(f"cold / {p}: CPU {total['cold']['cpu'] / total[p]['cpu']:.1f}x, "
              f"scoring {total['cold']['scoring'] / max(total[p]['scoring'], 1e-9):.1f}x")
    return 0


def score_text(raw: float | None) -> str:
    return "no score" if raw is None else f"{raw:.6g}"


def official_table(rows: dict[str, dict[str, dict]], dims: list[str]) -> None:
    """Ours (cold) against the official code, per dimension and for the suite."""
    head = (f"{'dimension':<22}{'videos':>7} | {'ours cpu':>9}{'wall':>7}{'rss MB':>8} | "
            f"{'off. cpu':>9}{'wall':>7}{'rss MB':>8} | {'cpu off/ours':>12}{'rss ours/off':>13} | score ours / official")
    print("ours (cold) vs official vbench 0.1.5, whole processes")
    print(head)
    print("-" * len(head))
    ours_cpu = off_cpu = ours_wall = off_wall = 0.0
    missing = []
    for dim in dims:
        c, o = rows[dim]["cold"], rows[dim].get("official")
        line = f"{dim:<22}{c['videos']:>7} | {c['cpu']:>9.1f}{c['wall']:>7.1f}{c['rss_mb']:>8.0f} | "
        if o is None or "error" in o:
            missing.append(dim)
            why = OFFICIAL_CANNOT.get(dim, o["error"] if o else "not run")
            print(line + f"official not run: {why}")
            continue
        ours_cpu += c["cpu"]
        off_cpu += o["cpu"]
        ours_wall += c["wall"]
        off_wall += o["wall"]
        raw = c["raw"]
        same = raw is not None and abs(raw - o["score"]) <= 1e-6
        print(line + f"{o['cpu']:>9.1f}{o['wall']:>7.1f}{o['rss_mb']:>8.0f} | {o['cpu'] / c['cpu']:>12.2f}"
                     f"{c['rss_mb'] / o['rss_mb']:>13.2f} | {score_text(raw)} / {o['score']:.6g}"
                     f"{'' if same else '  DIFFERENT'}")
    print("-" * len(head))
    if off_cpu:
        print(f"whole suite ({len(dims) - len(missing)} dimensions both sides ran): CPU ours {ours_cpu:.1f} s, "
              f"official {off_cpu:.1f} s, official/ours {off_cpu / ours_cpu:.2f}x; wall ours {ours_wall:.1f} s, "
              f"official {off_wall:.1f} s, {off_wall / ours_wall:.2f}x")
    if missing:
        print(f"not compared: {', '.join(missing)}")


if __name__ == "__main__":
    raise SystemExit(main())
