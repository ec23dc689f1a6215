"""imaging_quality: MUSIQ loading and the official preprocessing modes.

Parity with vbench 0.1.5 (tests/parity/imaging_quality.json, full-size, ``-m slow``, and
imaging_quality_tiny.json): ``tests/test_parity.py``.
"""

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
VIDEOS = HERE / "parity" / "videos" / "image"


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


# ---- the tiny-config reference (tests/parity/imaging_quality_tiny.json) -------------------------------
# Its parity test is tests/test_parity.py::test_parity[imaging_quality_tiny.json] (every mode).

TINY_REF = json.loads((HERE / "parity" / "imaging_quality_tiny.json").read_text())
LARGE = "large600x840-0.png"


def test_tiny_reference_modes_differ():
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
