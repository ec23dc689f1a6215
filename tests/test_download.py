"""Downloads against real HTTP(S) servers on 127.0.0.1 serving generated files (no internet).

The https server uses a certificate from a throw-away CA made with the ``openssl`` command line.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import ssl
import subprocess
import sys
import threading
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from pytest_vbench import download, weights
from pytest_vbench.download import DownloadError, ensure, fetch, resolve_url

torch = pytest.importorskip("torch")
ROOT = Path(__file__).resolve().parents[1]
AMT = "/lalala125/AMT/resolve/main/amt-s.pth"
UMT = "/OpenGVLab/VBench_Used_Models/resolve/main/l16_ptk710_ftk710_ftk400_f16_res224.pth"


def torch_bytes(seed: int = 0, n: int = 20000) -> bytes:
    g = torch.Generator().manual_seed(seed)
    buf = io.BytesIO()
    torch.save({"weight": torch.randn(n, generator=g), "bias": torch.zeros(3)}, buf)
    return buf.getvalue()


class Server:
    """Routes: path -> dict of body, status, ctype, etag, cut_first (bytes, then close; once), cut_always,
    chunked, no_length, ranges (honour Range), if_range (honour If-Range), redirect (Location)."""

    def __init__(self, context: ssl.SSLContext | None = None):
        self.routes: dict[str, dict] = {}
        self.requests: list[tuple[str, str | None, str | None]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):
                server.requests.append((self.path, self.headers.get("Range"), self.headers.get("If-Range")))
                route = server.routes.get(self.path)
                if route is None or route.get("status") == 404:
                    self.send_error(404, "Not Found")
                    return
                if "redirect" in route:
                    self.send_response(302)
                    self.send_header("Location", route["redirect"])
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                body = route["body"]
                start = 0
                rng = self.headers.get("Range")
                use_range = rng and route.get("ranges", True)
                if use_range and route.get("if_range", True) and self.headers.get("If-Range") not in (
                        None, route.get("etag")):
                    use_range = False  # RFC 9110: a changed validator gets the whole new body
                if use_range:
                    start = int(rng.split("=")[1].split("-")[0])
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
                else:
                    self.send_response(route.get("status", 200))
                self.send_header("Content-Type", route.get("ctype", "application/octet-stream"))
                if route.get("etag"):
                    self.send_header("ETag", route["etag"])
                payload = body[start:]
                cut = route.pop("cut_first", None) if "cut_first" in route else route.get("cut_always")
                if route.get("chunked"):
                    self.send_header("Transfer-Encoding", "chunked")
                    self.end_headers()
                    data = payload[:cut] if cut is not None else payload
                    for i in range(0, len(data), 4096):
                        piece = data[i:i + 4096]
                        self.wfile.write(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
                    if cut is None:
                        self.wfile.write(b"0\r\n\r\n")
                    self.wfile.flush()
                    self.close_connection = True
                    return
                if not route.get("no_length"):
                    self.send_header("Content-Length", str(len(payload)))
                else:
                    self.send_header("Connection", "close")
                self.end_headers()
                self.wfile.write(payload[:cut] if cut is not None else payload)
                self.wfile.flush()
                self.close_connection = True

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        scheme = "http"
        if context is not None:
            self.httpd.socket = context.wrap_socket(self.httpd.socket, server_side=True)
            scheme = "https"
        self.url = f"{scheme}://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server():
    s = Server()
    yield s
    s.close()


@pytest.fixture(scope="session")
def tls(tmp_path_factory):
    """(server context, client context, CA file) from a throw-away CA (openssl CLI)."""
    if shutil.which("openssl") is None:
        pytest.skip("the openssl command line is needed to make a test CA")
    d = tmp_path_factory.mktemp("tls")

    def run(*args):
        subprocess.run(["openssl", *args], cwd=d, check=True, capture_output=True)

    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
        "-subj", "/CN=pytest-vbench test CA", "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    run("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "srv.key", "-out", "srv.csr", "-subj", "/CN=127.0.0.1")
    (d / "ext.cnf").write_text("subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n"
                               "extendedKeyUsage=serverAuth\nkeyUsage=digitalSignature,keyEncipherment\n")
    run("x509", "-req", "-in", "srv.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-out", "srv.pem",
        "-days", "2", "-extfile", "ext.cnf")
    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_ctx.load_cert_chain(d / "srv.pem", d / "srv.key")
    client_ctx = ssl.create_default_context(cafile=str(d / "ca.pem"))
    return server_ctx, client_ctx, d / "ca.pem"


@pytest.fixture
def https(tls):
    s = Server(tls[0])
    yield s
    s.close()


def quick(**kw):
    """fetch/download keywords for tests: no progress, no back-off sleeps."""
    return {"progress": False, "backoff": 0.0, **kw}


def test_success_over_https_writes_file_marker_and_no_part(https, tls, tmp_path):
    body = torch_bytes()
    https.routes["/m.pth"] = {"body": body, "etag": '"a"'}
    dest = fetch(https.url + "/m.pth", tmp_path / "m.pth", sha256=hashlib.sha256(body).hexdigest(),
                 **quick(context=tls[1]))
    assert dest.read_bytes() == body
    marker = json.loads((tmp_path / "m.pth.done").read_text())
    assert marker["sha256"] == hashlib.sha256(body).hexdigest() and marker["size"] == len(body)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.pth", "m.pth.done"]
    assert torch.load(dest, weights_only=True)["bias"].shape == (3,)


def test_an_untrusted_certificate_is_refused(https, tmp_path):
    https.routes["/m.pth"] = {"body": torch_bytes()}
    with pytest.raises(DownloadError, match="CERTIFICATE_VERIFY_FAILED|certificate verify failed"):
        fetch(https.url + "/m.pth", tmp_path / "m.pth", **quick(retries=0))
    assert not (tmp_path / "m.pth").exists()


def test_plain_http_needs_the_flag(server, tmp_path, monkeypatch):
    server.routes["/m.pth"] = {"body": torch_bytes()}
    with pytest.raises(DownloadError, match="https only.*--allow-http"):
        fetch(server.url + "/m.pth", tmp_path / "m.pth", **quick())
    assert server.requests == []  # refused before connecting
    monkeypatch.setenv("HF_ENDPOINT", "file:///etc")
    with pytest.raises(DownloadError, match="refused the file:// scheme"):
        fetch("https://huggingface.co/x/resolve/main/y.pth", tmp_path / "y.pth", **quick(allow_http=True))
    assert fetch(server.url + "/m.pth", tmp_path / "m.pth", **quick(allow_http=True)).is_file()


def test_https_to_http_redirect_is_a_refused_downgrade(https, server, tls, tmp_path):
    body = torch_bytes()
    server.routes["/m.pth"] = {"body": body}
    https.routes["/m.pth"] = {"redirect": server.url + "/m.pth"}
    for allow in (False, True):  # even a local-mirror setting never lets https fall back to http
        with pytest.raises(DownloadError, match="from https to http"):
            fetch(https.url + "/m.pth", tmp_path / "m.pth", **quick(context=tls[1], allow_http=allow))
    assert server.requests == [] and not list(tmp_path.iterdir())


@pytest.mark.parametrize("target", ["ftp://127.0.0.1/m.pth", "file:///etc/passwd"])
def test_redirect_to_another_scheme_is_refused(https, tls, tmp_path, target):
    https.routes["/m.pth"] = {"redirect": target}
    scheme = target.split(":")[0]  # urllib itself refuses file://; our handler refuses ftp://
    with pytest.raises(DownloadError, match=f"refused the {scheme}:// scheme|Redirection to url '{scheme}:"):
        fetch(https.url + "/m.pth", tmp_path / "m.pth", **quick(context=tls[1]))
    assert not list(tmp_path.iterdir())


def test_https_redirect_to_https_is_followed(https, tls, tmp_path):
    body = torch_bytes(1)
    https.routes["/real.pth"] = {"body": body}
    https.routes["/m.pth"] = {"redirect": https.url + "/real.pth"}
    assert fetch(https.url + "/m.pth", tmp_path / "m.pth", **quick(context=tls[1])).read_bytes() == body


def test_resume_of_an_unchanged_file_uses_if_range(server, tmp_path):
    body = torch_bytes(1)
    server.routes["/m.pth"] = {"body": body, "etag": '"v1"', "cut_first": 30000}
    fetch(server.url + "/m.pth", tmp_path / "m.pth", **quick(allow_http=True))
    assert (tmp_path / "m.pth").read_bytes() == body
    assert server.requests == [("/m.pth", None, None), ("/m.pth", "bytes=30000-", '"v1"')]


def test_resume_after_the_file_changed_restarts(server, tmp_path):
    v1, v2 = torch_bytes(1), torch_bytes(2)
    assert len(v1) == len(v2)
    server.routes["/m.pth"] = {"body": v1, "etag": '"v1"', "cut_always": 30000}
    with pytest.raises(DownloadError, match="connection closed after 30000 of .*resume from 30000 bytes"):
        fetch(server.url + "/m.pth", tmp_path / "m.pth", **quick(allow_http=True, retries=0))
    assert (tmp_path / "m.pth.part").stat().st_size == 30000 and not (tmp_path / "m.pth").exists()
    server.routes["/m.pth"] = {"body": v2, "etag": '"v2"'}  # the server now serves another version
    fetch(server.url + "/m.pth", tmp_path / "m.pth", **quick(allow_http=True))
    assert (tmp_path / "m.pth").read_bytes() == v2  # not v1[:30000] + v2[30000:]
    assert server.requests[-1] == ("/m.pth", "bytes=30000-", '"v1"')


def test_resume_against_a_server_ignoring_if_range_is_caught_by_the_new_etag(server, tmp_path):
    v1, v2 = torch_bytes(1), torch_bytes(2)
    server.routes["/m.pth"] = {"body": v1, "etag": '"v1"', "cut_always": 30000}
    with pytest.raises(DownloadError):
        fetch(server.url + "/m.pth", tmp_path / "m.pth", **quick(allow_http=True, retries=0))
    server.routes["/m.pth"] = {"body": v2, "etag": '"v2"', "if_range": False}  # answers 206 regardless
    fetch(server.url + "/m.pth", tmp_path / "m.pth", **quick(allow_http=True))
    assert (tmp_path / "m.pth").read_bytes() == v2


def test_no_validator_means_no_resume(server, tmp_path):
    body = torch_bytes(1)
    server.routes["/m.pth"] = {"body": body, "cut_first": 30000}  # no ETag / Last-Modified
    fetch(server.url + "/m.pth", tmp_path / "m.pth", **quick(allow_http=True))
    assert (tmp_path / "m.pth").read_bytes() == body
    assert [r[1] for r in server.requests] == [None, None]  # restarted from 0, never a blind Range


def test_server_without_range_support_restarts_cleanly(server, tmp_path):
    body = torch_bytes(2)
    server.routes["/m.pth"] = {"body": body, "etag": '"x"', "cut_first": 10000, "ranges": False}
    fetch(server.url + "/m.pth", tmp_path / "m.pth", **quick(allow_http=True))
    assert (tmp_path / "m.pth").read_bytes() == body


def test_early_close_without_content_length(server, tmp_path):
    """vocab.txt cut at 10,823 of 30,001 lines was kept as "present": no length and no digest is refused,
    and with a digest the short body is rejected."""
    body = "\n".join(f"word{i}" for i in range(30001)).encode()
    server.routes["/vocab.txt"] = {"body": body, "no_length": True, "cut_always": len(body) // 3}
    with pytest.raises(DownloadError, match="no Content-Length and no digest"):
        fetch(server.url + "/vocab.txt", tmp_path / "vocab.txt", **quick(allow_http=True))
    with pytest.raises(DownloadError, match="sha256 mismatch"):
        fetch(server.url + "/vocab.txt", tmp_path / "vocab.txt",
              sha256=hashlib.sha256(body).hexdigest(), **quick(allow_http=True))
    assert not list(tmp_path.iterdir())


def test_cut_chunked_transfer_is_retried(server, tmp_path):
    body = torch_bytes(3)
    server.routes["/m.pth"] = {"body": body, "chunked": True, "cut_first": 20000}
    fetch(server.url + "/m.pth", tmp_path / "m.pth", sha256=hashlib.sha256(body).hexdigest(),
          **quick(allow_http=True))
    assert (tmp_path / "m.pth").read_bytes() == body and len(server.requests) == 2


def test_cut_chunked_transfer_fails_one_file_and_the_others_are_fetched(server, tmp_path):
    """The CLI: one line for the failed file, the other file downloaded, exit 1, nothing half-written."""
    amt = torch_bytes(3)
    server.routes[AMT] = {"body": amt, "chunked": True, "cut_always": 20000}
    server.routes[UMT] = {"body": torch_bytes(4), "etag": '"u"'}
    cache = tmp_path / "cache"
    # a chunked body has no Content-Length: only a file with a known digest (here from a lock file) is accepted
    weights.write_lock(tmp_path / weights.LOCK_FILE, {
        "amt_model/amt-s.pth": weights.LockEntry(len(amt), hashlib.sha256(amt).hexdigest())})
    out = subprocess.run([sys.executable, "-m", "pytest_vbench.cli", "download", "--quiet", "--allow-http",
                          "--dims", "motion_smoothness,human_action", "--cache-dir", str(cache)],
                         capture_output=True, text=True, check=False, cwd=tmp_path,
                         env={**os.environ, "PYTHONPATH": str(ROOT), "HF_ENDPOINT": server.url})
    assert out.returncode == 1, out.stderr
    assert "Traceback" not in out.stderr
    lines = out.stdout.splitlines()
    failed = [line for line in lines if line.startswith("FAILED")]
    assert len(failed) == 1 and "amt_model/amt-s.pth" in failed[0] and "IncompleteRead" in failed[0]
    assert "downloaded  umt_model/l16_ptk710_ftk710_ftk400_f16_res224.pth" in lines
    assert lines[-1].endswith("1 ok, 1 failed (amt_model/amt-s.pth)")
    assert sorted(p.name for p in (cache / "amt_model").iterdir()) == ["amt-s.pth.lock"]


def test_404(server, tmp_path):
    with pytest.raises(DownloadError, match="HTTP 404"):
        fetch(server.url + "/missing.pth", tmp_path / "x.pth", **quick(allow_http=True))
    assert not (tmp_path / "x.pth").exists()


def test_wrong_digest_discards_the_file(server, tmp_path):
    server.routes["/m.pth"] = {"body": torch_bytes()}
    with pytest.raises(DownloadError, match="sha256 mismatch"):
        fetch(server.url + "/m.pth", tmp_path / "m.pth", sha256="0" * 64, **quick(allow_http=True))
    assert not (tmp_path / "m.pth").exists() and not (tmp_path / "m.pth.part").exists()


def test_truncated_archive_is_refused(server, tmp_path):
    server.routes["/m.pth"] = {"body": torch_bytes()[:-5000]}  # the server itself has a short file
    with pytest.raises(DownloadError, match="neither a torch zip archive nor a pickle|damaged archive"):
        fetch(server.url + "/m.pth", tmp_path / "m.pth", **quick(allow_http=True))
    assert not (tmp_path / "m.pth").exists()


@pytest.mark.parametrize("ctype", ["text/html; charset=utf-8", "application/octet-stream"])
def test_html_error_page_instead_of_checkpoint(server, tmp_path, ctype):
    server.routes["/m.pth"] = {"body": b"<!DOCTYPE html><html><body>Sign in to continue</body></html>",
                               "ctype": ctype}
    with pytest.raises(DownloadError, match="HTML"):
        fetch(server.url + "/m.pth", tmp_path / "m.pth", **quick(allow_http=True))
    assert not (tmp_path / "m.pth").exists()


def test_hf_endpoint_rewrites_hub_urls(server, tmp_path, monkeypatch):
    assert resolve_url("https://huggingface.co/a/b") == "https://huggingface.co/a/b"
    monkeypatch.setenv("HF_ENDPOINT", server.url + "/")
    assert resolve_url("https://huggingface.co" + AMT) == server.url + AMT
    assert resolve_url("https://example.org/x") == "https://example.org/x"
    body = torch_bytes(3)
    server.routes[AMT] = {"body": body}
    assert download.download(["motion_smoothness"], tmp_path, **quick(allow_http=True)) == [
        ("amt_model/amt-s.pth", "downloaded")]
    assert (tmp_path / "amt_model" / "amt-s.pth").read_bytes() == body
    manifest = weights.read_manifest(tmp_path)
    assert manifest["amt_model/amt-s.pth"]["size"] == len(body)
    assert manifest["amt_model/amt-s.pth"]["sha256"] == hashlib.sha256(body).hexdigest()
    # present and verified: nothing is requested again
    n = len(server.requests)
    assert download.download(["motion_smoothness"], tmp_path, **quick(allow_http=True)) == [
        ("amt_model/amt-s.pth", "present")]
    assert len(server.requests) == n


def test_manifest_detects_a_replaced_file_and_redownloads(server, tmp_path, monkeypatch):
    monkeypatch.setenv("HF_ENDPOINT", server.url)
    body = torch_bytes(4)
    server.routes[AMT] = {"body": body}
    ckpt = weights.by_path("amt_model/amt-s.pth")
    ensure(ckpt, tmp_path, **quick(allow_http=True))
    (tmp_path / "amt_model" / "amt-s.pth").write_bytes(torch_bytes(5))  # same format, other content
    with pytest.raises(weights.CorruptCheckpoint, match="sha256"):
        weights.verify(ckpt, tmp_path, full=True)
    assert ensure(ckpt, tmp_path, **quick(allow_http=True)) == "downloaded"
    assert (tmp_path / "amt_model" / "amt-s.pth").read_bytes() == body


def test_a_lock_file_digest_is_enforced_on_download(server, tmp_path, monkeypatch):
    monkeypatch.setenv("HF_ENDPOINT", server.url)
    server.routes[AMT] = {"body": torch_bytes(4)}
    lock = tmp_path / weights.LOCK_FILE
    weights.write_lock(lock, {"amt_model/amt-s.pth": weights.LockEntry(1, "ab" * 32)})
    out = dict(download.download(["motion_smoothness"], tmp_path / "c", lock=lock, **quick(allow_http=True)))
    assert out["amt_model/amt-s.pth"].startswith("FAILED: ") and "sha256 mismatch" in out["amt_model/amt-s.pth"]
    assert not (tmp_path / "c" / "amt_model" / "amt-s.pth").exists()


def test_concurrent_downloads_fetch_once(server, tmp_path, monkeypatch):
    monkeypatch.setenv("HF_ENDPOINT", server.url)
    body = torch_bytes(6, n=300000)
    server.routes[AMT] = {"body": body}
    ckpt = weights.by_path("amt_model/amt-s.pth")
    outcomes, errors = [], []

    def worker():
        try:
            outcomes.append(ensure(ckpt, tmp_path, **quick(allow_http=True)))
        except Exception as exc:  # noqa: BLE001 - pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert sorted(outcomes) == ["downloaded", "present", "present", "present"]
    assert [r[0] for r in server.requests].count(AMT) == 1
    assert (tmp_path / "amt_model" / "amt-s.pth").read_bytes() == body


def _raft_zip_row(monkeypatch, url: str, size: int | None = None) -> None:
    ckpt = weights.by_path("raft_model/models/raft-things.pth")
    monkeypatch.setattr(weights, "CHECKPOINTS", tuple(
        weights.Checkpoint(c.path, url, c.sha256, size or c.size, c.families, c.sha256_prefix, c.archive)
        if c is ckpt else c for c in weights.CHECKPOINTS))


def test_raft_zip_is_extracted(server, tmp_path, monkeypatch):
    body = torch_bytes(7)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("models/raft-things.pth", body)
        zf.writestr("models/raft-small.pth", b"other")
    server.routes["/models.zip"] = {"body": buf.getvalue()}
    _raft_zip_row(monkeypatch, server.url + "/models.zip")
    out = download.download(["dynamic_degree"], tmp_path, **quick(allow_http=True))
    assert out == [("raft_model/models/raft-things.pth", "downloaded")]
    assert (tmp_path / "raft_model" / "models" / "raft-things.pth").read_bytes() == body
    assert not (tmp_path / "raft_model" / "models.zip").exists()


def test_zip_bomb_is_refused_and_nothing_is_left(server, tmp_path, monkeypatch):
    """A small zip whose member expands far beyond the checkpoint's size is not extracted."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("models/raft-things.pth", b"\0" * (8 << 20))
    assert len(buf.getvalue()) < 64 << 10
    server.routes["/models.zip"] = {"body": buf.getvalue()}
    _raft_zip_row(monkeypatch, server.url + "/models.zip", size=100_000)
    monkeypatch.setattr(download, "MIN_EXTRACT_CAP", 0)
    out = dict(download.download(["dynamic_degree"], tmp_path, **quick(allow_http=True)))
    assert "declares 8,388,608 bytes, more than the 400,000 allowed" in out["raft_model/models/raft-things.pth"]
    left = sorted(p.name for p in (tmp_path / "raft_model").rglob("*") if p.is_file())
    assert left == ["raft-things.pth.lock"]


