"""Fetch checkpoints into the cache: verified, atomic, resumable only when safe, https only.

The only module that touches the network. Every file goes to ``<name>.part`` and is renamed into
place only after it is complete and checked (not an HTML page, a readable torch/zip archive, the
sha256 of the lock file or the published one where known), so a bad file is never left at the
final path. Rules:

* **Resume only an unchanged file**: the validator (``ETag``, else ``Last-Modified``) of the first
  response is kept in ``<name>.part.json``; a resume sends ``Range`` with ``If-Range``, and a server
  answering with the whole body (the file changed) restarts it. Without a validator, no resume.
* **Completeness**: a response needs a ``Content-Length`` or the file a known digest; a body shorter
  than announced, a cut chunked transfer or a ``Content-Range`` that does not continue the part is
  an error, retried a few times (transient), then reported on one line for that file while the
  other files are still attempted.
* **https only**, redirects included (never to http, ftp or file); ``allow_http`` (the
  ``--allow-http`` flag) admits a plain-http mirror on a local network, still never a downgrade
  from https.
* Zip members (RAFT's ``models.zip``) are extracted under a size cap.
* A file lock per checkpoint makes parallel downloads fetch each file once; a cache whose files are
  all present and valid is only read (a read-only cache reports "present").
"""

from __future__ import annotations

import http.client
import json
import os
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from pathlib import Path
from typing import Any

from . import weights

HF_HOST = "https://huggingface.co"
CHUNK = 1 << 20
MAX_EXTRACT_RATIO = 4  # a zip member may be at most 4x the approximate size in the table...
MIN_EXTRACT_CAP = 64 << 20  # ...or 64 MB, whichever is larger


class DownloadError(RuntimeError):
    """A download that failed for a reason the user can act on."""


class _Transient(Exception):
    """A failure worth retrying (cut connection, short body, timeout, 5xx)."""


def resolve_url(url: str) -> str:
    """Rewrite Hugging Face hub URLs to ``$HF_ENDPOINT`` (a mirror) when it is set."""
    endpoint = os.environ.get("HF_ENDPOINT", "").rstrip("/")
    if endpoint and url.startswith(HF_HOST + "/"):
        return endpoint + url[len(HF_HOST):]
    return url


def check_scheme(url: str, allow_http: bool = False, previous: str | None = None) -> None:
    """Refuse anything but https (http only with ``allow_http``, and never after https)."""
    scheme = urllib.parse.urlsplit(url).scheme.lower()
    if scheme == "https":
        return
    if scheme == "http" and allow_http and (previous is None or urllib.parse.urlsplit(previous).scheme == "http"):
        return
    where = f" (redirected from {previous})" if previous else ""
    if scheme == "http" and previous and urllib.parse.urlsplit(previous).scheme == "https":
        raise DownloadError(f"{url}{where}: refused a redirect from https to http (a downgrade)")
    hint = " (pass --allow-http for a plain-http mirror on your own network)" if scheme == "http" else ""
    raise DownloadError(f"{url}{where}: refused the {scheme or 'empty'}:// scheme: checkpoints are fetched over "
                        f"https only{hint}")


class _Redirects(urllib.request.HTTPRedirectHandler):
    """Follow redirects only to https (or http -> http with ``allow_http``)."""

    def __init__(self, allow_http: bool):
        self.allow_http = allow_http

    def redirect_request(self, req: urllib.request.Request, fp: Any, code: int, msg: str, headers: Any,
                         newurl: str) -> urllib.request.Request | None:
        check_scheme(urllib.parse.urljoin(req.full_url, newurl), self.allow_http, req.full_url)
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def _opener(allow_http: bool, context: Any = None) -> urllib.request.OpenerDirector:
    handlers: list[Any] = [_Redirects(allow_http), urllib.request.ProxyHandler()]
    if context is not None:
        handlers.append(urllib.request.HTTPSHandler(context=context))
    opener = urllib.request.build_opener(*handlers)
    # only http(s): no file:// or ftp:// handler is reachable even through a proxy setting
    opener.handlers = [h for h in opener.handlers if not isinstance(  # type: ignore[attr-defined]
        h, (urllib.request.FileHandler, urllib.request.FTPHandler, urllib.request.DataHandler))]
    return opener


