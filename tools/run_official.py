"""Run one dimension of the OFFICIAL vbench 0.1.5 on given videos and write its output as JSON.

Run with the Python of a separate virtualenv that has ``vbench==0.1.5`` (see tools/README.md);
never with the project's environment. Nothing here copies VBench code: it builds the inputs the
official ``compute_<dimension>`` functions expect and calls them.

    $OFFICIAL/bin/python tools/run_official.py --dimension temporal_flickering \
        --videos tests/parity/videos/temporal_flickering --out out.json [--cache-dir DIR]

The videos are listed as one prompt entry per file (prompt = file name rule of custom mode), or as
given by ``--full-info`` (a VBench_full_info-style JSON whose entries may already carry
``video_list``). Output: ``{"dimension", "score", "records", "versions", "seconds"}``.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import re
import sys
import tempfile
import time
from importlib import metadata
from pathlib import Path

#: the GRiT dimensions: the official code builds the model with detectron2 (built from source in the side venv)
GRIT_DIMENSIONS = ("object_class", "multiple_objects", "color", "spatial_relationship")


def submodules_for(dimension: str, cache: Path) -> dict:
    """The ``submodules_dict`` entry ``vbench.utils.init_submodules`` builds, pointing at ``cache``."""
    c = str(cache)
    table = {
        "temporal_flickering": [],
        "background_consistency": [f"{c}/clip_model/ViT-B-32.pt", False],
        "aesthetic_quality": [f"{c}/clip_model/ViT-L-14.pt", f"{c}/aesthetic_model/emb_reader"],
        "imaging_quality": {"model_path": f"{c}/pyiqa_model/musiq_spaq_ckpt-358bb6af.pth"},
        "appearance_style": {"name": f"{c}/clip_model/ViT-B-32.pt"},
        "motion_smoothness": {"config": None, "ckpt": f"{c}/amt_model/amt-s.pth"},
        "dynamic_degree": {"model": f"{c}/raft_model/models/raft-things.pth", "small": False,
                           "mixed_precision": False, "alternate_corr": False},
        "human_action": [f"{c}/umt_model/l16_ptk710_ftk710_ftk400_f16_res224.pth"],
        "temporal_style": {"pretrain": f"{c}/ViCLIP/ViClip-InternVid-10M-FLT.pth"},
        "overall_consistency": {"pretrain": f"{c}/ViCLIP/ViClip-InternVid-10M-FLT.pth"},
        "scene": {"pretrained": f"{c}/caption_model/tag2text_swin_14m.pth", "image_size": 384, "vit": "swin_b"},
        "subject_consistency": {"repo_or_dir": f"{c}/dino_model/facebookresearch_dino_main/",
                                "path": f"{c}/dino_model/dino_vitbase16_pretrain.pth",
                                "model": "dino_vitb16", "source": "local", "read_frame": False},
    }
    for grit in GRIT_DIMENSIONS:
        table[grit] = {"model_weight": f"{c}/grit_model/grit_b_densecap_objectdet.pth"}
    if dimension not in table:
        raise SystemExit(f"run_official.py: no submodule recipe for {dimension}")
    entry = table[dimension]
    if dimension == "motion_smoothness":
        import vbench

        entry["config"] = str(Path(vbench.__file__).parent / "third_party/amt/cfgs/AMT-S.yaml")
    return entry


def full_info_for(dimension: str, videos: list[Path], aux: dict | None = None) -> list[dict]:
    """One entry per video: prompt from the file name (stem minus a trailing -<digits>), optional aux info."""
    entries = []
    for v in videos:
        prompt = re.sub(r"-\d+$", "", Path(v.name).stem)
        entry = {"prompt_en": prompt, "dimension": [dimension], "video_list": [str(v)]}
        if aux is not None:
            entry["auxiliary_info"] = {dimension: aux}
        entries.append(entry)
    return entries


def offline_bert(cache: Path, tmp: Path) -> None:
    """vbench 0.1.5's Tag2Text asks transformers for the hub name ``bert-base-uncased`` (tokenizer and the
    tag head's ``BertModel.from_pretrained``), its GRiT for the tokenizer only: expose ``<cache>/bert_model/bert-base-uncased`` under that
    name through a throw-away offline hub cache. The tag head's weights all come from the Tag2Text
    checkpoint, so an empty ``pytorch_model.bin`` satisfies ``from_pretrained``."""
    import torch

    bert = cache / "bert_model" / "bert-base-uncased"
    snap = tmp / "hf" / "hub" / "models--bert-base-uncased" / "snapshots" / ("0" * 40)
    snap.mkdir(parents=True)
    (snap.parents[1] / "refs").mkdir()
    (snap.parents[1] / "refs" / "main").write_text("0" * 40)
    for f in bert.iterdir():
        (snap / f.name).symlink_to(f.resolve())
    if not (snap / "pytorch_model.bin").exists():
        torch.save({}, snap / "pytorch_model.bin")
    os.environ.update(HF_HOME=str(tmp / "hf"), HF_HUB_CACHE=str(tmp / "hf" / "hub"), HF_HUB_OFFLINE="1",
                      TRANSFORMERS_OFFLINE="1")


def versions() -> dict:
    out = {"python": sys.version.split()[0]}
    for dist in ("vbench", "torch", "torchvision", "numpy", "opencv-python", "opencv-python-headless",
                 "decord", "pyiqa", "timm", "transformers", "openai-clip", "Pillow", "detectron2"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            pass
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dimension", required=True)
    ap.add_argument("--videos", required=True, help="a directory of videos (sorted by name) or one file")
    ap.add_argument("--full-info", help="JSON entries with video_list (overrides the per-file entries)")
    ap.add_argument("--cache-dir", default=os.environ.get("VBENCH_CACHE_DIR", ""))
    ap.add_argument("--out", required=True)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--dino-hub", help="a copy of the facebookresearch/dino repository (subject_consistency); "
                                       "default <cache>/dino_model/facebookresearch_dino_main")
    ap.add_argument("--aux", help="JSON auxiliary_info[dimension] given to every entry, e.g. "
                                  "'{\"appearance_style\": \"oil painting\"}'")
    args = ap.parse_args()
    # vbench.utils reads VBENCH_CACHE_DIR at import time (the ViCLIP vocabulary, the bert folder)
    if args.cache_dir:
        os.environ["VBENCH_CACHE_DIR"] = str(Path(args.cache_dir).resolve())

    import torch

    torch.set_num_threads(args.threads)
    vpath = Path(args.videos)
    videos = sorted(vpath.iterdir()) if vpath.is_dir() else [vpath]
    aux = json.loads(args.aux) if args.aux else None
    entries = (json.loads(Path(args.full_info).read_text()) if args.full_info
               else full_info_for(args.dimension, videos, aux))
    with tempfile.TemporaryDirectory() as tmp:
        if args.dimension == "scene" or args.dimension in GRIT_DIMENSIONS:
            # before transformers is imported: it reads the hub paths at import
            offline_bert(Path(args.cache_dir), Path(tmp))
        if args.dimension == "scene":
            # vbench/scene.py calls generate() without torch.no_grad(): the autograd graph of Swin-B, the tag
            # head and the tag encoder for 16 frames takes ~18 GB on the CPU (OOM here). Disabling autograd
            # changes no value; it lowers the official side's memory and time, never ours.
            torch.set_grad_enabled(False)
        module = importlib.import_module(f"vbench.{args.dimension}")
        compute = getattr(module, f"compute_{args.dimension}")
        subs = submodules_for(args.dimension, Path(args.cache_dir))
        if args.dimension == "subject_consistency":
            # DINO's hub entry fetches its weights with load_state_dict_from_url: serve our file from a
            # private TORCH_HOME so nothing is downloaded
            if args.dino_hub:
                subs["repo_or_dir"] = args.dino_hub
            ckdir = Path(tmp) / "torch_home" / "hub" / "checkpoints"
            ckdir.mkdir(parents=True)
            (ckdir / "dino_vitbase16_pretrain.pth").symlink_to(Path(subs["path"]).resolve())
            os.environ["TORCH_HOME"] = str(Path(tmp) / "torch_home")
        info = Path(tmp) / "full_info.json"
        info.write_text(json.dumps(entries))
        t0 = time.perf_counter()
        score, records = compute(str(info), torch.device("cpu"), subs)
        seconds = time.perf_counter() - t0
    out = {"dimension": args.dimension, "score": float(score), "records": records, "versions": versions(),
           "seconds": seconds}
    Path(args.out).write_text(json.dumps(out, indent=2, default=float))
    print(json.dumps({"score": out["score"], "records": len(records), "seconds": round(seconds, 3)}))


if __name__ == "__main__":
    main()
