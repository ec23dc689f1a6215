"""Where our time goes for one dimension: cProfile of scoring one video (model load excluded).

    python benchmarks/profile_dim.py subject_consistency [--threads 2] [--tiny] [--top 20]

Writes the dimension's seeded checkpoints (full size unless --tiny) and one 320x512, 16-frame video
like benchmarks/bench_suite.py, loads the models, scores the video once to warm up (decode cache
cleared after), then profiles a second scoring and prints the functions with the most cumulative
and own time.
"""

from __future__ import annotations

import argparse
import cProfile
import importlib
import io
import pstats
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("dimension")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--tiny", action="store_true")
    ap.add_argument("--top", type=int, default=20)
    args = ap.parse_args()

    import os

    os.environ.setdefault("VBENCH_ACCEPT_UNOFFICIAL_CHECKPOINTS", "1")
    import torch

    torch.set_num_threads(args.threads)
    from bench_suite import write_checkpoints, write_video

    from pytest_vbench.dimensions import DIMENSIONS
    from pytest_vbench.runtime import Runtime
    from pytest_vbench.suite import Case, VideoRef, load_suite

    spec = DIMENSIONS[args.dimension]
    entry = next(e for e in load_suite().entries if args.dimension in e["dimension"])
    aux = (entry.get("auxiliary_info") or {}).get(args.dimension)
    module = importlib.import_module(f"pytest_vbench.dimensions.{args.dimension}")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        cache = work / "cache"
        write_checkpoints(cache, {*spec.families, *spec.optional_families}, full=not args.tiny)
        video = work / f"{entry['prompt_en']}-0.mp4"
        write_video(video, seed=1)
        rt = Runtime("cpu", cache)
        case = Case(args.dimension, entry["prompt_en"], 0, aux)
        t0 = time.process_time()
        for fam in spec.families:
            rt.model(fam)
        load = time.process_time() - t0
        t0 = time.process_time()
        module.score_video(VideoRef(video, 0), case, rt)
        first = time.process_time() - t0
        rt = Runtime("cpu", cache)  # fresh decode cache, models loaded again outside the profile
        for fam in spec.families:
            rt.model(fam)
        prof = cProfile.Profile()
        t0 = time.process_time()
        prof.enable()
        module.score_video(VideoRef(video, 0), case, rt)
        prof.disable()
        second = time.process_time() - t0
    print(f"{args.dimension}: model load {load:.1f} CPU s, first video {first:.1f} CPU s, "
          f"profiled video {second:.1f} CPU s ({args.threads} threads)")
    for key in ("cumulative", "tottime"):
        buf = io.StringIO()
        pstats.Stats(prof, stream=buf).sort_stats(key).print_stats(args.top)
        print(buf.getvalue())


if __name__ == "__main__":
    main()
