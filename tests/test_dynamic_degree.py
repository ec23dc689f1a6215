"""dynamic_degree: RAFT key mapping, the official rules, and parity with vbench 0.1.5.

tests/parity/dynamic_degree.json holds the official per-pair scores (before thresholding) and
booleans on the committed videos in tests/parity/videos/motion, for seeded RAFT checkpoints in the
original DataParallel layout (tools/parity_motion.py).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import cv2
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("torchvision")

from pytest_vbench import fake_checkpoints  # noqa: E402
from pytest_vbench.dimensions import dynamic_degree as dd  # noqa: E402
from pytest_vbench.models import raft  # noqa: E402
from pytest_vbench.runtime import Runtime  # noqa: E402
from pytest_vbench.suite import VideoRef  # noqa: E402
from pytest_vbench.video import VideoError, opencv_fps, opencv_frames  # noqa: E402

from parity_harness import FINGERPRINT_REL, bar, fingerprint  # noqa: E402

HERE = Path(__file__).parent
REF = json.loads((HERE / "parity" / "dynamic_degree.json").read_text())
VIDEOS = HERE / "parity" / "videos" / "motion"
FAST = {"short2-0.mp4", "short3-0.mp4", "big256-0.mp4", "odd130x170-0.mp4", "small-0.mp4", "short1-0.mp4"}


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    made = {}

    def get(seed: str) -> Path:
        if seed not in made:
            d = tmp_path_factory.mktemp(f"raft{seed}")
            assert fingerprint(fake_checkpoints.write("raft", d, seed=int(seed))) == pytest.approx(
                REF["runs"][seed]["fingerprint"], rel=FINGERPRINT_REL)
            made[seed] = d
        return made[seed]
    return get


def _sampled_rgb(path: Path):
    step = dd.frame_interval(opencv_fps(path))
    return [cv2.cvtColor(f, cv2.COLOR_BGR2RGB) for i, f in enumerate(opencv_frames(path)) if i % step == 0]


def _check(seed, names, cache):
    rt = Runtime("cpu", cache(seed))
    worst = 0.0
    for rec in REF["runs"][seed]["records"]:
        if names is not None and rec["video"] not in names:
            continue
        path = VIDEOS / rec["video"]
        if rec["video"] == "small-0.mp4":  # official: NaN scores -> False; ours: a clear failure
            assert all(math.isnan(v) for v in rec["pair_scores"]) and rec["video_results"] is False
            with pytest.raises(VideoError, match="too small for RAFT"):
                dd.score_video(VideoRef(path, 0), None, rt)
            continue
        ours = dd.pair_scores(rt.model("raft"), _sampled_rgb(path), "cpu")
        assert len(ours) == len(rec["pair_scores"])
        for a, b in zip(ours, rec["pair_scores"]):
            if math.isnan(b):
                assert math.isnan(a)
            else:
                worst = max(worst, abs(a - b))
        assert dd.score_video(VideoRef(path, 0), None, rt).record["video_results"] is rec["video_results"]
    print(f"dynamic_degree seed {seed}: max |pair score - official| = {worst:.2e}")
    assert worst <= bar("dynamic_degree")


def test_parity_fast_subset(cache):
    _check("0", FAST, cache)


@pytest.mark.slow
@pytest.mark.parametrize("seed", sorted(REF["runs"]))
def test_parity_all(seed, cache):
    _check(seed, None, cache)


def test_key_mapping_is_complete():
    from torchvision.models.optical_flow import raft_large

    tv = raft_large(weights=None).state_dict()
    original = raft.from_torchvision(tv)
    assert all(k.startswith("module.") for k in original)
    assert sum(".norm3." in k for k in original) == 10  # cnet layer2.0 and layer3.0: 5 BatchNorm tensors each
    back = raft.to_torchvision(original)
    assert set(back) == set(tv) and all(back[k] is tv[k] for k in tv)


@pytest.mark.parametrize("fps,interval", [(8, 1), (10, 1), (12, 2), (16, 2), (20, 2), (24, 3), (25, 3), (30, 4),
                                          (29.97, 4), (4, 1), (0, 1)])
def test_frame_interval_uses_python_round(fps, interval):
    assert dd.frame_interval(fps) == interval


@pytest.mark.parametrize("kept,count_num", [(1, 0), (2, 0), (6, 2), (10, 2), (14, 4), (16, 4), (22, 6)])
def test_count_num_rounding(kept, count_num):
    assert dd.params((320, 512), kept) == (6.0 * 320 / 256, count_num)


def test_check_move_scan():
    assert dd.moved([], 1.0, 0) is False
    assert dd.moved([0.0], 1.0, 0) is True  # count_num 0: the first pair decides, whatever its score
    assert dd.moved([2.0, 0.5, 2.0], 1.0, 2) is True
    assert dd.moved([2.0, 0.5, 0.7], 1.0, 2) is False
    assert dd.moved([float("nan")] * 3, 1.0, 1) is False


def test_padding_is_replicate_and_split():
    x = torch.arange(2 * 3 * 5 * 6, dtype=torch.float32).reshape(2, 3, 5, 6)
    p = dd.pad8(x)
    assert p.shape[-2:] == (8, 8)
    assert torch.equal(p[..., 1:6, 1:7], x)  # 3 rows: 1 before, 2 after; 2 cols: 1 and 1
    assert torch.equal(p[..., 0, 1:7], x[..., 0, :]) and torch.equal(p[..., 7, 1:7], x[..., 4, :])
    assert torch.equal(dd.pad8(torch.zeros(1, 3, 16, 24)), torch.zeros(1, 3, 16, 24))


def test_batching_matches_pair_by_pair(cache, monkeypatch):
    model = Runtime("cpu", cache("0")).model("raft")
    frames = _sampled_rgb(VIDEOS / "odd130x170-0.mp4")
    batched = dd.pair_scores(model, frames, "cpu", batch=4)
    single = dd.pair_scores(model, frames, "cpu", batch=1)
    assert len(single) == len(frames) - 1 == 5
    assert batched == pytest.approx(single, abs=1e-4)
    monkeypatch.setattr(dd, "BATCH", 2)  # the module setting overrides the automatic choice
    assert dd.pair_scores(model, frames, "cpu") == pytest.approx(single, abs=1e-4)


def test_pairs_per_pass_one_on_cpu_and_bounded_by_memory_elsewhere():
    assert raft.pairs_per_pass("cpu", (720, 1280)) == 1
    assert raft.pairs_per_pass("cuda:0", (256, 448)) == 4
    assert raft.pairs_per_pass("cuda", (720, 1280)) == 1  # one 720p pyramid is ~1.1 GB
    assert raft.pairs_per_pass("cuda", (720, 960)) == 3  # 3 pyramids of ~0.62 GB fit in 2 GiB
    assert raft.pairs_per_pass("cuda", (480, 854), budget_bytes=8 * 1024 ** 3) == 4
