"""Run the OFFICIAL vbench 0.1.5 motion_smoothness on videos, capturing the per-pair differences.

Run with the official virtualenv's python (see tools/README.md). The official ``MotionSmoothness``
object is used as is (AMT-S config from the installed wheel, our seeded checkpoint); its ``get_diff``
is wrapped only to record each predicted frame's mean absolute difference. A video the official code
cannot score (it raises, e.g. the ``AssertionError`` on fewer than 3 frames) is recorded with the
error instead of stopping the run.

    $OFFICIAL/bin/python tools/official_motion_smoothness.py --cache-dir CACHE --videos DIR --out OUT.json
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cache-dir", required=True)
    ap.add_argument("--videos", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()

    import torch
    import vbench
    import vbench.motion_smoothness as official
    from vbench.motion_smoothness import MotionSmoothness

    torch.set_num_threads(args.threads)
    config = Path(vbench.__file__).parent / "third_party" / "amt" / "cfgs" / "AMT-S.yaml"
    ms = MotionSmoothness(str(config), f"{args.cache_dir}/amt_model/amt-s.pth", torch.device("cpu"))
    seen: list[float] = []
    original = ms.get_diff

    def recording(img1, img2):
        d = original(img1, img2)
        seen.append(float(d))
        return d

    ms.get_diff = recording
    nan_frames: list[bool] = []
    to_img = official.tensor2img

    def recording_to_img(t):  # records whether a prediction holds NaN before its uint8 cast
        nan_frames.append(bool(torch.isnan(t).any()))
        return to_img(t)

    official.tensor2img = recording_to_img
    records = []
    t0 = time.perf_counter()
    for video in sorted(Path(args.videos).glob("*.mp4")):
        seen.clear()
        nan_frames.clear()
        start = time.perf_counter()
        try:
            value = float(ms.motion_score(str(video)))
        except Exception as exc:  # noqa: BLE001 - the reference records what the official code does
            records.append({"video": video.name, "error": f"{type(exc).__name__}: {exc}"})
            continue
        records.append({"video": video.name, "video_results": None if math.isnan(value) else value,
                        "nan": math.isnan(value),
                        "nan_predictions": any(nan_frames), "pair_diffs": list(seen),
                        "seconds": time.perf_counter() - start})
    scored = [r["video_results"] for r in records if r.get("video_results") is not None]
    out = {"records": records, "seconds": time.perf_counter() - t0,
           "score": sum(scored) / len(scored) if scored else None,
           "official_keys": {k: list(v.shape) for k, v in ms.model.state_dict().items()}}
    Path(args.out).write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
