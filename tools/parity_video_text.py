"""Parity references for temporal_style, overall_consistency and human_action.

Runs the OFFICIAL vbench 0.1.5 (in its own virtualenv, see docs/dimensions/video_text.md) on seeded
random checkpoints in the official layouts (tests/checkpoints_video_text.py) and synthetic videos,
runs ours on the same files, prints the max abs differences and (with --write) stores the official
values in tests/parity/<dimension>.json under the key of the model size ("tiny" or "full").

    python tools/parity_video_text.py --size tiny --official /work/vbench-off/bin/python --write
    python tools/parity_video_text.py --size full --official /work/vbench-off/bin/python --write

"tiny": the official classes built with tiny widths/depths (the official builders hard-code ViT-L; the
runner swaps only the constructor arguments). "full": the official code untouched, full-size random
checkpoints (slow on CPU: minutes per dimension).

human_action: the random classifier's decisions are made non-trivial by naming some files after a
class the model keeps (top-5, rounded sigmoid >= 0.85: expected True), some after a top-5 class
below the threshold and some after a class outside the top 5 (expected False); the official sigmoid
top-5 probabilities are stored too and compared to 1e-5.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))

import checkpoints_video_text as C  # noqa: E402

SEED = 0
TS_PROMPTS = ["A beautiful coastal beach in spring, waves lapping on sand, zoom in",
              "The bund Shanghai, vibrant color"]
OC_PROMPTS = ["A cute happy Corgi playing in park, sunset, pixel art",
              "a shark is swimming in the ocean, Van Gogh style, long prompt " + "with many words " * 8]
TS_SPLIT = [[0, 1, 2], [3, 4, 5]]
OC_SPLIT = [[0, 2, 4], [1, 3, 5]]
TOKEN_TEXTS = ["Ünïcödé café naïve — “quotes” 日本語のテキスト 🎉 emoji",
               "a <|endoftext|> b <|startoftext|> <start_of_text> x",
               "  lots   of\t whitespace\n here  ", "&amp;amp; html &lt;b&gt;", "", "A" * 300,
               " ".join(["word"] * 60), "it's they're I'll we've 12345 3.14"]


def suite_prompts() -> list[str]:
    data = json.loads((ROOT / "pytest_vbench/data/VBench_full_info.json").read_text())
    return [e["prompt_en"] for e in data]


def token_digest(ids: list[list[int]]) -> str:
    return hashlib.sha256(json.dumps(ids).encode()).hexdigest()


def configs(size: str):
    if size == "tiny":
        return C.VICLIP_TINY, C.UMT_TINY
    return C.VICLIP_FULL, C.UMT_FULL


def viclip_cases(work: Path, dim: str, limit: int | None = None) -> list[dict]:
    """[{prompt, files: [(name, spec)]}] for a ViCLIP dimension (``limit``: first prompt, N videos)."""
    prompts, split = (TS_PROMPTS, TS_SPLIT) if dim == "temporal_style" else (OC_PROMPTS, OC_SPLIT)
    if limit:
        prompts, split = prompts[:1], [split[0][:limit]]
    cases = []
    for prompt, idx in zip(prompts, split):
        files = [(f"{prompt}-{k}.mp4", list(C.VIDEO_SPECS[i])) for k, i in enumerate(idx)]
        cases.append({"prompt": prompt, "files": files})
    return cases


def make_videos(vdir: Path, cases: list[dict]) -> dict[str, str]:
    hashes = {}
    for case in cases:
        for name, spec in case["files"]:
            p = C.write_spec_video(vdir / name, spec)
            hashes[name] = C.decoded_hash(p)
    return hashes


def ours(dim: str, cache: Path, vdir: Path, cases: list[dict]) -> dict[str, object]:
    """Our per-video outputs: cosine (ViCLIP dims) or {probs, indices, result} (human_action)."""
    import torch

    from pytest_vbench.runtime import Runtime
    from pytest_vbench.suite import Case, VideoRef

    torch.set_num_threads(1)
    rt = Runtime("cpu", cache)
    out = {}
    if dim == "human_action":
        from pytest_vbench.dimensions import human_action as H
        model = rt.model("umt")
        for case in cases:
            for name, _ in case["files"]:
                x = H.frames_tensor(vdir / name, rt)
                probs, idx = H.top5(model, x[None])
                ok, kept = H.decide(probs[0], idx[0], H.label_from_filename(name))
                out[name] = {"top5_probs": probs[0], "top5_indices": idx[0], "video_results": ok, "kept": kept}
        return out
    import importlib
    mod = importlib.import_module(f"pytest_vbench.dimensions.{dim}")
    for case in cases:
        videos = [VideoRef(vdir / name, k) for k, (name, _) in enumerate(case["files"])]
        for v, r in zip(videos, mod.score_case(videos, Case(dim, case["prompt"], 0, videos=videos), rt)):
            if isinstance(r, Exception):
                raise r
            out[v.name] = r.sum
    return out


def human_action_cases(cache: Path, work: Path, limit: int | None = None) -> list[dict]:
    """File names chosen from OUR model's top-5 so True and False decisions both occur."""
    from pytest_vbench.dimensions import human_action as H
    from pytest_vbench.runtime import Runtime

    names = H.categories()
    rt = Runtime("cpu", cache)
    model = rt.model("umt")
    tmp = work / "probe"
    files = []
    specs = C.VIDEO_SPECS if not limit else [C.VIDEO_SPECS[i] for i in (0, 2, 4, 1, 3, 5)[:limit]]
    for i, spec in enumerate(specs):
        p = C.write_spec_video(tmp / f"probe-{i}.mp4", spec)
        probs, idx = H.top5(model, H.frames_tensor(p, rt)[None])
        probs, idx = probs[0], idx[0]
        kept = [names[c] for pr, c in zip(probs, idx) if round(pr, 4) >= H.THRESHOLD]
        below = [names[c] for pr, c in zip(probs, idx) if round(pr, 4) < H.THRESHOLD]
        outside = next(n for n in names if n not in [names[c] for c in idx])
        labels = []
        if kept:
            labels.append(kept[-1])           # expected True (lowest kept class)
        if below:
            labels.append(below[0])           # in the top 5 but under the threshold: False
        if i % 2 == 0:
            labels.append(outside)            # outside the top 5: False
        for k, label in enumerate(labels):
            files.append((f"A person is {label}-{i}{k}.mp4", list(spec)))
    return [{"prompt": "human_action", "files": files}]


