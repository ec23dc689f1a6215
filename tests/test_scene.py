"""scene (Tag2Text): checkpoint layout and loader, the per-frame/per-video rules, frames and transform,
the official frame mix-up of the captions, and the dimension through the plugin on a tiny checkpoint.

Parity with the official code on the full-size kit checkpoint: tests/test_tag2text_kit.py.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("timm")
pytest.importorskip("transformers")

from pytest_vbench import fake_checkpoints
from pytest_vbench.dimensions import scene
from pytest_vbench.models.checkpoint import CheckpointError
from pytest_vbench.runtime import Runtime
from pytest_vbench.suite import Case
from pytest_vbench.video import VideoError

from synthetic import noise_frames, write_video

LAYOUT = Path(__file__).parent / "parity" / "tag2text_official_layout.json"
CKPT = "caption_model/tag2text_swin_14m.pth"


@pytest.fixture(autouse=True)
def one_thread():
    """Small models on a shared machine: one thread avoids oversubscription stalls (10x slower)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def tiny_cache(tmp_path_factory) -> Path:
    cache = tmp_path_factory.mktemp("t2t_tiny")
    fake_checkpoints.write("tag2text", cache, seed=0, tiny=True)
    return cache


@pytest.fixture(scope="module")
def tiny_model(tiny_cache):
    torch.set_num_threads(1)
    return Runtime("cpu", tiny_cache).model("tag2text")


@pytest.fixture(scope="module")
def plain_model(tmp_path_factory):
    """A tiny model without the LM-bias boost: captions depend on the frames."""
    cache = tmp_path_factory.mktemp("t2t_plain")
    fake_checkpoints.write_tag2text(cache, seed=3, tiny=True, boost=False)
    return Runtime("cpu", cache).model("tag2text")


# ---- checkpoint layout and loader ----

# the full-size layout equals the official one: tests/test_parity.py::test_parity[tag2text_official_layout.json]

def test_full_size_config_inferred_from_the_official_shapes():
    from pytest_vbench.models.tag2text.loader import infer_config

    state = {k: torch.empty(s, device="meta") for k, s, _, _ in json.loads(LAYOUT.read_text())["tensors"]}
    cfg = infer_config(state)
    assert cfg["swin"] == dict(embed_dim=128, depths=(2, 2, 18, 2), num_heads=(4, 8, 16, 32), window_size=12)
    assert cfg["bert"] == dict(layers=12, heads=12, hidden=768, vocab=30524, intermediate=3072)
    assert cfg["query"] == dict(layers=2, heads=4, hidden=768, vocab=30524, intermediate=3072)
    assert cfg["num_class"] == 3429 and cfg["vision_width"] == 1024


def test_tiny_file_is_in_the_official_container_with_ties(tiny_cache):
    obj = torch.load(tiny_cache / CKPT, map_location="cpu", weights_only=True)
    assert list(obj) == ["model"]
    sd = obj["model"]
    assert not any(k.endswith(("relative_position_index", "attn_mask")) for k in sd)
    assert sd["text_decoder.cls.predictions.decoder.weight"].data_ptr() == \
        sd["text_decoder.bert.embeddings.word_embeddings.weight"].data_ptr()
    assert sd["vision_multi.encoder.layer.1.output.dense.weight"].data_ptr() == \
        sd["tag_encoder.encoder.layer.1.output.dense.weight"].data_ptr()
    assert sd["tag_encoder.embeddings.position_ids"].dtype == torch.int64


def test_loader_fills_every_weight(tiny_cache, tiny_model):
    sd = torch.load(tiny_cache / CKPT, map_location="cpu", weights_only=True)["model"]
    m = tiny_model
    assert torch.equal(m.fc_W, sd["fc.W"]) and torch.equal(m.fc_b, sd["fc.b"])
    # Microsoft Swin keeps the patch merging at the end of stage i, timm at the start of stage i+1
    assert torch.equal(m.visual_encoder.swin.layers[1].downsample.reduction.weight,
                       sd["visual_encoder.layers.0.downsample.reduction.weight"])
    assert torch.equal(m.vision_multi.layer[1].crossattention.self.key.weight,
                       sd["vision_multi.encoder.layer.1.crossattention.self.key.weight"])
    assert torch.equal(m.text_decoder.lm.cls.predictions.decoder.weight,
                       sd["text_decoder.bert.embeddings.word_embeddings.weight"])
    assert not m.tag_encoder.bert.embeddings.token_type_embeddings.weight.any()  # the official BERT has none


