"""Nothing in the cache runs code; every file is checked against its digest, hashed once per state.

The hostile archive here is a 2.5 KB TorchScript module whose ``__setstate__`` (run by
``torch.jit.load``) creates a file through ``torch.from_file(..., shared=True)``: the attack of issue 13.
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("open_clip")

from unpinned_rows import UNPIN_CONFTEST, unpin

from pytest_vbench import fake_checkpoints, weights
from pytest_vbench.models import clip as C
from pytest_vbench.models.checkpoint import (
    CheckpointError,
    read_archive_tensors,
    resolve,
)
from pytest_vbench.runtime import Runtime

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def _official_digests_only(monkeypatch):
    """The suite-wide acceptance of seeded checkpoints is off here: digests are enforced."""
    monkeypatch.delenv(weights.UNOFFICIAL_ENV, raising=False)
    monkeypatch.setenv(weights.LOCK_ENV, "")  # empty: none; restored after the test (preflight exports one)
    monkeypatch.chdir(ROOT)  # no stray lock file in the cwd


PAYLOAD = """
import sys
from typing import Tuple

import torch


class Payload(torch.nn.Module):
    def __init__(self, target: str):
        super().__init__()
        self.w = torch.zeros(2)
        self.target = target

    def forward(self, x):
        return x

    @torch.jit.export
    def __getstate__(self) -> Tuple[torch.Tensor, str, bool]:
        return (self.w, self.target, self.training)

    @torch.jit.export
    def __setstate__(self, state: Tuple[torch.Tensor, str, bool]) -> None:
        self.w = state[0]
        self.target = state[1]
        self.training = state[2]
        self.w = self.w + torch.from_file(self.target, True, 2, dtype=torch.uint8).float()


torch.jit.save(torch.jit.script(Payload(sys.argv[1])), sys.argv[2])
"""


def write_hostile_archive(path: Path, target: Path) -> Path:
    """A scripted module whose loading with ``torch.jit.load`` creates ``target`` (built in a subprocess:
    TorchScript needs the class source in a file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    script = path.parent.parent / "make_payload.py"
    script.write_text(PAYLOAD)
    subprocess.run([sys.executable, str(script), str(target), str(path)], check=True, capture_output=True)
    script.unlink()
    return path


@pytest.fixture
def hostile(tmp_path):
    target = tmp_path / "pwned"
    archive = write_hostile_archive(tmp_path / "cache" / "clip_model" / "ViT-B-32.pt", target)
    return archive, target


def test_the_hostile_archive_really_runs_code_under_torch_jit_load(hostile):
    """The premise: loading it the way the official code does (``torch.jit.load``) creates the file."""
    archive, target = hostile
    assert archive.stat().st_size < 4000 and not target.exists()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.jit.load(str(archive))
    assert target.exists()


def test_the_archive_reader_refuses_it_without_running_it(hostile):
    archive, target = hostile
    with pytest.raises(CheckpointError, match="cannot be read as a weights-only archive.*custom __getstate__"):
        C.read_state(archive)
    assert not target.exists()


def test_the_digest_stops_it_before_reading(hostile):
    archive, target = hostile
    rt = Runtime("cpu", archive.parents[1])
    with pytest.raises(CheckpointError, match="sha256 .* the published digest is 40d365715913c9da.*not the official "
                                              "file.*background_consistency.*pytest-vbench download"):
        C.load_b32(rt)
    assert not target.exists()


def _background_suite(tmp_path: Path) -> tuple[Path, Path]:
    from pytest_vbench.suite import load_suite

    from synthetic import noise_frames, write_video

    entry = next(e for e in load_suite().entries if "background_consistency" in e["dimension"])
    suite = tmp_path / "suite.json"
    suite.write_text(json.dumps([entry]))
    videos = tmp_path / "videos"
    videos.mkdir()
    write_video(videos / f"{entry['prompt_en']}-0.mp4", noise_frames(1, n=4, h=64, w=64))
    return suite, videos


@pytest.mark.parametrize("accept_unofficial", [False, True])
def test_hostile_clip_archive_through_the_plugin(pytester, tmp_path, hostile, monkeypatch, accept_unofficial):
    """A run of the affected dimension never executes the archive and says why it stopped."""
    archive, target = hostile
    suite, videos = _background_suite(tmp_path)
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    if accept_unofficial:  # even with the digest check waived, the reader runs nothing from the file
        monkeypatch.setenv(weights.UNOFFICIAL_ENV, "1")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--vbench-videos", str(videos),
                                           "--vbench-full-info", str(suite), "--vbench-dims", "background_consistency",
                                           "--vbench-cache-dir", str(archive.parents[1]))
    out = result.stdout.str() + result.stderr.str()
    assert not target.exists()
    if accept_unofficial:
        assert result.ret == pytest.ExitCode.TESTS_FAILED
        assert "cannot be read as a weights-only archive" in out and "custom __getstate__" in out
    else:
        assert result.ret == pytest.ExitCode.USAGE_ERROR
        assert "not the official file" in out and str(archive) in out and "(needed by background_consistency)" in out


