"""Compare our Tag2Text / scene with the official references of the Tag2Text parity kit.

    python tools/tag2text_kit_check.py --cache /work/kitcache/tag2text [--kit tests/parity/tag2text]
        [--video tower-0.mp4 ...] [--threads 1] [--build]

``--cache`` holds (or, with ``--build``, receives) the kit inputs: ``caption_model/tag2text_swin_14m.pth``
written from the kit's manifest by ``tests/parity_kits.py`` (checked against ``fingerprints.json``)
and ``bert_model/bert-base-uncased`` from the committed vocabulary; nothing is downloaded. Prints one line per check and exits 1 on a mismatch.
``tests/test_tag2text_kit.py`` runs the same functions (slow tier).

Checks per video: decoded frames (sha256), model input sums, Swin output stats, tag-head indices and
probabilities, tag strings, tag-encoder input ids and output stats, caption token ids, captions; then
the dimension (records and score) through ``pytest_vbench.dimensions.scene``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from pathlib import Path

KIT_DEFAULT = Path(__file__).resolve().parents[1] / "tests" / "parity" / "tag2text"
CKPT = "caption_model/tag2text_swin_14m.pth"
BERT = "bert_model/bert-base-uncased"
REL = 1e-4  # relative tolerance on feature statistics (kit README section 4)
ABS = 1e-4  # absolute tolerance on probabilities


def build_kit_cache(kit: Path, cache: Path) -> Path:
    """Write the kit's checkpoint and BERT folder into ``cache`` (skipped when already there)."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    from parity_kits import build_kit_cache as build

    assert kit.resolve() == KIT_DEFAULT, "the checkpoint writer knows the committed kit only"
    return build("tag2text", Path(cache))


def _stats_ok(t, ref: dict) -> tuple[bool, str]:
    t = t.double()
    mean, std = float(t.mean()), float(t.std())
    ok = tuple(t.shape) == tuple(ref["shape"])
    dm = abs(mean - ref["mean"])
    ds = abs(std - ref["std"]) / max(abs(ref["std"]), 1e-12)
    first = [float(x) for x in t.reshape(-1)[: len(ref["first"])]]
    dfirst = max(abs(a - b) for a, b in zip(first, ref["first"]))
    # the means are ~1e-9 (LayerNorm outputs): compare them on the scale of the std
    ok = ok and dm <= REL * max(abs(ref["std"]), 1e-12) and ds <= REL and dfirst <= 1e-3
    return ok, f"|dmean| {dm:.2e} rel dstd {ds:.2e} max|dfirst| {dfirst:.2e}"


