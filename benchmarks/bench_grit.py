"""Seconds per frame / per video and peak memory of the four GRiT dimensions on the parity kit's checkpoint.

Ours runs ``GritPredictor`` on the kit's frames exactly as the dimension modules prepare them (16
middle frames, >768 px rule); the official times are the kit's per-frame ``seconds`` (one
``run_on_image`` call of the official detectron2 GRiT, 2 CPU cores shared with another job, see the
kit README). ``--official-dir DIR`` takes them from the ``--out`` folder of the kit's own
``run_official.py`` instead, run on this machine in the official virtualenv with detectron2
installed (not part of this project). ``--frames N`` times the first N frames of every clip (16 = whole videos; with fewer, the
per-video columns are 16 x the per-frame time). ``--batch B`` runs B frames per backbone pass.

    python benchmarks/bench_grit.py --cache /work/kitcache/grit [--threads 2] [--frames 4] [--official-dir DIR]

The cache must hold the kit checkpoint and bert folder (tests/test_grit_kit.py builds them; or the
kit README, section 1).
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
KIT = ROOT.parent / "shared" / "parity" / "grit"
DIMS = ("object_class", "multiple_objects", "color", "spatial_relationship")


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cache", type=Path, required=True)
    ap.add_argument("--kit", type=Path, default=KIT)
    ap.add_argument("--official-dir", type=Path, default=None,
                    help="reference JSONs with the official per-frame seconds (default: the kit's reference/; "
                         "or the --out folder of the kit's run_official.py run on this machine)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--frames", type=int, default=4)
    ap.add_argument("--batch", type=int, default=1,
                    help="frames per backbone pass (the dimensions use 1 on the CPU, up to 4 on accelerators)")
    ap.add_argument("--dims", default=",".join(DIMS), help="comma-separated subset of " + ", ".join(DIMS))
    args = ap.parse_args(argv)
    official_dir = args.official_dir or args.kit / "reference"

    import torch

    torch.set_num_threads(args.threads)
    from pytest_vbench.dimensions.grit_common import prepare_frame
    from pytest_vbench.runtime import Runtime
    from pytest_vbench.video import load_video

    rt = Runtime("cpu", args.cache)
    t0 = time.perf_counter()
    model = rt.model("grit")
    load_s = time.perf_counter() - t0
    print(f"GRiT ViT-B, kit checkpoint, CPU, {args.threads} thread(s), {args.batch} frame(s) per pass; "
          f"model load {load_s:.1f} s "
          f"(one model serves the four dimensions and both tasks)")
    print(f"{'dimension':22s} {'clip':44s} {'frames':>6s} {'ours s/frame':>12s} {'official':>9s} "
          f"{'ours s/video':>12s} {'official':>9s} {'ratio':>6s}")
    all_ours = all_off = 0.0
    for dim in args.dims.split(","):
        ref = json.loads((official_dir / f"{dim}.json").read_text())
        task, kind = ref["model_task"], ("uint8" if dim == "color" else "tensor")
        for name, v in sorted(ref["videos"].items()):
            frames = load_video(args.kit / "videos" / name, num_frames=16)[:args.frames]
            t0 = time.perf_counter()
            prepared = [prepare_frame(frame, kind) for frame in frames]
            for start in range(0, len(prepared), args.batch):
                model.many(prepared[start:start + args.batch], task)
            ours = time.perf_counter() - t0
            official = sum(f["seconds"] for f in v["frames"][:len(frames)])
            all_ours += ours
            all_off += official
            n = len(frames)
            print(f"{dim:22s} {name:44s} {n:6d} {ours / n:12.2f} {official / n:9.2f} "
                  f"{16 * ours / n:12.1f} {16 * official / n:9.1f} {official / ours:6.2f}")
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    clips = sum(len(json.loads((official_dir / f"{d}.json").read_text())["videos"])
                for d in args.dims.split(","))
    print(f"total: ours {all_ours:.1f} s, official {all_off:.1f} s, ratio official/ours {all_off / all_ours:.2f}; "
          f"per 16-frame video ~{16 * all_ours / (clips * args.frames):.0f} s ours; peak RSS {rss:.0f} MB")


if __name__ == "__main__":
    main()