def test_reader_equals_torchscript_state_dict(tmp_path):
    """On an OpenAI-style traced archive the reader yields exactly ``torch.jit.load(...).state_dict()``."""
    path = fake_checkpoints.write_clip(tmp_path, "ViT-B-32", seed=3, tiny=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = torch.jit.load(str(path), map_location="cpu").state_dict()
    got = read_archive_tensors(path)
    assert set(got) == set(ref)
    for k in ref:
        assert got[k].dtype == ref[k].dtype and got[k].stride() == ref[k].stride() and torch.equal(got[k], ref[k]), k


def test_clip_loading_never_calls_torch_jit_load(tmp_path, monkeypatch):
    fake_checkpoints.write_clip(tmp_path, "ViT-B-32", seed=4, tiny=True)

    def forbidden(*a, **k):
        raise AssertionError("torch.jit.load called")

    monkeypatch.setattr(torch.jit, "load", forbidden)
    monkeypatch.setenv(weights.UNOFFICIAL_ENV, "1")  # a seeded archive, not the official file
    model = C.load_b32(Runtime("cpu", tmp_path))
    assert model.visual.conv1.weight.shape[0] == 64


def test_reader_refuses_globals_and_inconsistent_storages(tmp_path):
    import pickle
    import zipfile

    bad = tmp_path / "bad.pt"
    with zipfile.ZipFile(bad, "w") as zf:
        zf.writestr("a/data.pkl", pickle.dumps(os.system, protocol=2))
        zf.writestr("a/code/x.py", "")
    with pytest.raises(CheckpointError, match="refused global (posix|nt).system"):
        read_archive_tensors(bad)
    good = fake_checkpoints.write_clip(tmp_path / "c", "ViT-B-32", seed=5, tiny=True)
    short = tmp_path / "short.pt"
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(short, "w") as dst:
        for info in src.infolist():
            data = src.read(info)
            dst.writestr(info, data[:-4] if info.filename.endswith("/data/0") else data)
    with pytest.raises(CheckpointError, match="storage .*/data/0 holds .* bytes"):
        read_archive_tensors(short)
    with zipfile.ZipFile(good) as zf:
        info = next(i for i in zf.infolist() if i.filename.endswith("/data/0"))
    raw = bytearray(good.read_bytes())
    start = info.header_offset + 30 + len(info.filename.encode()) + int.from_bytes(
        raw[info.header_offset + 28:info.header_offset + 30], "little")
    raw[start + 5] ^= 0xFF  # bit rot inside a tensor
    rotten = tmp_path / "rotten.pt"
    rotten.write_bytes(bytes(raw))
    with pytest.raises(CheckpointError, match="data/0 is truncated or damaged \\(CRC\\)"):
        read_archive_tensors(rotten)


# -- ViCLIP and UMT go through checkpoint.resolve -------------------------------------------------

@pytest.mark.parametrize("family,rel,dim", [("viclip", "ViCLIP/ViClip-InternVid-10M-FLT.pth", "overall_consistency"),
                                            ("umt", "umt_model/l16_ptk710_ftk710_ftk400_f16_res224.pth",
                                             "human_action")])
def test_video_text_loaders_raise_checkpoint_errors(tmp_path, monkeypatch, family, rel, dim):
    from pytest_vbench.models import load

    unpin(monkeypatch, rel, "ViCLIP/bpe_simple_vocab_16e6.txt.gz")  # the loader's own checks, not the digest's

    cache = tmp_path / "my cache"  # a space: the printed command must still work when pasted
    rt = Runtime("cpu", cache)
    with pytest.raises(CheckpointError, match=f"missing checkpoint .*{Path(rel).name} .*{dim}") as exc:
        load(family, rt)
    assert f"--cache-dir '{cache}'" in str(exc.value)
    path = cache / rel
    path.parent.mkdir(parents=True)
    path.write_bytes(b"\x80\x02garbage")
    if family == "viclip":
        (cache / "ViCLIP" / "bpe_simple_vocab_16e6.txt.gz").write_bytes(b"x")
    with pytest.raises(CheckpointError, match="truncated or corrupt"):
        load(family, rt)
    torch.save({"unrelated": torch.zeros(1)}, path)
    with pytest.raises(CheckpointError, match=str(path)):
        load(family, rt)


# -- hashing once per file state, --vbench-verify-checkpoints, lock files ---------------------------

def _bpe(cache: Path) -> Path:
    p = weights.location(weights.by_path("ViCLIP/bpe_simple_vocab_16e6.txt.gz"), cache)
    p.parent.mkdir(parents=True, exist_ok=True)
    import open_clip

    p.write_bytes((Path(open_clip.__file__).parent / "bpe_simple_vocab_16e6.txt.gz").read_bytes())
    return p


def test_published_digest_verified_and_hashed_once_per_state(tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    path = _bpe(cache)
    ckpt = weights.by_path("ViCLIP/bpe_simple_vocab_16e6.txt.gz")
    calls = []
    real = weights.sha256_of
    monkeypatch.setattr(weights, "sha256_of", lambda p, *a: calls.append(p) or real(p, *a))
    assert weights.check(ckpt, cache).state == "verified"
    weights._MEMO.clear()  # a new process: the manifest remembers the digest
    assert weights.check(ckpt, cache).state == "verified"
    assert len(calls) == 1
    assert weights.read_manifest(cache)[ckpt.path]["hashed"]["sha256"] == ckpt.sha256
    assert weights.check(ckpt, cache, force=True).state == "verified" and len(calls) == 2
    data = bytearray(path.read_bytes())
    data[100] ^= 1  # same size, other content, mtime restored: ctime still changes
    st = path.stat()
    path.write_bytes(bytes(data))
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    status = weights.check(ckpt, cache)
    assert status.state == "mismatch" and "not the official file" in status.detail and len(calls) == 3


def test_forged_manifest_memo_does_not_help_a_replaced_file(tmp_path):
    cache = tmp_path / "cache"
    path = _bpe(cache)
    ckpt = weights.by_path("ViCLIP/bpe_simple_vocab_16e6.txt.gz")
    assert weights.check(ckpt, cache).state == "verified"
    weights._MEMO.clear()
    path.write_bytes(b"\x1f\x8b" + b"0" * (path.stat().st_size - 2))  # replaced in place, memo left as it was
    assert weights.check(ckpt, cache).state == "mismatch"


def test_verify_option_forces_a_full_hash(pytester, tmp_path, small_suite, flicker_videos, monkeypatch):
    """``--vbench-verify-checkpoints`` rehashes: a corrupted unpinned file with an intact size is caught."""
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    unpin(monkeypatch, "amt_model/amt-s.pth")
    pytester.makeconftest(UNPIN_CONFTEST.format(paths={"amt_model/amt-s.pth"}))  # the same in the subprocess
    cache = tmp_path / "cache"
    ckpt = weights.by_path("amt_model/amt-s.pth")
    path = weights.location(ckpt, cache)
    path.parent.mkdir(parents=True)
    torch.save({"w": torch.arange(100000.0)}, path)
    weights.record_manifest(cache, ckpt.path, path.stat().st_size, weights.sha256_of(path), path)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF  # bit rot inside the tensor's bytes: size and structure unchanged
    path.write_bytes(bytes(data))
    assert weights.check(ckpt, cache).state == "unpinned"
    assert weights.check(ckpt, cache, force=True).state == "corrupt"
    suite = json.loads(small_suite.read_text())
    for entry in suite:  # the prompts are motion_smoothness prompts too, so that dimension can be asked for
        entry["dimension"].append("motion_smoothness")
    both = tmp_path / "both.json"
    both.write_text(json.dumps(suite))
    args = ["-p", "no:cacheprovider", "--vbench-videos", str(flicker_videos), "--vbench-full-info", str(both),
            "--vbench-cache-dir", str(cache), "--vbench-dims", "temporal_flickering"]
    assert pytester.runpytest_subprocess(*args).ret == 0  # temporal_flickering needs no checkpoint
    result = pytester.runpytest_subprocess(*args[:-1], "motion_smoothness", "--vbench-verify-checkpoints")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "changed since it was downloaded" in result.stderr.str() + result.stdout.str()


def _cli(*args, cwd=None, env=None):
    return subprocess.run([sys.executable, "-m", "pytest_vbench.cli", *map(str, args)], check=False,
                          capture_output=True, text=True, cwd=cwd,
                          env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})})


