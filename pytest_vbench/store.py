"""The result store: content-addressed per-video results, reused across runs, workers and machines.

A per-video result is a pure function of its key (design property 12), so a second run only scores
what changed. The key of one video in one case is the sha256 of canonical JSON holding:

* the video file's sha256 and its file name and sample index;
* the dimension's fingerprint: its name, its module digest and precision (:func:`compare.identity`),
  the digest of every source file of pytest-vbench (any code change invalidates the store), the
  sha256 of every checkpoint file of its families, optional ones included (``weights.file_digest``:
  hashed once per file state and remembered in the cache manifest), the device kind (``cpu``,
  ``cuda``...), the Python version and the versions of the packages that decide the numbers (decoders
  included: :func:`report.provenance`), and the options that change its results (``runtime.options``
  entries named after the dimension or one of its families, e.g. the vqa options);
* the prompt and the auxiliary info of the case;
* for a case whose per-video results depend on its other videos (temporal_flickering's static filter
  over more than 5 candidates: a module's ``depends_on_case(videos)`` says so), the names and
  digests of all the case's videos; such a case is reused whole or scored whole.

Entries are files ``<root>/<2 hex>/<64 hex>.json`` (no colons: they survive ``actions/cache``),
written to a unique temporary file and renamed into place, so a reader sees a complete entry or
none; each entry carries its key and a digest of its value, and anything that does not check out is
ignored (and overwritten by the next fresh result). Failed videos are never stored.

Only fields that vary between runs differ between a run served from the store and a fresh one:
``seconds`` (per case and per video: here the time of the lookup), ``device`` and ``store_hits``
(:data:`RUNTIME_FIELDS`); the report keeps them under ``runtime`` only, so every other part of the
JSON report is identical.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import threading
import time
import uuid
import warnings
from dataclasses import replace
from pathlib import Path
from typing import Any

from .results import CaseResult

SCHEMA = "pytest-vbench-store/1"
#: per-case and per-video result fields that describe this run, not the scores (kept out of the report body)
RUNTIME_FIELDS = ("seconds", "device", "store_hits")
#: the per-video entry fields that are the score itself (what the store holds)
_LOCATION_FIELDS = ("video", "path", "sample", "seconds")
#: stored beside a result: the warnings raised while its case was scored (never part of the report)
_WARNINGS = "_warnings"
_MEMO_KEY = "result-store"

_lock = threading.Lock()
_file_digests: dict[tuple[str, int, int, int, int], str] = {}
_code_digest: list[str] = []


def add_options(group: Any) -> None:
    """Register ``--vbench-result-cache`` and ``--vbench-no-result-cache``."""
    group.addoption("--vbench-result-cache", metavar="DIR", default=None,
                    help="result store shared between runs (default: vbench-results under pytest's cache dir)")
    group.addoption("--vbench-no-result-cache", action="store_true", default=False,
                    help="score every video again; neither read nor write the result store")


def from_config(config: Any) -> ResultStore | None:
    """The store the options select: the named directory, else pytest's cache dir, else none."""
    if config.getoption("vbench_no_result_cache"):
        return None
    chosen = config.getoption("vbench_result_cache")
    if chosen:
        return ResultStore(Path(os.path.expandvars(os.path.expanduser(chosen))))
    cache = getattr(config, "cache", None)  # absent with -p no:cacheprovider: no default store
    if cache is None:
        return None
    return ResultStore(Path(cache.mkdir("vbench-results")))