@pytest.mark.parametrize("edit", ["drop", "extra", "shape"])
def test_loader_is_strict_and_names_the_keys(tiny_cache, edit):
    from pytest_vbench.models.tag2text.loader import build_from_state
    from pytest_vbench.models.tag2text.tokenizer import load_tokenizer

    sd = dict(torch.load(tiny_cache / CKPT, map_location="cpu", weights_only=True)["model"])
    key = "tag_encoder.encoder.layer.1.intermediate.dense.bias"
    if edit == "drop":
        del sd[key]
    elif edit == "extra":
        sd["text_decoder.bert.pooler.dense.weight"] = torch.zeros(2, 2)
    else:
        sd[key] = torch.zeros(3)
    with pytest.raises(CheckpointError) as info:
        build_from_state(sd, load_tokenizer(tiny_cache), "ckpt.pth")
    msg = str(info.value)
    assert "ckpt.pth" in msg
    assert {"drop": "missing key(s): tag_encoder.bert.encoder.layer.1.intermediate.dense.bias",
            "extra": "unexpected key(s): text_decoder.lm.bert.pooler.dense.weight",
            "shape": "shape mismatch(es): tag_encoder.bert.encoder.layer.1.intermediate"}[edit] in msg


def test_tokenizer_needs_the_local_vocab(tmp_path, tiny_cache, monkeypatch):
    from pytest_vbench.models.tag2text.tokenizer import load_tokenizer

    monkeypatch.delenv("VBENCH_BERT_PATH", raising=False)
    with pytest.raises(CheckpointError, match=r"bert_model/bert-base-uncased/vocab.txt.*VBENCH_BERT_PATH"):
        load_tokenizer(tmp_path)
    with pytest.raises(CheckpointError, match="vocab.txt"):  # the loader asks for the vocab first
        Runtime("cpu", tmp_path).model("tag2text")
    monkeypatch.setenv("VBENCH_BERT_PATH", str(tiny_cache / "bert_model" / "bert-base-uncased"))
    tok = load_tokenizer(tmp_path)
    assert tok.convert_tokens_to_ids(["[DEC]", "[ENC]"]) == [30522, 30523]
    (tmp_path / "short").mkdir()
    (tmp_path / "short" / "vocab.txt").write_text("[PAD]\n[UNK]\n[CLS]\n[SEP]\n")
    monkeypatch.setenv("VBENCH_BERT_PATH", str(tmp_path / "short"))
    with pytest.raises(CheckpointError, match="bert-base-uncased vocabulary"):
        load_tokenizer(tmp_path)


# ---- rules ----

@pytest.mark.parametrize("caption,phrase,ok", [
    ("a barn in a field", "bar", True),  # substring, not word match
    ("a bar", "barn", False),
    ("the park of a amusement ride", "amusement park", True),  # order-free
    ("an amusement ride", "amusement park", False),  # every word needed
    ("a train station at night", "train station platform", False),
    ("anything", "indoor  library", False),
    ("a library indoors", "indoor  library", True),  # "" from a double space matches everything
    ("Tower", "tower", False),  # case-sensitive
])
def test_frame_rule(caption, phrase, ok):
    assert scene.frame_success(caption, phrase) is ok


def test_video_record_and_frame_statistics():
    vs = scene.score_captions(["a barn"] * 3 + ["a house"] * 13, "bar")
    assert (vs.sum, vs.count) == (3.0, 16)
    assert vs.record == {"video_results": 3 / 16, "success_frame_count": 3, "frame_count": 16}


def test_scene_phrase_from_the_suite_entry():
    from pytest_vbench.suite import load_suite

    entries = [e for e in load_suite().entries if "scene" in e["dimension"]]
    assert len(entries) == 86
    for e in entries:
        case = Case("scene", e["prompt_en"], 0, e["auxiliary_info"]["scene"])
        assert scene.scene_phrase(case) == e["prompt_en"]
    with pytest.raises(VideoError, match="auxiliary_info.scene.scene"):
        scene.scene_phrase(Case("scene", "alley", 0, None))


# ---- frames and transform ----

def test_mp4_frames_resized_at_decode_time(tmp_path):
    path = write_video(tmp_path / "v.mp4", noise_frames(1, n=8, h=48, w=64))
    frames = scene.read_frames(path, Runtime("cpu", tmp_path))
    assert frames.shape == (16, 384, 384, 3) and frames.dtype == np.uint8  # 8 frames padded to 16 indices
    import decord

    reader = decord.VideoReader(str(path), width=384, height=384, num_threads=1)
    assert np.array_equal(frames[0], reader[0].asnumpy()) and np.array_equal(frames[-1], reader[7].asnumpy())


@pytest.mark.filterwarnings("ignore:Anti-alias option is always applied")
@pytest.mark.parametrize("size", [(384, 384), (50, 70)])
def test_transform_equals_torchvision_t_tag(size):
    from torchvision import transforms as T

    rng = np.random.default_rng(0)
    frames = rng.integers(0, 256, size=(2, *size, 3), dtype=np.uint8)
    official = T.Compose([T.ToPILImage(), T.Resize((384, 384), antialias=False), T.ToTensor(),
                          T.Normalize(mean=scene.MEAN, std=scene.STD)])
    want = torch.stack([official(f) for f in frames])
    assert torch.equal(scene.to_input(frames), want)


# ---- the official caption/frame mix-up ----