def test_lock_records_and_runs_verify_against_it(tmp_path, monkeypatch, capsys):
    from pytest_vbench import cli

    unpin(monkeypatch, "amt_model/amt-s.pth")  # a row without a published digest: the lock is its only pin
    cache = tmp_path / "cache"
    ckpt = weights.by_path("amt_model/amt-s.pth")
    path = weights.location(ckpt, cache)
    path.parent.mkdir(parents=True)
    torch.save({"w": torch.arange(10.0)}, path)
    lock = tmp_path / "repo" / weights.LOCK_FILE
    lock.parent.mkdir()
    assert cli.main(["lock", "--cache-dir", str(cache), "--output", str(lock)]) == 0, capsys.readouterr().err
    entries = weights.read_lock(lock)
    assert entries == {ckpt.path: weights.LockEntry(path.stat().st_size, weights.sha256_of(path))}
    assert weights.check(ckpt, cache, lock=entries).state == "verified"
    monkeypatch.chdir(lock.parent)
    capsys.readouterr()
    assert cli.main(["list", "--cache-dir", str(cache), "--json"]) == 0
    row = next(r for r in json.loads(capsys.readouterr().out)["checkpoints"] if r["path"] == ckpt.path)
    assert row["pinned"] == "lock" and row["verified"] is True and row["state"] == "verified"
    monkeypatch.chdir(ROOT)
    torch.save({"w": torch.arange(10.0) + 1}, path)  # same size, other numbers
    assert weights.check(ckpt, cache, lock=entries).state == "mismatch"
    text = weights.preflight(["motion_smoothness"], cache, lock=lock)
    assert text and "mismatch" in text and "the lock digest" in text
    assert os.environ[weights.LOCK_ENV] == str(lock.resolve())  # exported for loaders and xdist workers
    with pytest.raises(CheckpointError, match="the lock digest"):
        resolve(ckpt.path, Runtime("cpu", cache))
    monkeypatch.setenv(weights.LOCK_ENV, "")
    assert weights.preflight(["motion_smoothness"], cache) is None  # without the lock it is unpinned


