"""The VQA snapshots as checkpoint rows: which hub files ``vqa_model/<name>/`` holds, at which commit, and their digests.

Each known model (:data:`pytest_vbench.models.vqa.MODELS`) has a :class:`Snapshot`: its hub repository,
the revision ``pytest-vbench download`` fetches (a commit where one was found published, else
``main``), the files the backend reads, and for the files whose sha256 was found published, the size (0
where none was published) and digest: a file without one is unpinned (size and structure checks, or the
lock file). The weight shards are the ones ``model.safetensors.index.json`` names: known up front where
the index is pinned, otherwise read from the downloaded index. :func:`rows` turns a snapshot into
:class:`pytest_vbench.weights.Checkpoint` rows (path ``vqa_model/<name>/<file>``), so that the
download, the lock file, ``pytest-vbench list`` and the preflight treat them like every other
checkpoint. Torch-free.
"""

from __future__ import annotations

import json
import shlex
import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ... import weights

INDEX = "model.safetensors.index.json"
SINGLE = "model.safetensors"

#: the files each backend reads (besides the weights): see pytest_vbench.models.vqa._NEEDED*
_FILES = {
    "qwen2_5_vl": ("config.json", "generation_config.json", "preprocessor_config.json", "chat_template.json",
                   "tokenizer.json", "tokenizer_config.json"),
    "llava_onevision": ("config.json", "tokenizer.json", "tokenizer_config.json"),
    "internvl": ("config.json", "tokenizer.json", "tokenizer_config.json"),
}

#: files fetched when the repository has them (a 404 is not a failure): LLaVA-OneVision applies the
#: generation_config.json of its folder when there is one (its repetition penalty, if any)
_OPTIONAL = {"llava_onevision": ("generation_config.json",)}

_QWEN7_SOURCE = ("published manifests of Qwen/Qwen2.5-VL-7B-Instruct at this commit in several public "
                 "GitHub repositories (file lists with size and sha256; the shards' digests also appear as "
                 "the blob names of Hugging Face cache trees and as the hub's LFS sha256)")

_QWEN3_SOURCE = ("published manifests of Qwen/Qwen2.5-VL-3B-Instruct at this commit in several public GitHub "
                 "repositories, agreeing file by file: the MODEL_HASHES of a VLM-R1 curriculum evaluator, "
                 "the base files of a Transformers/PEFT preparation recipe "
                 "(qwen25_vl_3b_floorplan_grpo_recipe), and a DDL-X Track 3 asset manifest (sizes and sha256 of "
                 "config, preprocessor, tokenizer and shards). The shards' digests also appear as the blob names of "
                 "a published Hugging Face cache tree of this commit and as the hub's LFS sha256 in an MM-003 "
                 "protocol (with their sizes). chat_template.json and tokenizer.json are byte-identical to "
                 "Qwen2.5-VL-7B's (same published sha256, and the same Git blob ids in that cache tree). Sizes of "
                 "generation_config.json and the index: none published (0)")
_LLAVA05_SOURCE = ("published manifests of llava-hf/llava-onevision-qwen2-0.5b-ov-hf at this commit in public "
                   "GitHub repositories: model.safetensors (1,787,445,680 bytes) in a DeploySharp model-acquisition "
                   "guide pinned to this revision (audited against the hub's LFS sha256) and in the "
                   "MODEL_FILE_SHA256 of a High-Motion v2 reproduction guide pinned to it; the same sha256 in a "
                   "HERMES deployment note, the same size in a LLaVA DocVQA write-up at this revision. "
                   "tokenizer.json and generation_config.json (with sizes) in both the DeploySharp guide and the "
                   "High-Motion guide. config.json and tokenizer_config.json: ONE source only (the High-Motion "
                   "guide's MODEL_FILE_SHA256, which checks them after snapshot_download at this revision), no "
                   "size published (0)")


