"""scene / Tag2Text against the official references of the parity kit (``tests/parity/tag2text``).

The kit is committed; a missing file fails. Default tier: the checkpoint layout of the kit's
manifest, the decoded 384x384 frames, and the per-video rules applied to the official captions.
Slow tier: the full-size kit checkpoint (written bit-exactly from the manifest by
``tests/parity_kits.py`` into pytest's cache dir, or taken from ``$TAG2TEXT_KIT_CACHE``) through our
model: every intermediate, the captions, the records and the dimension score
(``tools/tag2text_kit_check.py`` does the comparing).
"""

from __future__ import annotations

import hashlib
import importlib.util
from pathlib import Path

import numpy as np
import pytest

from parity_kits import KITS, build_kit_cache, cache_root, load_json

ROOT = Path(__file__).resolve().parents[1]
KIT = KITS["tag2text"]


def _tool():
    spec = importlib.util.spec_from_file_location("tag2text_kit_check", ROOT / "tools" / "tag2text_kit_check.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def ref() -> dict:
    return load_json(KIT / "reference" / "scene.json")


def test_writer_layout_is_the_kit_manifest():
    from pytest_vbench import fake_checkpoints

    manifest = load_json(KIT / "manifest.json")
    want = [(k, tuple(s), d, i["key"] if i["rule"] == "tie" else None) for k, s, d, i in manifest["tensors"]]
    ours = [(k, tuple(s), "int64" if kind == "ids" else "float32", kind[1] if isinstance(kind, tuple) else None)
            for k, s, kind in fake_checkpoints.tag2text_layout(**fake_checkpoints.TAG2TEXT_FULL)]
    assert manifest["top_level_key"] == "model"
    assert ours == want


def test_decoded_frames_equal_the_official_ones(ref, tmp_path):
    pytest.importorskip("decord")
    from pytest_vbench.dimensions import scene
    from pytest_vbench.runtime import Runtime

    rt = Runtime("cpu", tmp_path)
    for name, v in ref["videos"].items():
        frames = scene.read_frames(KIT / "videos" / name, rt)
        assert list(frames.shape) == v["frames_uint8"]["shape"]
        assert [hashlib.sha256(np.ascontiguousarray(f).tobytes()).hexdigest() for f in frames] == \
            v["frames_uint8"]["sha256_per_frame"], name
        x = scene.to_input(frames)
        assert x.double().sum(dim=(1, 2, 3)).tolist() == pytest.approx(v["model_input_per_frame_sum"], rel=1e-7)


def test_rules_on_the_official_captions_give_the_official_records(ref):
    ok, detail = _tool().dimension_from_kit(ref, {n: v["captions"] for n, v in ref["videos"].items()})
    assert ok, detail


@pytest.fixture(scope="module")
def kit_cache(request, tmp_path_factory) -> Path:
    return build_kit_cache("tag2text", cache_root(request, tmp_path_factory, "tag2text", "TAG2TEXT_KIT_CACHE"))


def test_kit_checkpoint_on_one_clip(ref, kit_cache):
    """Default tier: the kit checkpoint through our Tag2Text on ``tower-0`` (about a minute with the write).

    Frame 0's tag logits, tags above 0.7 and top-10 probabilities, then the dimension's own path for
    all 16 frames: captions and the official record (tower-0 is the clip whose record counts 16/16).
    """
    import torch

    from pytest_vbench.dimensions import scene
    from pytest_vbench.runtime import Runtime

    torch.set_num_threads(1)
    tool = _tool()
    name = "tower-0.mp4"
    want = ref["videos"][name]
    rt = Runtime("cpu", kit_cache)
    frames = scene.read_frames(KIT / "videos" / name, rt)
    with torch.no_grad():
        out = rt.model("tag2text").caption_frames(scene.to_input(frames[:1]), full=True)
    head = want["tag_head"][0]
    ok, detail = tool._stats_ok(out["logits"][0], head["logits"])
    assert ok, detail
    probs = torch.sigmoid(out["logits"][0]).double()
    assert torch.nonzero(probs > 0.7).flatten().tolist() == head["indices_above_0.7"]
    top = [float(probs[i]) for i in head["top10_indices"]]
    assert max(abs(a - b) for a, b in zip(top, head["top10_probs"])) <= tool.ABS
    captions = scene.captions_for(frames, rt)
    assert captions == want["captions"]
    record = next(r for r in ref["records"] if r["video_path"] == name)
    assert {"video_path": name, **scene.score_captions(captions, "tower").record} == record


@pytest.mark.slow
def test_full_size_kit_parity(ref, kit_cache):
    """Every intermediate, caption and record of the three kit videos (4–6 minutes on one core of a shared 2-core machine)."""
    import torch

    from pytest_vbench.runtime import Runtime

    torch.set_num_threads(1)
    tool = _tool()
    rt = Runtime("cpu", kit_cache)
    bad, captions = [], {}
    for name in sorted(ref["videos"]):
        res = tool.compare_video(rt, KIT / "videos" / name, ref["videos"][name])
        bad += [f"{name}: {check}: {detail}" for check, (ok, detail) in res["checks"].items() if not ok]
        captions[name] = res["captions"]
    assert not bad, "\n".join(bad)
    ok, detail = tool.dimension_from_kit(ref, captions)
    assert ok, detail