def test_lock_refuses_a_file_that_differs_from_the_published_digest(tmp_path):
    cache = tmp_path / "cache"
    path = _bpe(cache)
    path.write_bytes(b"\x1f\x8b not the vocabulary")
    lock = tmp_path / weights.LOCK_FILE
    out = _cli("lock", "--cache-dir", cache, "--output", lock)
    assert out.returncode == 1 and "differs from the published sha256" in out.stderr and not lock.exists()
    out = _cli("lock", "--cache-dir", cache, "--output", lock, "--accept-unofficial")
    assert out.returncode == 0
    entry = weights.read_lock(lock)["ViCLIP/bpe_simple_vocab_16e6.txt.gz"]
    assert entry.unofficial
    ckpt = weights.by_path("ViCLIP/bpe_simple_vocab_16e6.txt.gz")
    assert weights.check(ckpt, cache, lock=weights.read_lock(lock)).state == "verified"


def test_list_shows_pinned_verified_and_size(tmp_path):
    cache = tmp_path / "cache"
    _bpe(cache)
    out = _cli("list", "--cache-dir", cache)
    assert out.returncode == 0
    rows = [line for line in out.stdout.splitlines() if line.startswith("  ")]
    bpe = next(line for line in rows if line.endswith("bpe_simple_vocab_16e6.txt.gz"))
    assert "verified" in bpe and "published" in bpe and "1.4 MB" in bpe
    dino = next(line for line in rows if line.endswith("dino_vitbase16_pretrain.pth"))
    assert "missing" in dino and "published" in dino
    config = next(line for line in rows if line.endswith("bert-base-uncased/config.json"))
    assert "missing" in config and "unpinned" in config


