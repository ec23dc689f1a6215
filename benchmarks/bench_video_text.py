"""Seconds per video and peak memory for temporal_style, overall_consistency and human_action.

Full-size seeded random checkpoints (ViCLIP-L/14, UMT-L/16) and synthetic 512x320 videos, CPU. Ours
runs each dimension in a fresh process (batched ``score_case``); with ``--official PY`` the official
vbench 0.1.5 runs the same files in its own venv (tools/official_video_text_runner.py) and the ratio is
printed. Times include model loading both ways ("total"); ours is also given without it ("scoring").

    python benchmarks/bench_video_text.py --videos 3 --official /work/vbench-off/bin/python
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))

PROMPT = "A person is riding a bike"


def child(dim: str, cache: str, vdir: str, threads: int) -> None:
    import importlib

    import torch

    torch.set_num_threads(threads)
    from pytest_vbench.runtime import Runtime
    from pytest_vbench.suite import Case, VideoRef

    t0 = time.perf_counter()
    rt = Runtime("cpu", Path(cache))
    rt.model("umt" if dim == "human_action" else "viclip")
    import cv2  # noqa: F401,E401  (one-time imports, not scoring)
    load = time.perf_counter() - t0
    videos = [VideoRef(p, i) for i, p in enumerate(sorted(Path(vdir).glob("*.mp4")))]
    mod = importlib.import_module(f"pytest_vbench.dimensions.{dim}")
    t1 = time.perf_counter()
    out = mod.score_case(videos, Case(dim, PROMPT, 0, videos=videos), rt)
    scoring = time.perf_counter() - t1
    bad = [str(o) for o in out if isinstance(o, Exception)]
    print(json.dumps({"load_s": load, "scoring_s": scoring, "n": len(videos), "errors": bad,
                      "maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--videos", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--size", choices=["full", "tiny"], default="full")
    ap.add_argument("--dims", default="temporal_style,human_action",
                    help="overall_consistency runs the same code as temporal_style")
    ap.add_argument("--official", default=None, help="python of the official vbench venv (optional)")
    ap.add_argument("--work", default=None)
    ap.add_argument("--child", nargs=3, metavar=("DIM", "CACHE", "VDIR"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        return child(*args.child, args.threads)

    import checkpoints_video_text as C

    work = Path(args.work or tempfile.mkdtemp(prefix="bench_vt_"))
    cache, vdir = work / "cache", work / "videos"
    vcfg, ucfg = (C.VICLIP_FULL, C.UMT_FULL) if args.size == "full" else (C.VICLIP_TINY, C.UMT_TINY)
    C.write_viclip(cache, vcfg, 0)
    C.write_umt(cache, ucfg, 0)
    for i in range(args.videos):
        C.write_video(vdir / f"{PROMPT}-{i}.mp4", C.video_frames(100 + i, 16, 512, 320))
    print(f"{args.videos} videos 512x320x16, {args.size} random checkpoints, CPU, {args.threads} thread(s)")
    for dim in args.dims.split(","):
        t0 = time.perf_counter()
        proc = subprocess.run([sys.executable, __file__, "--threads", str(args.threads), "--child", dim,
                               str(cache), str(vdir)], capture_output=True, text=True)
        total = time.perf_counter() - t0
        if proc.returncode:
            raise SystemExit(proc.stderr[-3000:])
        r = json.loads(proc.stdout.strip().splitlines()[-1])
        line = (f"{dim:20s} ours: {total / r['n']:7.2f} s/video total, {r['scoring_s'] / r['n']:7.2f} s/video scoring "
                f"(load {r['load_s']:.1f} s), peak RSS {r['maxrss_mb']:.0f} MB")
        if args.official:
            info = work / f"full_info_{dim}.json"
            info.write_text(json.dumps([{"prompt_en": PROMPT, "dimension": [dim],
                                         "video_list": [str(p) for p in sorted(vdir.glob("*.mp4"))]}]))
            job = {"cache_dir": str(cache), "size": args.size, "dimension": dim, "full_info": str(info),
                   "tiny": ucfg if dim == "human_action" else vcfg, "threads": args.threads}
            jp = work / f"job_{dim}.json"
            jp.write_text(json.dumps(job))
            t0 = time.perf_counter()
            p = subprocess.run([args.official, str(ROOT / "tools/official_video_text_runner.py"), str(jp),
                                str(work / f"out_{dim}.json")], capture_output=True, text=True)
            off = time.perf_counter() - t0
            if p.returncode:
                raise SystemExit(p.stderr[-3000:])
            rss = json.loads((work / f"out_{dim}.json").read_text())["maxrss_mb"]
            line += (f"\n{'':20s} official: {off / r['n']:7.2f} s/video total (peak RSS {rss:.0f} MB); "
                     f"ratio official/ours {off / total:.2f}")
        print(line, flush=True)


if __name__ == "__main__":
    main()
