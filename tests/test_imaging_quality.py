"""imaging_quality: MUSIQ loading, the official preprocessing modes, and parity with vbench 0.1.5."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("pyiqa")

from pytest_vbench import fake_checkpoints  # noqa: E402
from pytest_vbench.dimensions import imaging_quality as iq  # noqa: E402
from pytest_vbench.models import musiq  # noqa: E402
from pytest_vbench.runtime import Runtime  # noqa: E402
from pytest_vbench.suite import VideoRef  # noqa: E402
from pytest_vbench.video import load_video  # noqa: E402

HERE = Path(__file__).parent
REF = json.loads((HERE / "parity" / "imaging_quality.json").read_text())
VIDEOS = HERE / "parity" / "videos" / "image"
FAST = {"anim-0.gif", "still-0.png", "big3-0.mp4", "single-0.mp4"}  # the slow tier runs all


@pytest.fixture(scope="module")
def full_caches(tmp_path_factory):
    """Full-size seeded MUSIQ checkpoints, one cache per reference seed (written lazily)."""
    made = {}

    def get(seed: str) -> Path:
        if seed not in made:
            cache = tmp_path_factory.mktemp(f"musiq{seed}")
            paths = fake_checkpoints.write("musiq", cache, seed=int(seed))
            from tools_fingerprint import fingerprint
            assert fingerprint(paths) == pytest.approx(REF["runs"][seed]["fingerprint"], rel=1e-12), \
                "the seeded checkpoint generator no longer reproduces the reference checkpoint"
            made[seed] = cache
        return made[seed]
    return get


def _check(seed: str, videos: set[str] | None, full_caches):
    rt = Runtime("cpu", full_caches(seed))
    run = REF["runs"][seed]
    diffs = []
    for rec in run["records"]:
        if videos is not None and rec["video"] not in videos:
            continue
        ours = iq.score_video(VideoRef(VIDEOS / rec["video"], 0), None, rt)
        diffs.append(abs(ours.record["video_results"] - rec["video_results"]))
    assert diffs and max(diffs) <= 1e-4, f"max |ours - official| = {max(diffs):.2e}"
    return diffs


def test_parity_fast_subset(full_caches):
    _check("0", FAST, full_caches)


@pytest.mark.slow
@pytest.mark.parametrize("seed", sorted(REF["runs"]))
def test_parity_all_videos_and_seeds(seed, full_caches):
    rt_values = _check(seed, None, full_caches)
    assert len(rt_values) == len(REF["runs"][seed]["records"])


def test_tiny_checkpoint_loads_through_the_real_loader(tmp_path):
    fake_checkpoints.write("musiq", tmp_path, seed=3, tiny=True)
    rt = Runtime("cpu", tmp_path)
    model = rt.model("musiq")
    assert rt.model("musiq") is model  # once per process
    cfg = musiq.config_from_state(model.state_dict())
    assert cfg == {"hidden_size": 64, "mlp_dim": 96, "num_layers": 2, "num_heads": 1, "num_class": 1}
    frames = load_video(VIDEOS / "anim-0.gif")
    single = iq.frame_scores(model, frames, "cpu")
    saved, iq.BATCH = iq.BATCH, {"cpu": 8}
    try:
        batched = iq.frame_scores(model, frames, "cpu")  # the accelerator path, on CPU
    finally:
        iq.BATCH = saved
    assert len(batched) == len(frames) == 8
    assert np.allclose(batched, single, atol=1e-5, rtol=0)
    assert len(set(np.round(batched, 6))) > 1  # frames differ, so do their scores


def test_wrong_checkpoint_is_named(tmp_path):
    path = tmp_path / "pyiqa_model" / "musiq_spaq_ckpt-358bb6af.pth"
    path.parent.mkdir(parents=True)
    torch.save({"embedding.weight": torch.zeros(4, 4)}, path)
    from pytest_vbench.models.checkpoint import CheckpointError
    with pytest.raises(CheckpointError, match="not a MUSIQ state dict"):
        Runtime("cpu", tmp_path).model("musiq")


@pytest.mark.parametrize("shape,mode,expected", [
    ((2, 360, 640, 3), "longer", (288, 512)),
    ((2, 320, 512, 3), "longer", (320, 512)),
    ((1, 600, 800, 3), "shorter", (512, 682)),
    ((1, 600, 800, 3), "shorter_centercrop", (512, 512)),
    ((1, 600, 800, 3), "None", (600, 800)),
    ((1, 500, 700, 3), "shorter", (500, 700)),
])
def test_preprocessing_modes(shape, mode, expected):
    frames = np.random.default_rng(0).integers(0, 256, shape, dtype=np.uint8)
    out = iq.preprocess(frames, mode)
    assert tuple(out.shape[-2:]) == expected and out.dtype == torch.float32
    assert float(out.max()) <= 1.0 + 1e-6
    if expected == shape[1:3]:
        assert torch.equal(out, torch.from_numpy(frames).permute(0, 3, 1, 2).float() / 255.0)


def test_unknown_mode():
    with pytest.raises(ValueError, match="imaging_quality_preprocessing_mode"):
        iq.preprocess(np.zeros((1, 8, 8, 3), np.uint8), "widest")
