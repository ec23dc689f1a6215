"""The checkpoint table and the cache: where each file lives, where it comes from, who needs it.

One row per checkpoint (path relative to the cache root, official source URL, known sha256 or
None, approximate size, the model families using it). :func:`preflight` runs before any item and
names every missing file with the dimensions that need it and the command that fetches it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .dimensions import DIMENSIONS


@dataclass(frozen=True)
class Checkpoint:
    """One file (or directory) in the cache."""

    path: str
    url: str | None
    sha256: str | None
    size: int  # approximate, bytes
    families: tuple[str, ...]


HF = "https://huggingface.co"
CHECKPOINTS: tuple[Checkpoint, ...] = (
    Checkpoint("clip_model/ViT-B-32.pt",
               "https://openaipublic.azureedge.net/clip/models/"
               "40d365715913c9da98579312b702a82c18be219cc2a73407c4526f58eba950af/ViT-B-32.pt",
               "40d365715913c9da98579312b702a82c18be219cc2a73407c4526f58eba950af", 353_976_522, ("clip_b32",)),
    Checkpoint("clip_model/ViT-L-14.pt",
               "https://openaipublic.azureedge.net/clip/models/"
               "b8cca3fd41ae0c99ba7e8951adf17d267cdb84cd88be6f7c2e0eca1737a03836/ViT-L-14.pt",
               "b8cca3fd41ae0c99ba7e8951adf17d267cdb84cd88be6f7c2e0eca1737a03836", 932_768_134, ("clip_l14",)),
    Checkpoint("dino_model/dino_vitbase16_pretrain.pth",
               "https://dl.fbaipublicfiles.com/dino/dino_vitbase16_pretrain/dino_vitbase16_pretrain.pth",
               None, 343_000_000, ("dino",)),
    Checkpoint("aesthetic_model/emb_reader/sa_0_4_vit_l_14_linear.pth",
               "https://github.com/LAION-AI/aesthetic-predictor/raw/main/sa_0_4_vit_l_14_linear.pth",
               None, 3_700, ("aesthetic",)),
    Checkpoint("pyiqa_model/musiq_spaq_ckpt-358bb6af.pth",
               "https://github.com/chaofengc/IQA-PyTorch/releases/download/v0.1-weights/musiq_spaq_ckpt-358bb6af.pth",
               None, 109_000_000, ("musiq",)),  # the file name carries a sha256 *prefix* (358bb6af)
    Checkpoint("amt_model/amt-s.pth", f"{HF}/lalala125/AMT/resolve/main/amt-s.pth", None, 12_000_000, ("amt",)),
    Checkpoint("raft_model/models/raft-things.pth",
               "https://dl.dropboxusercontent.com/s/4j4z58wuv8o0mfz/models.zip", None, 21_000_000, ("raft",)),
    Checkpoint("umt_model/l16_ptk710_ftk710_ftk400_f16_res224.pth",
               f"{HF}/OpenGVLab/VBench_Used_Models/resolve/main/l16_ptk710_ftk710_ftk400_f16_res224.pth",
               None, 1_220_000_000, ("umt",)),
    Checkpoint("ViCLIP/ViClip-InternVid-10M-FLT.pth",
               f"{HF}/OpenGVLab/VBench_Used_Models/resolve/main/ViClip-InternVid-10M-FLT.pth",
               None, 1_700_000_000, ("viclip",)),
    Checkpoint("ViCLIP/bpe_simple_vocab_16e6.txt.gz",
               f"{HF}/OpenGVLab/VBench_Used_Models/resolve/main/bpe_simple_vocab_16e6.txt.gz",
               None, 1_356_917, ("viclip",)),
    Checkpoint("caption_model/tag2text_swin_14m.pth",
               f"{HF}/spaces/xinyu1205/recognize-anything/resolve/main/tag2text_swin_14m.pth",
               None, 4_480_000_000, ("tag2text",)),
    Checkpoint("grit_model/grit_b_densecap_objectdet.pth",
               "https://datarelease.blob.core.windows.net/grit/models/grit_b_densecap_objectdet.pth",
               None, 1_200_000_000, ("grit",)),
)


def for_dimensions(dims: list[str]) -> list[Checkpoint]:
    """The checkpoints the given dimensions need, in table order."""
    families = {f for d in dims for f in DIMENSIONS[d].families}
    return [c for c in CHECKPOINTS if families & set(c.families)]


def dims_needing(ckpt: Checkpoint) -> list[str]:
    """Dimensions that need ``ckpt``."""
    return [d.name for d in DIMENSIONS.values() if set(d.families) & set(ckpt.families)]


def preflight(dims: list[str], cache_dir: Path) -> str | None:
    """A usage-error text naming every missing or empty checkpoint of ``dims``; None when all are there."""
    lines = []
    for c in for_dimensions(dims):
        p = cache_dir / c.path
        if not p.is_file():
            lines.append(f"  missing {p}  (needed by {', '.join(d for d in dims_needing(c) if d in dims)})")
        elif p.stat().st_size == 0:
            lines.append(f"  empty   {p}  (a failed download?; needed by {', '.join(dims_needing(c))})")
    if not lines:
        return None
    dim_list = ",".join(dims)
    return ("vbench: checkpoints are missing from the cache " + str(cache_dir) + ":\n" + "\n".join(lines) +
            f"\nFetch them with:  pytest-vbench download --dims {dim_list} --cache-dir {cache_dir}\n"
            "Offline machine: copy the files to the paths above (same layout as VBench/AISBench caches).")
