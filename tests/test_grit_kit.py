"""Our GRiT against the official GRiT outputs of the parity kit (``tests/parity/grit``).

The kit's checkpoint (835 MB) is written bit-exactly from its manifest (``tests/parity_kits.py``)
into pytest's cache directory (or ``$GRIT_KIT_CACHE``, a folder laid out as the VBench cache), with
the bert-base-uncased folder from the committed vocabulary. Nothing is downloaded; a missing kit
file fails the test.

* default tier: frame 0 of one clip (``a person-0``), every recorded intermediate;
* slow: all 16 frames of the 8 clips through the four dimension modules: per-frame instances
  (boxes 1e-2 px, scores 1e-4, identical descriptions and det_obj), the official records and
  dimension scores.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from parity_kits import KITS, build_kit_cache, cache_root, load_json

torch = pytest.importorskip("torch")
np = pytest.importorskip("numpy")
pytest.importorskip("decord")

KIT = KITS["grit"]
DIMS = ("object_class", "multiple_objects", "color", "spatial_relationship")


@pytest.fixture(scope="session")
def kit_cache(request, tmp_path_factory) -> Path:
    return build_kit_cache("grit", cache_root(request, tmp_path_factory, "grit", "GRIT_KIT_CACHE"))


@pytest.fixture(scope="session")
def runtime(kit_cache):
    from pytest_vbench.runtime import Runtime

    torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))
    return Runtime("cpu", kit_cache)


def _ref(dim):
    return load_json(KIT / "reference" / f"{dim}.json")


def _stats_close(ours: torch.Tensor, ref: dict):
    d = ours.double()
    assert list(ours.shape) == ref["shape"]
    assert d.mean().item() == pytest.approx(ref["mean"], abs=1e-4 * max(1.0, ref["abs_max"]))
    assert d.std().item() == pytest.approx(ref["std"], rel=1e-4)
    assert d.abs().max().item() == pytest.approx(ref["abs_max"], rel=1e-4)


def _check_instances(ours, ref_frame):
    ref = ref_frame["instances"]
    assert [i.description for i in ours] == [r["description"] for r in ref]
    assert [i.det_obj for i in ours] == [r["det_obj"] for r in ref]
    for i, r in zip(ours, ref):
        assert np.abs(np.array(i.box) - np.array(r["box"])).max() <= 1e-2
        assert i.score == pytest.approx(r["score"], abs=1e-4)


def test_frame_zero_intermediates_match_the_kit(runtime):
    from pytest_vbench.dimensions.grit_common import prepare_frame
    from pytest_vbench.video import load_video

    ref = _ref("object_class")["videos"]["a person-0.mp4"]["frames"][0]
    frame = prepare_frame(load_video(KIT / "videos" / "a person-0.mp4", num_frames=16)[0], "tensor")
    trace = {}
    ours = runtime.model("grit")(frame, "ObjectDet", trace=trace)
    _stats_close(trace["preprocessed"], ref["preprocessed"])
    for level, st in ref["backbone"].items():
        _stats_close(trace["backbone"][level], st)
    boxes, scores = trace["proposals"]
    want = ref["proposals_after_nms"]
    n = len(want["top_scores"])
    assert boxes.shape[0] == want["count"]
    assert np.abs(boxes[:n].numpy() - np.array(want["top_boxes"])).max() <= 1e-2
    assert np.abs(scores[:n].numpy() - np.array(want["top_scores"])).max() <= 1e-4
    for k, stage in enumerate(ref["passes"][0]["stages"]):
        fg = trace["stages"][k]["fg"]
        assert fg.shape[0] == stage["n"]
        assert np.abs(fg[:5].numpy() - np.array(stage["fg_prob_first"])).max() <= 1e-4
        assert fg.double().mean().item() == pytest.approx(stage["fg_prob_mean"], abs=1e-5)
    kept, kept_scores, index = trace["kept"]
    assert index.tolist() == ref["passes"][0]["kept_proposal_index"]
    assert np.abs(kept_scores.numpy() - np.array(ref["passes"][0]["kept_scores_before_text"])).max() <= 1e-4
    _stats_close(trace["object_features"], ref["passes"][0]["object_features"])
    _check_instances(ours, ref)


@pytest.mark.slow
@pytest.mark.parametrize("dim", DIMS)
def test_all_frames_records_and_scores_match_the_kit(runtime, dim):
    """Every frame's instances, every record and the dimension score, through our dimension module."""
    import importlib

    from pytest_vbench.scoring import DimensionTotal
    from pytest_vbench.suite import Case, VideoRef, load_suite

    ref = _ref(dim)
    module = importlib.import_module(f"pytest_vbench.dimensions.{dim}")
    model = runtime.model("grit")
    seen = []

    class Recording:  # the predictor API the dimensions call, recording each frame's instances
        def many(self, images, task):
            out = model.many(images, task)
            seen.extend(out)
            return out

    runtime._models["grit"] = Recording()
    try:
        total, records = DimensionTotal(dim), []
        for name in sorted(ref["videos"]):
            prompt = name[:-len("-0.mp4")]
            entry = next(e for e in load_suite().entries if e["prompt_en"] == prompt and dim in e["dimension"])
            case = Case(dim, prompt, 0, entry["auxiliary_info"][dim])
            seen.clear()
            runtime.memo.pop("grit", None)
            score = module.score_video(VideoRef(KIT / "videos" / name, 0), case, runtime)
            assert len(seen) == 16
            for k, ours in enumerate(seen):
                _check_instances(ours, ref["videos"][name]["frames"][k])
            total.add(score.sum, score.count)
            if score.record is not None:
                records.append({"video_path": name, **score.record})
    finally:
        runtime._models["grit"] = model
    key = lambda r: r["video_path"]  # noqa: E731
    assert sorted(records, key=key) == sorted(ref["records"], key=key)
    assert total.raw == pytest.approx(ref["dimension_score"], abs=1e-12)