def full_info(vdir: Path, dim: str, cases: list[dict]) -> list[dict]:
    return [{"prompt_en": c["prompt"], "dimension": [dim],
             "video_list": [str(vdir / name) for name, _ in c["files"]]} for c in cases]


def run_official(python: str, job: dict, work: Path) -> dict:
    jp, op = work / f"job_{job['dimension']}.json", work / f"out_{job['dimension']}.json"
    jp.write_text(json.dumps(job))
    t0 = time.perf_counter()
    proc = subprocess.run([python, str(ROOT / "tools/official_video_text_runner.py"), str(jp), str(op)],
                          capture_output=True, text=True, cwd=str(work))
    if proc.returncode != 0:
        raise SystemExit(f"official run failed for {job['dimension']}:\n{proc.stderr[-4000:]}")
    out = json.loads(op.read_text())
    out["seconds"] = round(time.perf_counter() - t0, 2)
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", choices=["tiny", "full"], default="tiny")
    ap.add_argument("--official", default="/work/vbench-off/bin/python", help="python of the official venv")
    ap.add_argument("--dims", default="temporal_style,overall_consistency,human_action")
    ap.add_argument("--videos", type=int, default=None,
                    help="limit the number of synthetic videos (default: all for tiny, 2 for full)")
    ap.add_argument("--work", default=None, help="work directory (default: a temporary one)")
    ap.add_argument("--write", action="store_true", help="store the references in tests/parity/")
    args = ap.parse_args(argv)

    work = Path(args.work or tempfile.mkdtemp(prefix="parity_vt_"))
    cache, vdir = work / "cache", work / "videos"
    vcfg, ucfg = configs(args.size)
    limit = args.videos if args.videos is not None else (2 if args.size == "full" else None)
    report = {}
    for dim in args.dims.split(","):
        if dim == "human_action":
            variants = [("table", False)] + ([("pos_embed", True)] if args.size == "tiny" else [])
        else:
            variants = [("", None)]
        for variant, pos in variants:
            vd = vdir / (dim + (f"_{variant}" if variant else ""))
            if dim == "human_action":
                C.write_umt(cache, ucfg, SEED, pos_embed=pos)
                cases = human_action_cases(cache, work, limit)
            else:
                C.write_viclip(cache, vcfg, SEED)
                cases = viclip_cases(work, dim, limit)
            hashes = make_videos(vd, cases)
            info = work / f"full_info_{dim}.json"
            info.write_text(json.dumps(full_info(vd, dim, cases)))
            job = {"cache_dir": str(cache), "size": args.size, "dimension": dim, "full_info": str(info),
                   "tiny": ucfg if dim == "human_action" else vcfg}
            if dim == "temporal_style":
                job["texts"] = TOKEN_TEXTS + suite_prompts()
            off = run_official(args.official, job, work)
            t0 = time.perf_counter()
            mine = ours(dim, cache, vd, cases)
            our_seconds = round(time.perf_counter() - t0, 2)
            per_video = {Path(r["video_path"]).name: r for r in off["video_results"]}
            ref_videos = []
            diffs = []
            for case in cases:
                for name, spec in case["files"]:
                    r = per_video[name]
                    entry = {"file": name, "prompt": case["prompt"], "spec": spec, "decoded_sha256_16": hashes[name]}
                    if dim == "human_action":
                        entry.update(top5_probs=r["top5_probs"], top5_indices=r["top5_indices"],
                                     video_results=r["video_results"], cor_num_per_video=r["cor_num_per_video"])
                        m = mine[name]
                        diffs.append(max(abs(a - b) for a, b in zip(m["top5_probs"], r["top5_probs"])))
                        if m["top5_indices"] != r["top5_indices"] or m["video_results"] != r["video_results"]:
                            print(f"  MISMATCH {name}: ours {m} official {r}")
                    else:
                        entry["video_results"] = r["video_results"]
                        diffs.append(abs(mine[name] - r["video_results"]))
                    ref_videos.append(entry)
            key = dim + (f" [{variant}]" if variant else "")
            section = {"checkpoint_seed": SEED, "config": ucfg if dim == "human_action" else vcfg,
                       "official_score": off["score"], "videos": ref_videos, "versions": off["versions"],
                       "official_seconds": off["seconds"], "our_seconds": our_seconds}
            if dim == "human_action":
                section["pos_embed_in_checkpoint"] = pos
                outcomes = [v["video_results"] for v in ref_videos]
                print(f"  {key}: official decisions True={outcomes.count(True)} False={outcomes.count(False)}")
            if "token_ids" in off:
                ids = off["token_ids"]
                n = len(TOKEN_TEXTS)
                section["tokenizer"] = {"context_length": 32, "edge_texts": TOKEN_TEXTS, "edge_ids": ids[:n],
                                        "suite_prompts_sha256": token_digest(ids[n:]), "suite_prompts": len(ids) - n}
                from pytest_vbench.models.clip_tokenizer import bpe_path_for, tokenize
                mine_ids = tokenize(TOKEN_TEXTS + suite_prompts(), 32, bpe_path_for(cache)).tolist()
                print(f"  tokenizer: {'identical' if mine_ids == ids else 'DIFFERENT'} on {len(ids)} texts")
            report[key] = max(diffs)
            print(f"{key} ({args.size}): max abs diff {max(diffs):.3g} over {len(diffs)} videos; "
                  f"official {off['seconds']}s, ours {our_seconds}s")
            if args.write:
                path = ROOT / "tests/parity" / f"{dim}.json"
                data = json.loads(path.read_text()) if path.exists() else {}
                data.setdefault("_about", "official vbench 0.1.5 references; written by tools/parity_video_text.py")
                data[args.size + (f"_{variant}" if variant else "")] = section
                path.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n")
    print(json.dumps(report))


if __name__ == "__main__":
    main()