def compare_video(runtime, path: Path, ref: dict) -> dict:
    """Run our model on one kit video and compare every field of its reference entry."""
    import numpy as np
    import torch

    from pytest_vbench.dimensions import scene

    checks = {}
    t0 = time.perf_counter()
    frames = scene.read_frames(path, runtime)
    fr = ref["frames_uint8"]
    sha = [hashlib.sha256(np.ascontiguousarray(f).tobytes()).hexdigest() for f in frames]
    nbad = sum(a != b for a, b in zip(sha, fr["sha256_per_frame"]))
    checks["frames_sha256"] = (list(frames.shape) == fr["shape"] and nbad == 0, f"{nbad} frame(s) differ")
    x = scene.to_input(frames)
    sums = x.double().sum(dim=(1, 2, 3)).tolist()
    d = max(abs(a - b) / abs(b) for a, b in zip(sums, ref["model_input_per_frame_sum"]))
    checks["model_input_per_frame_sum"] = (d <= 1e-6, f"max rel diff {d:.2e}")
    model = runtime.model("tag2text")
    with torch.no_grad():
        out = model.caption_frames(x, full=True)
    checks["image_embeds"] = _stats_ok(out["image_embeds"], ref["image_embeds"])
    with torch.no_grad():
        emb = out["image_embeds"]
        q = model.label_embed.weight.unsqueeze(0).expand(emb.shape[0], -1, -1)
        checks["mlr_tagembedding"] = _stats_ok(model.vision_multi(q, emb), ref["mlr_tagembedding"])
    per_frame = [_stats_ok(out["logits"][k], head["logits"]) for k, head in enumerate(ref["tag_head"])]
    failing = [f"frame {k}: {d}" for k, (ok_k, d) in enumerate(per_frame) if not ok_k]
    checks["tag_logits per frame"] = (not failing, "; ".join(failing) if failing else f"frame 0: {per_frame[0][1]}")
    probs = torch.sigmoid(out["logits"]).double()
    bad_idx, dprob, near = [], 0.0, []
    for k, head in enumerate(ref["tag_head"]):
        ours = torch.nonzero(probs[k] > 0.7).flatten().tolist()
        if ours != head["indices_above_0.7"]:
            diff = sorted(set(ours) ^ set(head["indices_above_0.7"]))
            tie = all(str(i) in head.get("near_threshold", {}) and abs(head["near_threshold"][str(i)] - 0.7) < 2e-5
                      for i in diff)
            (near if tie else bad_idx).append((k, diff))
        dprob = max(dprob, max(abs(float(probs[k, i]) - p) for i, p in zip(head["top10_indices"], head["top10_probs"])))
        dprob = max(dprob, max((abs(float(probs[k, int(i)]) - p) for i, p in head.get("near_threshold", {}).items()),
                               default=0.0))
    checks["tag_indices"] = (not bad_idx, f"mismatching frames {bad_idx}; accepted near-0.7 ties {near}")
    checks["tag_probs"] = (dprob <= ABS, f"max |dp| {dprob:.2e} (top-10 and near-threshold)")
    # the official generate() returns the tag list already expanded by num_beams: entry k = frame k // 3
    own = out["tags"]
    returned = [own[k // 3] for k in range(len(own))]
    ok = returned == ref["tag_strings"]
    checks["tag_strings (frame k//3)"] = (ok, "identical" if ok else
                                          f"differ at {[k for k, (a, b) in enumerate(zip(returned, ref['tag_strings'])) if a != b]}")
    ids = [[int(i) for i, m in zip(row, mask) if m] for row, mask in zip(out["tag_encoder_ids"], out["tag_encoder_mask"])]
    ok = ids == ref["tag_encoder_input_ids_beam0"]
    checks["tag_encoder_input_ids"] = (ok, "identical" if ok else "differ")
    enc = out["tag_encoder_output"].repeat_interleave(3, dim=0)  # the official 48 rows (3 copies per frame)
    checks["tag_encoder_output"] = _stats_ok(enc, ref["tag_encoder_output"])
    cap_ids = out["caption_ids"].tolist()
    ok = cap_ids == ref["caption_token_ids"]
    checks["caption_token_ids"] = (ok, "identical" if ok else
                                   f"differ at {[k for k, (a, b) in enumerate(zip(cap_ids, ref['caption_token_ids'])) if a != b]}")
    ok = out["captions"] == ref["captions"]
    checks["captions"] = (ok, "identical" if ok else f"ours {out['captions'][:3]}")
    # the dimension's path: only frames 0..5 through the model, one decode per source frame
    t1 = time.perf_counter()
    fast = scene.captions_for(frames, runtime)
    ok = fast == ref["captions"]
    checks["captions (dimension path)"] = (ok, "identical" if ok else f"ours {fast[:3]}")
    return {"checks": checks, "seconds": t1 - t0, "seconds_dimension": time.perf_counter() - t1, "captions": fast}


def dimension_from_kit(ref: dict, captions: dict[str, list[str]]) -> tuple[bool, str]:
    """Per-video records and the dimension score from our captions, through the dimension's rules.

    The scene phrase is the file name up to the last ``-`` (the kit names videos ``<scene>-<i>.mp4``
    after VBench's scene prompts).
    """
    from pytest_vbench.dimensions import scene

    records, total, count = [], 0.0, 0
    for rec in ref["records"]:
        name = rec["video_path"]
        vs = scene.score_captions(captions[name], name.rsplit("-", 1)[0])
        records.append({"video_path": name, **vs.record})
        total += vs.sum
        count += vs.count
    score = total / count
    ok = records == ref["records"] and abs(score - ref["dimension_score"]) <= 1e-12
    return ok, f"score ours {score} official {ref['dimension_score']}; records {'identical' if records == ref['records'] else records}"


def main(argv=None) -> int:
    import torch

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--kit", type=Path, default=KIT_DEFAULT)
    ap.add_argument("--cache", type=Path, required=True)
    ap.add_argument("--video", action="append")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--build", action="store_true", help="build the kit inputs into --cache first")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    if args.build:
        build_kit_cache(args.kit, args.cache)
    ref = json.loads((args.kit / "reference" / "scene.json").read_text())
    from pytest_vbench.runtime import Runtime

    runtime = Runtime(cache_dir=args.cache)
    ok = True
    captions = {}
    t = time.perf_counter()
    runtime.model("tag2text")
    print(f"    model loaded in {time.perf_counter() - t:.1f} s")
    for name in args.video or sorted(ref["videos"]):
        res = compare_video(runtime, args.kit / "videos" / name, ref["videos"][name])
        for check, (passed, detail) in res["checks"].items():
            ok &= passed
            print(f"{'ok ' if passed else 'BAD'} {name:22s} {check:28s} {detail}", flush=True)
        captions[name] = res["captions"]
        print(f"    {name}: full check {res['seconds']:.1f} s, dimension path {res['seconds_dimension']:.1f} s "
              f"(official model time {ref['videos'][name]['seconds_model']} s)", flush=True)
    if not args.video:
        passed, detail = dimension_from_kit(ref, captions)
        ok &= passed
        print(f"{'ok ' if passed else 'BAD'} dimension score + records    {detail}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
