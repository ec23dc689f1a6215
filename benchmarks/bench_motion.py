"""Seconds per video and peak memory of the temporal_flickering static filter (ours vs official).

    python benchmarks/bench_motion.py [--height 720 --width 1280 --frames 81] [--official ../vbench-official/bin/python]

Full-size seeded RAFT-large (original layout), CPU, one thread. Each measurement runs in its own
process so that ``ru_maxrss`` is the peak resident memory of that implementation alone. Synthetic
video: moving shapes on a textured background.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

OURS = r"""
import json, resource, sys, time, torch
torch.set_num_threads(1)
from pytest_vbench import static_filter as sf
from pytest_vbench.runtime import Runtime
model = Runtime("cpu", sys.argv[1]).model("raft")
t = time.perf_counter(); v = sf.check_video(sys.argv[2], model); s = time.perf_counter() - t
print(json.dumps({"seconds": s, "static": v.static, "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

OFFICIAL = r"""
import json, resource, sys, time, torch
torch.set_num_threads(1)
from easydict import EasyDict
import vbench.cli.static_filter as sf
sf.DEVICE = "cpu"
f = sf.StaticFilter(EasyDict(model=sys.argv[1] + "/raft_model/models/raft-things.pth", small=False,
                             mixed_precision=False, alternate_corr=False), device="cpu")
t = time.perf_counter(); st = f.infer(sys.argv[2]); s = time.perf_counter() - t
print(json.dumps({"seconds": s, "static": bool(st), "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--height", type=int, default=128)
    ap.add_argument("--width", type=int, default=160)
    ap.add_argument("--frames", type=int, default=9)
    ap.add_argument("--official", help="python of the official vbench 0.1.5 virtualenv")
    args = ap.parse_args()
    sys.path.insert(0, str(ROOT / "tools"))
    from make_motion_videos import shapes, write

    from pytest_vbench import fake_checkpoints

    with tempfile.TemporaryDirectory() as tmp:
        fake_checkpoints.write("raft", Path(tmp), seed=0)
        video = Path(tmp) / "bench-0.mp4"
        write(video, [shapes(t, args.height, args.width, 1, 3) for t in range(args.frames)], 16)
        rows = {"ours": [sys.executable, "-c", OURS, tmp, str(video)]}
        if args.official:
            rows["official"] = [args.official, "-c", OFFICIAL, tmp, str(video)]
        res = {}
        for name, cmd in rows.items():
            out = subprocess.run(cmd, capture_output=True, text=True, check=True, cwd=ROOT).stdout
            res[name] = json.loads(out.strip().splitlines()[-1])
    print(f"static filter, {args.width}x{args.height}, {args.frames} frames, CPU 1 thread")
    for name, r in res.items():
        print(f"  {name:9s} {r['seconds']:8.2f} s/video  peak RSS {r['peak_mb']:8.0f} MB  static={r['static']}")
    if "official" in res:
        print(f"  ratio ours/official: {res['ours']['seconds'] / res['official']['seconds']:.2f}")


if __name__ == "__main__":
    main()