@dataclass(frozen=True)
class Snapshot:
    """One hub snapshot: where it comes from and what is known about its files."""

    name: str
    repo: str
    backend: str  # config.json model_type
    revision: str = "main"  # a commit where one was found published
    weights: str = INDEX  # INDEX (sharded) or SINGLE
    pins: dict[str, tuple[int, str]] = field(default_factory=dict)  # file -> (size or 0 if none published, sha256)
    digest_source: str = ""
    revision_source: str = ""

    @property
    def files(self) -> tuple[str, ...]:
        """The files fetched before the shards (the index, or the single weights file, last)."""
        return _FILES[self.backend] + _OPTIONAL.get(self.backend, ()) + (self.weights,)

    def optional(self, file: str) -> bool:
        """Whether ``file`` may be absent from the repository."""
        return file in _OPTIONAL.get(self.backend, ())

    def url(self, file: str) -> str:
        """The hub URL of ``file`` at the pinned revision (``$HF_ENDPOINT`` applies at download time)."""
        return f"{weights.HF}/{self.repo}/resolve/{self.revision}/{file}"


SNAPSHOTS: dict[str, Snapshot] = {s.name: s for s in (
    Snapshot("qwen2.5-vl-3b", "Qwen/Qwen2.5-VL-3B-Instruct", "qwen2_5_vl",
             revision="66285546d2b821cf421d4f5eb2576359d3770cd3",
             pins={
                 "config.json": (1_373, "7ed3eed5be6924cc800e8a5e53fc405c1aab1aaf36bad65c33403b36c56827f5"),
                 "generation_config.json": (0, "533f191cc257b7de37a4fccd0a7a1706d75e1aa660f93efaa54e5a2a9f9aace9"),
                 "preprocessor_config.json": (350,
                                              "f2058c716eef96ccaed1cc1e2d0c08306b62586d535b28d9d08e691b2fab7ca0"),
                 "chat_template.json": (1_050, "ad60d90252ed0b0705ba14e2d0ad0fec0beac1ea955642b54059b36052d8bc96"),
                 "tokenizer.json": (7_031_645, "c0382117ea329cdf097041132f6d735924b697924d6f6fc3945713e96ce87539"),
                 "tokenizer_config.json": (5_702, "4abd3520120e266da84c0864fee064d1fb10806f02225911a47253dd38dc5f56"),
                 INDEX: (0, "c7dd78a4c6bea60b51332f1baf37b8f8124ecab2c35395a29a29825bf2619768"),
                 "model-00001-of-00002.safetensors": (
                     3_982_649_232, "41a8895c164b4d32bae6b302f4603fcbc1797f32dafa45c7e9bcda23c6755df8"),
                 "model-00002-of-00002.safetensors": (
                     3_526_688_744, "365531ff8752420e89dee707b79d021fb2d6e25abafe486f080555a4fe6972e4"),
             },
             digest_source=_QWEN3_SOURCE,
             revision_source="pinned revisions and Hugging Face cache snapshot paths in many public repositories"),
    Snapshot("qwen2.5-vl-7b", "Qwen/Qwen2.5-VL-7B-Instruct", "qwen2_5_vl",
             revision="cc594898137f460bfe9f0759e9844b3ce807cfb5",
             pins={
                 "config.json": (1_374, "77d9ec7321cc572e3579e2c84799c9cadaded63c49ce93b101733349fc330c43"),
                 "generation_config.json": (216, "0a3aea82869fe29f20dc95ccf3e2bcff380eca1f5ad6447a4a4b37110b08e43e"),
                 "preprocessor_config.json": (350,
                                              "f2058c716eef96ccaed1cc1e2d0c08306b62586d535b28d9d08e691b2fab7ca0"),
                 "chat_template.json": (1_050, "ad60d90252ed0b0705ba14e2d0ad0fec0beac1ea955642b54059b36052d8bc96"),
                 "tokenizer.json": (7_031_645, "c0382117ea329cdf097041132f6d735924b697924d6f6fc3945713e96ce87539"),
                 "tokenizer_config.json": (5_702, "4abd3520120e266da84c0864fee064d1fb10806f02225911a47253dd38dc5f56"),
                 INDEX: (57_619, "73b333b0b16e5286ddba615d2caebcd495cf7e616f52eb217a81781393d79de9"),
                 "model-00001-of-00005.safetensors": (
                     3_900_233_256, "e97b877e47fde53a6c6e77aafb36e58e91ee9d95c4a3eeac6f1b5c0e6a1c986e"),
                 "model-00002-of-00005.safetensors": (
                     3_864_726_320, "a9a300a43b4724eee2abe7c18ceb26768d0ab011eb0cad19d9bfd2476a24d024"),
                 "model-00003-of-00005.safetensors": (
                     3_864_726_424, "111223d173e00bbee81cba1216fad28668df3476706b7fd26f4d5b50f8b3a507"),
                 "model-00004-of-00005.safetensors": (
                     3_864_733_680, "ef47f634fa57d46ee134edcc09f34085a47da1e16c12a2abe0d67118be6d72ed"),
                 "model-00005-of-00005.safetensors": (
                     1_089_994_880, "0c859795ad3a627a9b95bcb762e059d5b768a4a36fdd4affeff269d93fdecc67"),
             },
             digest_source=_QWEN7_SOURCE,
             revision_source="the same manifests, and Hugging Face cache snapshot paths in public code"),
    Snapshot("qwen2.5-vl-32b", "Qwen/Qwen2.5-VL-32B-Instruct", "qwen2_5_vl",
             revision="7cfb30d71a1f4f49a57592323337a4a4727301da",
             revision_source="pinned revisions and Hugging Face cache snapshot paths in several independent public "
                             "repositories"),
    Snapshot("qwen2.5-vl-72b", "Qwen/Qwen2.5-VL-72B-Instruct", "qwen2_5_vl",
             revision="89c86200743eec961a297729e7990e8f2ddbc4c5",
             revision_source="pinned revisions and Hugging Face cache snapshot paths in several independent public "
                             "repositories"),
    Snapshot("llava-onevision-qwen2-7b-ov", "llava-hf/llava-onevision-qwen2-7b-ov-hf", "llava_onevision",
             revision="0d50680527681998e456c7b78950205bedd8a068",
             revision_source="Hugging Face cache snapshot paths in several public repositories"),
    Snapshot("llava-onevision-qwen2-7b-si", "llava-hf/llava-onevision-qwen2-7b-si-hf", "llava_onevision"),
    # 0.89 B parameters: one file under transformers' default 5 GB shard size
    Snapshot("llava-onevision-qwen2-0.5b-ov", "llava-hf/llava-onevision-qwen2-0.5b-ov-hf", "llava_onevision",
             revision="74dd0bf867a4cda7950c17663794267c60cf4b40", weights=SINGLE,
             pins={
                 "config.json": (0, "839a4fba0bd6949f0db22d4f840935cb0318f6ac28b29c9ce1a5b15735a4a740"),
                 "tokenizer.json": (7_028_579, "3c0ce3213b50ff38d8aa1e91136a2d2cb142a3f569246170872e439cb2a29d15"),
                 "tokenizer_config.json": (0, "494a5592a446535be00acc531ccf7a53fd6c6c392c122d444c389160261572e0"),
                 "generation_config.json": (126, "89dc53229f50b59570b6852056dafeac8116c458f1a748bff491b6d4d24d3b51"),
                 SINGLE: (1_787_445_680, "07b3362c3412de79baf2379e44e5b0b2a8f4b965ebebd11d7b5b3eb4450fe96e"),
             },
             digest_source=_LLAVA05_SOURCE,
             revision_source="pinned revisions in several public repositories (model registries, download scripts)"),
    Snapshot("internvl3-8b", "OpenGVLab/InternVL3-8B-hf", "internvl",
             revision="259a3b64a14623c0ec91a045cb43f7c5af5fa6af",
             revision_source="pinned revisions and Hugging Face cache snapshot paths in several public repositories"),
    Snapshot("internvl3-14b", "OpenGVLab/InternVL3-14B-hf", "internvl"),
    Snapshot("internvl3-78b", "OpenGVLab/InternVL3-78B-hf", "internvl"),
)}