def test_caption_of_frame_k_comes_from_frame_k_div_3(plain_model):
    torch.manual_seed(0)
    x = torch.randn(7, 3, 384, 384)
    full = plain_model.caption_frames(x, full=True)
    fast = plain_model.caption_frames(x)
    assert len(full["tags"]) == 7 and len(fast["tags"]) == 3  # frames 0..2 only on the dimension path
    assert fast["captions"] == full["captions"] and fast["tags"] == full["tags"][:3]
    singles = [plain_model.caption_frames(x[j:j + 1])["captions"][0] for j in range(3)]
    assert full["captions"] == [singles[k // 3] for k in range(7)]
    assert len(set(singles)) > 1, "captions should depend on the frame (else this test proves nothing)"
    assert full["caption_ids"][0, :4].tolist() == [30522, *plain_model.tokenizer.convert_tokens_to_ids(
        ["a", "picture", "of"])]


# ---- end to end ----

def test_scene_through_the_plugin(pytester, tmp_path, tiny_cache, monkeypatch):
    """Boosted LM bias: every caption is made of tower/water/beach/park/river words."""
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    from pytest_vbench.suite import load_suite

    entries = [e for e in load_suite().entries if e["prompt_en"] in ("tower", "bridge", "river")]
    suite = tmp_path / "suite.json"
    suite.write_text(json.dumps(entries))
    videos = tmp_path / "videos"
    videos.mkdir()
    for name, seed in (("tower", 1), ("bridge", 2), ("river", 3)):
        write_video(videos / f"{name}-0.mp4", noise_frames(seed, n=6, h=48, w=64))
    out = tmp_path / "r.json"
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--vbench-videos", str(videos),
                                           "--vbench-full-info", str(suite), "--vbench-dims", "scene",
                                           "--vbench-cache-dir", str(tiny_cache), "--vbench-json", str(out))
    result.assert_outcomes(passed=3)
    dim = json.loads(out.read_text())["dimensions"]["scene"]
    records = {Path(r["record"]["video_path"]).name if "video_path" in r["record"] else r["video"]: r["record"]
               for r in dim["results"]}
    caps = scene.captions_for(scene.read_frames(videos / "tower-0.mp4", Runtime("cpu", tiny_cache)),
                              Runtime("cpu", tiny_cache))
    assert all(set(c.split()) <= set(fake_checkpoints.TAG2TEXT_CAPTION_WORDS) for c in caps)
    want = {n: scene.score_captions(scene.captions_for(scene.read_frames(videos / f"{n}-0.mp4", rt), rt), n).record
            for rt in [Runtime("cpu", tiny_cache)] for n in ("tower", "bridge", "river")}
    assert want["bridge"]["success_frame_count"] == 0
    assert sorted(records.values(), key=json.dumps) == sorted(want.values(), key=json.dumps)
    total = sum(r["success_frame_count"] for r in want.values())
    assert dim["raw"] == pytest.approx(total / 48, abs=1e-12)


def test_preflight_accepts_compact_bert_json_but_not_json_pages(tmp_path):
    """The published bert-base-uncased tokenizer_config.json starts with '{"' (core fix in weights.sniff)."""
    from pytest_vbench import weights

    cfg = tmp_path / "tokenizer_config.json"
    cfg.write_text('{"do_lower_case": true, "model_max_length": 512}')
    weights.sniff(cfg)
    page = tmp_path / "model.pth"
    page.write_text('{"error": "Repository not found"}')
    with pytest.raises(weights.CorruptCheckpoint, match="HTML/text page"):
        weights.sniff(page)


# ---- beam search against transformers 4.33 + the official med.py decoder ----

# beam search against the official generate: tests/test_parity.py::test_parity[tag2text_beam.json]


def test_strict_check_accepts_the_full_official_layout(tiny_cache):
    """The full-size official key set (meta tensors, no memory) converts and passes the strict check."""
    from pytest_vbench.models.tag2text.loader import (
        check_state,
        convert_state,
        infer_config,
    )
    from pytest_vbench.models.tag2text.model import Tag2Text
    from pytest_vbench.models.tag2text.tokenizer import load_tokenizer

    state = {k: torch.empty(s, device="meta", dtype=torch.int64 if d == "int64" else torch.float32)
             for k, s, d, _ in json.loads(LAYOUT.read_text())["tensors"]}
    with torch.device("meta"):
        model = Tag2Text(load_tokenizer(tiny_cache), **infer_config(state))
    check_state(model, convert_state(state), "official layout")
    del state["fc.b"]
    with pytest.raises(CheckpointError, match="missing key.*fc_b"):
        check_state(model, convert_state(state), "official layout")


def test_tag_names_and_the_removed_count_tags():
    from pytest_vbench.models.tag2text.model import DELETED_TAGS, tag_names

    names = tag_names()
    assert len(names) == 3429 and len(set(names)) == 3313  # the official list repeats names (kept: index order)
    assert sorted(names[i] for i in DELETED_TAGS) == sorted(["quarter", "three", "four", "two", "five", "one"])