def _canonical(data: Any) -> bytes:
    return json.dumps(data, sort_keys=True, ensure_ascii=True, allow_nan=True, separators=(",", ":")).encode()


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class ResultStore:
    """A directory of per-video results keyed by :func:`video_key`."""

    def __init__(self, root: Path):
        self.root = Path(root)

    def path_for(self, key: str) -> Path:
        """Where the entry of ``key`` lives."""
        return self.root / key[:2] / f"{key}.json"

    def get(self, key: str) -> dict | None:
        """The stored value of ``key``, or None when absent, half-written, corrupt or of another schema."""
        try:
            entry = json.loads(self.path_for(key).read_bytes())
        except (OSError, ValueError):
            return None
        if not (isinstance(entry, dict) and entry.get("schema") == SCHEMA and entry.get("key") == key):
            return None
        value = entry.get("value")
        if not isinstance(value, dict) or entry.get("check") != _sha256(_canonical(value)):
            return None
        return value

    def put(self, key: str, value: dict) -> bool:
        """Store ``value`` atomically (unique temporary file, then rename); False when the store is not writable."""
        path = self.path_for(key)
        entry = {"schema": SCHEMA, "key": key, "check": _sha256(_canonical(value)), "value": value}
        tmp = path.with_name(f".{key}.{os.getpid()}.{uuid.uuid4().hex}.part")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp.write_bytes(json.dumps(entry, ensure_ascii=False, allow_nan=True).encode("utf-8"))
            os.replace(tmp, path)
        except OSError:
            try:
                tmp.unlink()
            except OSError:
                pass
            return False
        return True


def summary_line(report: dict[str, Any], store: ResultStore) -> str:
    """``vbench: 40 of 45 video results from the result store <dir>`` for the terminal."""
    scored = sum(d["videos"]["scored"] for d in report["dimensions"].values())
    return f"vbench: {report['runtime'].get('store_hits', 0)} of {scored} video results from the result store {store.root}"


# ----------------------------------------------------------------------------------------- keys
def file_sha256(path: Path) -> str:
    """sha256 of a video file, computed once per (path, size, mtime, ctime, inode) in this process."""
    st = os.stat(path)
    memo = (str(path), st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino)
    with _lock:
        if memo in _file_digests:
            return _file_digests[memo]
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    digest = h.hexdigest()
    with _lock:
        _file_digests[memo] = digest
    return digest


def code_digest() -> str:
    """sha256 over every ``.py`` file of the pytest_vbench package (path and content)."""
    with _lock:
        if _code_digest:
            return _code_digest[0]
    root = Path(__file__).resolve().parent
    h = hashlib.sha256()
    for p in sorted(root.rglob("*.py")):
        h.update(p.relative_to(root).as_posix().encode() + b"\0" + p.read_bytes() + b"\0")
    digest = h.hexdigest()
    with _lock:
        _code_digest[:] = [digest]
    return digest


def device_kind(device: str) -> str:
    """``cuda:1`` -> ``cuda``: the kind of device, not which one."""
    return str(device).split(":", 1)[0]


def checkpoint_digests(dimension: str, cache_dir: Path) -> dict[str, str]:
    """sha256 of each checkpoint file of the dimension's families (optional ones too); ``absent`` when missing."""
    from . import weights
    from .dimensions import DIMENSIONS

    d = DIMENSIONS[dimension]
    families = set(d.families) | set(d.optional_families)
    out = {}
    for c in weights.CHECKPOINTS:
        if families & set(c.families):
            present = weights.location(c, cache_dir).is_file()
            out[c.path] = weights.file_digest(c, cache_dir)[0] if present else "absent"
    return out


def _snapshot_digests(d: Any, runtime: Any) -> dict[str, str]:
    """vqa_score: sha256 of each file of the snapshot its options name (not table rows, so not above)."""
    if "vqa" not in d.families:
        return {}
    from .models.vqa import DEFAULT_MODEL, snapshots

    return snapshots.digests(runtime.options.get("vqa", {}).get("model") or DEFAULT_MODEL, runtime.cache_dir)


def fingerprint(dimension: str, runtime: Any) -> dict:
    """Everything about this process that can change the dimension's per-video numbers."""
    from . import compare
    from .dimensions import DIMENSIONS
    from .report import provenance

    d = DIMENSIONS[dimension]
    ident = compare.identity([dimension], runtime.cache_dir)
    names = {dimension, *d.families, *d.optional_families}
    return {"schema": SCHEMA, "dimension": dimension, "implementation": ident["implementations"][dimension],
            "precision": ident["precision"], "pytest_vbench": ident["pytest_vbench"], "code": code_digest(),
            "checkpoints": {**checkpoint_digests(dimension, runtime.cache_dir), **_snapshot_digests(d, runtime)},
            "device": device_kind(runtime.device), "python": platform.python_version(),
            "packages": provenance()["packages"],
            "options": {k: v for k, v in sorted(runtime.options.items()) if k in names}}