def prefix(name: str) -> str:
    """The cache-relative folder of model ``name``."""
    return f"vqa_model/{name}"


def _row(snap: Snapshot, file: str) -> weights.Checkpoint:
    size, digest = snap.pins.get(file, (0, None))
    return weights.Checkpoint(f"{prefix(snap.name)}/{file}", snap.url(file), digest, size, ("vqa",),
                              digest_source=snap.digest_source if digest else "")


def shard_names(index: Path) -> list[str]:
    """The weight files an index names (sorted); ValueError when it cannot be read."""
    try:
        names = sorted(set(json.loads(index.read_text(encoding="utf-8"))["weight_map"].values()))
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ValueError(f"{index} cannot be read as a safetensors index ({exc})") from None
    bad = [n for n in names if not isinstance(n, str) or "/" in n or "\\" in n or n.startswith(".")]
    if bad:
        raise ValueError(f"{index} names weight files outside its folder: {bad[:3]}")
    return names


def rows(name: str, cache_dir: Path, *, with_shards: bool = True) -> list[weights.Checkpoint]:
    """The checkpoint rows of model ``name``: its fixed files, then its shards.

    Shards come from the cached index, or before it is there from the pins when the index is pinned
    (else none yet). A name without a :class:`Snapshot` gets rows for the files present in its folder (no
    URL, unpinned), so a lock file can still cover it.
    """
    snap = SNAPSHOTS.get(name)
    folder = Path(cache_dir) / prefix(name)
    if snap is None:
        return _present_rows(name, folder)
    out = [_row(snap, f) for f in snap.files]
    if with_shards and snap.weights == INDEX:
        try:  # the cached index says which shards; a pinned index's shards are known before it is fetched
            shards = shard_names(folder / INDEX) if (folder / INDEX).is_file() else \
                sorted(f for f in snap.pins if f.endswith(".safetensors")) if INDEX in snap.pins else []
        except ValueError:
            shards = []  # reported by the preflight's missing_files
        out += [_row(snap, f) for f in shards]
    return out


