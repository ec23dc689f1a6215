"""Tiny-config official references for subject_consistency and imaging_quality (fast test tier).

The official ``compute_subject_consistency`` always builds the full-size DINO ViT-B/16 through
``torch.hub`` and ``compute_imaging_quality`` the full-size MUSIQ; their per-video arithmetic lives in
``vbench.subject_consistency.subject_consistency(model, video_list, device, read_frame)`` and
``vbench.imaging_quality.technical_quality(model, video_list, device, **kwargs)``, which take any
model. This script builds the official model code with tiny configs and runs those functions:

* DINO: DINO's OWN ``vision_transformer.VisionTransformer`` (the facebookresearch/dino hub copy VBench
  loads), strict ``load_state_dict`` of ``tests/seeded_checkpoints.py:write_tiny_dino``; also the
  raw class-token features of a few frames (official ``load_video`` + ``dino_transform``), so tests
  check the features themselves, not only cosines that push towards 1.
* MUSIQ: pyiqa's ``MUSIQ(pretrained_model_path=...)`` (pyiqa's own loading, as VBench) with a tiny
  config, ``model.training = False`` as VBench; every preprocessing mode on the inputs that it changes.

Inputs: the committed tests/parity/videos/image plus a generated 600x840 PNG (write_large_png) and, for
the DINO features only, a generated 240x250 PNG (224x233 after T-dino: square grid, non-square pixels).

    python tools/parity_dino_musiq.py [--official /work/vbench-official/bin/python] \
        [--dino-repo /work/dino_hub/facebookresearch_dino_main]

Run it with the project's environment; it re-invokes itself with the official interpreter
(``--worker``). Output: tests/parity/subject_consistency_tiny.json, tests/parity/imaging_quality_tiny.json.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VIDEOS = ROOT / "tests" / "parity" / "videos" / "image"
PARITY = ROOT / "tests" / "parity"
SEEDS = (0, 1, 2)
LARGE = "large600x840-0.png"  # generated, not committed
NEAR_SQUARE = "nearsquare240x250-0.png"  # generated: 224x233 after T-dino, a 14x14 grid on a non-square frame
ONE_FRAME = {"single-0.mp4", "still-0.png", LARGE, NEAR_SQUARE}  # subject_consistency: the official code divides by zero
FEATURE_FRAMES = (0, 1, -1)
TINY_DINO = dict(patch_size=16, embed_dim=128, depth=2, num_heads=2, mlp_ratio=4)
TINY_MUSIQ = dict(hidden_size=64, mlp_dim=96, num_layers=2, num_heads=1, num_class=1)
MODES = ("longer", "shorter", "shorter_centercrop", "None")
MODE_VIDEOS = {"longer": None, "shorter": (LARGE, "large360x640-0.mp4"),  # None = every input
               "shorter_centercrop": (LARGE, "wide320x512-0.mp4"), "None": (LARGE, "still-0.png")}


def inputs(tmp: Path) -> Path:
    """A folder with the committed inputs plus the generated large PNG."""
    sys.path.insert(0, str(ROOT / "tests"))
    from synthetic import write_large_png

    folder = tmp / "inputs"
    shutil.copytree(VIDEOS, folder)
    write_large_png(folder / LARGE)
    write_large_png(folder / NEAR_SQUARE, 240, 250)
    return folder


def worker_dino(args) -> dict:
    from functools import partial

    import torch
    from torch import nn

    sys.path.insert(0, args.dino_repo)
    import vision_transformer as vits  # DINO's own model code, as torch.hub loads it
    from vbench.subject_consistency import subject_consistency
    from vbench.utils import dino_transform, load_video

    model = vits.VisionTransformer(num_classes=0, qkv_bias=True, norm_layer=partial(nn.LayerNorm, eps=1e-6),
                                   **TINY_DINO)
    model.load_state_dict(torch.load(args.checkpoint, map_location="cpu"), strict=True)
    model.eval()
    videos = sorted(p for p in Path(args.videos).iterdir() if p.name not in ONE_FRAME)
    score, records = subject_consistency(model, [str(v) for v in videos], "cpu", False)
    out = {"score": score, "records": [], "features": {}}
    for v, rec in zip(videos, records):
        out["records"].append({"video": v.name, "video_results": rec["video_results"]})
        images = dino_transform(224)(load_video(str(v)))
        with torch.no_grad():
            out["features"][v.name] = {str(i): model(images[i].unsqueeze(0))[0].tolist() for i in FEATURE_FRAMES}
    images = dino_transform(224)(load_video(str(Path(args.videos) / NEAR_SQUARE)))  # features only
    with torch.no_grad():
        out["features"][NEAR_SQUARE] = {"0": model(images[0].unsqueeze(0))[0].tolist()}
    return out


def worker_musiq(args) -> dict:
    from pyiqa.archs.musiq_arch import MUSIQ
    from vbench.imaging_quality import technical_quality

    model = MUSIQ(pretrained_model_path=args.checkpoint, **TINY_MUSIQ)
    model.training = False  # exactly what compute_imaging_quality does
    out = {}
    for mode in MODES:
        names = MODE_VIDEOS[mode] or sorted(p.name for p in Path(args.videos).iterdir() if p.name != NEAR_SQUARE)
        score, records = technical_quality(model, [str(Path(args.videos) / n) for n in names], "cpu",
                                           imaging_quality_preprocessing_mode=mode)
        out[mode] = {"score": score, "records": [{"video": n, "video_results": r["video_results"]}
                                                 for n, r in zip(names, records)]}
    return out


def worker(args) -> None:
    """Runs inside the official venv."""
    import torch

    torch.set_num_threads(1)
    out = worker_dino(args) if args.family == "dino" else worker_musiq(args)
    Path(args.out).write_text(json.dumps(out))


def driver(args) -> None:
    sys.path.insert(0, str(ROOT / "tests"))
    from pytest_vbench import fake_checkpoints

    from seeded_checkpoints import write_tiny_dino

    def write_tiny_musiq(cache: Path, seed: int) -> Path:
        return fake_checkpoints.write("musiq", cache, seed=seed, tiny=True)[0]

    versions = json.loads(subprocess.run(
        [args.official, "-c", "import json; from importlib import metadata as m; print(json.dumps({p: m.version(p) "
         "for p in ('vbench', 'torch', 'torchvision', 'numpy', 'decord', 'Pillow', 'pyiqa', 'timm')}))"],
        capture_output=True, text=True, check=True).stdout)
    common = {"videos": "tests/parity/videos/image + write_large_png(large600x840-0.png)",
              "made_by": "tools/parity_dino_musiq.py", "versions": versions}
    refs = {
        "dino": dict(common, dimension="subject_consistency", tiny=TINY_DINO, feature_frames=list(FEATURE_FRAMES),
                     checkpoints="tests/seeded_checkpoints.py:write_tiny_dino(cache, seed)",
                     model_code="facebookresearch/dino vision_transformer.VisionTransformer (the hub copy VBench loads)",
                     runs={}),
        "musiq": dict(common, dimension="imaging_quality", tiny=TINY_MUSIQ,
                      checkpoints="pytest_vbench.fake_checkpoints.write('musiq', cache, seed=seed, tiny=True)",
                      model_code="pyiqa.archs.musiq_arch.MUSIQ(pretrained_model_path=...), training=False",
                      runs={}),
    }
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        folder = inputs(tmp)
        for family, write in (("dino", write_tiny_dino), ("musiq", write_tiny_musiq)):
            if args.only and family != args.only:
                refs.pop(family)
                continue
            for seed in SEEDS:
                ckpt = write(tmp / f"{family}{seed}", seed)
                out = tmp / f"{family}{seed}.json"
                proc = subprocess.run([args.official, __file__, "--worker", "--family", family, "--checkpoint",
                                       str(ckpt), "--dino-repo", args.dino_repo, "--videos", str(folder), "--out",
                                       str(out)], stderr=subprocess.PIPE, text=True)
                if proc.returncode:
                    sys.exit(f"official worker failed ({family}, seed {seed}):\n{proc.stderr[-3000:]}")
                refs[family]["runs"][str(seed)] = json.loads(out.read_text())
    for ref in refs.values():
        path = PARITY / f"{ref['dimension']}_tiny.json"
        path.write_text(json.dumps(ref, indent=1) + "\n")
        print(f"wrote {path}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--official", default="/work/vbench-official/bin/python")
    ap.add_argument("--dino-repo", default="/work/dino_hub/facebookresearch_dino_main")
    ap.add_argument("--worker", action="store_true")
    ap.add_argument("--family", choices=("dino", "musiq"))
    ap.add_argument("--only", choices=("dino", "musiq"), help="remake one family's references only")
    ap.add_argument("--checkpoint")
    ap.add_argument("--videos")
    ap.add_argument("--out")
    args = ap.parse_args()
    worker(args) if args.worker else driver(args)


if __name__ == "__main__":
    main()
