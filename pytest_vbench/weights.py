"""The checkpoint table and the cache: where each file lives, where it comes from, how it is trusted.

One row per checkpoint (path relative to the cache root, official source URL, published sha256 or
None, approximate size, the model families using it, where the digest was published). A file is
trusted when its sha256 equals the digest a lock file records for it (``pytest-vbench lock``, a
file you commit), else the published one (for a plain Git file with no published sha256, its Git blob
SHA-1); a row without either is *unpinned* and reported so.

Hashing costs nothing twice: the full sha256 of a file is computed once per (size, mtime, ctime,
inode) and remembered in the cache manifest; every run still checks size and structure.
:func:`preflight` runs before any item and names every missing, damaged or mismatching file with
the dimensions that need it and the (shell-quoted) command that fixes it.
"""

from __future__ import annotations

import hashlib
import json
import os
import shlex
import sys
import threading
import uuid
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .dimensions import DIMENSIONS

MANIFEST = ".pytest-vbench-manifest.json"
LOCK_FILE = "vbench-checkpoints.lock"
LOCK_ENV = "VBENCH_CHECKPOINT_LOCK"
UNOFFICIAL_ENV = "VBENCH_ACCEPT_UNOFFICIAL_CHECKPOINTS"
FAKE_MARKER = "FAKE-CHECKPOINTS.json"  # fake_checkpoints.MARKER: a dry-run cache, accepted (and reported) as fake


@dataclass(frozen=True)
class Checkpoint:
    """One file in the cache and what we know about it."""

    path: str
    url: str | None
    sha256: str | None
    size: int  # approximate, bytes
    families: tuple[str, ...]
    sha256_prefix: str | None = None  # a digest prefix carried by the file name (torch.hub convention)
    archive: str | None = None  # the URL serves a zip holding this member (RAFT's models.zip)
    digest_source: str = ""  # where the pinned sha256 (or Git blob SHA-1) was published
    git_blob_sha1: str | None = None  # a plain Git file with no published sha256: its Git object id

    @property
    def is_torchscript(self) -> bool:
        """OpenAI CLIP files are TorchScript archives (read without TorchScript: models.checkpoint)."""
        return self.path.startswith("clip_model/")

    @property
    def pinned(self) -> bool:
        """True when a published digest (a sha256, or the Git blob SHA-1 of a plain Git file) is known."""
        return self.sha256 is not None or self.git_blob_sha1 is not None


