"""Run the OFFICIAL vbench 0.1.5 dynamic_degree on videos, capturing the per-pair scores.

Run with the official virtualenv's python (see tools/README.md). The official ``DynamicDegree``
object is used as is; its ``check_move`` is wrapped only to record the score list it receives.

    $OFFICIAL/bin/python tools/official_dynamic_degree.py --cache-dir CACHE --videos DIR --out OUT.json
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cache-dir", required=True)
    ap.add_argument("--videos", required=True)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()

    import torch
    from easydict import EasyDict
    from vbench.dynamic_degree import DynamicDegree

    torch.set_num_threads(1)
    dd = DynamicDegree(EasyDict({"model": f"{args.cache_dir}/raft_model/models/raft-things.pth", "small": False,
                                 "mixed_precision": False, "alternate_corr": False}), torch.device("cpu"))
    seen: list[list[float]] = []
    original = dd.check_move

    def recording(scores):
        seen.append([float(s) for s in scores])
        return original(scores)

    dd.check_move = recording
    records = []
    t0 = time.perf_counter()
    for video in sorted(Path(args.videos).glob("*.mp4")):
        seen.clear()
        moved = dd.infer(str(video))
        records.append({"video": video.name, "video_results": bool(moved), "pair_scores": seen[0],
                        "thres": dd.params["thres"], "count_num": dd.params["count_num"]})
    out = {"records": records, "seconds": time.perf_counter() - t0,
           "score": sum(r["video_results"] for r in records) / len(records)}
    Path(args.out).write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
