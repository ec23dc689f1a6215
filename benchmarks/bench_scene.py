"""Seconds per video and peak memory for scene (Tag2Text) on the parity kit's full-size checkpoint.

Ours scores the kit's three videos through ``pytest_vbench.dimensions.scene`` on CPU; the official
times come from the kit's reference (``seconds``: the whole official ``evaluate`` run incl. model
loading; ``seconds_model`` per video: its Tag2Text ``generate`` on the 16 frames). The official run
used the kit machine's default thread count, with autograd disabled (vbench/scene.py itself keeps
the graph, ~18 GB; see the kit README). ``--official-json`` takes the official seconds from a run of
the kit's ``run_official.py`` on this machine instead (its ``--out``/scene.json).

    python benchmarks/bench_scene.py --cache /work/kitcache/tag2text [--threads 1] [--build]
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
KIT = ROOT.parent / "shared" / "parity" / "tag2text"


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cache", type=Path, required=True, help="kit inputs (see tools/tag2text_kit_check.py)")
    ap.add_argument("--kit", type=Path, default=KIT)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--build", action="store_true", help="build the kit inputs into --cache first")
    ap.add_argument("--official-json", type=Path, default=None,
                    help="scene.json with the official seconds (default: the kit's reference; or the --out of "
                         "the kit's run_official.py run on this machine)")
    args = ap.parse_args(argv)

    import torch

    torch.set_num_threads(args.threads)
    if args.build:
        import importlib.util

        spec = importlib.util.spec_from_file_location("kit", ROOT / "tools" / "tag2text_kit_check.py")
        kit = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(kit)
        kit.build_kit_cache(args.kit, args.cache)
    ref = json.loads((args.official_json or args.kit / "reference" / "scene.json").read_text())

    from pytest_vbench.dimensions import scene
    from pytest_vbench.runtime import Runtime
    from pytest_vbench.suite import Case, VideoRef

    t0 = time.perf_counter()
    rt = Runtime("cpu", args.cache)
    rt.model("tag2text")
    load = time.perf_counter() - t0
    print(f"scene on {len(ref['videos'])} kit videos, full-size kit checkpoint, CPU, {args.threads} thread(s); "
          f"model load {load:.1f} s")
    per = []
    for i, name in enumerate(sorted(ref["videos"])):
        phrase = name.rsplit("-", 1)[0]
        case = Case("scene", phrase, 0, {"scene": {"scene": phrase}})
        t = time.perf_counter()
        vs = scene.score_video(VideoRef(args.kit / "videos" / name, i), case, rt)
        per.append(time.perf_counter() - t)
        off = ref["videos"][name]["seconds_model"]
        print(f"  {name:22s} ours {per[-1]:6.1f} s   official model {off:6.1f} s   ratio {per[-1] / off:.2f}   "
              f"record {vs.record}")
    ours_total = load + sum(per)
    n = len(per)
    print(f"per video: ours {sum(per) / n:.1f} s scoring, {ours_total / n:.1f} s incl. load; official "
          f"{ref['seconds'] / n:.1f} s incl. load (whole run {ref['seconds']} s) -> ratio "
          f"{ours_total / ref['seconds']:.2f}")
    print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


if __name__ == "__main__":
    main()
