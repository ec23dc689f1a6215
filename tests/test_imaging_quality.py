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
            from parity_harness import FINGERPRINT_REL, fingerprint

            assert fingerprint(paths) == pytest.approx(REF["runs"][seed]["fingerprint"], rel=FINGERPRINT_REL), \
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
    from parity_harness import bar

    assert diffs and max(diffs) <= bar("imaging_quality"), f"max |ours - official| = {max(diffs):.2e}"
    return diffs


@pytest.mark.slow  # full-size MUSIQ; the fast tier checks the tiny-config references below
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


# ---- tiny-config official parity (fast tier), every preprocessing mode --------------------------------
# tests/parity/imaging_quality_tiny.json: pyiqa's MUSIQ(pretrained_model_path=...) with a tiny config and
# the official vbench.imaging_quality.technical_quality, made by tools/parity_dino_musiq.py. The inputs are
# the committed videos plus a generated 600x840 PNG that every mode resizes.

TINY_REF = json.loads((HERE / "parity" / "imaging_quality_tiny.json").read_text())
LARGE = "large600x840-0.png"


@pytest.fixture(scope="module")
def tiny_setup(tmp_path_factory):
    from checkpoints_dino_musiq import write_large_png, write_tiny_musiq

    inputs = tmp_path_factory.mktemp("iq_inputs")
    write_large_png(inputs / LARGE)
    caches = {}
    for seed in TINY_REF["runs"]:
        cache = tmp_path_factory.mktemp(f"tinymusiq{seed}")
        write_tiny_musiq(cache, int(seed))
        caches[seed] = cache
    return inputs, caches


def _path(name, inputs):
    return inputs / name if name == LARGE else VIDEOS / name


def _check_tiny(seed, names, tiny_setup):
    inputs, caches = tiny_setup
    worst, checked = 0.0, 0
    for mode, run in TINY_REF["runs"][seed].items():
        rt = Runtime("cpu", caches[seed], options={"imaging_quality_preprocessing_mode": mode})
        values = []
        for rec in run["records"]:
            if names is not None and rec["video"] not in names:
                continue
            ours = iq.score_video(VideoRef(_path(rec["video"], inputs), 0), None, rt)
            worst = max(worst, abs(ours.record["video_results"] - rec["video_results"]))
            values.append(ours.sum / ours.count)
            checked += 1
        if names is None:  # dimension score: mean of per-video values / 100 (the table's scale=0.01)
            assert sum(values) / len(values) / 100 == pytest.approx(run["score"], abs=1e-7), mode
    assert checked and worst <= 1e-5, f"max |ours - official| = {worst:.2e}"


# the MUSIQ ResNet stem has its full width even in the tiny config: the fast tier takes the cheap inputs
TINY_FAST = {LARGE, "still-0.png", "single-0.mp4", "anim-0.gif", "big3-0.mp4"}


def test_tiny_parity_modes_fast_subset(tiny_setup):
    _check_tiny("0", TINY_FAST, tiny_setup)


@pytest.mark.slow
@pytest.mark.parametrize("seed", sorted(TINY_REF["runs"]))
def test_tiny_parity_all_modes_and_score(seed, tiny_setup):
    _check_tiny(seed, None, tiny_setup)


def test_tiny_reference_modes_differ(tiny_setup):
    """The large input really exercises the modes: each gives another official value."""
    vals = {mode: next(r["video_results"] for r in run["records"] if r["video"] == LARGE)
            for mode, run in TINY_REF["runs"]["0"].items()}
    assert len({round(v, 4) for v in vals.values()}) == 4, vals


def test_chunked_preprocessing_is_identical(tmp_path, monkeypatch):
    """score_video preprocesses batch by batch (bounded memory); the value equals one whole-video pass."""
    fake_checkpoints.write("musiq", tmp_path, seed=5, tiny=True)
    rt = Runtime("cpu", tmp_path)
    path = VIDEOS / "anim-0.gif"
    frames = load_video(path)
    with torch.no_grad():
        whole = [float(rt.model("musiq")(img[None])) for img in iq.preprocess(frames)]
    # on CPU score_video preprocesses and scores one frame at a time
    ours = iq.score_video(VideoRef(path, 0), None, rt)
    assert ours.record["video_results"] == pytest.approx(sum(whole) / len(whole), abs=1e-9)
