"""Seconds per video and peak memory of the motion dimensions, ours vs the official vbench 0.1.5.

    python benchmarks/bench_motion.py [--dimension all|motion_smoothness|dynamic_degree|static_filter]
        [--height 720 --width 1280 --frames 81 --fps 16] [--threads 1]
        [--official ../vbench-official/bin/python]

Full-size seeded random weights in the official formats (RAFT-large in the original layout, AMT-S),
CPU. Each measurement runs in its own process so that ``ru_maxrss`` is the peak resident memory of
that implementation alone; ``loaded`` is the peak after imports and model loading, before the video,
so ``peak - loaded`` is what the video itself cost. Synthetic video: moving shapes on a textured
background (tools/make_motion_videos.py), written at ``--fps`` (dynamic_degree keeps every
``round(fps/8)``-th frame).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

_HEAD = r"""
import json, resource, sys, time, torch
torch.set_num_threads(int(sys.argv[3]))
def rss():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
"""
_TAIL = r"""
loaded = rss()
t = time.perf_counter(); value = run(sys.argv[2]); s = time.perf_counter() - t
print(json.dumps({"seconds": s, "value": value, "loaded_mb": loaded, "peak_mb": rss()}))
"""

OURS = {
    "static_filter": r"""
from pytest_vbench import static_filter as sf
from pytest_vbench.runtime import Runtime
model = Runtime("cpu", sys.argv[1]).model("raft")
run = lambda p: "static" if sf.check_video(p, model).static else "moving"
""",
    "dynamic_degree": r"""
from pytest_vbench.dimensions import dynamic_degree as dim
from pytest_vbench.runtime import Runtime
from pytest_vbench.suite import VideoRef
rt = Runtime("cpu", sys.argv[1]); rt.model("raft")
run = lambda p: dim.score_video(VideoRef(p, 0), None, rt).record["video_results"]
""",
    "motion_smoothness": r"""
from pytest_vbench.dimensions import motion_smoothness as dim
from pytest_vbench.runtime import Runtime
from pytest_vbench.suite import VideoRef
rt = Runtime("cpu", sys.argv[1]); rt.model("amt")
run = lambda p: dim.score_video(VideoRef(p, 0), None, rt).record["video_results"]
""",
}

OFFICIAL = {
    "static_filter": r"""
from easydict import EasyDict
import vbench.cli.static_filter as sf
sf.DEVICE = "cpu"
f = sf.StaticFilter(EasyDict(model=sys.argv[1] + "/raft_model/models/raft-things.pth", small=False,
                             mixed_precision=False, alternate_corr=False), device="cpu")
run = lambda p: "static" if f.infer(p) else "moving"
""",
    "dynamic_degree": r"""
from easydict import EasyDict
from vbench.dynamic_degree import DynamicDegree
dd = DynamicDegree(EasyDict(model=sys.argv[1] + "/raft_model/models/raft-things.pth", small=False,
                            mixed_precision=False, alternate_corr=False), torch.device("cpu"))
run = lambda p: bool(dd.infer(p))
""",
    "motion_smoothness": r"""
from pathlib import Path
import vbench
from vbench.motion_smoothness import MotionSmoothness
cfg = Path(vbench.__file__).parent / "third_party" / "amt" / "cfgs" / "AMT-S.yaml"
ms = MotionSmoothness(str(cfg), sys.argv[1] + "/amt_model/amt-s.pth", torch.device("cpu"))
run = lambda p: float(ms.motion_score(p))
""",
}
FAMILY = {"static_filter": "raft", "dynamic_degree": "raft", "motion_smoothness": "amt"}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--dimension", default="all", choices=["all", *OURS])
    ap.add_argument("--height", type=int, default=128)
    ap.add_argument("--width", type=int, default=160)
    ap.add_argument("--frames", type=int, default=9)
    ap.add_argument("--fps", type=float, default=16)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--official", help="python of the official vbench 0.1.5 virtualenv")
    args = ap.parse_args()
    sys.path.insert(0, str(ROOT / "tools"))
    from make_motion_videos import shapes, write

    from pytest_vbench import fake_checkpoints

    dims = list(OURS) if args.dimension == "all" else [args.dimension]
    with tempfile.TemporaryDirectory() as tmp:
        for family in sorted({FAMILY[d] for d in dims}):
            fake_checkpoints.write(family, Path(tmp), seed=0)
        video = Path(tmp) / "bench-0.mp4"
        write(video, [shapes(t, args.height, args.width, 1, 3) for t in range(args.frames)], args.fps)
        print(f"{args.width}x{args.height}, {args.frames} frames at {args.fps:g} fps, CPU {args.threads} thread(s), "
              f"seeded full-size random weights")
        for dim in dims:
            rows = {"ours": [sys.executable, "-c", _HEAD + OURS[dim] + _TAIL, tmp, str(video), str(args.threads)]}
            if args.official:
                rows["official"] = [args.official, "-c", _HEAD + OFFICIAL[dim] + _TAIL, tmp, str(video),
                                    str(args.threads)]
            res = {}
            for name, cmd in rows.items():
                out = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
                if out.returncode:
                    raise SystemExit(f"{name} {dim} failed:\n{out.stderr[-3000:]}")
                res[name] = json.loads(out.stdout.strip().splitlines()[-1])
            print(dim)
            for name, r in res.items():
                print(f"  {name:9s} {r['seconds']:8.2f} s/video  peak RSS {r['peak_mb']:7.0f} MB "
                      f"(after loading {r['loaded_mb']:6.0f} MB, video +{r['peak_mb'] - r['loaded_mb']:6.0f} MB)  "
                      f"value={r['value']}")
            if "official" in res:
                print(f"  ratio ours/official: {res['ours']['seconds'] / res['official']['seconds']:.2f} (time), "
                      f"{(res['ours']['peak_mb'] - res['ours']['loaded_mb']) / max(1.0, res['official']['peak_mb'] - res['official']['loaded_mb']):.2f} (video memory)")


if __name__ == "__main__":
    main()