def test_a_member_that_is_not_a_checkpoint_never_reaches_the_final_path(server, tmp_path, monkeypatch):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("models/raft-things.pth", b"<!DOCTYPE html><html>gone</html>")
    server.routes["/models.zip"] = {"body": buf.getvalue()}
    _raft_zip_row(monkeypatch, server.url + "/models.zip")
    out = dict(download.download(["dynamic_degree"], tmp_path, **quick(allow_http=True)))
    assert "HTML" in out["raft_model/models/raft-things.pth"]
    assert not (tmp_path / "raft_model" / "models" / "raft-things.pth").exists()
    assert not (tmp_path / "raft_model" / "models" / "raft-things.pth.part").exists()


def test_read_only_cache_with_every_file_valid_reports_present(server, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("HF_ENDPOINT", server.url)
    server.routes[AMT] = {"body": torch_bytes(8)}
    cache = tmp_path / "cache"
    assert download.download(["motion_smoothness"], cache, **quick(allow_http=True))[0][1] == "downloaded"
    weights._MEMO.clear()
    for p in cache.rglob("*.lock"):
        p.unlink()
    real_open, real_os_open = open, os.open

    def guarded(path) -> None:
        if str(path).startswith(str(cache)):
            raise PermissionError(13, "Read-only file system", str(path))

    def ro_open(file, mode="r", *a, **k):
        if any(c in mode for c in "wax+"):
            guarded(file)
        return real_open(file, mode, *a, **k)

    def ro_os_open(path, flags, *a, **k):
        if flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT):
            guarded(path)
        return real_os_open(path, flags, *a, **k)

    import builtins

    monkeypatch.setattr(builtins, "open", ro_open)
    monkeypatch.setattr(os, "open", ro_os_open)
    if os.geteuid() != 0:
        for p in [cache, *cache.rglob("*")]:
            p.chmod(p.stat().st_mode & ~0o222)
    from pytest_vbench import cli

    n = len(server.requests)
    assert cli.main(["download", "--quiet", "--dims", "motion_smoothness", "--cache-dir", str(cache)]) == 0
    assert "present     amt_model/amt-s.pth" in capsys.readouterr().out and len(server.requests) == n
    monkeypatch.undo()
    for p in [cache, *cache.rglob("*")]:
        p.chmod(p.stat().st_mode | 0o200)