def test_concurrent_processes_keep_every_manifest_entry(tmp_path):
    cache = tmp_path / "cache"
    cache.mkdir()
    code = ("import sys; from pathlib import Path; from pytest_vbench import weights\n"
            "for i in range(20): weights.update_manifest(Path(sys.argv[1]), f'f{sys.argv[2]}/{i}', {'size': i})\n")
    procs = [subprocess.Popen([sys.executable, "-c", code, str(cache), str(n)], env={**os.environ,
                              "PYTHONPATH": str(ROOT)}) for n in range(8)]
    assert all(p.wait(timeout=120) == 0 for p in procs)
    manifest = weights.read_manifest(cache)
    assert len(manifest) == 160 and all(manifest[f"f{n}/{i}"] == {"size": i} for n in range(8) for i in range(20))
    assert not list(cache.glob("*.part"))


def test_resolve_accepts_unpinned_but_names_the_fix_for_corrupt(tmp_path, monkeypatch):
    unpin(monkeypatch, "amt_model/amt-s.pth")
    ckpt = weights.by_path("amt_model/amt-s.pth")
    cache = tmp_path / "c"
    path = weights.location(ckpt, cache)
    path.parent.mkdir(parents=True)
    torch.save({"w": torch.zeros(1)}, path)
    assert resolve(ckpt.path, Runtime("cpu", cache)) == path
    path.write_bytes(b"<!DOCTYPE html><html>login</html>")
    with pytest.raises(CheckpointError, match="HTML.*motion_smoothness.*pytest-vbench download"):
        resolve(ckpt.path, Runtime("cpu", cache))


# -- the digest columns of the table ----------------------------------------------------------------

def test_every_pinned_row_cites_where_its_digest_was_published():
    for c in weights.CHECKPOINTS:
        if not c.pinned:
            assert not c.digest_source, c.path
            continue
        assert (c.sha256 is None) != (c.git_blob_sha1 is None), c.path  # one kind of published digest per row
        digest, width = (c.sha256, 64) if c.sha256 else (c.git_blob_sha1 or "", 40)
        assert len(digest) == width and set(digest) <= set("0123456789abcdef"), c.path
        assert c.sha256_prefix is None or digest.startswith(c.sha256_prefix), c.path
        # a source to look up: a web address or a repository with a commit, never "computed here"
        assert any(s in c.digest_source for s in ("huggingface.co", "github.com", "openai", "wheels", "write-up")), \
            c.path