def lock_rows(name: str, cache_dir: Path) -> list[weights.Checkpoint]:
    """:func:`rows` without the optional files the repository does not have (absent from the folder)."""
    snap = SNAPSHOTS.get(name)
    return [r for r in rows(name, cache_dir) if snap is None or not snap.optional(r.path.rsplit("/", 1)[1])
            or weights.location(r, cache_dir).is_file()]


def _present_rows(name: str, folder: Path) -> list[weights.Checkpoint]:
    if not folder.is_dir():
        return []
    keep = [p.name for p in sorted(folder.iterdir()) if p.is_file() and (
        p.suffix in (".json", ".safetensors", ".jinja", ".txt", ".model")) and not p.name.startswith(".")]
    return [weights.Checkpoint(f"{prefix(name)}/{f}", None, None, 0, ("vqa",)) for f in keep]


def present_models(cache_dir: Path) -> list[str]:
    """The model folders under ``<cache>/vqa_model/`` (sorted)."""
    root = Path(cache_dir) / "vqa_model"
    return sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")) if root.is_dir() else []


def download_command(name: str, cache_dir: Path) -> str:
    """The exact (shell-quoted) command that fetches model ``name`` into ``cache_dir``."""
    return shlex.join(["pytest-vbench", "download", "--dims", "vqa_score", "--vqa-model", name,
                       "--cache-dir", str(cache_dir)])


def check_safetensors(path: Path) -> str | None:
    """Why a safetensors file is damaged (truncated, not safetensors), or None: its header's data end must
    equal the file's length. Reads the header only."""
    size = path.stat().st_size
    try:
        with open(path, "rb") as fh:
            (n,) = struct.unpack("<Q", fh.read(8))
            if n > min(size - 8, 100 << 20):
                return f"{path} is not a safetensors file (header length {n} for {size} bytes)"
            header = json.loads(fh.read(n))
        end = max((int(v["data_offsets"][1]) for k, v in header.items() if k != "__metadata__"), default=0)
    except (OSError, ValueError, KeyError, TypeError, IndexError, struct.error) as exc:
        return f"{path} is not a readable safetensors file ({type(exc).__name__}: {exc})"
    if 8 + n + end != size:
        return f"{path} has {size} bytes, its header describes {8 + n + end}: truncated or damaged"
    return None