def test_failures_are_collected_per_file(server, tmp_path, monkeypatch):
    monkeypatch.setenv("HF_ENDPOINT", server.url)
    out = dict(download.download(["temporal_style"], tmp_path, **quick(allow_http=True)))
    assert out["ViCLIP/ViClip-InternVid-10M-FLT.pth"].startswith("FAILED: ") and "404" in out[
        "ViCLIP/ViClip-InternVid-10M-FLT.pth"]


def test_preflight_names_missing_and_truncated_files(tmp_path):
    assert weights.preflight(["temporal_flickering"], tmp_path) is None
    (tmp_path / "amt_model").mkdir()
    (tmp_path / "amt_model" / "amt-s.pth").write_bytes(torch_bytes()[:4000])
    text = weights.preflight(["motion_smoothness", "imaging_quality"], tmp_path)
    assert f"missing  {tmp_path}/pyiqa_model/musiq_spaq_ckpt-358bb6af.pth  (needed by imaging_quality)" in text
    assert f"corrupt  {tmp_path}/amt_model/amt-s.pth  (needed by motion_smoothness)" in text
    assert f"pytest-vbench download --dims motion_smoothness,imaging_quality --cache-dir {tmp_path}" in text


def test_printed_download_command_is_shell_quoted(tmp_path):
    cache = tmp_path / "my cache; rm -rf x"
    cmd = weights.download_command(["motion_smoothness"], cache)
    out = subprocess.run(["sh", "-c", f"printf '%s\\n' {cmd.split(' ', 1)[1]}"], capture_output=True, text=True,
                         check=True).stdout.splitlines()
    assert out == ["download", "--dims", "motion_smoothness", "--cache-dir", str(cache)]