def test_the_docs_list_exactly_the_unpinned_rows():
    text = (ROOT / "docs" / "cache.md").read_text(encoding="utf-8")
    table = text[text.index("| file | pinned digest |"):text.index("A file is **verified**")]
    rows = {line.split("|")[1].strip().strip("`"): line.split("|")[2].strip()
            for line in table.splitlines()[2:] if line.startswith("|")}
    assert set(rows) == {c.path for c in weights.CHECKPOINTS}
    for c in weights.CHECKPOINTS:
        cell = rows[c.path]
        if c.sha256:
            assert cell == f"`{c.sha256[:8]}…{c.sha256[-4:]}`", c.path
        elif c.git_blob_sha1:
            assert cell == f"Git blob SHA-1 `{c.git_blob_sha1[:8]}…{c.git_blob_sha1[-4:]}`", c.path
        else:
            assert "**unpinned**" in cell, c.path


def test_git_blob_ids_are_the_ones_git_lists(tmp_path):
    """Known ids: the empty blob and "hello\\n" (what ``git hash-object`` prints for them)."""
    (tmp_path / "empty").write_bytes(b"")
    (tmp_path / "hello").write_bytes(b"hello\n")
    assert weights.git_blob_sha1_of(tmp_path / "empty") == "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391"
    assert weights.git_blob_sha1_of(tmp_path / "hello") == "ce013625030ba8dba906f756967f9e9ca394464a"


def test_the_aesthetic_head_is_pinned_by_its_git_blob_id(tmp_path, monkeypatch, capsys):
    from pytest_vbench import cli

    ckpt = weights.by_path("aesthetic_model/emb_reader/sa_0_4_vit_l_14_linear.pth")
    path = weights.location(ckpt, tmp_path)
    path.parent.mkdir(parents=True)
    torch.save({"weight": torch.zeros(1, 768), "bias": torch.zeros(1)}, path)
    status = weights.check(ckpt, tmp_path)
    assert status.state == "mismatch" and status.source == "git blob" and "Git blob SHA-1" in status.detail
    lock = tmp_path / weights.LOCK_FILE
    assert cli.main(["lock", "--cache-dir", str(tmp_path), "--output", str(lock)]) == 1
    assert "differs from the published Git blob SHA-1 d4135b63" in capsys.readouterr().err and not lock.exists()
    # the same check accepts the file whose Git object id is the published one
    monkeypatch.setattr(weights, "CHECKPOINTS", tuple(
        dataclasses.replace(c, git_blob_sha1=weights.git_blob_sha1_of(path)) if c is ckpt else c
        for c in weights.CHECKPOINTS))
    assert weights.check(weights.by_path(ckpt.path), tmp_path).state == "verified"


@pytest.mark.parametrize("rel", ["dino_model/dino_vitbase16_pretrain.pth", "amt_model/amt-s.pth",
                                 "caption_model/tag2text_swin_14m.pth"])
def test_a_newly_pinned_row_refuses_other_weights(tmp_path, rel):
    """Before this table had its digests these seeded files were "unpinned" and loaded; now they are not."""
    ckpt = weights.by_path(rel)
    path = weights.location(ckpt, tmp_path)
    path.parent.mkdir(parents=True)
    torch.save({"w": torch.zeros(3)}, path)
    status = weights.check(ckpt, tmp_path)
    assert status.state == "mismatch" and "not the official file" in status.detail and status.source == "published"
    with pytest.raises(CheckpointError, match="not the official file"):
        resolve(rel, Runtime("cpu", tmp_path))