HF = "https://huggingface.co"
_OPENAI = "https://openaipublic.azureedge.net/clip/models/"
CHECKPOINTS: tuple[Checkpoint, ...] = (
    Checkpoint("clip_model/ViT-B-32.pt",
               _OPENAI + "40d365715913c9da98579312b702a82c18be219cc2a73407c4526f58eba950af/ViT-B-32.pt",
               "40d365715913c9da98579312b702a82c18be219cc2a73407c4526f58eba950af", 353_976_522, ("clip_b32",),
               digest_source="the OpenAI download URL (openai/CLIP clip.py checks it)"),
    Checkpoint("clip_model/ViT-L-14.pt",
               _OPENAI + "b8cca3fd41ae0c99ba7e8951adf17d267cdb84cd88be6f7c2e0eca1737a03836/ViT-L-14.pt",
               "b8cca3fd41ae0c99ba7e8951adf17d267cdb84cd88be6f7c2e0eca1737a03836", 932_768_134, ("clip_l14",),
               digest_source="the OpenAI download URL (openai/CLIP clip.py checks it)"),
    Checkpoint("dino_model/dino_vitbase16_pretrain.pth",
               "https://dl.fbaipublicfiles.com/dino/dino_vitbase16_pretrain/dino_vitbase16_pretrain.pth",
               "bf34ad0f424b9029b593e8dc3ed553bf26e88bcba0d32bf3e62a6209cb64c85e", 343_242_485, ("dino",),
               digest_source="Meta publishes none; the Git LFS sha256 of a byte-identical copy, "
                             "huggingface.co/Xiaomabufei/lumos/blob/main/dino_vitbase16_pretrain.pth (343 MB), equal "
                             "to what independent public projects pin for the dl.fbaipublicfiles.com file "
                             "(343,242,485 bytes)"),
    Checkpoint("aesthetic_model/emb_reader/sa_0_4_vit_l_14_linear.pth",
               "https://github.com/LAION-AI/aesthetic-predictor/raw/main/sa_0_4_vit_l_14_linear.pth",
               None, 4_071, ("aesthetic",), git_blob_sha1="d4135b63efbaac587bcb1cdfa02ac082071a5e40",
               digest_source="no sha256 is published; the Git blob id (a SHA-1 of the content) in the tree of "
                             "github.com/LAION-AI/aesthetic-predictor at 6d122ad (file added in 7e37768, 4071 bytes)"),
    Checkpoint("pyiqa_model/musiq_spaq_ckpt-358bb6af.pth",
               "https://github.com/chaofengc/IQA-PyTorch/releases/download/v0.1-weights/musiq_spaq_ckpt-358bb6af.pth",
               "358bb6af275e28ea56821d44fb55c6cb83645db11f394d3ad65b2d149965ab50", 109_000_000, ("musiq",),
               sha256_prefix="358bb6af",
               digest_source="a public VBench-I2V imaging_quality write-up; its first 8 hex digits equal the "
                             "prefix pyiqa's file name carries"),
    Checkpoint("amt_model/amt-s.pth", f"{HF}/lalala125/AMT/resolve/main/amt-s.pth",
               "07e7e03405c213fe4405678db9b42d05671e48c56faf6a441b99bb0047d3cf77", 12_038_359, ("amt",),
               digest_source="the Git LFS pointer of huggingface.co/lalala125/AMT commit 4af6ffb "
                             "(\"Upload amt-s & amt-l\", size 12038359)"),
    Checkpoint("raft_model/models/raft-things.pth",
               "https://dl.dropboxusercontent.com/s/4j4z58wuv8o0mfz/models.zip",
               "fcfa4125d6418f4de95d84aec20a3c5f4e205101715a79f193243c186ac9a7e1", 21_108_000, ("raft",),
               archive="models/raft-things.pth",
               digest_source="the RAFT authors publish none (the zip itself stays unpinned; this is its member); "
                             "the Git LFS sha256 (21.1 MB) of byte-identical copies: "
                             "huggingface.co/RaphaelLiu/EvalCrafter-Models/blob/606f2bd/models/raft-things.pth, "
                             "huggingface.co/Iceclear/MGLD-VSR/blob/591c71a/raft-things.pth, "
                             "huggingface.co/AlonzoLeeeooo/StableV2V/blob/4d3136a/raft-things.pth"),
    Checkpoint("umt_model/l16_ptk710_ftk710_ftk400_f16_res224.pth",
               f"{HF}/OpenGVLab/VBench_Used_Models/resolve/main/l16_ptk710_ftk710_ftk400_f16_res224.pth",
               "bfee78a03bf806fbc0c216309e8f92792011b7db6556fa860e9d869c1e69fecd", 607_024_201, ("umt",),
               digest_source="Git LFS details of huggingface.co/OpenGVLab/VBench_Used_Models/blob/main/"
                             "l16_ptk710_ftk710_ftk400_f16_res224.pth (commit b696240, 607 MB)"),
    Checkpoint("ViCLIP/ViClip-InternVid-10M-FLT.pth",
               f"{HF}/OpenGVLab/VBench_Used_Models/resolve/main/ViClip-InternVid-10M-FLT.pth",
               "7a4d6ad6eac6632db3693f4b97f9f8f6445b65b1e139a6fc6686150522238c56", 1_710_545_812, ("viclip",),
               digest_source="Git LFS details of huggingface.co/OpenGVLab/VBench_Used_Models/blob/83290ee/"
                             "ViClip-InternVid-10M-FLT.pth (commit 4a9f733, 1.71 GB)"),
    Checkpoint("ViCLIP/bpe_simple_vocab_16e6.txt.gz",
               "https://raw.githubusercontent.com/openai/CLIP/main/clip/bpe_simple_vocab_16e6.txt.gz",
               "924691ac288e54409236115652ad4aa250f48203de50a9e4722a6ecd48d6804a", 1_356_917, ("viclip",),
               digest_source="the copies in the published openai-clip and open_clip_torch wheels (identical)"),
    Checkpoint("caption_model/tag2text_swin_14m.pth",
               f"{HF}/spaces/xinyu1205/recognize-anything/resolve/main/tag2text_swin_14m.pth",
               "4ce96f0ce98f940a6680d567f66a38ccc9ca8c4e638e5f5c5c2e881a0e3502ac", 4_478_705_095, ("tag2text",),
               digest_source="the Git LFS pointer (size 4478705095) of huggingface.co/spaces/xinyu1205/"
                             "recognize-anything commit a181c40, the file's last change on main; the same pointer "
                             "is in huggingface.co/xinyu1205/recognize_anything_model commit 2dd9b40"),
    Checkpoint("grit_model/grit_b_densecap_objectdet.pth",
               # VBench's own copy: the Azure original (datarelease.blob.core.windows.net) answers 409 now
               f"{HF}/OpenGVLab/VBench_Used_Models/resolve/main/grit_b_densecap_objectdet.pth",
               "53b6e9b3fd948eac55b574c9b6f94ad0743dff46ba449df7ac2d33009ee92ef1", 417_381_733, ("grit",),
               digest_source="Git LFS details of huggingface.co/OpenGVLab/VBench_Used_Models/blob/main/"
                             "grit_b_densecap_objectdet.pth (commit 83290ee, 417 MB); the same sha256 in the "
                             "independent copies huggingface.co/trimble/GRiT and spaces/Awiny/Image2Paragraph"),
    # the BERT tokenizer files Tag2Text and GRiT need ($VBENCH_BERT_PATH overrides the folder)
    Checkpoint("bert_model/bert-base-uncased/vocab.txt", f"{HF}/bert-base-uncased/resolve/main/vocab.txt",
               "07eced375cec144d27c900241f3e339478dec958f92fddbc551f295c992038a3", 231_508, ("tag2text", "grit"),
               digest_source="not an LFS file, so the Hub shows no sha256; github.com/Bad33/policyproof "
                             "docs/engineering-decisions.md (PP-020, commit 08a9125) pins this sha256 for the "
                             "vocabulary byte-identical to google-bert/bert-base-uncased@86b5e09, and the Git LFS "
                             "details of huggingface.co/Inkdrop/gpl/blob/72d16bb/20000/vocab.txt (232 kB) agree"),
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


def _families(dim: str, optional: bool) -> set[str]:
    d = DIMENSIONS[dim]
    return set(d.families) | (set(d.optional_families) if optional else set())


def for_dimensions(dims: list[str], optional: bool | list[str] = False) -> list[Checkpoint]:
    """The checkpoints the given dimensions need, in table order.

    ``optional``: also the families loaded only in some runs (RAFT for temporal_flickering's static
    filter), for every dimension (True) or for the dimensions listed.
    """
    listed = optional if isinstance(optional, list) else []
    families = {f for d in dims for f in _families(d, optional is True or d in listed)}
    return [c for c in CHECKPOINTS if families & set(c.families)]


def dims_needing(ckpt: Checkpoint, optional: bool = True) -> list[str]:
    """Dimensions that need ``ckpt`` (with ``optional``: also those that load it only in some runs)."""
    return [d for d in DIMENSIONS if _families(d, optional) & set(ckpt.families)]


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


def git_blob_sha1_of(path: Path, chunk: int = 1 << 20) -> str:
    """The Git object id of a file's content (``sha1("blob <size>\\0" + content)``), as a Git tree lists it."""
    h = hashlib.sha1(f"blob {path.stat().st_size}\0".encode(), usedforsecurity=False)
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


def published_mismatch(ckpt: Checkpoint, path: Path, digest: str) -> str | None:
    """What the published digest of ``ckpt`` is when the file (sha256 ``digest``) is not that file, else None."""
    if ckpt.sha256 is not None:
        return None if digest == ckpt.sha256 else f"sha256 {ckpt.sha256}"
    if ckpt.sha256_prefix is not None:
        return None if digest.startswith(ckpt.sha256_prefix) else f"sha256 {ckpt.sha256_prefix}..."
    if ckpt.git_blob_sha1 is not None:
        return None if git_blob_sha1_of(path) == ckpt.git_blob_sha1 else f"Git blob SHA-1 {ckpt.git_blob_sha1}"
    return None


# -- the manifest: download records and remembered digests --------------------------------------------

def read_manifest(cache_dir: Path) -> dict[str, dict[str, Any]]:
    """``{relative path: entry}`` of the cache (empty when absent or unreadable).

    An entry holds ``size``/``sha256`` recorded when the file was downloaded and ``hashed``: the
    digest last computed for the file with its ``stat`` key (size, mtime, ctime, inode).
    """
    try:
        data = json.loads((cache_dir / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict):
        return {}
    return {k: v for k, v in data.items() if isinstance(k, str) and isinstance(v, dict)}


@contextmanager
def _cache_lock(cache_dir: Path) -> Iterator[None]:
    """A cross-process lock on the manifest (``filelock``), held while it is read, changed and replaced."""
    from filelock import FileLock

    with FileLock(str(cache_dir / (MANIFEST + ".lock")), timeout=120):
        yield


def update_manifest(cache_dir: Path, rel: str, fields: dict[str, Any]) -> bool:
    """Merge ``fields`` into the entry of ``rel``: read, change and atomically replace under the lock.

    Returns False when the cache cannot be written (a read-only cache works, it only hashes again).
    """
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        with _cache_lock(cache_dir):
            data = read_manifest(cache_dir)
            data[rel] = {**data.get(rel, {}), **fields}
            tmp = cache_dir / f"{MANIFEST}.{os.getpid()}.{uuid.uuid4().hex[:8]}.part"
            try:
                tmp.write_text(json.dumps(data, indent=2, sort_keys=True), encoding="utf-8")
                os.replace(tmp, cache_dir / MANIFEST)
            finally:
                tmp.unlink(missing_ok=True)
    except OSError:
        return False
    return True


def record_manifest(cache_dir: Path, rel: str, size: int, digest: str, path: Path | None = None) -> None:
    """Record a downloaded file: its size and sha256 (and, with ``path``, the digest's stat key)."""
    fields: dict[str, Any] = {"size": size, "sha256": digest}
    if path is not None:
        fields["hashed"] = {"stat": _stat_key(path), "sha256": digest}
    update_manifest(cache_dir, rel, fields)


def _stat_key(path: Path) -> list[int]:
    st = path.stat()
    return [st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino]


_MEMO: dict[tuple[str, tuple[int, ...]], str] = {}
_MEMO_LOCK = threading.Lock()


def file_digest(ckpt: Checkpoint, cache_dir: Path, *, force: bool = False) -> tuple[str, bool]:
    """``(sha256, computed_now)`` of the cached file, hashed once per (size, mtime, ctime, inode).

    The digest is remembered in this process and in the manifest; ``force`` hashes again. Any
    change to the file (a write, a copy, a restore from a CI cache) changes ctime and so rehashes.
    """
    path = location(ckpt, cache_dir)
    key = tuple(_stat_key(path))
    memo_key = (str(path), key)
    if not force:
        with _MEMO_LOCK:
            if memo_key in _MEMO:
                return _MEMO[memo_key], False
        hashed = read_manifest(cache_dir).get(ckpt.path, {}).get("hashed")
        if isinstance(hashed, dict) and hashed.get("stat") == list(key) and isinstance(hashed.get("sha256"), str):
            with _MEMO_LOCK:
                _MEMO[memo_key] = hashed["sha256"]
            return hashed["sha256"], False
    digest = sha256_of(path)
    with _MEMO_LOCK:
        _MEMO[memo_key] = digest
    update_manifest(cache_dir, ckpt.path, {"hashed": {"stat": list(key), "sha256": digest}})
    return digest, True


# -- the lock file: digests the user committed ----------------------------------------------------

@dataclass(frozen=True)
class LockEntry:
    """One file of a lock file: its size and sha256 (``unofficial``: differs from the published digest)."""

    size: int
    sha256: str
    unofficial: bool = False


class LockFileError(ValueError):
    """A lock file that cannot be read or is malformed."""


def find_lock(start: Path | None = None) -> Path | None:
    """``$VBENCH_CHECKPOINT_LOCK`` if set, else ``<start or cwd>/vbench-checkpoints.lock`` if it exists."""
    env = os.environ.get(LOCK_ENV)
    if env:
        return Path(os.path.expandvars(os.path.expanduser(env)))
    candidate = (start or Path.cwd()) / LOCK_FILE
    return candidate if candidate.is_file() else None


def read_lock(path: Path) -> dict[str, LockEntry]:
    """The entries of a lock file; :class:`LockFileError` names what is wrong with it."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise LockFileError(f"checkpoint lock file {path} cannot be read: {exc}") from None
    files = data.get("files") if isinstance(data, dict) else None
    if not isinstance(files, dict):
        raise LockFileError(f"checkpoint lock file {path} has no \"files\" table")
    out: dict[str, LockEntry] = {}
    for rel, entry in files.items():
        ok = (isinstance(entry, dict) and isinstance(entry.get("size"), int) and isinstance(entry.get("sha256"), str)
              and len(entry["sha256"]) == 64)
        if not ok:
            raise LockFileError(f"checkpoint lock file {path}: malformed entry for {rel}")
        out[rel] = LockEntry(entry["size"], entry["sha256"].lower(), bool(entry.get("unofficial", False)))
    return out


def write_lock(path: Path, entries: dict[str, LockEntry]) -> None:
    """Write a lock file atomically (sorted, one entry per cache-relative path)."""
    files = {rel: {"size": e.size, "sha256": e.sha256, **({"unofficial": True} if e.unofficial else {})}
             for rel, e in sorted(entries.items())}
    text = json.dumps({"version": 1, "files": files}, indent=2) + "\n"
    tmp = path.with_name(f"{path.name}.{os.getpid()}.part")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def _load_lock(lock: Path | None) -> dict[str, LockEntry]:
    return read_lock(lock) if lock is not None else {}


# -- checking one file ----------------------------------------------------------------------------

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


@dataclass(frozen=True)
class Status:
    """What a check found for one file.

    ``state``: missing, corrupt, mismatch (digest differs from the expected one), verified (digest
    equals the lock's or the published one), unpinned (no digest known: size and structure only),
    unofficial (differs, accepted because ``$VBENCH_ACCEPT_UNOFFICIAL_CHECKPOINTS`` is set).
    """

    ckpt: Checkpoint
    path: Path
    state: str
    size: int | None
    source: str  # lock, published, name prefix, git blob, or "" (unpinned)
    detail: str = ""

    @property
    def ok(self) -> bool:
        """True when the file may be loaded."""
        return self.state in ("verified", "unpinned", "unofficial")

    @property
    def pinned(self) -> bool:
        """True when a digest (lock or published) is expected for this file."""
        return bool(self.source)


def _accept_unofficial() -> bool:
    return os.environ.get(UNOFFICIAL_ENV, "").strip().lower() in ("1", "true", "yes")


def check(ckpt: Checkpoint, cache_dir: Path, *, lock: dict[str, LockEntry] | None = None,
          force: bool = False) -> Status:
    """Check one cached file: presence, structure, size, and its sha256 against the lock or the published one.

    The sha256 is computed at most once per (size, mtime, ctime, inode) unless ``force``. Unpinned
    files get size and structure checks (and, with ``force``, the digest recorded at download).
    """
    path = location(ckpt, cache_dir)
    entry = (lock or {}).get(ckpt.path)
    source = ("lock" if entry else "published" if ckpt.sha256 else "name prefix" if ckpt.sha256_prefix
              else "git blob" if ckpt.git_blob_sha1 else "")
    if not path.is_file():
        return Status(ckpt, path, "missing", None, source)  # `list` still says whether the row is pinned
    size = path.stat().st_size
    try:
        sniff(path)
    except CorruptCheckpoint as exc:
        return Status(ckpt, path, "corrupt", size, source, str(exc))
    if entry is not None and entry.size != size:
        return Status(ckpt, path, "mismatch", size, source,
                      f"{path} has {size} bytes, the lock file records {entry.size}")
    if entry is not None and ckpt.sha256 and entry.sha256 != ckpt.sha256 and not entry.unofficial:
        return Status(ckpt, path, "mismatch", size, source,
                      f"the lock file pins {entry.sha256[:16]}... for {ckpt.path} but the published sha256 is "
                      f"{ckpt.sha256[:16]}...; record it again with `pytest-vbench lock`")
    recorded = read_manifest(cache_dir).get(ckpt.path, {})
    if not source:
        if isinstance(recorded.get("size"), int) and recorded["size"] != size:
            return Status(ckpt, path, "corrupt", size, "",
                          f"{path} has {size} bytes, {recorded['size']} were downloaded: truncated or replaced")
        if force and isinstance(recorded.get("sha256"), str):
            digest, _ = file_digest(ckpt, cache_dir, force=True)
            if digest != recorded["sha256"]:
                return Status(ckpt, path, "corrupt", size, "",
                              f"{path} changed since it was downloaded (sha256 {digest[:16]}..., "
                              f"downloaded {recorded['sha256'][:16]}...)")
        return Status(ckpt, path, "unpinned", size, "", "no published digest: run `pytest-vbench lock` to pin it")
    if source == "git blob":  # a few KB: its Git object id is computed on every check
        blob, published = git_blob_sha1_of(path), ckpt.git_blob_sha1 or ""
        if blob == published:
            return Status(ckpt, path, "verified", size, source)
        detail = (f"{path} has Git blob SHA-1 {blob[:16]}..., the published one is {published[:16]}...: "
                  f"not the official file")
    else:
        digest, _ = file_digest(ckpt, cache_dir, force=force)
        want = entry.sha256 if entry else ckpt.sha256
        good = digest == want if want else digest.startswith(ckpt.sha256_prefix or "")
        if good:
            return Status(ckpt, path, "verified", size, source)
        expected = want or f"{ckpt.sha256_prefix}..."
        detail = (f"{path} has sha256 {digest[:16]}..., the {source} digest is {expected[:16]}...: "
                  f"not the official file")
    if _accept_unofficial():
        return Status(ckpt, path, "unofficial", size, source, detail + f" (accepted: ${UNOFFICIAL_ENV} is set)")
    if (Path(cache_dir) / FAKE_MARKER).is_file():
        return Status(ckpt, path, "unofficial", size, source,
                      detail + f" (accepted: a fake cache, {FAKE_MARKER} written by `pytest-vbench fake-cache`)")
    return Status(ckpt, path, "mismatch", size, source, detail)


def verify(ckpt: Checkpoint, cache_dir: Path, full: bool = False, lock: Path | None = None) -> None:
    """Raise :class:`CorruptCheckpoint` unless :func:`check` accepts the file (``full``: hash again)."""
    st = check(ckpt, cache_dir, lock=_load_lock(lock if lock is not None else find_lock()), force=full)
    if st.state == "missing":
        raise CorruptCheckpoint(f"{st.path} is missing")
    if not st.ok:
        raise CorruptCheckpoint(st.detail)


def state(ckpt: Checkpoint, cache_dir: Path) -> str:
    """missing / empty / corrupt / mismatch / verified / unpinned / unofficial, for ``pytest-vbench list``."""
    path = location(ckpt, cache_dir)
    if path.is_file() and path.stat().st_size == 0:
        return "empty"
    return check(ckpt, cache_dir, lock=_load_lock(find_lock())).state


def download_command(dims: list[str], cache_dir: Path) -> str:
    """The exact (shell-quoted) command that fetches what ``dims`` need into ``cache_dir``."""
    return shlex.join(["pytest-vbench", "download", "--dims", ",".join(dims), "--cache-dir", str(cache_dir)])


def preflight(dims: list[str], cache_dir: Path, *, force: bool = False, lock: Path | None = None,
              warn: Callable[[str], None] | None = None, optional: list[str] | None = None) -> str | None:
    """A usage-error text naming every missing, damaged or mismatching checkpoint of ``dims``; None when all are fine.

    ``lock``: the lock file to verify against (default :func:`find_lock`), exported as
    ``$VBENCH_CHECKPOINT_LOCK`` for the loaders; ``force``: hash every file again; ``warn`` receives
    one line per file accepted without the official digest.
    """
    lock = lock if lock is not None else find_lock()
    try:
        entries = _load_lock(lock)
    except LockFileError as exc:
        return f"vbench: {exc}"
    if lock is not None:  # the loaders of this process and of its xdist workers use the same lock file
        os.environ[LOCK_ENV] = str(lock.resolve())
    lines = []
    fake, fake_files = (Path(cache_dir) / FAKE_MARKER).is_file(), 0
    optional = [d for d in optional or [] if d in dims]  # dims whose optional families this run loads
    for c in for_dimensions(dims, optional):
        users = ", ".join(d for d in dims if _families(d, d in optional) & set(c.families))
        st = check(c, cache_dir, lock=entries, force=force)
        if st.state == "missing":
            lines.append(f"  missing  {st.path}  (needed by {users})")
        elif not st.ok:
            lines.append(f"  {st.state:<8} {st.path}  (needed by {users}): {st.detail}; delete it and download again")
        elif st.state == "unofficial" and fake:
            fake_files += 1  # expected in a dry run: one summary line below instead of one per file
        elif st.state == "unofficial":
            (warn or _stderr)(f"vbench: {st.detail}")
    if fake_files:
        (warn or _stderr)(f"vbench: {fake_files} file(s) of the FAKE cache {cache_dir} are not the official "
                          f"ones (accepted: {FAKE_MARKER} written by `pytest-vbench fake-cache`)")
    if not lines:
        return None
    return (f"vbench: checkpoints missing or damaged in the cache {cache_dir}:\n" + "\n".join(lines) +
            f"\nFetch them with:  {download_command(dims, cache_dir)}\n"
            "Offline machine: copy the files to the paths above (the VBench/AISBench cache layout), "
            "or point --vbench-cache-dir / VBENCH_CACHE_DIR at a cache that has them.")


def _stderr(line: str) -> None:
    print(line, file=sys.stderr)
