"""subject_consistency: DINO on timm with DINO's position-embedding rule.

Parity with vbench 0.1.5 (tests/parity/subject_consistency.json, full-size, ``-m slow``, and
subject_consistency_tiny.json): ``tests/test_parity.py``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("timm")

from pytest_vbench import fake_checkpoints  # noqa: E402
from pytest_vbench.dimensions import subject_consistency as sc  # noqa: E402
from pytest_vbench.models import dino  # noqa: E402
from pytest_vbench.runtime import Runtime  # noqa: E402
from pytest_vbench.suite import VideoRef  # noqa: E402
from pytest_vbench.video import VideoError, load_video  # noqa: E402

HERE = Path(__file__).parent
VIDEOS = HERE / "parity" / "videos" / "image"


def test_tiny_checkpoint_and_shapes(tmp_path):
    fake_checkpoints.write("dino", tmp_path, seed=1, tiny=True)
    rt = Runtime("cpu", tmp_path)
    model = rt.model("dino")
    cfg = dino.config_from_state(model.state_dict())
    assert (cfg["embed_dim"], cfg["depth"], cfg["num_heads"], cfg["patch_size"], cfg["img_size"]) == (64, 2, 1, 16, 224)
    frames = load_video(VIDEOS / "wide320x512-0.mp4")[:3]
    images = sc.preprocess(frames)
    assert tuple(images.shape) == (3, 3, 224, 358)  # short side 224, aspect kept, no crop
    one_by_one = sc.encode(model, images, "cpu")
    assert one_by_one.shape == (3, 64)
    saved, sc.BATCH = sc.BATCH, {"cpu": 8}  # the accelerator path, on CPU
    try:
        feats = sc.encode(model, images, "cpu")
    finally:
        sc.BATCH = saved
    assert torch.allclose(feats, one_by_one, atol=1e-6)


def test_dino_position_embedding_rule(tmp_path):
    fake_checkpoints.write("dino", tmp_path, seed=2, tiny=True)
    model = Runtime("cpu", tmp_path).model("dino")
    assert dino.dino_pos_embed(model, 14, 14) is model.pos_embed  # the training size: untouched
    pe = dino.dino_pos_embed(model, 14, 22)
    assert pe.shape == (1, 1 + 14 * 22, 64)
    assert torch.equal(pe[:, 0], model.pos_embed[:, 0])
    # the scale-factor rule differs from resizing to the target size (what timm's dynamic size does)
    grid = model.pos_embed[:, 1:].reshape(1, 14, 14, 64).permute(0, 3, 1, 2)
    by_size = torch.nn.functional.interpolate(grid, size=(14, 22), mode="bicubic")
    assert not torch.allclose(pe[:, 1:], by_size.permute(0, 2, 3, 1).reshape(1, -1, 64), atol=1e-3)


def test_one_frame_fails(tmp_path):
    fake_checkpoints.write("dino", tmp_path, seed=0, tiny=True)
    with pytest.raises(VideoError, match="needs at least 2"):
        sc.score_video(VideoRef(VIDEOS / "single-0.mp4", 0), None, Runtime("cpu", tmp_path))


# ---- the tiny-config reference (tests/parity/subject_consistency_tiny.json) is sensitive ---------------
# Its parity test is tests/test_parity.py::test_parity[subject_consistency_tiny.json].

TINY_REF = json.loads((HERE / "parity" / "subject_consistency_tiny.json").read_text())


@pytest.fixture
def tiny_runtimes(seeded_cache):
    return {"0": Runtime("cpu", seeded_cache("dino_unit_pos", seed=0, tiny=True).path)}


def test_tiny_features_detect_a_size_based_position_resize(tiny_runtimes, monkeypatch):
    """The references are sensitive: timm-style size-based resizing misses them by far."""
    model = tiny_runtimes["0"].model("dino")
    name = "wide320x512-0.mp4"
    ref = torch.tensor(TINY_REF["runs"]["0"]["features"][name]["0"])
    images = sc.preprocess(load_video(VIDEOS / name)[:1])

    def by_size(model, gh, gw, square=None):
        pos = model.pos_embed
        grid = pos[:, 1:].reshape(1, 14, 14, -1).permute(0, 3, 1, 2)
        grid = torch.nn.functional.interpolate(grid, size=(gh, gw), mode="bicubic", antialias=True)
        return torch.cat((pos[:, :1], grid.permute(0, 2, 3, 1).reshape(1, gh * gw, -1)), dim=1)

    with torch.no_grad():
        exact = dino.features(model, images)[0]
        monkeypatch.setattr(dino, "dino_pos_embed", by_size)
        wrong = dino.features(model, images)[0]
    assert (exact - ref).abs().max() <= 5e-6
    assert (wrong - ref).abs().max() > 1e-2


def test_square_grid_on_non_square_pixels_still_resizes(tiny_runtimes):
    """DINO keeps the position embedding only for a square image of the training patch count."""
    model = tiny_runtimes["0"].model("dino")
    assert dino.dino_pos_embed(model, 14, 14, True) is model.pos_embed
    moved = dino.dino_pos_embed(model, 14, 14, False)
    assert moved.shape == model.pos_embed.shape and not torch.allclose(moved, model.pos_embed, atol=1e-4)
