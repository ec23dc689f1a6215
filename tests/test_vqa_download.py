"""vqa_score's snapshots as checkpoint rows: download from a local server (no network), list, lock, preflight."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import pytest
from test_download import Server  # noqa: E402
from test_vqa_score import TINY, VIDEOS  # noqa: E402

from pytest_vbench import cli, weights
from pytest_vbench.models import vqa
from pytest_vbench.models.vqa import snapshots, tiny
from pytest_vbench.models.vqa.snapshots import INDEX, Snapshot

REPO = "acme/tiny-vl"
REV = "0123456789abcdef0123456789abcdef01234567"
HUB = "tiny-hub"


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture(scope="module")
def hub_files(tmp_path_factory) -> dict[str, bytes]:
    """The tiny Qwen2.5-VL snapshot as a hub repository serves it: the weights in two shards and an index."""
    import torch
    from safetensors.torch import load_file, save_file

    folder = tmp_path_factory.mktemp("tiny") / "snap"
    tiny.write_qwen2_5_vl(folder)
    state = load_file(str(folder / "model.safetensors"))
    names = sorted(state)
    half = len(names) // 2
    files = {p.name: p.read_bytes() for p in folder.iterdir() if p.name != "model.safetensors"}
    weight_map = {}
    for i, part in enumerate((names[:half], names[half:]), start=1):
        shard = f"model-0000{i}-of-00002.safetensors"
        save_file({n: state[n].contiguous() for n in part}, str(folder / shard), metadata={"format": "pt"})
        files[shard] = (folder / shard).read_bytes()
        weight_map.update({n: shard for n in part})
    files[INDEX] = json.dumps({"metadata": {"total_size": sum(t.numel() * 4 for t in state.values())},
                               "weight_map": weight_map}).encode()
    assert torch.equal(load_file(str(folder / "model-00001-of-00002.safetensors"))[names[0]], state[names[0]])
    return files


@pytest.fixture
def hub(hub_files, monkeypatch):
    """A local http server in the hub's URL layout (via HF_ENDPOINT) and a known model ``tiny-hub`` whose
    config.json and first shard are pinned (the others unpinned)."""
    server = Server()
    for name, body in hub_files.items():
        server.routes[f"/{REPO}/resolve/{REV}/{name}"] = {"body": body, "etag": f'"{sha(body)[:8]}"'}
    monkeypatch.setenv("HF_ENDPOINT", server.url)
    pins = {f: (len(hub_files[f]), sha(hub_files[f])) for f in ("config.json", "model-00001-of-00002.safetensors")}
    monkeypatch.setitem(snapshots.SNAPSHOTS, HUB, Snapshot(HUB, REPO, "qwen2_5_vl", revision=REV, pins=pins,
                                                          digest_source="this test"))
    yield server
    server.close()


def _download(cache: Path, *extra: str) -> int:
    return cli.main(["download", "--dims", "vqa_score", "--vqa-model", HUB, "--cache-dir", str(cache), "--quiet",
                     "--allow-http", *extra])


# ----------------------------------------------------------------------------------------- the table
def test_every_known_model_has_a_snapshot_row_with_its_hub_repository():
    assert set(snapshots.SNAPSHOTS) == set(vqa.MODELS)
    for name, snap in snapshots.SNAPSHOTS.items():
        assert snap.repo == vqa.MODELS[name].repo and snap.backend == vqa.MODELS[name].backend
        assert snap.revision == "main" or re.fullmatch(r"[0-9a-f]{40}", snap.revision)
        assert not snap.pins or snap.digest_source  # a pinned digest says where it was published


def test_the_qwen_7b_snapshot_is_pinned_to_a_commit_with_every_file_digest():
    rows = snapshots.rows("qwen2.5-vl-7b", Path("/nonexistent"))
    files = [r.path.rsplit("/", 1)[1] for r in rows]
    assert files == ["config.json", "generation_config.json", "preprocessor_config.json", "chat_template.json",
                     "tokenizer.json", "tokenizer_config.json", INDEX,
                     *[f"model-0000{i}-of-00005.safetensors" for i in range(1, 6)]]
    for r in rows:
        assert r.pinned and re.fullmatch(r"[0-9a-f]{64}", r.sha256 or "") and r.size > 0
        assert r.url == ("https://huggingface.co/Qwen/Qwen2.5-VL-7B-Instruct/resolve/"
                         f"cc594898137f460bfe9f0759e9844b3ce807cfb5/{r.path.rsplit('/', 1)[1]}")
        assert weights.dims_needing(r) == ["vqa_score"]
    # the other unpinned models: unpinned rows, shards known only once the index is there
    other = snapshots.rows("internvl3-8b", Path("/nonexistent"))
    assert [r.path for r in other] == [f"vqa_model/internvl3-8b/{f}" for f in
                                       ("config.json", "tokenizer.json", "tokenizer_config.json", INDEX)]
    assert not any(r.pinned for r in other)
    assert snapshots.rows("llava-onevision-qwen2-0.5b-ov", Path("/x"))[-1].path.endswith("/model.safetensors")


PINNED = sorted(n for n, s in snapshots.SNAPSHOTS.items() if s.pins)


@pytest.mark.parametrize("name", PINNED)
def test_a_pinned_snapshot_pins_every_file_it_downloads_at_a_commit(name):
    """No partial pins on a known model: every row the download fetches (the shards the pinned index names
    included) has a published sha256, at a commit, never ``main`` (a digest only holds for one commit)."""
    snap = snapshots.SNAPSHOTS[name]
    assert re.fullmatch(r"[0-9a-f]{40}", snap.revision) and snap.revision_source and snap.digest_source
    rows = snapshots.rows(name, Path("/nonexistent"))
    files = [r.path.rsplit("/", 1)[1] for r in rows]
    assert set(files) == set(snap.pins) and files[:len(snap.files)] == list(snap.files)
    if snap.weights == INDEX:
        assert any(f.endswith(".safetensors") for f in files[len(snap.files):])
    for r in rows:
        assert r.pinned and re.fullmatch(r"[0-9a-f]{64}", r.sha256 or "") and r.size >= 0, r.path
        assert r.digest_source == snap.digest_source and f"/resolve/{snap.revision}/" in (r.url or "")


@pytest.mark.parametrize("name", PINNED)
def test_a_pinned_file_of_a_known_model_refuses_other_bytes(name, tmp_path, monkeypatch):
    """The preflight's check of a real pinned row: a well-formed config.json that is not the published one is
    a mismatch naming the published digest (with or without a size on record)."""
    monkeypatch.delenv(weights.UNOFFICIAL_ENV, raising=False)
    row = next(r for r in snapshots.rows(name, tmp_path) if r.path.endswith("/config.json"))
    path = weights.location(row, tmp_path)
    path.parent.mkdir(parents=True)
    path.write_text('{"model_type": "' + snapshots.SNAPSHOTS[name].backend + '"}', encoding="utf-8")
    st = weights.check(row, tmp_path)
    assert st.state == "mismatch" and (row.sha256 or "")[:16] in st.detail
    assert any(p.startswith("  mismatch") and str(path) in p for p in snapshots.problems(name, tmp_path))


def test_the_docs_table_lists_every_model_with_its_revision_and_pins():
    text = (Path(__file__).parents[1] / "docs" / "dimensions" / "vqa_score.md").read_text(encoding="utf-8")
    table = text[text.index("| name | revision fetched | digests |"):]
    table = table[:table.index("\n\n")]
    rows = {line.split("|")[1].strip().strip("`"): (line.split("|")[2].strip(), line.split("|")[3].strip())
            for line in table.splitlines()[2:]}
    assert set(rows) == set(snapshots.SNAPSHOTS)
    for name, snap in snapshots.SNAPSHOTS.items():
        revision, digests = rows[name]
        assert revision == ("`main`" if snap.revision == "main" else f"commit `{snap.revision}`"), name
        if snap.pins:
            assert digests.startswith(f"**pinned**, all {len(snap.pins)} files"), name
        else:
            assert digests == "unpinned", name


# ------------------------------------------------------------------------------------------ download
def test_download_fetches_the_snapshot_and_its_shards_and_it_scores_like_the_single_file(hub, hub_files, tmp_path,
                                                                                        capsys):
    cache = tmp_path / "cache"
    status = _download(cache)
    out = capsys.readouterr().out
    assert status == 0, out
    folder = vqa.snapshot_dir(cache, HUB)
    wanted = set(hub_files) - {"vocab.json", "merges.txt"}  # on the hub, not read by the backend: not fetched
    assert {p.name for p in folder.iterdir() if not p.name.endswith((".done", ".lock"))} == wanted
    assert all((folder / n).read_bytes() == hub_files[n] for n in wanted)
    assert out.count("downloaded") == len(wanted) and "0 failed" in out
    requested = [p for p, _, _ in hub.requests]
    assert requested.index(f"/{REPO}/resolve/{REV}/{INDEX}") < requested.index(
        f"/{REPO}/resolve/{REV}/model-00001-of-00002.safetensors")  # shards come from the downloaded index
    assert vqa.preflight(vqa.VQAOptions(model=HUB), cache) is None
    # again: everything present, nothing fetched
    n = len(hub.requests)
    assert _download(cache) == 0 and len(hub.requests) == n
    assert capsys.readouterr().out.count("present") == len(wanted)

    class Rt:
        def __init__(self, model):
            self.cache_dir, self.device, self.options = cache, "cpu", {"vqa": vqa.VQAOptions(model=model).to_json()}

    tiny.write_qwen2_5_vl(vqa.snapshot_dir(cache, TINY))
    video = sorted(VIDEOS.glob("*.mp4"))[0]
    scores = []
    for model in (HUB, TINY):
        scorer = vqa.load(Rt(model))
        scores.append(scorer.score(scorer.frames(video), "a red car driving on a road"))
    assert scores[0] == scores[1]


def test_a_pinned_file_with_another_digest_and_a_truncated_shard_never_stay(hub, hub_files, tmp_path, capsys):
    cache = tmp_path / "cache"
    hub.routes[f"/{REPO}/resolve/{REV}/config.json"]["body"] = b'{"model_type": "qwen2_5_vl", "x": 1}'
    shard2 = hub_files["model-00002-of-00002.safetensors"]
    hub.routes[f"/{REPO}/resolve/{REV}/model-00002-of-00002.safetensors"]["body"] = shard2[:-100]
    assert _download(cache) == 1
    out = capsys.readouterr().out
    folder = vqa.snapshot_dir(cache, HUB)
    assert re.search(r"FAILED +vqa_model/tiny-hub/config.json: .*sha256 mismatch", out)
    assert re.search(r"FAILED +vqa_model/tiny-hub/model-00002-of-00002.safetensors: .*truncated or damaged", out)
    assert not (folder / "config.json").exists() and not (folder / "model-00002-of-00002.safetensors").exists()
    assert (folder / "model-00001-of-00002.safetensors").read_bytes() == hub_files["model-00001-of-00002.safetensors"]
    assert "2 failed" in out


def test_download_without_vqa_score_fetches_no_snapshot_and_an_unknown_model_says_so(tmp_path, capsys):
    assert cli.main(["download", "--dims", "temporal_flickering", "--vqa-model", "qwen2.5-vl-7b",
                     "--cache-dir", str(tmp_path)]) == 2
    assert "--vqa-model needs --dims naming vqa_score" in capsys.readouterr().err
    out = snapshots.download("my-own-vlm", tmp_path, lambda *a, **k: "present")
    assert out[0][1].startswith("FAILED: no hub source is known for 'my-own-vlm'")


# --------------------------------------------------------------------------------- preflight and lock
def test_the_missing_model_usage_error_names_the_exact_download_command(tmp_path):
    cache = tmp_path / "my cache"
    text = vqa.preflight(vqa.VQAOptions(), cache)
    assert f"pytest-vbench download --dims vqa_score --vqa-model qwen2.5-vl-7b --cache-dir '{cache}'" in text
    unknown = vqa.preflight(vqa.VQAOptions(model="my-own-vlm"), cache)
    assert "huggingface-cli download <hub repository> --local-dir" in unknown and "no hub source is known" in unknown


def test_list_shows_the_vqa_rows_pinned_and_unpinned(tmp_path, capsys):
    cache = tmp_path / "cache"
    tiny.write_qwen2_5_vl(vqa.snapshot_dir(cache, TINY))
    assert cli.main(["list", "--cache-dir", str(cache), "--json"]) == 0
    files = {f["path"]: f for f in json.loads(capsys.readouterr().out)["checkpoints"]}
    qwen7 = files["vqa_model/qwen2.5-vl-7b/model-00001-of-00005.safetensors"]
    assert (qwen7["state"], qwen7["pinned"], qwen7["dimensions"]) == ("missing", "published", ["vqa_score"])
    mine = files[f"vqa_model/{TINY}/model.safetensors"]
    assert (mine["state"], mine["pinned"], mine["verified"]) == ("unpinned", "unpinned", False)
    assert cli.main(["list", "--cache-dir", str(cache)]) == 0
    table = capsys.readouterr().out
    assert re.search(rf"unpinned +unpinned +no .*vqa_model/{re.escape(TINY)}/model.safetensors", table)
    assert re.search(r"vqa_score .*vqa_model/<--vbench-vqa-model>/", table)


def test_lock_covers_the_snapshot_and_the_preflight_enforces_it(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv(weights.UNOFFICIAL_ENV, raising=False)  # digests enforced here
    cache = tmp_path / "cache"
    folder = vqa.snapshot_dir(cache, TINY)
    tiny.write_qwen2_5_vl(folder)
    lock = tmp_path / weights.LOCK_FILE
    assert cli.main(["lock", "--cache-dir", str(cache), "--output", str(lock)]) == 0
    entries = weights.read_lock(lock)
    assert {f"vqa_model/{TINY}/{n}" for n in ("model.safetensors", "config.json", "tokenizer.json")} <= set(entries)
    assert "unpinned" in capsys.readouterr().out
    assert vqa.preflight(vqa.VQAOptions(model=TINY), cache, lock=lock) is None
    # the same size, other bytes: only the lock can tell
    cfg = folder / "tokenizer_config.json"
    text = cfg.read_text(encoding="utf-8")
    cfg.write_text(text.replace('"', "'", 1) if '"' in text else text, encoding="utf-8")
    problem = vqa.preflight(vqa.VQAOptions(model=TINY), cache, lock=lock)
    assert problem and "mismatch" in problem and str(cfg) in problem
    # a truncated weights file is refused even without a lock entry (its header says how long it is)
    cfg.write_text(text, encoding="utf-8")
    weights_file = folder / "model.safetensors"
    weights_file.write_bytes(weights_file.read_bytes()[:-64])
    empty = tmp_path / "empty.lock"
    weights.write_lock(empty, {})
    problem = vqa.preflight(vqa.VQAOptions(model=TINY), cache, lock=empty)
    assert problem is not None and "truncated or damaged" in problem and "Delete them" in problem


def test_the_result_store_key_covers_the_snapshot_files(tmp_path):
    """A result is reused only for the same snapshot bytes: replacing a file of the folder changes the key."""
    from pytest_vbench import store

    cache = tmp_path / "cache"
    folder = vqa.snapshot_dir(cache, TINY)
    tiny.write_qwen2_5_vl(folder)

    class Rt:
        cache_dir, device, memo = cache, "cpu", {}
        options = {"vqa": vqa.VQAOptions(model=TINY).to_json()}

    before = store.fingerprint("vqa_score", Rt())
    assert before["checkpoints"][f"vqa_model/{TINY}/model.safetensors"] == weights.sha256_of(folder / "model.safetensors")
    cfg = folder / "generation_config.json"
    cfg.write_text(cfg.read_text(encoding="utf-8").replace("1.05", "1.10"), encoding="utf-8")
    after = store.fingerprint("vqa_score", Rt())
    assert after["checkpoints"] != before["checkpoints"] and after["options"] == before["options"]


def test_an_optional_file_the_repository_lacks_is_absent_not_failed(hub, hub_files, tmp_path, capsys, monkeypatch):
    """LLaVA-OneVision applies generation_config.json when the repository has one; a 404 for it is no failure."""
    monkeypatch.setitem(snapshots.SNAPSHOTS, HUB, Snapshot(HUB, REPO, "llava_onevision", revision=REV))
    del hub.routes[f"/{REPO}/resolve/{REV}/generation_config.json"]
    cache = tmp_path / "cache"
    assert _download(cache) == 0
    out = capsys.readouterr().out
    assert re.search(r"absent +vqa_model/tiny-hub/generation_config.json", out) and "0 failed" in out
    assert (vqa.snapshot_dir(cache, HUB) / "model-00002-of-00002.safetensors").is_file()
    lock = tmp_path / weights.LOCK_FILE
    assert cli.main(["lock", "--cache-dir", str(cache), "--vqa-model", HUB, "--output", str(lock)]) == 0
    assert f"vqa_model/{HUB}/generation_config.json" not in weights.read_lock(lock)
    hub.routes[f"/{REPO}/resolve/{REV}/tokenizer.json"] = {"status": 404, "body": b""}
    assert _download(tmp_path / "other") == 1
    assert re.search(r"FAILED +vqa_model/tiny-hub/tokenizer.json: .*HTTP 404", capsys.readouterr().out)