def test_bert_path_override(tmp_path, monkeypatch):
    monkeypatch.setenv("VBENCH_BERT_PATH", str(tmp_path / "mybert"))
    vocab = weights.by_path("bert_model/bert-base-uncased/vocab.txt")
    assert weights.location(vocab, tmp_path / "cache") == tmp_path / "mybert" / "vocab.txt"


def test_checkpoint_loading_errors(tmp_path):
    from pytest_vbench.models.checkpoint import (
        CheckpointError,
        check_keys,
        load_state_dict,
        resolve,
    )
    from pytest_vbench.runtime import Runtime

    rt = Runtime("cpu", tmp_path)
    with pytest.raises(CheckpointError, match="missing checkpoint .*amt-s.pth .*motion_smoothness.*pytest-vbench download"):
        resolve("amt_model/amt-s.pth", rt)
    bad = tmp_path / "bad.pth"
    bad.write_bytes(b"\x80\x02garbage")
    with pytest.raises(CheckpointError, match="truncated or corrupt"):
        load_state_dict(bad)
    good = tmp_path / "good.pth"
    torch.save({"state_dict": {"module.a": torch.zeros(1)}}, good)
    assert list(load_state_dict(good, unwrap=("state_dict",), strip_prefix="module.")) == ["a"]
    model = torch.nn.Linear(2, 2)
    with pytest.raises(CheckpointError, match="1 missing key\\(s\\): bias; 1 unexpected key\\(s\\): extra"):
        check_keys(model, {"weight": 0, "extra": 0}, good)
