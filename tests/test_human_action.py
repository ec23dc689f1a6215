"""human_action (UMT-L/16 Kinetics-400): label rule, decision rule, strict loader (parity: tests/test_parity.py).

Parity references (tests/parity/human_action.json) come from the official vbench 0.1.5 through
tools/parity_video_text.py: "tiny_table" (checkpoint without pos_embed: the sinusoid table is
computed and interpolated 8 -> 16 frames), "tiny_pos_embed" (checkpoint carrying pos_embed),
"full_table" (the untouched official ViT-L/16, slow tier).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("decord")

from pytest_vbench.dimensions import human_action as H  # noqa: E402
from pytest_vbench.models import umt as U  # noqa: E402
from pytest_vbench.models.checkpoint import CheckpointError  # noqa: E402
from pytest_vbench.runtime import Runtime  # noqa: E402
from pytest_vbench.suite import Case, VideoRef  # noqa: E402

import checkpoints_video_text as C  # noqa: E402

PARITY = Path(__file__).parent / "parity" / "human_action.json"
SUITE = Path(__file__).parents[1] / "pytest_vbench/data/VBench_full_info.json"


def reference(key: str) -> dict:
    data = json.loads(PARITY.read_text(encoding="utf-8"))
    assert key in data, f"{PARITY} has no {key!r} reference (missing input: a failure, never a skip)"
    return data[key]


# -- label and decision rules --------------------------------------------------------------------

def test_label_rule_on_all_suite_prompts():
    prompts = [e["prompt_en"] for e in json.loads(SUITE.read_text()) if "human_action" in e["dimension"]]
    assert len(prompts) == 100
    names = set(H.categories())
    for prompt in prompts:
        expected = prompt.lower().split("person is ")[-1]
        for i in range(5):
            label = H.label_from_filename(f"{prompt}-{i}.mp4")
            assert label == expected, prompt
            assert label in names, f"{prompt!r}: label {label!r} is not a Kinetics-400 class"


@pytest.mark.parametrize("name, label", [
    ("A person is riding a bike-0.mp4", "riding a bike"),
    ("A PERSON IS Riding A Bike-3.mp4", "riding a bike"),
    ("A person is riding a bike_fast-0.mp4", "riding a bike"),        # cut at the first '_'
    ("a person is sad, a person is dancing-1.mp4", "dancing"),        # after the last 'person is '
    ("dancing ballet-2.mp4", "dancing ballet"),                       # no 'person is ': whole stem
    ("A person is passing American football (in game)-0.mp4", "passing american football (in game)"),
])
def test_label_rule_examples(name, label):
    assert H.label_from_filename(name) == label


def test_categories_are_the_official_list():
    names = H.categories()
    assert len(names) == 400 and len(set(names)) == 400
    assert names[0] == "riding a bike" and names[1] == "marching" and names[399] == "playing badminton"
    assert all(n == n.lower() and n == n.strip() for n in names)


def test_decision_rounds_to_4_decimals_then_thresholds():
    names = ["a", "b", "c", "d", "e"]
    idx = [0, 1, 2, 3, 4]
    # 0.849951 rounds to 0.85 (kept); 0.849949 rounds to 0.8499 (dropped)
    ok, kept = H.decide([0.99, 0.9, 0.849951, 0.849949, 0.1], idx, "c", names)
    assert ok and kept == ["a", "b", "c"]
    ok, kept = H.decide([0.99, 0.9, 0.849951, 0.849949, 0.1], idx, "d", names)
    assert not ok
    ok, _ = H.decide([0.5] * 5, idx, "a", names)
    assert not ok


# -- model and loader ----------------------------------------------------------------------------

def test_sinusoid_table_formula_and_time_interpolation():
    t8 = U.sinusoid_table(1568, 64)
    p, j = 1000, 10
    assert abs(t8[p, j].item() - __import__("math").sin(p / 10000 ** (2 * (j // 2) / 64))) < 1e-6
    assert abs(t8[p, j + 1].item() - __import__("math").cos(p / 10000 ** (2 * (j // 2) / 64))) < 1e-6
    pos = U.default_pos_embed(64, 14, 16)[0].reshape(16, 14, 14, 64)
    grid8 = t8.reshape(8, 14, 14, 64)
    # linear, align_corners=False, 8 -> 16: output frame 2k+1 mixes input k (3/4) and k+1 (1/4)
    assert torch.allclose(pos[3], 0.75 * grid8[1] + 0.25 * grid8[2], atol=1e-6)
    assert torch.allclose(pos[0], grid8[0]) and torch.allclose(pos[15], grid8[7])
    assert torch.equal(U.default_pos_embed(64, 14, 8)[0], t8)


def test_config_inferred_from_shapes():
    sd = C.random_state_dict(C.umt_shapes(C.UMT_TINY), 1)
    assert U.config_from_state_dict(sd) == C.UMT_TINY


def test_loader_is_strict_and_names_keys(tmp_path):
    sd = C.random_state_dict(C.umt_shapes(C.UMT_TINY), 2)
    broken = dict(sd)
    del broken["blocks.1.attn.v_bias"]
    broken["blocks.0.attn.k_bias"] = torch.zeros(64)
    with pytest.raises(CheckpointError, match=r"blocks\.1\.attn\.v_bias.*blocks\.0\.attn\.k_bias"):
        U.build(broken)
    with pytest.raises(CheckpointError, match="wraps its weights in 'model'"):
        U.build({"model": sd, "epoch": 3})
    bad_pos = dict(sd, pos_embed=torch.zeros(1, 1568, 64))
    with pytest.raises(CheckpointError, match="pos_embed"):
        U.build(bad_pos)
    with_pos = dict(sd, pos_embed=torch.full((1, 3136, 64), 0.5))
    assert torch.equal(U.build(with_pos).pos_embed, torch.full((1, 3136, 64), 0.5))


@pytest.mark.real_checkpoints
def test_real_checkpoint_keys():
    """The real UMT file loads strictly into our module (``-m real_checkpoints``; fails when absent)."""
    cache = Path(os.environ.get("VBENCH_CACHE_DIR") or Path.home() / ".cache" / "vbench")
    path = cache / U.CKPT
    assert path.is_file() and path.stat().st_size > 100_000_000, \
        f"real checkpoint not present at {path}: run `pytest-vbench download --dims human_action`"
    model = U.load_file(path)
    assert model.cfg == C.UMT_FULL


def test_transform_short_side_256_then_centre_crop():
    import cv2
    import numpy as np

    frames = np.random.default_rng(0).integers(0, 256, (16, 100, 150, 3), dtype=np.uint8)
    x = U.transform(frames)
    assert x.shape == (3, 16, 224, 224) and x.dtype == torch.float32
    big = cv2.resize(frames[5], (384, 256), interpolation=cv2.INTER_LINEAR)  # int(256*150/100) = 384
    crop = big[16:240, 80:304].astype(np.float32) / 255
    expect = (torch.from_numpy(crop).permute(2, 0, 1) - torch.tensor(U.IMAGENET_MEAN)[:, None, None]) \
        / torch.tensor(U.IMAGENET_STD)[:, None, None]
    assert torch.allclose(x[:, 5], expect, atol=1e-6)
    # short side already 256: no resize at all
    frames256 = np.random.default_rng(1).integers(0, 256, (16, 256, 300, 3), dtype=np.uint8)
    y = U.transform(frames256)
    raw = frames256[0, 16:240, 38:262, 0].astype(np.float32) / 255
    assert torch.allclose(y[0, 0], (torch.from_numpy(raw) - 0.485) / 0.229, atol=1e-6)


# -- official parity: tests/test_parity.py::test_parity[human_action.json] ------------------------

def test_batched_equals_single(tmp_path, seeded_cache):
    torch.set_num_threads(1)
    ref = reference("tiny_table")
    cache = seeded_cache("umt_official_keys", seed=ref["checkpoint_seed"], tiny=True).path
    rt = Runtime("cpu", cache)
    videos = [VideoRef(C.write_spec_video(tmp_path / v["file"], v["spec"]), i) for i, v in enumerate(ref["videos"][:5])]
    case = Case("human_action", "x", 0, videos=videos)
    batched = H.score_case(videos, case, rt)
    single = [H.score_video(v, case, rt) for v in videos]
    assert [b.record for b in batched] == [s.record for s in single]


def test_run_case_through_the_runner(tmp_path, seeded_cache):
    """The core runner gets plain-JSON results: sum/count/record per video, errors kept apart."""
    from pytest_vbench.runner import run_case

    torch.set_num_threads(1)
    ref = reference("tiny_table")
    cache = seeded_cache("umt_official_keys", seed=ref["checkpoint_seed"], tiny=True).path
    good = ([v for v in ref["videos"] if v["video_results"]][:1]
            + [v for v in ref["videos"] if not v["video_results"]][:1])
    videos = [VideoRef(C.write_spec_video(tmp_path / v["file"], v["spec"]), i) for i, v in enumerate(good)]
    (tmp_path / "A person is running-9.mp4").write_bytes(b"")
    videos.append(VideoRef(tmp_path / "A person is running-9.mp4", 9))
    result = run_case(Case("human_action", "A person is running", 0, videos=videos), Runtime("cpu", cache)).to_json()
    json.dumps(result)
    assert [v["record"]["video_results"] for v in result["videos"]] == [True, False]
    assert [v["sum"] for v in result["videos"]] == [1.0, 0.0]
    assert len(result["errors"]) == 1 and "running-9.mp4" in result["errors"][0]["error"]
