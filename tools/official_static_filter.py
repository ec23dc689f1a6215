"""Run the OFFICIAL vbench 0.1.5 static filter on CPU, capturing the per-pair scores.

Run with the official virtualenv's python (see tools/README.md). The official module hard-codes
``DEVICE = 'cuda'``; its module attribute is set to ``'cpu'`` before its functions are called (its code
is used as is). ``check_static`` is wrapped only to record the scores it receives.

    $OFFICIAL/bin/python tools/official_static_filter.py --cache-dir CACHE --videos DIR --out OUT.json
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cache-dir", required=True)
    ap.add_argument("--videos", required=True)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()

    import torch
    import vbench.cli.static_filter as sf
    from easydict import EasyDict

    torch.set_num_threads(1)
    sf.DEVICE = "cpu"
    model = f"{args.cache_dir}/raft_model/models/raft-things.pth"
    flt = sf.StaticFilter(EasyDict({"model": model, "small": False, "mixed_precision": False,
                                    "alternate_corr": False}), device="cpu")
    seen: list[list[float]] = []
    original = flt.check_static

    def recording(scores):
        seen.append([float(s) for s in scores])
        return original(scores)

    flt.check_static = recording
    records = []
    t0 = time.perf_counter()
    for video in sorted(Path(args.videos).glob("*.mp4")):
        seen.clear()
        static = flt.infer(str(video))
        records.append({"video": video.name, "static": bool(static), "pair_scores": seen[0],
                        "thres": flt.params["thres"], "count_num": flt.params["count_num"]})
    seconds = time.perf_counter() - t0
    # the whole command (default scope temporal_flickering): its JSON and filtered_videos/
    with tempfile.TemporaryDirectory() as tmp:
        sf.static_filter(EasyDict({"model": model, "small": False, "mixed_precision": False, "alternate_corr": False,
                                   "videos_path": args.videos, "result_path": tmp,
                                   "store_name": "filtered_static_video.json", "filter_scope": "temporal_flickering"}))
        raw = json.loads((Path(tmp) / "filtered_static_video.json").read_text())
        selection = {p: {"static_count": v["static_count"], "static_path": [Path(x).name for x in v["static_path"]]}
                     for p, v in raw.items() if v["static_count"] or any(
                         f.name.startswith(p + "-") for f in Path(args.videos).glob("*.mp4"))}
        copied = sorted(f.name for f in (Path(tmp) / "filtered_videos").iterdir())
    out = {"records": records, "seconds": seconds, "selection": selection, "filtered_videos": copied}
    Path(args.out).write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
