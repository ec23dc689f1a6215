"""Our GRiT (pytest_vbench.models.grit): layout, strict loading, the box/proposal/decoding rules, the
predictor on a tiny seeded checkpoint, and the four dimensions through the plugin.

Parity with the official model is in test_grit_kit.py (the parity kit, slow tier).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
np = pytest.importorskip("numpy")
pytest.importorskip("torchvision")

from pytest_vbench import fake_checkpoints  # noqa: E402
from pytest_vbench.models.checkpoint import CheckpointError  # noqa: E402
from pytest_vbench.models.grit import proposals as P  # noqa: E402
from pytest_vbench.models.grit import roi_heads as R  # noqa: E402
from pytest_vbench.models.grit import text_decoder as T  # noqa: E402
from pytest_vbench.models.grit.backbone import ViTConfig  # noqa: E402
from pytest_vbench.models.grit.predictor import BertDecoder, build  # noqa: E402
from pytest_vbench.runtime import Runtime  # noqa: E402

from synthetic import noise_frames, write_video  # noqa: E402

LAYOUT = Path(__file__).parent / "parity" / "grit_official_layout.json"


@pytest.fixture(scope="module")
def tiny_cache(tmp_path_factory):
    cache = tmp_path_factory.mktemp("grit_tiny")
    fake_checkpoints.write_grit(cache, seed=0, tiny=True)
    return cache


@pytest.fixture(scope="module")
def predictor(tiny_cache):
    torch.set_num_threads(1)
    return Runtime("cpu", tiny_cache).model("grit")


# -- layout and loading ----------------------------------------------------------------------------

# the full-size key set equals the official layout: tests/test_parity.py::test_parity[grit_official_layout.json]

def test_config_is_read_from_the_shapes():
    official = {k: torch.empty(s, device="meta") for k, s in json.loads(LAYOUT.read_text())["keys"]}
    cfg = ViTConfig.from_state_dict(official)
    assert (cfg.embed_dim, cfg.depth, cfg.num_heads, cfg.window_size, cfg.pretrain_grid) == (768, 12, 12, 14, 14)
    assert cfg.global_blocks == (2, 5, 8, 11) and cfg.global_rel_span == 127 and cfg.out_channels == 256


def test_tiny_checkpoint_is_in_the_official_container(tiny_cache):
    obj = torch.load(tiny_cache / "grit_model/grit_b_densecap_objectdet.pth", weights_only=True)
    sd = obj["model"]
    words = sd["roi_heads.text_decoder.textual.embedding.words.weight"]
    assert sd["roi_heads.text_decoder.textual.output.weight"].data_ptr() == words.data_ptr()  # tied, stored once
    assert any(k.startswith("roi_heads.mask_head.") for k in sd)
    assert not any(k.startswith("roi_heads.text_decoder_det.") for k in sd)


def test_missing_and_unexpected_keys_are_named(tiny_cache):
    sd = dict(torch.load(tiny_cache / "grit_model/grit_b_densecap_objectdet.pth", weights_only=True)["model"])
    broken = dict(sd)
    del broken["roi_heads.box_predictor.1.cls_score.bias"]
    with pytest.raises(CheckpointError, match=r"box_predictor\.1\.cls_score\.bias"):
        build(broken)
    extra = dict(sd, **{"roi_heads.box_head.0.fc3.weight": torch.zeros(1)})
    with pytest.raises(CheckpointError, match=r"fc3"):
        build(extra)


def test_missing_checkpoint_or_vocab_gives_one_clear_message(tmp_path, tiny_cache):
    with pytest.raises(CheckpointError, match="grit_b_densecap_objectdet.pth.*pytest-vbench download"):
        Runtime("cpu", tmp_path).model("grit")
    (tmp_path / "grit_model").mkdir()
    (tmp_path / "grit_model/grit_b_densecap_objectdet.pth").write_bytes(
        (tiny_cache / "grit_model/grit_b_densecap_objectdet.pth").read_bytes())
    with pytest.raises(CheckpointError, match="vocab.txt"):
        Runtime("cpu", tmp_path).model("grit")


# -- rules ----------------------------------------------------------------------------------------

def test_level_assignment_is_the_canonical_rule():
    boxes = torch.tensor([[0, 0, 10, 10], [0, 0, 112, 112], [0, 0, 224, 224], [0, 0, 447, 447],
                          [0, 0, 448, 448], [0, 0, 2000, 2000]], dtype=torch.float32)
    # floor(4 + log2(size/224)) clamped to 3..5, as an index into p3..p5
    assert R.assign_levels(boxes).tolist() == [0, 0, 1, 1, 2, 2]


def test_box_deltas_follow_box2box_transform():
    boxes = torch.tensor([[10.0, 20.0, 50.0, 100.0]])
    assert torch.allclose(R.apply_deltas(torch.zeros(1, 4), boxes, R.BOX_WEIGHTS[0]), boxes)
    moved = R.apply_deltas(torch.tensor([[10.0, 0.0, 5.0 * np.log(2.0), 0.0]]), boxes, R.BOX_WEIGHTS[0])
    # dx = 10/10: the centre moves one box width (30 -> 70); dw = log 2: the width doubles (40 -> 80)
    assert torch.allclose(moved, torch.tensor([[30.0, 20.0, 110.0, 100.0]]))
    huge = R.apply_deltas(torch.tensor([[0.0, 0.0, 1e4, 0.0]]), boxes, R.BOX_WEIGHTS[0])
    assert torch.isfinite(huge).all() and (huge[0, 2] - huge[0, 0]).item() == pytest.approx(40 * 1000 / 16, rel=1e-5)
    assert R.clip(torch.tensor([[-5.0, -1.0, 300.0, 90.0]]), (80, 256)).tolist() == [[0.0, 0.0, 256.0, 80.0]]


def test_proposal_decoding_threshold_and_minimum_size():
    heat = torch.tensor([[0.5, 1e-5], [0.2, 1.0]])
    reg = torch.zeros(4, 2, 2)
    reg[2, 1, 1] = 1.0  # right distance of one stride
    boxes, scores = P.decode_level(heat, reg, 8)
    assert scores.tolist() == pytest.approx([0.5 ** 0.5, 0.2 ** 0.5, 1.0])  # 1e-5 is below 1e-4
    assert boxes[0].tolist() == pytest.approx([4.0, 4.0, 4.01, 4.01])       # zero-size -> +0.01
    assert boxes[2].tolist() == pytest.approx([12.0, 12.0, 20.0, 12.01])


def test_post_nms_cut_keeps_ties_with_the_256th_score():
    n = 300
    boxes = torch.stack([torch.arange(n) * 20.0, torch.zeros(n), torch.arange(n) * 20.0 + 10, torch.full((n,), 10.0)], 1)
    scores = torch.linspace(0.9, 0.1, n)
    scores[250:262] = scores[255]  # the 256th best score is shared by 12 boxes
    kept_boxes, kept = P.select(boxes, scores)
    assert kept.numel() == 262 and kept.min() == scores[255]
    assert kept.tolist() == sorted(kept.tolist(), reverse=True)  # NMS order = score order


class Scripted:
    """A stand-in textual head whose next-token logits come from a table (one row per step)."""

    def __init__(self, rows, vocab=200):
        self.rows, self.vocab, self.seen = rows, vocab, []

    def memory_states(self, feats):
        return feats

    def next_logits(self, memory, tokens):
        self.seen.append(tokens.clone())
        step = tokens.shape[1] - 1
        out = torch.zeros(tokens.shape[0], self.vocab)
        for b in range(tokens.shape[0]):
            out[b, self.rows[b][min(step, len(self.rows[b]) - 1)]] = 20.0
        return out


def test_greedy_decoding_rules():
    feats = torch.zeros(3, 4, 8)
    # box 0: begin token again (allowed on the first step), then 7, then [SEP]
    # box 1: wants 7 twice in a row: the repeat gets -10000, the runner-up (token 0 here) wins
    # box 2: [SEP] at once; afterwards only [SEP]
    head = Scripted([[104, 7, T.SEP], [7, 7, T.SEP], [T.SEP, 9, 9]])
    tokens, logp = T.greedy(head, feats, 104)
    assert tokens[0].tolist() == [104, 104, 7, T.SEP]
    assert tokens[1].tolist()[:2] == [104, 7] and tokens[1].tolist()[2] != 7
    assert tokens[2].tolist() == [104, T.SEP, T.SEP, T.SEP]
    # normalisation: non-[SEP] tokens + 1 if a [SEP] was emitted - 1 (the begin token)
    assert logp.shape == (3,) and torch.isfinite(logp).all()


def test_cached_memory_rows_equal_the_full_recomputation(predictor):
    textual = predictor.model.roi_heads.text_decoder.textual
    g = torch.Generator().manual_seed(5)
    feats = torch.randn(3, 196, textual.object_feature_projection[0].in_features, generator=g)
    tokens = torch.tensor([[104, 2482, 7], [104, 104, 9], [104, 102, 102]])
    with torch.no_grad():
        full = textual.full_logits(textual.memory(feats), tokens)
        cached = textual.next_logits(textual.memory_states(feats), tokens)
    assert torch.allclose(full, cached, atol=1e-5, rtol=0)
    assert full.abs().max() > 1


def test_greedy_stops_at_40_tokens():
    head = Scripted([[5, 6]])
    tokens, _ = T.greedy(head, torch.zeros(1, 2, 8), 101)
    assert tokens.shape[1] == T.MAX_STEPS and T.SEP not in tokens[0].tolist()


def test_bert_decoding_like_transformers_433(tmp_path):
    vocab = fake_checkpoints.write_bert_vocab(tmp_path)
    lines = vocab.read_text().split("\n")
    lines[104], lines[2000], lines[2001] = "[unused99]", "sky", "##scraper"  # 104 as in bert-base-uncased
    vocab.write_text("\n".join(lines))
    dec = BertDecoder(vocab)
    assert dec([104, 3899, 102]) == "[unused99] dog"      # [unused99] is not a special token
    assert dec([101, 2000, 2001, 102, 0]) == "skyscraper"  # ## merged, specials dropped
    bad = tmp_path / "bad.txt"
    bad.write_text("a\nb\n")
    with pytest.raises(ValueError, match="not the bert-base-uncased vocabulary"):
        BertDecoder(bad)


# -- the predictor on the tiny checkpoint -----------------------------------------------------------

def test_predictor_outputs_and_both_tasks_share_boxes(predictor):
    img = np.random.default_rng(3).integers(0, 256, (96, 128, 3), dtype=np.uint8)
    det = predictor(img, "ObjectDet")
    cap = predictor(img, "DenseCap")
    assert len(det) > 0
    assert [i.box for i in det] == [i.box for i in cap]
    assert [i.det_obj for i in cap] == [i.description for i in det]  # det_obj = the ObjectDet pass
    assert all(i.description == i.det_obj for i in det)
    for inst in det:
        x0, y0, x1, y1 = inst.box
        assert 0 <= x0 <= x1 <= 128 and 0 <= y0 <= y1 <= 96 and 0 < inst.score <= 1
    assert predictor(img.astype(np.float32), "ObjectDet") == det  # the official path casts to float32 anyway
    with pytest.raises(ValueError, match="task"):
        predictor(img, "Caption")


def test_frames_without_detections_give_an_empty_list(predictor):
    flat = np.zeros((64, 64, 3), dtype=np.uint8)
    out = predictor(flat, "ObjectDet")
    assert isinstance(out, list)


def _same_instances(got, want):
    assert [(i.description, i.det_obj) for i in got] == [(i.description, i.det_obj) for i in want]
    for a, b in zip(got, want):
        assert a.box == pytest.approx(b.box, abs=1e-3) and a.score == pytest.approx(b.score, abs=1e-4)


def test_a_batch_of_frames_gives_each_frame_its_own_result(predictor):
    rng = np.random.default_rng(11)
    frames = [rng.integers(0, 256, (96, 128, 3), dtype=np.uint8) for _ in range(3)]
    frames[1] = np.zeros_like(frames[1])  # an empty frame inside a batch
    for task in ("ObjectDet", "DenseCap"):
        batched = predictor.many(frames, task)
        assert len(batched) == 3
        for got, frame in zip(batched, frames):
            _same_instances(got, predictor(frame, task))
    assert sum(len(r) for r in batched) > 0
    with pytest.raises(ValueError, match="one size"):
        predictor.many([frames[0], frames[0][:64]], "ObjectDet")


def test_frames_per_pass_is_one_on_the_cpu_and_bounded_elsewhere():
    from pytest_vbench.models.grit.predictor import frames_per_pass

    assert frames_per_pass("cpu", (256, 256)) == 1
    assert frames_per_pass("cuda:0", (256, 256)) == 4
    at_720p = frames_per_pass("cuda:0", (720, 1280))
    assert 1 <= at_720p < 4
    assert frames_per_pass("cuda", (720, 1280), budget_bytes=1) == 1


def test_dimension_batches_give_the_same_predictions(predictor, tiny_cache, tmp_path, monkeypatch):
    from pytest_vbench.dimensions import grit_common

    video = write_video(tmp_path / "a car-0.mp4", noise_frames(seed=4, n=5, h=96, w=128, amplitude=60), fps=8)
    runs = []
    for batch in (1, 3):
        monkeypatch.setattr(grit_common, "BATCH", batch)
        rt = Runtime("cpu", tiny_cache)
        rt._models["grit"] = predictor
        runs.append(grit_common.video_predictions(video, rt, "ObjectDet", "tensor"))
    assert len(runs[0]) == 16 and sum(len(f) for f in runs[0]) > 0
    for one, three in zip(*runs):
        assert [(d, names) for d, _, names in one] == [(d, names) for d, _, names in three]
        for (_, a, _), (_, b, _) in zip(one, three):
            assert np.abs(np.subtract(a, b)).max() <= 1  # int-truncated boxes: 1e-6 may cross an integer


# -- the four dimensions through the plugin -----------------------------------------------------------

def test_grit_dimensions_through_the_plugin(pytester, tmp_path, monkeypatch):
    """One model serves all four dimensions; "car" is favoured, so object_class 'a car' succeeds."""
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    from pytest_vbench.suite import load_suite

    cache = tmp_path / "cache"
    fake_checkpoints.write_grit(cache, seed=0, tiny=True, favour="car")
    want = {"object_class": ("a car", "a person"), "multiple_objects": ("a bicycle and a car",),
            "color": ("a red car",), "spatial_relationship": ("a bicycle on the left of a car, front view",)}
    entries = [e for e in load_suite().entries if any(e["prompt_en"] in p for p in want.values())]
    assert len(entries) == 5
    suite = tmp_path / "suite.json"
    suite.write_text(json.dumps(entries))
    videos = tmp_path / "videos"
    videos.mkdir()
    for k, e in enumerate(entries):
        write_video(videos / f"{e['prompt_en']}-0.mp4", noise_frames(k, n=4, h=64, w=80))
    out = tmp_path / "r.json"
    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "--vbench-videos", str(videos), "--vbench-full-info", str(suite),
        "--vbench-dims", ",".join(want), "--vbench-cache-dir", str(cache), "--vbench-json", str(out))
    report = json.loads(out.read_text())
    dims = report["dimensions"]
    rec = {d: {r["video"]: r["record"] for r in dims[d]["results"] if r.get("record")} for d in dims}
    assert rec["object_class"]["a car-0.mp4"]["success_frame_count"] == 16
    assert rec["object_class"]["a person-0.mp4"]["success_frame_count"] == 0
    assert rec["multiple_objects"]["a bicycle and a car-0.mp4"]["success_frame_count"] == 0
    assert dims["object_class"]["raw"] == pytest.approx(0.5)
    assert set(rec["spatial_relationship"]["a bicycle on the left of a car, front view-0.mp4"]) == {
        "video_results", "frame_results"}
    # favoured "car" descriptions carry no colour word: the video is dropped (no record, a note says why)
    (color,) = dims["color"]["results"]
    assert color["record"] is None and "never detected" in color["note"] and dims["color"]["raw"] is None
    result.assert_outcomes(passed=5)
