"""dynamic_degree: RAFT key mapping and the official rules.

Parity with vbench 0.1.5 (tests/parity/dynamic_degree.json: per-pair scores before thresholding and
booleans, seeded RAFT in the original DataParallel layout): ``tests/test_parity.py``.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("torchvision")

from pytest_vbench.dimensions import dynamic_degree as dd  # noqa: E402
from pytest_vbench.models import raft  # noqa: E402
from pytest_vbench.runtime import Runtime  # noqa: E402
from pytest_vbench.video import opencv_fps, opencv_frames  # noqa: E402

HERE = Path(__file__).parent
VIDEOS = HERE / "parity" / "videos" / "motion"


@pytest.fixture
def cache(seeded_cache):
    return lambda seed: seeded_cache("raft", seed=int(seed)).path


def _sampled_rgb(path: Path):
    step = dd.frame_interval(opencv_fps(path))
    return [cv2.cvtColor(f, cv2.COLOR_BGR2RGB) for i, f in enumerate(opencv_frames(path)) if i % step == 0]


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


def test_decided_prefix_gives_the_full_answer():
    """Wherever ``decided`` says a prefix fixes the answer, ``moved`` of that prefix equals ``moved`` of the
    whole list: exhaustively over short score lists (above/below thres, NaN) and every count_num."""
    import itertools

    values = [0.5, 2.0, float("nan")]
    stops = 0
    for n in range(0, 7):
        for scores in itertools.product(values, repeat=n):
            for count_num in range(0, n + 2):
                full = dd.moved(list(scores), 1.0, count_num)
                for k in range(0, n + 1):
                    if dd.decided(list(scores[:k]), 1.0, count_num, n):
                        assert dd.moved(list(scores[:k]), 1.0, count_num) is full, (scores, count_num, k)
                        stops += k < n
    assert stops > 1000  # the rule does stop early, often
    assert not dd.decided([], 1.0, 0, 5)  # count_num 0: True only once a pair is scored, as the official
    assert dd.decided([2.0, 2.0], 1.0, 2, 15) and not dd.decided([2.0, 0.5], 1.0, 2, 15)
    assert dd.decided([0.5] * 12, 1.0, 4, 15) and not dd.decided([0.5] * 11, 1.0, 4, 15)


@pytest.mark.parametrize("magnitude,moving,pairs", [(1e6, True, 2), (0.0, False, 4)])
def test_score_video_stops_scoring_pairs_once_decided(cache, monkeypatch, magnitude, moving, pairs):
    """odd130x170: 6 sampled frames, 5 pairs, count_num 2. All pairs above thres: True after 2 pairs;
    all below: False once 4 of 5 pairs leave too few to reach 2. Without the early stop every pair runs."""
    from pytest_vbench.suite import VideoRef

    rt = Runtime("cpu", cache("0"))
    path = VIDEOS / "odd130x170-0.mp4"
    frames = _sampled_rgb(path)
    assert len(frames) - 1 == 5 and dd.params(frames[0].shape[:2], len(frames))[1] == 2
    calls = []
    real = raft.flow
    monkeypatch.setattr(raft, "flow", lambda *a, **k: calls.append(1) or real(*a, **k))
    monkeypatch.setattr(dd, "top_magnitude", lambda f, fraction=dd.FRACTION: magnitude)
    got = dd.score_video(VideoRef(path, 0), None, rt)
    assert got.record["video_results"] is moving and len(calls) == pairs
    calls.clear()
    monkeypatch.setattr(dd, "EARLY_STOP", False)
    assert dd.score_video(VideoRef(path, 0), None, rt).record["video_results"] is moving and len(calls) == 5


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


@pytest.mark.parametrize("batch", [1, 2])
def test_each_frame_is_encoded_once_with_the_flow_of_separate_pairs(cache, batch):
    """A frame shared by two consecutive pairs goes through RAFT's feature encoder once (the original
    encodes it for each pair); the scores equal those of the pairs run one by one through ``raft.flow``."""
    model = Runtime("cpu", cache("0")).model("raft")
    frames = _sampled_rgb(VIDEOS / "odd130x170-0.mp4")
    encoded = []
    hook = model.feature_encoder.register_forward_hook(lambda mod, args, out: encoded.append(args[0].shape[0]))
    try:
        ours = dd.pair_scores(model, frames, "cpu", batch=batch)
    finally:
        hook.remove()
    assert sum(encoded) == len(frames) == 6
    separate = []
    with torch.no_grad():
        for a, b in zip(frames[:-1], frames[1:]):
            ta, tb = (dd.pad8(torch.from_numpy(x).permute(2, 0, 1).float()[None]) for x in (a, b))
            separate.append(dd.top_magnitude(raft.flow(model, ta, tb)[0].permute(1, 2, 0).numpy()))
    assert ours == pytest.approx(separate, abs=1e-5)


def test_pairs_per_pass_one_on_cpu_and_bounded_by_memory_elsewhere():
    assert raft.pairs_per_pass("cpu", (720, 1280)) == 1
    assert raft.pairs_per_pass("cuda:0", (256, 448)) == 4
    assert raft.pairs_per_pass("cuda", (720, 1280)) == 1  # one 720p pyramid is ~1.1 GB
    assert raft.pairs_per_pass("cuda", (720, 960)) == 3  # 3 pyramids of ~0.62 GB fit in 2 GiB
    assert raft.pairs_per_pass("cuda", (480, 854), budget_bytes=8 * 1024 ** 3) == 4
