"""temporal_style / overall_consistency (ViCLIP): tokenizer, loader, batching.

Parity references (tests/parity/{temporal_style,overall_consistency}.json) were produced by the
official vbench 0.1.5 through tools/parity_video_text.py on seeded checkpoints and regenerated
videos. "tiny" = official classes at tiny widths (fast tier); "full" = the untouched official
ViT-L/14 model (slow tier). The parity test itself: ``tests/test_parity.py``.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("decord")
pytest.importorskip("open_clip")

from pytest_vbench.models import viclip as V  # noqa: E402
from pytest_vbench.models.checkpoint import CheckpointError  # noqa: E402
from pytest_vbench.models.clip_tokenizer import tokenize  # noqa: E402
from pytest_vbench.runtime import Runtime  # noqa: E402
from pytest_vbench.suite import Case, VideoRef  # noqa: E402
from pytest_vbench.video import VideoError  # noqa: E402

import checkpoints_video_text as C  # noqa: E402

PARITY = Path(__file__).parent / "parity"
DIMS = ("temporal_style", "overall_consistency")


def reference(dim: str, size: str) -> dict:
    data = json.loads((PARITY / f"{dim}.json").read_text(encoding="utf-8"))
    assert size in data, f"tests/parity/{dim}.json has no {size!r} reference (missing input: a failure, never a skip)"
    return data[size]


@pytest.fixture
def tiny_cache(seeded_cache) -> Path:
    torch.set_num_threads(1)
    return seeded_cache("viclip_official_keys", seed=reference("temporal_style", "tiny")["checkpoint_seed"],
                        tiny=True).path


# -- tokenizer -----------------------------------------------------------------------------------

def test_tokenizer_matches_official_ids():
    tok = reference("temporal_style", "tiny")["tokenizer"]
    assert tokenize(tok["edge_texts"], 32).tolist() == tok["edge_ids"]
    prompts = [e["prompt_en"] for e in json.loads(
        (Path(__file__).parents[1] / "pytest_vbench/data/VBench_full_info.json").read_text())]
    ids = tokenize(prompts, 32).tolist()
    assert len(ids) == tok["suite_prompts"]
    assert hashlib.sha256(json.dumps(ids).encode()).hexdigest() == tok["suite_prompts_sha256"]


def test_tokenizer_truncates_keeping_eot_and_pads():
    ids = tokenize(["word " * 100, "a dog"], 32)
    assert ids.shape == (2, 32) and ids.dtype == torch.long
    long, short = ids.tolist()
    assert long[0] == 49406 and long[-1] == 49407 and 49407 not in long[1:-1]
    assert short[:4] == [49406, 320, 1929, 49407] and short[4:] == [0] * 28
    # the literal OpenAI special tokens are special, open_clip's spelling is plain text
    special = tokenize("<|endoftext|> <start_of_text>", 32)[0].tolist()
    assert special[1] == 49407 and 49406 not in special[2:]
    # unicode and emoji survive (byte-level BPE), case is folded
    assert tokenize("Café 🎉", 32).tolist() == tokenize("café 🎉", 32).tolist()


def test_tokenizer_reads_cache_vocabulary(tiny_cache):
    from pytest_vbench.models.clip_tokenizer import bpe_path_for

    assert bpe_path_for(tiny_cache) == str(tiny_cache / C.BPE_PATH)
    assert bpe_path_for(tiny_cache / "nowhere") is None


# -- loader --------------------------------------------------------------------------------------

def test_config_inferred_from_shapes():
    sd = C.random_state_dict(C.viclip_shapes(C.VICLIP_TINY), 1)
    assert V.config_from_state_dict(sd) == C.VICLIP_TINY
    full = {k: torch.empty(s) if s else torch.empty(()) for k, s, _ in C.viclip_shapes(C.VICLIP_FULL)
            if "resblocks" not in k or ".0." in k or ".23." in k or ".11." in k}
    cfg = V.config_from_state_dict(full)
    assert cfg["vision"]["width"] == 1024 and cfg["vision"]["grid"] == 16 and cfg["text"]["context"] == 32


def test_loader_is_strict_and_names_keys(tmp_path):
    sd = C.random_state_dict(C.viclip_shapes(C.VICLIP_TINY), 2)
    broken = dict(sd)
    del broken["vision_encoder.ln_post.bias"]
    broken["text_encoder.extra.weight"] = torch.zeros(1)
    with pytest.raises(CheckpointError, match=r"vision_encoder\.ln_post\.bias.*text_encoder\.extra\.weight"):
        V.build(broken)
    p = tmp_path / "bare.pth"
    torch.save(sd, p)
    with pytest.raises(CheckpointError, match="'model' entry"):
        V.load_file(p)


@pytest.mark.real_checkpoints
def test_real_checkpoint_keys():
    """The real ViCLIP file loads strictly into our module (``-m real_checkpoints``; fails when absent)."""
    cache = Path(os.environ.get("VBENCH_CACHE_DIR") or Path.home() / ".cache" / "vbench")
    path = cache / V.CKPT
    assert path.is_file() and path.stat().st_size > 100_000_000, \
        f"real checkpoint not present at {path}: run `pytest-vbench download --dims temporal_style`"
    model = V.load_file(path)
    assert model.cfg == C.VICLIP_FULL


# -- scoring -------------------------------------------------------------------------------------

def test_batched_equals_single_and_text_cached(tiny_cache, tmp_path, monkeypatch):
    from pytest_vbench.dimensions import temporal_style

    rt = Runtime("cpu", tiny_cache)
    videos = [VideoRef(C.write_spec_video(tmp_path / f"p-{i}.mp4", s), i) for i, s in enumerate(C.VIDEO_SPECS)]
    case = Case("temporal_style", "p", 0, videos=videos)
    calls = []
    model = rt.model("viclip")
    orig = model.encode_texts
    monkeypatch.setattr(model, "encode_texts", lambda texts: calls.append(texts) or orig(texts))
    batched = [r.sum for r in temporal_style.score_case(videos, case, rt)]
    single = [temporal_style.score_video(v, case, rt).sum for v in videos]
    assert max(abs(a - b) for a, b in zip(batched, single)) < 1e-6
    assert calls == [["p"]]  # one text encoding for the prompt, reused by every call


def test_bad_video_fails_alone(tiny_cache, tmp_path):
    from pytest_vbench.dimensions import overall_consistency

    rt = Runtime("cpu", tiny_cache)
    good = VideoRef(C.write_spec_video(tmp_path / "p-0.mp4", C.VIDEO_SPECS[0]), 0)
    bad_path = tmp_path / "p-1.mp4"
    bad_path.write_bytes(b"not a video at all")
    bad = VideoRef(bad_path, 1)
    out = overall_consistency.score_case([good, bad], Case("overall_consistency", "p", 0, videos=[good, bad]), rt)
    assert not isinstance(out[0], Exception)
    assert isinstance(out[1], VideoError) and "p-1.mp4" in str(out[1])
    with pytest.raises(VideoError):
        overall_consistency.score_video(bad, Case("overall_consistency", "p", 0), rt)


def test_transform_is_uint8_clip_transform():
    """Resize rounds to uint8 before /255 (T-clip-u8): every pixel value is k/255 before normalising."""
    import numpy as np

    frames = np.random.default_rng(0).integers(0, 256, (8, 90, 130, 3), dtype=np.uint8)
    x = V.transform(frames)
    assert x.shape == (8, 3, 224, 224)
    mean = torch.tensor(V.CLIP_MEAN)[None, :, None, None]
    std = torch.tensor(V.CLIP_STD)[None, :, None, None]
    raw = (x * std + mean) * 255
    assert torch.allclose(raw, raw.round(), atol=1e-3)
    assert raw.min() >= -1e-3 and raw.max() <= 255 + 1e-3


def test_decode_shared_between_the_two_dimensions(tiny_cache, tmp_path):
    from pytest_vbench.dimensions import overall_consistency, temporal_style
    from pytest_vbench.video import load_video

    rt = Runtime("cpu", tiny_cache)
    v = VideoRef(C.write_spec_video(tmp_path / "p-0.mp4", C.VIDEO_SPECS[2]), 0)
    a = temporal_style.score_video(v, Case("temporal_style", "p", 0), rt)
    assert (rt.frames.misses, rt.frames.hits) == (1, 0)
    b = overall_consistency.score_video(v, Case("overall_consistency", "p", 0), rt)
    assert (rt.frames.misses, rt.frames.hits) == (1, 1) and a.sum == b.sum
    # the shared key is the one any decord dimension asking load_video(num_frames=8) uses
    rt.decoded(v.path, "decord", lambda: load_video(v.path, num_frames=8), num_frames=8)
    assert rt.frames.hits == 2
