"""Replay the official per-frame GRiT outputs of the parity kit through our dimension rules."""

import pytest

from pytest_vbench.dimensions import grit_rules as R

from parity_kits import KITS, load_json

KIT = KITS["grit"]


def _ref(dim):
    return load_json(KIT / "reference" / f"{dim}.json")


def _frames(v):
    return [[(i["description"], [int(x) for x in i["box"]],
              [j["det_obj"] for j in f["instances"]]) for i in f["instances"]] for f in v["frames"]]


def _records(ref, fn):
    out = []
    for name in sorted(ref["videos"]):
        rec = fn(name[:-len("-0.mp4")], _frames(ref["videos"][name]))
        if rec is not None:
            out.append({"video_path": name, **rec})
    return out


def _by_path(recs):
    return {r["video_path"]: r for r in recs}


PROMPTS = {
    "a red car": "red", "a blue bicycle": "blue",
}


def test_object_class_records_match_kit():
    ref = _ref("object_class")
    recs = _records(ref, lambda p, fr: R.object_class_video(fr, p[2:]))
    assert _by_path(recs) == _by_path(ref["records"])


def test_multiple_objects_records_match_kit():
    ref = _ref("multiple_objects")
    recs = _records(ref, lambda p, fr: R.multiple_objects_video(fr, p[2:].replace("a ", "")))
    assert _by_path(recs) == _by_path(ref["records"])


def test_color_records_match_kit_including_dropped_video():
    ref = _ref("color")
    recs = _records(ref, lambda p, fr: R.color_video(fr, p, PROMPTS[p]))
    assert _by_path(recs) == _by_path(ref["records"])
    assert all("blue bicycle" not in r["video_path"] for r in recs)


def test_spatial_records_match_kit():
    ref = _ref("spatial_relationship")

    def fn(p, fr):
        rel = "on the left of" if "left" in p else "on the right of"
        a, b = p.split(", ")[0].split(" " + rel + " ")
        return R.spatial_video(fr, a[2:], b[2:], rel)
    recs = _records(ref, fn)
    assert _by_path(recs) == _by_path(ref["records"])


def test_color_uses_first_detection_class_and_substrings():
    # caption of a different box counts because the object test reads det_obj[0] only
    frame = [("a dog", [0, 0, 1, 1], ["car", "dog"]), ("colored wall", [0, 0, 2, 2], ["car", "dog"])]
    assert R.color_video([frame], "a red car", "red") == {"video_results": 1.0, "cur_success_frame_rate": 1.0}
    assert R.color_video([[]], "a red car", "red") is None


def test_spatial_is_direction_agnostic_and_same_class_pairs_count():
    left = [("cat", [0, 0, 10, 10], []), ("cat", [50, 0, 60, 10], [])]
    assert R.spatial_frame(left, "cat", "dog", "on the right of") == 1
    assert R.spatial_frame(left, "cat", "dog", "on the top of") == 0
    overlap = [("cat", [0, 0, 10, 10], []), ("dog", [5, 0, 15, 10], [])]
    assert R.spatial_frame(overlap, "cat", "dog", "on the left of") == pytest.approx(0.1 / (50 / 150))


def test_object_class_uses_exact_names():
    assert R.object_class_video([[("cars", [0, 0, 1, 1], ["cars"])]], "car")["success_frame_count"] == 0


def test_dimension_scores_match_kit():
    oc = _ref("object_class")
    assert sum(r["success_frame_count"] for r in oc["records"]) / sum(r["frame_count"] for r in oc["records"]) == oc["dimension_score"]
    sp = _ref("spatial_relationship")
    frames = [s for r in sp["records"] for s in r["frame_results"]]
    assert sum(frames) / len(frames) == sp["dimension_score"]
