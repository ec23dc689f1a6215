"""motion_smoothness: our AMT-S and the official rules.

tests/parity/motion_smoothness.json holds the official per-video values and per-pair differences on
the committed videos in tests/parity/videos/motion, for seeded random AMT-S checkpoints in the
official format (tools/parity_motion.py --only motion_smoothness), plus the official model's
parameter names and shapes. Runs "0" and "1" use plain seeded random weights (scores about 0.63),
"calibrated-0" the scaled output heads of ``amt_calibrated`` in tests/seeded_checkpoints.py (scores in
the leaderboard's range). The parity test itself: ``tests/test_parity.py``.
"""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

torch = pytest.importorskip("torch")

from pytest_vbench import fake_checkpoints  # noqa: E402
from pytest_vbench.dimensions import motion_smoothness as ms  # noqa: E402
from pytest_vbench.models import amt  # noqa: E402
from pytest_vbench.models.checkpoint import CheckpointError  # noqa: E402
from pytest_vbench.runtime import Runtime  # noqa: E402
from pytest_vbench.suite import VideoRef  # noqa: E402
from pytest_vbench.video import VideoError, opencv_frames  # noqa: E402

HERE = Path(__file__).parent
REF = json.loads((HERE / "parity" / "motion_smoothness.json").read_text())
VIDEOS = HERE / "parity" / "videos" / "motion"

@pytest.fixture
def cache(seeded_cache):
    return lambda seed: (seeded_cache("amt_calibrated") if seed == "calibrated-0" else
                         seeded_cache("amt", seed=int(seed))).path


def _rgb(path: Path):
    return [cv2.cvtColor(f, cv2.COLOR_BGR2RGB) for f in opencv_frames(path)]


def test_calibrated_weights_rank_a_still_video_above_moving_ones():
    recs = {r["video"]: r.get("video_results") for r in REF["runs"]["calibrated-0"]["records"]}
    assert recs["static16fps-0.mp4"] > max(recs[v] for v in ("pan24fps-0.mp4", "shapes8fps-0.mp4",
                                                            "odd130x170-0.mp4"))


def test_reference_is_not_degenerate():
    """Random weights must exercise the score: values differ between videos and stay inside (0, 1)."""
    values = [r["video_results"] for run in REF["runs"].values() for r in run["records"]
              if r.get("video_results") is not None]
    assert len(values) >= 10 and len(set(round(v, 6) for v in values)) >= len(values) // 2
    assert all(0.3 < v < 1.0 for v in values)


def test_every_official_key_is_loaded_and_every_parameter_filled():
    ours = {k: list(v.shape) for k, v in amt.AMTS().state_dict().items()}
    assert ours == REF["official_keys"]


def test_loader_is_strict_and_names_the_file(tmp_path):
    path = fake_checkpoints.write("amt", tmp_path, seed=3)[0]
    state = torch.load(path, weights_only=True)["state_dict"]
    rt = Runtime("cpu", tmp_path)
    model = rt.model("amt")
    assert isinstance(model, amt.AMTS) and not model.training
    assert torch.equal(model.comb_block[0].weight, state["comb_block.0.weight"])

    missing = dict(state)
    missing.pop("update2.flow_head.2.bias")
    torch.save({"state_dict": missing}, path)
    with pytest.raises(CheckpointError, match="update2.flow_head.2.bias") as err:
        Runtime("cpu", tmp_path).model("amt")
    assert str(path) in str(err.value)

    torch.save(state, path)  # a bare state dict is not the official container
    with pytest.raises(CheckpointError, match="not an AMT checkpoint"):
        Runtime("cpu", tmp_path).model("amt")

    path.write_bytes(path.read_bytes()[:5000])
    with pytest.raises(CheckpointError, match="truncated or corrupt"):
        Runtime("cpu", tmp_path).model("amt")


def test_padding_is_replicate_to_16_split_before():
    assert ms.padding((128, 160)) == [0, 0, 0, 0]
    assert ms.padding((130, 170)) == [3, 3, 7, 7]
    assert ms.padding((131, 177)) == [7, 8, 6, 7]
    x = torch.arange(3 * 5 * 6, dtype=torch.float32).reshape(1, 3, 5, 6)
    p = ms.pad16(x)
    assert p.shape[-2:] == (16, 16)
    assert torch.equal(p[..., 5:10, 5:11], x)  # 11 rows: 5 before, 6 after; 10 columns: 5 and 5
    assert torch.equal(p[..., 0, 5:11], x[..., 0, :]) and torch.equal(p[..., 15, 5:11], x[..., 4, :])


def test_uint8_conversion_truncates_and_clips():
    pred = torch.tensor([0.0, 0.999, 1.0, 0.5, 1.2, -0.1], dtype=torch.float32).view(1, 1, 6).expand(3, 1, 6)
    got = ms.to_uint8(pred)
    assert got.shape == (1, 6, 3) and got.dtype == np.uint8
    assert got[0, :, 0].tolist() == [0, 254, 255, 127, 255, 0]


