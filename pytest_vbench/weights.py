"""The checkpoint table and the cache: where each file lives, where it comes from, who needs it.

One row per checkpoint (path relative to the cache root, official source URL, known sha256 or
None, approximate size, the model families using it). :func:`preflight` runs before any item and
names every missing file with the dimensions that need it and the command that fetches it.
"""

from __future__ import annotations

import hashlib
import json
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path

from .dimensions import DIMENSIONS

MANIFEST = ".pytest-vbench-manifest.json"


@dataclass(frozen=True)
class Checkpoint:
    """One file (or directory) in the cache."""

    path: str
    url: str | None
    sha256: str | None
    size: int  # approximate, bytes
    families: tuple[str, ...]
    sha256_prefix: str | None = None  # a digest prefix carried by the file name (MUSIQ)
    archive: str | None = None  # the URL serves a zip holding this member (RAFT's models.zip)

    @property
    def is_torchscript(self) -> bool:
        """OpenAI CLIP files are TorchScript archives: never loadable with ``weights_only``."""
        return self.path.startswith("clip_model/")


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
               None, 109_000_000, ("musiq",), sha256_prefix="358bb6af"),
    Checkpoint("amt_model/amt-s.pth", f"{HF}/lalala125/AMT/resolve/main/amt-s.pth", None, 12_000_000, ("amt",)),
    Checkpoint("raft_model/models/raft-things.pth",
               "https://dl.dropboxusercontent.com/s/4j4z58wuv8o0mfz/models.zip", None, 21_000_000, ("raft",),
               archive="models/raft-things.pth"),
    Checkpoint("umt_model/l16_ptk710_ftk710_ftk400_f16_res224.pth",
               f"{HF}/OpenGVLab/VBench_Used_Models/resolve/main/l16_ptk710_ftk710_ftk400_f16_res224.pth",
               None, 1_220_000_000, ("umt",)),
    Checkpoint("ViCLIP/ViClip-InternVid-10M-FLT.pth",
               f"{HF}/OpenGVLab/VBench_Used_Models/resolve/main/ViClip-InternVid-10M-FLT.pth",
               None, 1_700_000_000, ("viclip",)),
    Checkpoint("ViCLIP/bpe_simple_vocab_16e6.txt.gz",
               "https://raw.githubusercontent.com/openai/CLIP/main/clip/bpe_simple_vocab_16e6.txt.gz",
               "924691ac288e54409236115652ad4aa250f48203de50a9e4722a6ecd48d6804a", 1_356_917, ("viclip",)),
    Checkpoint("caption_model/tag2text_swin_14m.pth",
               f"{HF}/spaces/xinyu1205/recognize-anything/resolve/main/tag2text_swin_14m.pth",
               None, 4_480_000_000, ("tag2text",)),
    Checkpoint("grit_model/grit_b_densecap_objectdet.pth",
               "https://datarelease.blob.core.windows.net/grit/models/grit_b_densecap_objectdet.pth",
               None, 1_200_000_000, ("grit",)),
    # the BERT tokenizer files Tag2Text and GRiT need ($VBENCH_BERT_PATH overrides the folder)
    Checkpoint("bert_model/bert-base-uncased/vocab.txt", f"{HF}/bert-base-uncased/resolve/main/vocab.txt",
               None, 231_508, ("tag2text", "grit")),
    Checkpoint("bert_model/bert-base-uncased/config.json", f"{HF}/bert-base-uncased/resolve/main/config.json",
               None, 570, ("tag2text", "grit")),
    Checkpoint("bert_model/bert-base-uncased/tokenizer_config.json",
               f"{HF}/bert-base-uncased/resolve/main/tokenizer_config.json", None, 48, ("tag2text", "grit")),
)

BERT_DIR = "bert_model/bert-base-uncased"


def bert_dir(cache_dir: Path) -> Path:
    """The bert-base-uncased folder: ``$VBENCH_BERT_PATH`` or ``<cache>/bert_model/bert-base-uncased``."""
    env = os.environ.get("VBENCH_BERT_PATH")
    return Path(os.path.expandvars(os.path.expanduser(env))) if env else cache_dir / BERT_DIR


def location(ckpt: Checkpoint, cache_dir: Path) -> Path:
    """Where ``ckpt`` lives (the BERT files honour ``$VBENCH_BERT_PATH``)."""
    if ckpt.path.startswith(BERT_DIR + "/"):
        return bert_dir(cache_dir) / ckpt.path[len(BERT_DIR) + 1:]
    return cache_dir / ckpt.path


def for_dimensions(dims: list[str]) -> list[Checkpoint]:
    """The checkpoints the given dimensions need, in table order."""
    families = {f for d in dims for f in DIMENSIONS[d].families}
    return [c for c in CHECKPOINTS if families & set(c.families)]


def dims_needing(ckpt: Checkpoint) -> list[str]:
    """Dimensions that need ``ckpt``."""
    return [d.name for d in DIMENSIONS.values() if set(d.families) & set(ckpt.families)]


def by_path(path: str) -> Checkpoint:
    """The table row of a cache-relative path."""
    for c in CHECKPOINTS:
        if c.path == path:
            return c
    raise KeyError(path)