def problems(name: str, cache_dir: Path, lock: dict[str, weights.LockEntry] | None = None,
             force: bool = False, warn: Callable[[str], None] | None = None) -> list[str]:
    """One line per present file of model ``name`` that is damaged or does not match its lock/published digest.

    Missing files are :func:`pytest_vbench.models.vqa.missing_files`' business. Unofficial files
    accepted by ``$VBENCH_ACCEPT_UNOFFICIAL_CHECKPOINTS`` go to ``warn``.
    """
    out = []
    for c in rows(name, cache_dir):
        path = weights.location(c, cache_dir)
        if not path.is_file():
            continue
        st = weights.check(c, cache_dir, lock=lock, force=force)
        if not st.ok:
            out.append(f"  {st.state:<8} {path}: {st.detail}")
        elif st.state == "unofficial" and warn is not None:
            warn(f"vbench: {st.detail}")
        elif path.suffix == ".safetensors" and (why := check_safetensors(path)):
            out.append(f"  corrupt  {why}")
    return out


def download(name: str, cache_dir: Path, ensure: Callable[..., str], **kwargs: Any) -> list[tuple[str, str]]:
    """Fetch model ``name``'s snapshot with ``ensure`` (:func:`pytest_vbench.download.ensure`): the fixed
    files first, then the shards the index names. Returns ``[(relative path, outcome)]``; a file's failure
    is one ``"FAILED: ..."`` outcome and the others are still attempted.
    """
    snap = SNAPSHOTS.get(name)
    if snap is None:
        known = ", ".join(SNAPSHOTS)
        return [(prefix(name) + "/", f"FAILED: no hub source is known for {name!r} (known: {known}); put a "
                                     f"Hugging Face snapshot in that folder yourself")]
    outcomes: list[tuple[str, str]] = []

    def fetch(ckpt: weights.Checkpoint) -> None:
        try:
            outcome = ensure(ckpt, cache_dir, **kwargs)
        except Exception as exc:  # DownloadError, CorruptCheckpoint, OSError, HTTP errors: one line per file
            text = " ".join(str(exc).split())
            if snap.optional(ckpt.path.rsplit("/", 1)[1]) and "HTTP 404" in text:
                outcomes.append((ckpt.path, "absent"))  # not in this repository: the backend does without it
            else:
                outcomes.append((ckpt.path, "FAILED: " + text))
            return
        path = weights.location(ckpt, cache_dir)
        why = check_safetensors(path) if path.suffix == ".safetensors" else None
        if why:  # never left in place: the next download fetches it again
            path.unlink(missing_ok=True)
            outcome = f"FAILED: {why}; removed"
        outcomes.append((ckpt.path, outcome))

    for c in rows(name, cache_dir, with_shards=False):
        fetch(c)
    index_ok = any(p == f"{prefix(name)}/{INDEX}" and not o.startswith("FAILED") for p, o in outcomes)
    if snap.weights == INDEX and index_ok:
        shards = rows(name, cache_dir)[len(snap.files):]
        for c in shards:
            fetch(c)
        if not shards:
            outcomes.append((f"{prefix(name)}/{INDEX}", "FAILED: it names no weight files (or cannot be read)"))
    return outcomes


def digests(name: str, cache_dir: Path) -> dict[str, str]:
    """sha256 of every file of model ``name``'s snapshot that exists (``absent`` for a missing row), for the
    result store's key. Each file is hashed once per file state (``weights.file_digest``)."""
    out = {}
    for c in rows(name, cache_dir):
        present = weights.location(c, cache_dir).is_file()
        out[c.path] = weights.file_digest(c, cache_dir)[0] if present else "absent"
    return out


def identity_entry(name: str, cache_dir: Path) -> str:
    """``<name>:<sha256 over the snapshot's files and their digests>`` for the run's identity, so that a
    baseline scored with another snapshot (another model, or other bytes) is refused."""
    import hashlib

    listed = json.dumps(sorted(digests(name, cache_dir).items())).encode()
    return f"{name}:{hashlib.sha256(listed).hexdigest()}"
