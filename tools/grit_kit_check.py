"""Compare our GRiT with the official outputs of the parity kit (tests/parity/grit), frame by frame.

    python tools/grit_kit_check.py --cache /work/kitcache/grit [--dims object_class] [--frames 0,1] [--videos NAME]

The cache must hold the kit checkpoint and bert folder (``tests/parity_kits.build_kit_cache``). Prints the
differences of every recorded intermediate (frame 0 only: preprocessed, backbone, proposals,
cascade stages) and of the outputs (kept boxes, scores, tokens, logprobs, descriptions, det_obj).
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
KIT = ROOT / "tests" / "parity" / "grit"


def stats(t: torch.Tensor) -> dict:
    d = t.detach().double()
    return {"sum": d.sum().item(), "mean": d.mean().item(), "std": d.std().item(), "abs_max": d.abs().max().item(),
            "first": d.reshape(-1)[:5].tolist()}


def cmp_stats(name, ours, ref, out):
    s = stats(ours)
    out.append((name, list(ours.shape) == ref["shape"], abs(s["mean"] - ref["mean"]), abs(s["std"] - ref["std"]),
                max(abs(a - b) for a, b in zip(s["first"], ref["first"]))))


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--cache", required=True)
    ap.add_argument("--dims", default="object_class,multiple_objects,color,spatial_relationship")
    ap.add_argument("--frames", default="0")
    ap.add_argument("--videos", default="")
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args(argv)
    torch.set_num_threads(a.threads)
    from pytest_vbench.dimensions.grit_common import prepare_frame
    from pytest_vbench.models.grit.predictor import load
    from pytest_vbench.runtime import Runtime
    from pytest_vbench.video import load_video

    rt = Runtime("cpu", a.cache)
    t0 = time.time()
    pred = load(rt)
    print(f"loaded in {time.time() - t0:.1f} s")
    worst = {}
    for dim in a.dims.split(","):
        ref = json.loads((KIT / "reference" / f"{dim}.json").read_text())
        task = ref["model_task"]
        kind = "uint8" if dim == "color" else "tensor"
        for name, v in sorted(ref["videos"].items()):
            if a.videos and name not in a.videos.split(","):
                continue
            frames = load_video(KIT / "videos" / name, num_frames=16)
            for k in [int(x) for x in a.frames.split(",")]:
                fr = v["frames"][k]
                img = prepare_frame(frames[k], kind)
                trace = {}
                t0 = time.time()
                inst = pred(img, task, trace=trace)
                dt = time.time() - t0
                rows = []
                if "preprocessed" in fr:
                    cmp_stats("preprocessed", trace["preprocessed"], fr["preprocessed"], rows)
                if "backbone" in fr:
                    for lvl, st in fr["backbone"].items():
                        cmp_stats(lvl, trace["backbone"][lvl], st, rows)
                if "proposals_after_nms" in fr:
                    pb, ps = trace["proposals"]
                    r = fr["proposals_after_nms"]
                    n = len(r["top_scores"])
                    rows.append(("proposals", pb.shape[0] == r["count"], abs(ps.double().sum().item() - r["score_sum"]),
                                 max(abs(x - y) for x, y in zip(ps[:n].tolist(), r["top_scores"])),
                                 float(np.abs(pb[:n].numpy() - np.array(r["top_boxes"])).max())))
                p0 = fr["passes"][0]
                kb, ks, kidx = trace["kept"]
                ref_boxes = np.array(p0["kept_boxes"]).reshape(-1, 4)
                same_n = tuple(kb.shape) == ref_boxes.shape and kidx.tolist() == p0["kept_proposal_index"]
                rows.append(("kept", same_n, kb.shape[0], ref_boxes.shape[0],
                             float(np.abs(kb.numpy() - ref_boxes).max()) if same_n and len(ref_boxes) else 0.0,
                             float(np.abs(ks.numpy() - np.array(p0["kept_scores_before_text"])).max())
                             if same_n and len(ref_boxes) else 0.0))
                ri = fr["instances"]
                desc_ok = [i.description for i in inst] == [x["description"] for x in ri]
                det_ok = [i.det_obj for i in inst] == [x["det_obj"] for x in ri]
                sc = max([abs(i.score - x["score"]) for i, x in zip(inst, ri)] or [0.0])
                bx = max([max(abs(a - b) for a, b in zip(i.box, x["box"])) for i, x in zip(inst, ri)] or [0.0])
                rows.append(("instances", desc_ok and det_ok and len(inst) == len(ri), desc_ok, det_ok, sc, bx))
                print(f"{dim} {name} frame {k} ({dt:.1f} s)")
                for row in rows:
                    print("   ", row[0], *[f"{x:.3g}" if isinstance(x, float) else x for x in row[1:]])
                    if row[0] in ("kept", "instances"):
                        worst[row[0]] = worst.get(row[0], True) and bool(row[1])
                if not desc_ok or not det_ok:
                    print("    ours:", [(i.description, i.det_obj) for i in inst][:8])
                    print("    ref: ", [(x["description"], x["det_obj"]) for x in ri][:8])
    print("ALL MATCH" if all(worst.values()) else "MISMATCH", worst)
    return 0 if all(worst.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