def _fingerprint_digest(dimension: str, runtime: Any) -> str:
    memo = runtime.memo.setdefault(_MEMO_KEY, {})
    if dimension not in memo:
        memo[dimension] = _sha256(_canonical(fingerprint(dimension, runtime)))
    return str(memo[dimension])


def video_key(fingerprint_digest: str, case: Any, video: Any, digest: str,
              context: list[list[str]] | None = None) -> str:
    """The store key of one video of one case."""
    return _sha256(_canonical({"fingerprint": fingerprint_digest, "prompt": case.prompt, "aux": case.aux,
                               "video": {"name": video.name, "sample": video.sample, "sha256": digest},
                               "context": context}))


def _case_context(module: Any, case: Any, digests: dict[int, str]) -> list[list[str]] | None:
    depends = getattr(module, "depends_on_case", None)
    if depends is None or not depends(case.videos):
        return None
    order = sorted(range(len(case.videos)), key=lambda i: str(case.videos[i].path))
    return [[case.videos[i].name, digests.get(i, "unreadable")] for i in order]


def case_keys(case: Any, runtime: Any) -> tuple[dict[int, str], bool]:
    """``({video index: key}, whole_case)``: keys of the readable videos; whole_case: reuse all or none."""
    import importlib

    module = importlib.import_module(case.dim.module_name)
    digests = {}
    for i, video in enumerate(case.videos):
        try:
            digests[i] = file_sha256(video.path)
        except OSError:
            continue  # scored fresh: its own item reports the problem
    fp = _fingerprint_digest(case.dimension, runtime)
    context = _case_context(module, case, digests)
    return {i: video_key(fp, case, case.videos[i], h, context) for i, h in digests.items()}, context is not None


# ------------------------------------------------------------------------------------------ run
def run_case(case: Any, runtime: Any, store: ResultStore | None) -> CaseResult:
    """:func:`runner.run_case` with the store: reuse stored videos, score the rest, store what was scored."""
    from .runner import run_case as fresh

    if store is None or not case.videos:
        return fresh(case, runtime)
    started = time.perf_counter()
    keys, whole_case = case_keys(case, runtime)
    hits: dict[int, dict] = {}
    for i, key in keys.items():
        value = store.get(key)
        if value is not None:
            hits[i] = value
    if whole_case and len(hits) < len(case.videos):
        hits = {}
    todo = [v for i, v in enumerate(case.videos) if i not in hits]
    lookup = (time.perf_counter() - started) / len(case.videos)
    stored: list[str] = []  # warnings raised while the stored results were scored: repeated below
    for value in hits.values():
        stored += [m for m in value.pop(_WARNINGS, []) if m not in stored]
    raised: list[str] = []  # warnings raised now
    if todo:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            result = fresh(replace(case, videos=todo), runtime).to_json()
        for w in caught:  # on to the session, as if never caught
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
            raised += [str(w.message)] if str(w.message) not in raised else []
    else:
        result = {"dimension": case.dimension, "prompt": case.prompt, "order": case.order,
                  "folder": case.dim.folder, "videos": [], "errors": [], "missing": list(case.missing)}
    scored = {entry["path"]: entry for entry in result["videos"]}
    videos = []
    for message in stored:  # a hit tells what the run that scored it was told
        if message not in raised:
            warnings.warn(message, UserWarning, stacklevel=2)
    raised += [m for m in stored if m not in raised]
    for i, video in enumerate(case.videos):
        if i in hits:
            entry = {"video": video.name, "path": str(video.path), "sample": video.sample}
            entry.update(hits[i])
            entry["seconds"] = round(lookup, 6)
            videos.append(entry)
        elif str(video.path) in scored:
            entry = scored[str(video.path)]
            videos.append(entry)
            if i in keys:
                value = {k: v for k, v in entry.items() if k not in _LOCATION_FIELDS}
                if raised:
                    value[_WARNINGS] = raised
                store.put(keys[i], value)
    result["videos"] = videos
    result["store_hits"] = len(hits)
    result["seconds"] = round(time.perf_counter() - started, 6)
    return CaseResult.from_json(result)
