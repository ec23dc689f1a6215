"""Seconds per video and peak memory of the model dimensions on CPU, ours vs the official code.

    python benchmarks/bench_models.py [--dims imaging_quality,dynamic_degree] [--official PYTHON]
                                      [--dino-hub DIR] [--threads 1] [--frames 16]

Full-size seeded random checkpoints (pytest_vbench.fake_checkpoints) in a temporary cache; one
synthetic video of N frames at 320x512 (HxW), 8 fps. Each side runs in its own process (peak RSS is
that process's). With --official, the same video and checkpoints go through tools/run_official.py
in the official virtualenv and the ratio official/ours is printed. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# seeded random checkpoints cannot carry the official digests (pytest_vbench.weights.UNOFFICIAL_ENV)
os.environ.setdefault("VBENCH_ACCEPT_UNOFFICIAL_CHECKPOINTS", "1")
FAMILIES = {"subject_consistency": ["dino"], "background_consistency": ["clip_b32"],
            "aesthetic_quality": ["clip_l14", "aesthetic"], "imaging_quality": ["musiq"],
            "appearance_style": ["clip_b32"], "dynamic_degree": ["raft"]}
AUX = {"appearance_style": {"appearance_style": "oil painting"}}


def make_video(path: Path, frames: int) -> None:
    sys.path.insert(0, str(ROOT / "tools"))
    from make_image_videos import scene, write_mp4

    write_mp4(path, [scene(t, 320, 512, 11) for t in range(frames)])


def run_ours(dim: str, cache: Path, video: Path, threads: int) -> None:
    import torch

    torch.set_num_threads(threads)
    import importlib

    from pytest_vbench.runtime import Runtime
    from pytest_vbench.suite import Case, VideoRef

    module = importlib.import_module(f"pytest_vbench.dimensions.{dim}")
    # library imports happen before the timer, as on the official side (its modules import them at
    # import time and tools/run_official.py times compute_<dimension> only)
    for lib in ("timm", "pyiqa.archs.musiq_arch", "open_clip.model", "torchvision.models.optical_flow"):
        importlib.import_module(lib)
    rt = Runtime("cpu", cache)
    case = Case(dim, "p", 0, AUX.get(dim))
    t0 = time.perf_counter()
    for fam in FAMILIES[dim]:
        rt.model(fam)
    t1 = time.perf_counter()
    module.score_video(VideoRef(video, 0), case, rt)
    t2 = time.perf_counter()
    print(json.dumps({"load": t1 - t0, "video": t2 - t1,
                      "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--dims", default=",".join(FAMILIES))
    ap.add_argument("--official", help="python of the official vbench 0.1.5 virtualenv")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--frames", type=int, default=16)
    ap.add_argument("--dino-hub", help="copy of facebookresearch/dino for the official subject_consistency")
    ap.add_argument("--one", nargs=3, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        run_ours(args.one[0], Path(args.one[1]), Path(args.one[2]), args.threads)
        return
    sys.path.insert(0, str(ROOT))
    from pytest_vbench import fake_checkpoints

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        vids = tmp / "videos"
        vids.mkdir()
        video = vids / "bench-0.mp4"
        make_video(video, args.frames)
        print(f"CPU, {args.threads} thread(s), one video of {args.frames} frames at 320x512, full-size random weights")
        for dim in args.dims.split(","):
            cache = tmp / dim
            for fam in FAMILIES[dim]:
                fake_checkpoints.write(fam, cache, seed=0)
            out = subprocess.run([sys.executable, __file__, "--threads", str(args.threads), "--one", dim,
                                  str(cache), str(video)], capture_output=True, text=True, check=True)
            ours = json.loads(out.stdout.strip().splitlines()[-1])
            line = (f"{dim:<24} ours {ours['video']:7.2f} s/video (+{ours['load']:.1f} s model load), "
                    f"peak {ours['peak_mb']:.0f} MB")
            if args.official:
                res = tmp / f"{dim}.json"
                cmd = [args.official, str(ROOT / "tools" / "run_official.py"), "--dimension", dim, "--videos", str(vids),
                       "--cache-dir", str(cache), "--out", str(res), "--threads", str(args.threads)]
                if dim in AUX:
                    cmd += ["--aux", json.dumps(AUX[dim])]
                if dim == "subject_consistency":
                    if not args.dino_hub:
                        print(f"{line}; official: skipped (needs --dino-hub)", flush=True)
                        continue
                    cmd += ["--dino-hub", args.dino_hub]
                t0 = time.perf_counter()
                subprocess.run(cmd, capture_output=True, text=True, check=True)
                total = time.perf_counter() - t0
                official = json.loads(res.read_text())["seconds"]
                line += (f"; official {official:7.2f} s (load + video, {total:.1f} s with start-up); "
                         f"ratio official/ours {official / (ours['video'] + ours['load']):.2f}")
            print(line, flush=True)


if __name__ == "__main__":
    main()
