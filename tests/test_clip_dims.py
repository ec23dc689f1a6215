"""background_consistency, appearance_style, aesthetic_quality: CLIP loading, sharing, transforms.

Official parity (tests/parity/<dimension>.json, tiny seeded CLIP archives): ``tests/test_parity.py``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("open_clip")

from pytest_vbench.clip_transforms import clip_float  # noqa: E402
from pytest_vbench.dimensions import (  # noqa: E402
    DIMENSIONS,  # noqa: E402
    appearance_style,
    background_consistency,
)
from pytest_vbench.runtime import Runtime  # noqa: E402
from pytest_vbench.suite import Case, VideoRef  # noqa: E402
from pytest_vbench.video import VideoError, load_video  # noqa: E402

HERE = Path(__file__).parent
VIDEOS = HERE / "parity" / "videos" / "image"
FAMILIES = {"background_consistency": ["clip_b32"], "appearance_style": ["clip_b32"],
            "aesthetic_quality": ["clip_l14", "aesthetic"]}


@pytest.fixture
def caches(seeded_cache):
    def get(dim: str, seed: str) -> Path:
        return seeded_cache(*FAMILIES[dim], seed=int(seed), tiny=True).path
    return get


def test_one_frame_video_fails_clearly(caches):
    cache = caches("background_consistency", "0")
    rt = Runtime("cpu", cache)
    with pytest.raises(VideoError, match="needs at least 2"):
        background_consistency.score_video(VideoRef(VIDEOS / "still-0.png", 0), None, rt)


def test_models_are_shared_and_text_features_cached(caches):
    cache = caches("appearance_style", "0")
    rt = Runtime("cpu", cache)
    case = Case("appearance_style", "p", 0, {"appearance_style": "oil painting"})
    appearance_style.score_video(VideoRef(VIDEOS / "anim-0.gif", 0), case, rt)
    background_consistency.score_video(VideoRef(VIDEOS / "anim-0.gif", 0), None, rt)
    assert rt.loaded_families == ["clip_b32"]  # one CLIP B/32 for both dimensions
    assert list(rt.memo["clip_b32_text"]) == ["oil painting"]
    assert rt.frames.hits == 1  # the gif was decoded once for both


def test_transform_chunking_equals_one_call():
    frames = load_video(VIDEOS / "long33-0.mp4")
    from pytest_vbench.clip_transforms import _float_pipeline

    whole = _float_pipeline()(torch.from_numpy(frames).permute(0, 3, 1, 2).float())
    assert torch.equal(clip_float(frames), whole)
    assert whole.shape == (33, 3, 224, 224)


def test_units():
    assert DIMENSIONS["appearance_style"].unit == "frame" and DIMENSIONS["background_consistency"].unit == "pair"


def test_fp16_layout_plumbing_on_cpu(caches):
    """The CUDA path (OpenAI fp16 layout), exercised on the CPU: dtypes and close-enough values."""
    from pytest_vbench.models import clip

    cache = caches("background_consistency", "0")
    state = clip.read_state(cache / "clip_model" / "ViT-B-32.pt")
    half = clip.build(state, "cpu", fp16=True)
    full = clip.build(state, "cpu")
    assert half.visual.conv1.weight.dtype == torch.float16
    assert half.visual.ln_pre.weight.dtype == torch.float32  # LayerNorm stays fp32, as OpenAI's
    assert half.logit_scale.dtype == torch.float32
    images = clip_float(load_video(VIDEOS / "anim-0.gif"))
    f16 = background_consistency.encode(half, images, "cpu")
    f32 = background_consistency.encode(full, images, "cpu")
    assert f16.dtype == torch.float16 and f32.dtype == torch.float32
    assert torch.allclose(f16.float(), f32, atol=2e-2)
    s16 = background_consistency.consistency(f16).record["video_results"]
    s32 = background_consistency.consistency(f32).record["video_results"]
    assert abs(s16 - s32) < 2e-3