def test_inputs_are_uint8_over_255():
    frame = np.random.default_rng(0).integers(0, 256, (4, 5, 3), dtype=np.uint8)
    t = ms.to_input(frame)
    assert t.shape == (1, 3, 4, 5) and t.dtype == torch.float32
    assert torch.equal(t[0], torch.from_numpy(frame).permute(2, 0, 1).float() / 255.0)


def test_score_formula_and_pairing():
    """Frames 0,2,4 are inputs; predictions are compared with frames 1 and 3; frame 5 is unused."""
    calls = []

    class Echo(torch.nn.Module):  # "interpolates" by returning the first frame of each pair
        def forward(self, a, b, embt):
            calls.append((a.shape[0], float(embt)))
            return a + 0.5 / 255  # half a level up, so the truncating cast gives the input back

    frames = [np.full((128, 128, 3), v, np.uint8) for v in (10, 13, 20, 29, 30, 99)]
    diffs = ms.pair_diffs(Echo(), frames, batch=1)
    assert diffs == [3.0, 9.0] and calls == [(1, 0.5), (1, 0.5)]
    assert ms.smoothness(diffs) == (255.0 - 6.0) / 255.0
    calls.clear()
    assert ms.pair_diffs(Echo(), frames, batch=4) == diffs and calls == [(2, 0.5)]


def test_batching_matches_pair_by_pair(cache):
    """Batched passes differ from single ones only by float rounding (a few pixels change level)."""
    model = Runtime("cpu", cache("0")).model("amt")
    frames = _rgb(VIDEOS / "pan24fps-0.mp4")[:9]
    single = ms.pair_diffs(model, frames, batch=1)
    batched = ms.pair_diffs(model, frames, batch=3)
    assert len(batched) == len(single) == 4
    assert batched == pytest.approx(single, abs=1e-3)
    assert ms.smoothness(batched) == pytest.approx(ms.smoothness(single), abs=1e-6)


def test_pairs_per_pass():
    assert amt.pairs_per_pass("cpu", (720, 1280)) == 1
    assert amt.pairs_per_pass("cuda:1", (256, 448)) == 4
    assert amt.pairs_per_pass("cuda", (720, 1280)) == 1  # two ~1.1 GB pyramids per pair


def test_memory_is_bounded_by_a_window():
    """The frame iterator is consumed lazily: at most 2*batch+1 frames are alive at once."""
    alive = []

    def frames():
        for i in range(40):
            alive.append(i)
            yield np.full((128, 128, 3), i, np.uint8)

    consumed_at_call = []

    class Probe(torch.nn.Module):
        def forward(self, a, b, embt):
            consumed_at_call.append(len(alive))
            return a

    ms.pair_diffs(Probe(), frames(), batch=2)
    # each pass runs as soon as 3 even frames (2 pairs) are in: after frames 4, 8, 12, ...
    assert consumed_at_call[:3] == [5, 9, 13]


def test_changing_frame_size_is_refused():
    frames = [np.zeros((128, 128, 3), np.uint8)] * 2 + [np.zeros((128, 144, 3), np.uint8)]
    with pytest.raises(VideoError, match="frame size changes"):
        ms.pair_diffs(torch.nn.Identity(), frames)


def test_motion_smoothness_through_the_plugin(pytester, tmp_path, cache, monkeypatch):
    """Per-prompt items, the per-video records in the JSON, and a short video failing only its own item."""
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    from pytest_vbench.suite import load_suite

    from synthetic import noise_frames, write_video

    prompts = ["a person swimming in ocean", "a person eating a burger"]
    entries = [e for e in load_suite().entries if e["prompt_en"] in prompts]
    suite = tmp_path / "suite.json"
    suite.write_text(json.dumps(entries))
    videos = tmp_path / "videos"
    videos.mkdir()
    write_video(videos / f"{prompts[0]}-0.mp4", noise_frames(1, n=5, h=128, w=128, amplitude=40))
    write_video(videos / f"{prompts[0]}-1.mp4", noise_frames(2, n=4, h=128, w=144, amplitude=40))
    write_video(videos / f"{prompts[1]}-0.mp4", noise_frames(3, n=2, h=128, w=128))
    out = tmp_path / "r.json"
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--vbench-videos", str(videos),
                                           "--vbench-full-info", str(suite), "--vbench-dims", "motion_smoothness",
                                           "--vbench-cache-dir", str(cache("calibrated-0")), "--vbench-json", str(out))
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*a person eating a burger-0.mp4: motion_smoothness needs at least 3 frames*"])
    dim = json.loads(out.read_text())["dimensions"]["motion_smoothness"]
    rt = Runtime("cpu", cache("calibrated-0"))
    want = {}
    for i in (0, 1):
        path = videos / f"{prompts[0]}-{i}.mp4"
        want[path.name] = ms.score_video(VideoRef(path, i), None, rt).sum
    got = {Path(r["video"]).name: r["record"]["video_results"] for r in dim["results"] if "record" in r
           and r["record"]}
    assert got == pytest.approx(want, abs=1e-6) and len(got) == 2  # (thread counts differ: float rounding)
    assert dim["raw"] == pytest.approx(sum(got.values()) / 2, abs=1e-12)