class _Progress:
    """A per-file progress line on stderr (tqdm when installed)."""

    def __init__(self, name: str, total: int | None, initial: int, enabled: bool):
        self.bar: Any = None
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
        """Count ``n`` more bytes."""
        self.done += n
        if self.bar is not None:
            self.bar.update(n)
        elif self.enabled and time.monotonic() - self.last > 1.0:
            self.last = time.monotonic()
            total = f"/{self.total / 1e6:.1f}" if self.total else ""
            print(f"\r{self.name}: {self.done / 1e6:.1f}{total} MB", end="", file=sys.stderr, flush=True)

    def close(self) -> None:
        """End the line."""
        if self.bar is not None:
            self.bar.close()
        elif self.enabled:
            print(f"\r{self.name}: {self.done / 1e6:.1f} MB done", file=sys.stderr)


def _meta_path(part: Path) -> Path:
    return part.with_name(part.name + ".json")


def _read_meta(part: Path, url: str) -> dict[str, Any] | None:
    try:
        meta = json.loads(_meta_path(part).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(meta, dict) or meta.get("url") != url or not meta.get("validator"):
        return None
    return meta


def _discard(part: Path) -> None:
    part.unlink(missing_ok=True)
    _meta_path(part).unlink(missing_ok=True)


def _stream(url: str, part: Path, *, timeout: float, progress: bool, allow_http: bool, has_digest: bool,
            context: Any) -> None:
    """Download ``url`` into ``part``, resuming only an unchanged file; raise on an incomplete body."""
    offset = part.stat().st_size if part.exists() else 0
    meta = _read_meta(part, url) if offset else None
    if offset and meta is None:  # no validator for the bytes we have: they cannot be trusted to continue
        _discard(part)
        offset = 0
    headers = {"User-Agent": "pytest-vbench", "Accept-Encoding": "identity"}
    if offset and meta is not None:
        headers["Range"] = f"bytes={offset}-"
        headers["If-Range"] = meta["validator"]
    try:
        resp = _opener(allow_http, context).open(urllib.request.Request(url, headers=headers), timeout=timeout)
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and offset:  # the range is not satisfiable: start over
            _discard(part)
            raise _Transient(f"HTTP 416 for a resume at {offset} bytes") from None
        if exc.code >= 500 or exc.code == 429:
            raise _Transient(f"HTTP {exc.code} {exc.reason}") from None
        raise DownloadError(f"{url}: HTTP {exc.code} {exc.reason}") from None
    with resp:
        final = resp.geturl()
        check_scheme(final, allow_http, url if final != url else None)
        ctype = resp.headers.get("Content-Type", "")
        if "text/html" in ctype:
            raise DownloadError(f"{url}: the server sent an HTML page (Content-Type {ctype}) instead of the file; "
                                f"a login wall, a proxy error, or a moved file (set HF_ENDPOINT for a mirror)")
        length_h = resp.headers.get("Content-Length")
        length = int(length_h) if length_h is not None and length_h.strip().isdigit() else None
        if resp.status == 206:
            crange = resp.headers.get("Content-Range", "")
            start, total = _content_range(crange)
            now = resp.headers.get("ETag") or resp.headers.get("Last-Modified")
            changed = offset > 0 and (meta is None or (now is not None and now != meta["validator"]))
            if start != offset or changed or (meta is not None and meta.get("total") not in (None, total)):
                _discard(part)
                raise _Transient(f"the server resumed at {crange!r}, not at byte {offset} of the same file")
            expected_end = total if total is not None else (offset + length if length is not None else None)
        else:
            if offset:  # 200 to a conditional range request: the file changed (or no ranges): start over
                _discard(part)
                offset = 0
            expected_end = length
        if expected_end is None and not has_digest:
            raise DownloadError(f"{url}: the server sent no Content-Length and no digest is known for this file, "
                                f"so a cut transfer could not be told from a complete one; use a server or mirror "
                                f"that sends Content-Length")
        validator = resp.headers.get("ETag") or resp.headers.get("Last-Modified")
        if validator and (offset == 0 or meta is None):
            _meta_path(part).write_text(json.dumps({"url": url, "validator": validator, "total": expected_end}),
                                        encoding="utf-8")
        elif offset == 0:
            _meta_path(part).unlink(missing_ok=True)
        bar = _Progress(part.name.removesuffix(".part"), expected_end, offset, progress)
        try:
            with open(part, "ab" if offset else "wb") as fh:
                while block := resp.read(CHUNK):
                    fh.write(block)
                    bar.update(len(block))
        except (http.client.IncompleteRead, ConnectionError, TimeoutError) as exc:
            raise _Transient(f"connection cut after {part.stat().st_size} bytes ({type(exc).__name__})") from None
        finally:
            bar.close()
    size = part.stat().st_size
    if expected_end is not None and size != expected_end:
        if size > expected_end:
            _discard(part)
        raise _Transient(f"connection closed after {size} of {expected_end} bytes")


def _content_range(value: str) -> tuple[int | None, int | None]:
    try:
        _unit, rest = value.split(" ", 1)
        span, total = rest.split("/", 1)
        return int(span.split("-", 1)[0]), (None if total.strip() == "*" else int(total))
    except ValueError:
        return None, None


def fetch(url: str, dest: Path, *, sha256: str | None = None, sha256_prefix: str | None = None,
          git_blob_sha1: str | None = None, retries: int = 4, timeout: float = 60.0, progress: bool = True, allow_http: bool = False,
          context: Any = None, backoff: float = 0.2) -> Path:
    """Download ``url`` to ``dest`` atomically (``dest.part``, checked, then renamed).

    Returns ``dest``. Raises :class:`DownloadError` with the URL and the reason; a bad body never
    reaches ``dest``. ``context``: an ``ssl.SSLContext`` (default: the system's trust store).
    """
    url = resolve_url(url)
    check_scheme(url, allow_http)
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    last = ""
    for attempt in range(retries + 1):
        try:
            _stream(url, part, timeout=timeout, progress=progress, allow_http=allow_http,
                    has_digest=bool(sha256 or sha256_prefix), context=context)
            break
        except _Transient as exc:
            last = str(exc)
        except (urllib.error.URLError, http.client.HTTPException, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            if isinstance(reason, DownloadError):
                raise reason from None
            last = f"{type(exc).__name__}: {reason}"
        if attempt == retries:
            kept = part.stat().st_size if part.exists() else 0
            resumable = bool(kept) and _meta_path(part).exists()
            if not resumable:  # bytes without a validator can never be continued: do not leave them
                _discard(part)
            resume = f"; run the same command again to resume from {kept} bytes" if resumable else ""
            raise DownloadError(f"{url}: {last} (gave up after {retries + 1} attempts{resume})")
        time.sleep(min(2 ** attempt * backoff, 5))
    try:
        weights.sniff(part, suffix=dest.suffix)
    except weights.CorruptCheckpoint as exc:
        _discard(part)
        raise DownloadError(f"{url}: {exc}") from None
    digest = weights.sha256_of(part)
    if (sha256 and digest != sha256) or (sha256_prefix and not digest.startswith(sha256_prefix)):
        _discard(part)
        raise DownloadError(f"{url}: sha256 mismatch (got {digest[:16]}..., expected "
                            f"{(sha256 or sha256_prefix or '')[:16]}...); the file was discarded")
    if git_blob_sha1 and (blob := weights.git_blob_sha1_of(part)) != git_blob_sha1:
        _discard(part)
        raise DownloadError(f"{url}: Git blob SHA-1 mismatch (got {blob[:16]}..., expected {git_blob_sha1[:16]}...); "
                            f"the file was discarded")
    os.replace(part, dest)
    _meta_path(part).unlink(missing_ok=True)
    dest.with_name(dest.name + ".done").write_text(
        json.dumps({"url": url, "sha256": digest, "size": dest.stat().st_size}) + "\n", encoding="utf-8")
    return dest


def _lock(path: Path) -> Any:
    from filelock import FileLock

    path.parent.mkdir(parents=True, exist_ok=True)
    return FileLock(str(path) + ".lock")


def ensure(ckpt: weights.Checkpoint, cache_dir: Path, *, progress: bool = True, verify_hash: bool = True,
           lock: dict[str, weights.LockEntry] | None = None, allow_http: bool = False, context: Any = None,
           retries: int = 4, backoff: float = 0.2) -> str:
    """Make ``ckpt`` present and valid in ``cache_dir``; return "present" or "downloaded".

    A file already present and valid is only read (no lock taken: works on a read-only cache).
    ``verify_hash`` hashes it again even when its digest is remembered.
    """
    dest = weights.location(ckpt, cache_dir)
    st = weights.check(ckpt, cache_dir, lock=lock, force=verify_hash) if dest.is_file() else None
    if st is not None and st.ok:
        return "present"
    with _lock(dest):
        if dest.is_file():  # another process may have fetched it meanwhile
            st = weights.check(ckpt, cache_dir, lock=lock, force=verify_hash)
            if st.ok:
                return "present"
            print(f"pytest-vbench: {st.detail}; downloading it again", file=sys.stderr)
            dest.unlink()
        if ckpt.url is None:
            raise DownloadError(f"{dest}: no download source is known; place the file there by hand")
        entry = (lock or {}).get(ckpt.path)
        want = entry.sha256 if entry else ckpt.sha256
        prefix = None if entry else ckpt.sha256_prefix
        if ckpt.archive:
            archive = dest.parent.parent / Path(urllib.parse.urlsplit(ckpt.url).path).name
            try:
                fetch(ckpt.url, archive, progress=progress, allow_http=allow_http, context=context, retries=retries,
                      backoff=backoff)
                _extract(archive, ckpt.archive, dest, cap=max(MAX_EXTRACT_RATIO * ckpt.size, MIN_EXTRACT_CAP),
                         sha256=want)
            finally:
                archive.unlink(missing_ok=True)
                archive.with_name(archive.name + ".done").unlink(missing_ok=True)
        else:
            fetch(ckpt.url, dest, sha256=want, sha256_prefix=prefix,
                  git_blob_sha1=None if entry else ckpt.git_blob_sha1, progress=progress, allow_http=allow_http,
                  context=context, retries=retries, backoff=backoff)
        digest = weights.sha256_of(dest)
        weights.record_manifest(cache_dir, ckpt.path, dest.stat().st_size, digest, dest)
        done = dest.with_name(dest.name + ".done")
        if not done.exists():
            done.write_text(json.dumps({"url": ckpt.url, "member": ckpt.archive, "sha256": digest}) + "\n",
                            encoding="utf-8")
        return "downloaded"


def _extract(archive: Path, member: str, dest: Path, *, cap: int, sha256: str | None = None) -> None:
    """Extract one zip member to ``dest`` through ``dest.part``, refusing more than ``cap`` bytes."""
    tmp = dest.with_name(dest.name + ".part")
    try:
        with zipfile.ZipFile(archive) as zf:
            info = zf.getinfo(member)
            if info.file_size > cap:
                raise DownloadError(f"{archive}: member {member} declares {info.file_size:,} bytes, more than the "
                                    f"{cap:,} allowed for it: not the expected archive")
            written = 0
            with zf.open(info) as src, open(tmp, "wb") as out:
                while block := src.read(CHUNK):
                    written += len(block)
                    if written > cap:
                        raise DownloadError(f"{archive}: member {member} expands beyond {cap:,} bytes: refused")
                    out.write(block)
        weights.sniff(tmp, suffix=dest.suffix)
        if sha256 and weights.sha256_of(tmp) != sha256:
            raise DownloadError(f"{archive}: member {member} does not have the expected sha256")
    except KeyError:
        tmp.unlink(missing_ok=True)
        raise DownloadError(f"{archive} has no member {member}") from None
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError) as exc:
        tmp.unlink(missing_ok=True)
        raise DownloadError(f"{archive}: not a valid zip ({exc})") from None
    except weights.CorruptCheckpoint as exc:
        tmp.unlink(missing_ok=True)
        raise DownloadError(f"{archive}: member {member}: {exc}") from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    os.replace(tmp, dest)


def download(dims: list[str], cache_dir: Path, *, progress: bool = True, allow_http: bool = False,
             lock: Path | None = None, context: Any = None, verify_hash: bool = False, retries: int = 4,
             backoff: float = 0.2) -> list[tuple[str, str]]:
    """Fetch everything ``dims`` need; return ``[(relative path, outcome)]``.

    Each file's failure is collected as ``"FAILED: <reason>"`` (one line) and the other files are
    still attempted. ``lock``: a lock file whose digests downloads must match.
    """
    entries = weights.read_lock(lock) if lock is not None else {}
    outcomes = []
    for ckpt in weights.for_dimensions(dims, optional=True):  # what any run of them may load
        try:
            outcomes.append((ckpt.path, ensure(ckpt, cache_dir, progress=progress, lock=entries,
                                               allow_http=allow_http, context=context, verify_hash=verify_hash,
                                               retries=retries, backoff=backoff)))
        except (DownloadError, weights.CorruptCheckpoint, OSError, http.client.HTTPException, ValueError) as exc:
            outcomes.append((ckpt.path, "FAILED: " + " ".join(str(exc).split())))
    return outcomes
