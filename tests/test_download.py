"""Downloads against a real HTTP server on 127.0.0.1 serving generated files (no internet)."""

from __future__ import annotations

import hashlib
import io
import json
import threading
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from pytest_vbench import download, weights
from pytest_vbench.download import DownloadError, ensure, fetch, resolve_url

torch = pytest.importorskip("torch")


def torch_bytes(seed: int = 0, n: int = 20000) -> bytes:
    g = torch.Generator().manual_seed(seed)
    buf = io.BytesIO()
    torch.save({"weight": torch.randn(n, generator=g), "bias": torch.zeros(3)}, buf)
    return buf.getvalue()


class Server:
    """Routes: path -> dict(body=bytes, status=int, ctype=str, cut_first=int|None)."""

    def __init__(self):
        self.routes: dict[str, dict] = {}
        self.requests: list[tuple[str, str | None]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                server.requests.append((self.path, self.headers.get("Range")))
                route = server.routes.get(self.path)
                if route is None or route.get("status") == 404:
                    self.send_error(404, "Not Found")
                    return
                body = route["body"]
                start = 0
                rng = self.headers.get("Range")
                if rng and route.get("ranges", True):
                    start = int(rng.split("=")[1].split("-")[0])
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
                else:
                    self.send_response(route.get("status", 200))
                self.send_header("Content-Type", route.get("ctype", "application/octet-stream"))
                self.send_header("Content-Length", str(len(body) - start))
                self.end_headers()
                cut = route.pop("cut_first", None)
                payload = body[start:]
                if cut is not None:
                    self.wfile.write(payload[:cut])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                self.wfile.write(payload)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
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


def test_success_writes_file_marker_and_no_part(server, tmp_path):
    body = torch_bytes()
    server.routes["/m.pth"] = {"body": body}
    dest = fetch(server.url + "/m.pth", tmp_path / "m.pth", sha256=hashlib.sha256(body).hexdigest(), progress=False)
    assert dest.read_bytes() == body
    marker = json.loads((tmp_path / "m.pth.done").read_text())
    assert marker["sha256"] == hashlib.sha256(body).hexdigest() and marker["size"] == len(body)
    assert not (tmp_path / "m.pth.part").exists()
    assert torch.load(dest, weights_only=True)["bias"].shape == (3,)


def test_resume_after_a_cut_connection(server, tmp_path):
    body = torch_bytes(1)
    server.routes["/m.pth"] = {"body": body, "cut_first": 30000}
    fetch(server.url + "/m.pth", tmp_path / "m.pth", progress=False)
    assert (tmp_path / "m.pth").read_bytes() == body
    assert server.requests[0] == ("/m.pth", None)
    assert server.requests[1] == ("/m.pth", "bytes=30000-")  # resumed, not restarted


def test_server_without_range_support_restarts_cleanly(server, tmp_path):
    body = torch_bytes(2)
    server.routes["/m.pth"] = {"body": body, "cut_first": 10000, "ranges": False}
    fetch(server.url + "/m.pth", tmp_path / "m.pth", progress=False)
    assert (tmp_path / "m.pth").read_bytes() == body


def test_404(server, tmp_path):
    with pytest.raises(DownloadError, match="HTTP 404"):
        fetch(server.url + "/missing.pth", tmp_path / "x.pth", progress=False)
    assert not (tmp_path / "x.pth").exists()


def test_wrong_digest_discards_the_file(server, tmp_path):
    server.routes["/m.pth"] = {"body": torch_bytes()}
    with pytest.raises(DownloadError, match="sha256 mismatch"):
        fetch(server.url + "/m.pth", tmp_path / "m.pth", sha256="0" * 64, progress=False)
    assert not (tmp_path / "m.pth").exists() and not (tmp_path / "m.pth.part").exists()


def test_truncated_archive_is_refused(server, tmp_path):
    server.routes["/m.pth"] = {"body": torch_bytes()[:-5000]}  # the server itself has a short file
    with pytest.raises(DownloadError, match="neither a torch zip archive nor a pickle|damaged archive"):
        fetch(server.url + "/m.pth", tmp_path / "m.pth", progress=False)
    assert not (tmp_path / "m.pth").exists()


@pytest.mark.parametrize("ctype", ["text/html; charset=utf-8", "application/octet-stream"])
def test_html_error_page_instead_of_checkpoint(server, tmp_path, ctype):
    server.routes["/m.pth"] = {"body": b"<!DOCTYPE html><html><body>Sign in to continue</body></html>",
                               "ctype": ctype}
    with pytest.raises(DownloadError, match="HTML"):
        fetch(server.url + "/m.pth", tmp_path / "m.pth", progress=False)
    assert not (tmp_path / "m.pth").exists()


def test_hf_endpoint_rewrites_hub_urls(server, tmp_path, monkeypatch):
    assert resolve_url("https://huggingface.co/a/b") == "https://huggingface.co/a/b"
    monkeypatch.setenv("HF_ENDPOINT", server.url + "/")
    assert resolve_url("https://huggingface.co/lalala125/AMT/resolve/main/amt-s.pth") == \
        server.url + "/lalala125/AMT/resolve/main/amt-s.pth"
    assert resolve_url("https://example.org/x") == "https://example.org/x"
    body = torch_bytes(3)
    server.routes["/lalala125/AMT/resolve/main/amt-s.pth"] = {"body": body}
    assert download.download(["motion_smoothness"], tmp_path, progress=False) == [("amt_model/amt-s.pth", "downloaded")]
    assert (tmp_path / "amt_model" / "amt-s.pth").read_bytes() == body
    manifest = weights.read_manifest(tmp_path)
    assert manifest["amt_model/amt-s.pth"] == {"size": len(body), "sha256": hashlib.sha256(body).hexdigest()}
    # present and verified: nothing is requested again
    n = len(server.requests)
    assert download.download(["motion_smoothness"], tmp_path, progress=False) == [("amt_model/amt-s.pth", "present")]
    assert len(server.requests) == n


def test_manifest_detects_a_replaced_file_and_redownloads(server, tmp_path, monkeypatch):
    monkeypatch.setenv("HF_ENDPOINT", server.url)
    body = torch_bytes(4)
    server.routes["/lalala125/AMT/resolve/main/amt-s.pth"] = {"body": body}
    ckpt = weights.by_path("amt_model/amt-s.pth")
    ensure(ckpt, tmp_path, progress=False)
    (tmp_path / "amt_model" / "amt-s.pth").write_bytes(torch_bytes(5))  # same format, other content
    with pytest.raises(weights.CorruptCheckpoint, match="sha256"):
        weights.verify(ckpt, tmp_path, full=True)
    assert ensure(ckpt, tmp_path, progress=False) == "downloaded"
    assert (tmp_path / "amt_model" / "amt-s.pth").read_bytes() == body


def test_concurrent_downloads_fetch_once(server, tmp_path, monkeypatch):
    monkeypatch.setenv("HF_ENDPOINT", server.url)
    body = torch_bytes(6, n=300000)
    server.routes["/lalala125/AMT/resolve/main/amt-s.pth"] = {"body": body}
    ckpt = weights.by_path("amt_model/amt-s.pth")
    outcomes, errors = [], []

    def worker():
        try:
            outcomes.append(ensure(ckpt, tmp_path, progress=False))
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert sorted(outcomes) == ["downloaded", "present", "present", "present"]
    assert [p for p, _ in server.requests].count("/lalala125/AMT/resolve/main/amt-s.pth") == 1
    assert (tmp_path / "amt_model" / "amt-s.pth").read_bytes() == body


def test_raft_zip_is_extracted(server, tmp_path, monkeypatch):
    body = torch_bytes(7)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("models/raft-things.pth", body)
        zf.writestr("models/raft-small.pth", b"other")
    server.routes["/models.zip"] = {"body": buf.getvalue()}
    ckpt = weights.by_path("raft_model/models/raft-things.pth")
    monkeypatch.setattr(weights, "CHECKPOINTS", tuple(
        weights.Checkpoint(c.path, server.url + "/models.zip", c.sha256, c.size, c.families, c.sha256_prefix, c.archive)
        if c is ckpt else c for c in weights.CHECKPOINTS))
    out = download.download(["dynamic_degree"], tmp_path, progress=False)
    assert out == [("raft_model/models/raft-things.pth", "downloaded")]
    assert (tmp_path / "raft_model" / "models" / "raft-things.pth").read_bytes() == body
    assert not (tmp_path / "raft_model" / "models.zip").exists()


def test_failures_are_collected_per_file(server, tmp_path, monkeypatch):
    monkeypatch.setenv("HF_ENDPOINT", server.url)
    out = dict(download.download(["temporal_style"], tmp_path, progress=False))
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


def test_bert_path_override(tmp_path, monkeypatch):
    monkeypatch.setenv("VBENCH_BERT_PATH", str(tmp_path / "mybert"))
    vocab = weights.by_path("bert_model/bert-base-uncased/vocab.txt")
    assert weights.location(vocab, tmp_path / "cache") == tmp_path / "mybert" / "vocab.txt"


def test_checkpoint_loading_errors(tmp_path):
    from pytest_vbench.models.checkpoint import CheckpointError, check_keys, load_state_dict, resolve
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
