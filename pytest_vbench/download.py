"""Fetch checkpoints into the cache: resumable, verified, atomic, safe under concurrency.

The only module that touches the network. Every file goes to ``<name>.part`` (resumed with an HTTP
``Range`` request after a cut connection), is checked (not an HTML page, a readable torch/zip
archive, sha256 where known), then renamed into place; ``<name>.done`` records what was verified
(AISBench-style marker), and the cache manifest records size and sha256 so later runs detect a
truncated or replaced file. A file lock per checkpoint makes parallel downloads (xdist workers,
several jobs on one shared cache) fetch each file once.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
import urllib.error
import urllib.request
import zipfile
from pathlib import Path

from . import weights

HF_HOST = "https://huggingface.co"
CHUNK = 1 << 20


class DownloadError(RuntimeError):
    """A download that failed for a reason the user can act on."""


def resolve_url(url: str) -> str:
    """Rewrite Hugging Face hub URLs to ``$HF_ENDPOINT`` (a mirror) when it is set."""
    endpoint = os.environ.get("HF_ENDPOINT", "").rstrip("/")
    if endpoint and url.startswith(HF_HOST + "/"):
        return endpoint + url[len(HF_HOST):]
    return url


class _Progress:
    """A per-file progress line on stderr (tqdm when installed)."""

    def __init__(self, name: str, total: int | None, initial: int, enabled: bool):
        self.bar = None
        self.enabled = enabled
        self.name, self.total, self.done, self.last = name, total, initial, 0.0
        if enabled:
            try:
                from tqdm import tqdm

                self.bar = tqdm(total=total, initial=initial, unit="B", unit_scale=True, desc=name,
                                file=sys.stderr, leave=True)
            except ImportError:
                pass

    def update(self, n: int) -> None:
        self.done += n
        if self.bar is not None:
            self.bar.update(n)
        elif self.enabled and time.monotonic() - self.last > 1.0:
            self.last = time.monotonic()
            total = f"/{self.total / 1e6:.1f}" if self.total else ""
            print(f"\r{self.name}: {self.done / 1e6:.1f}{total} MB", end="", file=sys.stderr, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
        elif self.enabled:
            print(f"\r{self.name}: {self.done / 1e6:.1f} MB done", file=sys.stderr)


def _open(url: str, offset: int, timeout: float):
    headers = {"User-Agent": "pytest-vbench"}
    if offset:
        headers["Range"] = f"bytes={offset}-"
    return urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=timeout)


def _stream(url: str, part: Path, timeout: float, progress: bool) -> None:
    """Download ``url`` into ``part``, resuming from its current size; raise on a short body."""
    offset = part.stat().st_size if part.exists() else 0
    try:
        resp = _open(url, offset, timeout)
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and offset:  # the part is already complete (or the server dislikes the range)
            part.unlink()
            return _stream(url, part, timeout, progress)
        raise DownloadError(f"{url}: HTTP {exc.code} {exc.reason}") from None
    with resp:
        ctype = resp.headers.get("Content-Type", "")
        if "text/html" in ctype:
            raise DownloadError(f"{url}: the server sent an HTML page (Content-Type {ctype}) instead of the file; "
                                f"a login wall, a proxy error, or a moved file (set HF_ENDPOINT for a mirror)")
        if offset and resp.status != 206:  # server ignored Range: start over
            offset = 0
        length = resp.headers.get("Content-Length")
        expected_end = offset + int(length) if length is not None else None
        mode = "ab" if offset else "wb"
        bar = _Progress(part.name.removesuffix(".part"), expected_end, offset, progress)
        try:
            with open(part, mode) as fh:
                while block := resp.read(CHUNK):
                    fh.write(block)
                    bar.update(len(block))
        finally:
            bar.close()
    size = part.stat().st_size
    if expected_end is not None and size < expected_end:
        raise ConnectionError(f"connection closed after {size} of {expected_end} bytes")


def fetch(url: str, dest: Path, *, sha256: str | None = None, sha256_prefix: str | None = None,
          retries: int = 5, timeout: float = 60.0, progress: bool = True) -> Path:
    """Download ``url`` to ``dest`` atomically (``dest.part`` then rename), resuming and verifying.

    Returns ``dest``. Raises :class:`DownloadError` with the URL and the reason.
    """
    url = resolve_url(url)
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    for attempt in range(retries + 1):
        try:
            _stream(url, part, timeout, progress)
            break
        except (ConnectionError, TimeoutError, urllib.error.URLError, OSError) as exc:
            if isinstance(exc, urllib.error.HTTPError):
                raise DownloadError(f"{url}: HTTP {exc.code} {exc.reason}") from None
            if attempt == retries:
                raise DownloadError(f"{url}: {exc} (gave up after {retries + 1} attempts; run the same "
                                    f"command again to resume from {part.stat().st_size if part.exists() else 0} bytes)") from None
            time.sleep(min(2 ** attempt * 0.2, 5))
    try:
        weights.sniff(part, suffix=dest.suffix)
    except weights.CorruptCheckpoint as exc:
        part.unlink(missing_ok=True)
        raise DownloadError(f"{url}: {exc}") from None
    digest = weights.sha256_of(part)
    if (sha256 and digest != sha256) or (sha256_prefix and not digest.startswith(sha256_prefix)):
        part.unlink(missing_ok=True)
        raise DownloadError(f"{url}: sha256 mismatch (got {digest[:16]}..., expected "
                            f"{(sha256 or sha256_prefix or '')[:16]}...); the file was discarded")
    os.replace(part, dest)
    dest.with_name(dest.name + ".done").write_text(
        json.dumps({"url": url, "sha256": digest, "size": dest.stat().st_size}) + "\n", encoding="utf-8")
    return dest


def _lock(path: Path):
    from filelock import FileLock

    path.parent.mkdir(parents=True, exist_ok=True)
    return FileLock(str(path) + ".lock")


def ensure(ckpt: weights.Checkpoint, cache_dir: Path, *, progress: bool = True, verify_hash: bool = True) -> str:
    """Make ``ckpt`` present and verified in ``cache_dir``; return "present" or "downloaded"."""
    dest = weights.location(ckpt, cache_dir)
    with _lock(dest):
        if dest.is_file():
            try:
                weights.verify(ckpt, cache_dir, full=verify_hash)
                return "present"
            except weights.CorruptCheckpoint as exc:
                print(f"pytest-vbench: {exc}; downloading it again", file=sys.stderr)
                dest.unlink()
        if ckpt.url is None:
            raise DownloadError(f"{dest}: no download source is known; place the file there by hand")
        if ckpt.archive:
            archive = dest.parent.parent / Path(ckpt.url).name
            fetch(ckpt.url, archive, progress=progress)
            _extract(archive, ckpt.archive, dest)
            archive.unlink()
            archive.with_name(archive.name + ".done").unlink(missing_ok=True)
        else:
            fetch(ckpt.url, dest, sha256=ckpt.sha256, sha256_prefix=ckpt.sha256_prefix, progress=progress)
        weights.sniff(dest)
        weights.record_manifest(cache_dir, ckpt.path, dest.stat().st_size, weights.sha256_of(dest))
        done = dest.with_name(dest.name + ".done")
        if not done.exists():
            done.write_text(json.dumps({"url": ckpt.url, "member": ckpt.archive}) + "\n", encoding="utf-8")
        return "downloaded"


def _extract(archive: Path, member: str, dest: Path) -> None:
    try:
        with zipfile.ZipFile(archive) as zf:
            bad = zf.testzip()
            if bad is not None:
                raise DownloadError(f"{archive}: damaged member {bad}; delete it and download again")
            tmp = dest.with_name(dest.name + ".part")
            with zf.open(member) as src, open(tmp, "wb") as out:
                shutil.copyfileobj(src, out, CHUNK)
    except KeyError:
        raise DownloadError(f"{archive} has no member {member}") from None
    except zipfile.BadZipFile as exc:
        raise DownloadError(f"{archive}: not a valid zip ({exc})") from None
    os.replace(tmp, dest)


def download(dims: list[str], cache_dir: Path, *, progress: bool = True) -> list[tuple[str, str]]:
    """Fetch everything ``dims`` need; return ``[(relative path, outcome)]``; errors are collected."""
    outcomes = []
    for ckpt in weights.for_dimensions(dims):
        try:
            outcomes.append((ckpt.path, ensure(ckpt, cache_dir, progress=progress)))
        except (DownloadError, weights.CorruptCheckpoint, OSError) as exc:
            outcomes.append((ckpt.path, f"FAILED: {exc}"))
    return outcomes