def sha256_of(path: Path, chunk: int = 1 << 20) -> str:
    """Hex sha256 of a file, streamed."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


def read_manifest(cache_dir: Path) -> dict:
    """``{relative path: {"size", "sha256"}}`` recorded at first download (empty when absent or unreadable)."""
    try:
        data = json.loads((cache_dir / MANIFEST).read_text(encoding="utf-8"))
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


def record_manifest(cache_dir: Path, rel: str, size: int, digest: str) -> None:
    """Add one file to the manifest (atomic rewrite)."""
    data = read_manifest(cache_dir)
    data[rel] = {"size": size, "sha256": digest}
    tmp = cache_dir / (MANIFEST + f".{os.getpid()}.part")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True), encoding="utf-8")
    os.replace(tmp, cache_dir / MANIFEST)


class CorruptCheckpoint(ValueError):
    """A checkpoint file that exists but cannot be what it should be."""


def sniff(path: Path, suffix: str | None = None) -> None:
    """Cheap structural checks: not empty, not an HTML/text error page, a readable torch archive.

    A torch (>= 1.6) ``.pth``/``.pt`` file is a zip whose central directory sits at the end, so a
    truncated download fails to open; older pickled files start with a pickle protocol byte.
    """
    size = path.stat().st_size
    if size == 0:
        raise CorruptCheckpoint(f"{path} is empty (0 bytes)")
    with open(path, "rb") as fh:
        head = fh.read(512)
    lowered = head.lstrip().lower()
    suffix = path.suffix if suffix is None else suffix
    # JSON files (the BERT config/tokenizer_config) legitimately start with '{"'
    json_page = lowered.startswith(b"{\"") and suffix != ".json"
    if json_page or lowered.startswith((b"<!doctype", b"<html", b"<?xml", b"error", b"<head")):
        raise CorruptCheckpoint(f"{path} is an HTML/text page ({head[:60]!r}...), not a checkpoint: the "
                                f"download was redirected to an error or login page")
    if suffix in (".pth", ".pt", ".zip"):
        if zipfile.is_zipfile(path):
            try:
                with zipfile.ZipFile(path) as zf:
                    names = zf.namelist()
            except (zipfile.BadZipFile, OSError) as exc:
                raise CorruptCheckpoint(f"{path} is a damaged archive ({exc})") from None
            if not names:
                raise CorruptCheckpoint(f"{path} is an empty archive")
        elif head[:1] != b"\x80":
            raise CorruptCheckpoint(f"{path} is neither a torch zip archive nor a pickle: truncated or corrupt")
        elif suffix == ".zip":
            raise CorruptCheckpoint(f"{path} is truncated (no zip central directory)")


def verify(ckpt: Checkpoint, cache_dir: Path, full: bool = False) -> None:
    """Raise :class:`CorruptCheckpoint` when the cached file is damaged or differs from what we know.

    Always: :func:`sniff`, and the size recorded in the manifest. With ``full``: the sha256 (known
    digest, file-name prefix, or the manifest's).
    """
    path = location(ckpt, cache_dir)
    sniff(path)
    known = read_manifest(cache_dir).get(ckpt.path)
    if known and known.get("size") not in (None, path.stat().st_size):
        raise CorruptCheckpoint(f"{path} has {path.stat().st_size} bytes, the manifest recorded "
                                f"{known['size']}: truncated or replaced")
    if full:
        digest = sha256_of(path)
        want = ckpt.sha256 or (known or {}).get("sha256")
        if want and digest != want:
            raise CorruptCheckpoint(f"{path} has sha256 {digest[:16]}..., expected {want[:16]}...")
        if ckpt.sha256_prefix and not digest.startswith(ckpt.sha256_prefix):
            raise CorruptCheckpoint(f"{path} has sha256 {digest[:16]}..., its name says {ckpt.sha256_prefix}")


def state(ckpt: Checkpoint, cache_dir: Path) -> str:
    """present / missing / empty / corrupt, for ``pytest-vbench list`` (no hashing)."""
    path = location(ckpt, cache_dir)
    if not path.is_file():
        return "missing"
    if path.stat().st_size == 0:
        return "empty"
    try:
        verify(ckpt, cache_dir)
    except CorruptCheckpoint:
        return "corrupt"
    return "present"


def download_command(dims: list[str], cache_dir: Path) -> str:
    """The exact command that fetches what ``dims`` need into ``cache_dir``."""
    return f"pytest-vbench download --dims {','.join(dims)} --cache-dir {cache_dir}"


def preflight(dims: list[str], cache_dir: Path) -> str | None:
    """A usage-error text naming every missing or damaged checkpoint of ``dims``; None when all are fine."""
    lines = []
    for c in for_dimensions(dims):
        p = location(c, cache_dir)
        users = ", ".join(d for d in dims_needing(c) if d in dims)
        if not p.is_file():
            lines.append(f"  missing  {p}  (needed by {users})")
            continue
        try:
            verify(c, cache_dir)
        except CorruptCheckpoint as exc:
            lines.append(f"  corrupt  {p}  (needed by {users}): {exc}; delete it and download again")
    if not lines:
        return None
    return (f"vbench: checkpoints missing or damaged in the cache {cache_dir}:\n" + "\n".join(lines) +
            f"\nFetch them with:  {download_command(dims, cache_dir)}\n"
            "Offline machine: copy the files to the paths above (the VBench/AISBench cache layout), "
            "or point --vbench-cache-dir / VBENCH_CACHE_DIR at a cache that has them.")
