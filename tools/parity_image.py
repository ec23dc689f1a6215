"""Make the parity references of the image-feature dimensions with the official vbench 0.1.5.

    python tools/parity_image.py --official ../vbench-official/bin/python --dims imaging_quality

For each seed, writes seeded random full-size checkpoints (pytest_vbench.fake_checkpoints) into a
temporary cache, runs tools/run_official.py with the official interpreter on the committed inputs
in tests/parity/videos/image, and stores per-video values plus a fingerprint of the checkpoint in
tests/parity/<dimension>.json. Run it with the project's own environment (it needs pyiqa etc. to
write the checkpoints).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VIDEOS = ROOT / "tests" / "parity" / "videos" / "image"
FAMILY = {"imaging_quality": ["musiq"], "subject_consistency": ["dino"], "background_consistency": ["clip_b32"],
          "appearance_style": ["clip_b32"], "aesthetic_quality": ["clip_l14", "aesthetic"]}
# CLIP references use tiny CLIPs (the official clip.load builds any size from the state dict)
TINY = {"background_consistency", "appearance_style", "aesthetic_quality"}
AUX = {"appearance_style": {"appearance_style": "oil painting"}}
# videos the official code cannot score (it divides by zero on one frame)
SKIP = {"subject_consistency": {"single-0.mp4", "still-0.png"},
        "background_consistency": {"single-0.mp4", "still-0.png"}}


def abs_sum(obj: object) -> float:
    """Sum of |w| over every floating tensor in ``obj``, however deeply nested in dicts, lists, tuples."""
    import torch

    if torch.is_tensor(obj):
        return float(obj.double().abs().sum()) if obj.is_floating_point() else 0.0
    if isinstance(obj, dict):
        return sum((abs_sum(v) for v in obj.values()), 0.0)
    if isinstance(obj, (list, tuple)):
        return sum((abs_sum(v) for v in obj), 0.0)
    return 0.0


def fingerprint(paths: list[Path]) -> float:
    """Sum of |w| over every tensor of the checkpoints, nested containers included (detects a drifted generator).

    Checkpoints that wrap their weights (AMT's ``{"state_dict": ...}``, GRiT's ``{"model": ...}``)
    count fully; a result of 0 means the fingerprint saw no weights and is refused.
    """
    import torch

    from pytest_vbench.models.clip import is_torchscript

    total = 0.0
    for p in paths:
        obj = (torch.jit.load(str(p), map_location="cpu").state_dict() if is_torchscript(p)
               else torch.load(p, map_location="cpu", weights_only=True))
        total += abs_sum(obj)
    if not total > 0:
        raise ValueError(f"fingerprint of {[str(p) for p in paths]} is {total}: no floating weights found")
    return total


def main() -> None:
    sys.path.insert(0, str(ROOT))
    from pytest_vbench import fake_checkpoints

    ap = argparse.ArgumentParser()
    ap.add_argument("--official", required=True, help="python of the official vbench 0.1.5 virtualenv")
    ap.add_argument("--dims", default="imaging_quality")
    ap.add_argument("--seeds", default="0,1")
    ap.add_argument("--dino-hub", help="copy of facebookresearch/dino (subject_consistency); never committed")
    args = ap.parse_args()
    for dim in args.dims.split(","):
        runs = {}
        for seed in map(int, args.seeds.split(",")):
            with tempfile.TemporaryDirectory() as tmp:
                cache, vids = Path(tmp) / "cache", Path(tmp) / "videos"
                vids.mkdir()
                for v in sorted(VIDEOS.iterdir()):
                    if v.name not in SKIP.get(dim, ()):
                        (vids / v.name).symlink_to(v)
                written = [p for fam in FAMILY[dim]
                           for p in fake_checkpoints.write(fam, cache, seed=seed, tiny=dim in TINY)]
                out = Path(tmp) / "out.json"
                extra = ["--aux", json.dumps(AUX[dim])] if dim in AUX else []
                if args.dino_hub:
                    extra += ["--dino-hub", args.dino_hub]
                subprocess.run([args.official, str(ROOT / "tools" / "run_official.py"), "--dimension", dim,
                                "--videos", str(vids), "--cache-dir", str(cache), "--out", str(out), *extra],
                               check=True)
                result = json.loads(out.read_text())
                runs[str(seed)] = {
                    "fingerprint": fingerprint(written),
                    "score": result["score"],
                    "records": [{**{k: v for k, v in r.items() if k != "video_path"},
                                 "video": Path(r["video_path"]).name} for r in result["records"]],
                    "official_seconds": result["seconds"],
                }
                versions = result["versions"]
        ref = {"dimension": dim, "videos": "tests/parity/videos/image", "checkpoints": FAMILY[dim],
               "tiny": dim in TINY, "aux": AUX.get(dim),
               "made_by": "tools/parity_image.py", "versions": versions, "runs": runs}
        path = ROOT / "tests" / "parity" / f"{dim}.json"
        path.write_text(json.dumps(ref, indent=2) + "\n")
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
