"""The four GRiT dimension modules (object_class, multiple_objects, color, spatial_relationship).

The model is replaced by a scripted predictor here; the network itself is tested in
test_grit_model.py / test_grit_kit.py. With the committed parity kit (tests/parity/grit), the
frames handed to the model are checked against the official inputs (decode + >768 resize), and
the official per-frame outputs are replayed through the dimension modules to get the official
records and dimension scores.
"""

from __future__ import annotations

from collections import namedtuple
from pathlib import Path

import pytest

np = pytest.importorskip("numpy")
torch = pytest.importorskip("torch")
pytest.importorskip("decord")

from pytest_vbench.dimensions import color as COLOR  # noqa: E402
from pytest_vbench.dimensions import grit_common as G  # noqa: E402
from pytest_vbench.dimensions import multiple_objects as MULTI  # noqa: E402
from pytest_vbench.dimensions import object_class as OBJ  # noqa: E402
from pytest_vbench.dimensions import spatial_relationship as SPATIAL  # noqa: E402
from pytest_vbench.runtime import Runtime  # noqa: E402
from pytest_vbench.scoring import DimensionTotal  # noqa: E402
from pytest_vbench.suite import Case, VideoRef  # noqa: E402
from pytest_vbench.video import VideoError  # noqa: E402

from parity_kits import KITS, load_json  # noqa: E402
from synthetic import write_video  # noqa: E402

KIT = KITS["grit"]
Inst = namedtuple("Inst", "description box score det_obj")
MODULES = {"object_class": OBJ, "multiple_objects": MULTI, "color": COLOR, "spatial_relationship": SPATIAL}


class Frames:
    """The batch entry point of the predictor API (``many``) over a stand-in's per-frame ``__call__``."""

    def many(self, images, task):
        return [self(image, task) for image in images]


class Scripted(Frames):
    """A stand-in predictor: returns ``script(call_index, image, task)`` and records the calls."""

    def __init__(self, script):
        self.script = script
        self.calls = []

    def __call__(self, image, task):
        self.calls.append((image, task))
        return self.script(len(self.calls) - 1, image, task)


def runtime_with(predictor, tmp_path) -> Runtime:
    rt = Runtime("cpu", tmp_path / "cache")
    rt._models["grit"] = predictor
    return rt


def frames_video(tmp_path, n=16, h=64, w=96, name="a car-0.mp4") -> Path:
    rng = np.random.default_rng(0)
    frames = [rng.integers(0, 255, (h, w, 3), dtype=np.uint8) for _ in range(n)]
    path = tmp_path / name
    write_video(path, frames)
    return path


# -- the >768 rule ---------------------------------------------------------------------------------

@pytest.mark.parametrize("h, w, size", [
    (800, 1200, (720, 1080)), (784, 1024, (720, 940)), (1024, 784, (940, 720)),
    (768, 2000, None), (256, 256, None), (769, 769, (720, 720)),
])
def test_resized_size_follows_the_official_int_rule(h, w, size):
    assert G.resized_size(h, w) == size


def test_tensor_path_equals_the_official_whole_video_resize():
    from torchvision.transforms import Resize

    video = np.random.default_rng(1).integers(0, 256, (3, 800, 820, 3), dtype=np.uint8)
    official = Resize(size=(720, 738))(torch.from_numpy(video).float().permute(0, 3, 1, 2)).permute(0, 2, 3, 1).numpy()
    ours = np.stack([G.prepare_frame(f, "tensor") for f in video])
    assert ours.dtype == np.float32 and ours.shape == (3, 720, 738, 3)
    assert np.array_equal(ours, official)
    assert not np.array_equal(ours, np.round(ours))  # antialiased: fractional values reach the model


def test_uint8_path_is_cv2_linear_and_small_frames_pass_unchanged():
    import cv2

    frame = np.random.default_rng(2).integers(0, 256, (800, 1000, 3), dtype=np.uint8)
    out = G.prepare_frame(frame, "uint8")
    assert out.dtype == np.uint8 and np.array_equal(out, cv2.resize(frame, (900, 720), interpolation=cv2.INTER_LINEAR))
    small = frame[:300, :400]
    assert G.prepare_frame(small, "uint8") is small
    t = G.prepare_frame(small, "tensor")
    assert t.dtype == np.float32 and np.array_equal(t, small.astype(np.float32))
    with pytest.raises(ValueError):
        G.prepare_frame(small, "bgr")


# -- dimension modules on a scripted predictor --------------------------------------------------------

def test_object_class_counts_frames_whose_names_contain_the_object(tmp_path):
    path = frames_video(tmp_path)

    def script(i, image, task):
        assert task == "ObjectDet" and image.dtype == np.float32
        if i % 4 == 0:
            return []  # no detection: the frame fails
        if i % 4 == 1:   # the object's box is not first: set(det_obj) still has it
            return [Inst("dog", (0, 0, 5, 5), .9, "dog"), Inst("car", (1, 1, 9, 9), .8, "car")]
        return [Inst("cars", (0, 0, 5, 5), .9, "cars")]  # exact names, not substrings
    rt = runtime_with(Scripted(script), tmp_path)
    score = OBJ.score_video(VideoRef(path, 0), Case("object_class", "a car", 0, {"object": "car"}), rt)
    assert (score.sum, score.count) == (4, 16)
    assert score.record == {"video_results": 0.25, "success_frame_count": 4, "frame_count": 16}


def test_predictions_are_shared_between_dimensions_of_the_same_task(tmp_path):
    path = frames_video(tmp_path, name="a bird and a cat-0.mp4")
    pred = Scripted(lambda i, image, task: [Inst("bird", (0, 0, 4, 4), .9, "bird"), Inst("cat", (9, 0, 14, 4), .9, "cat")])
    rt = runtime_with(pred, tmp_path)
    video = VideoRef(path, 0)
    multi = MULTI.score_video(video, Case("multiple_objects", "a bird and a cat", 0, {"object": "bird and cat"}), rt)
    obj = OBJ.score_video(video, Case("object_class", "a bird", 0, {"object": "bird"}), rt)
    spatial = SPATIAL.score_video(video, Case("spatial_relationship", "p", 0, {"spatial_relationship": {
        "object_a": "bird", "object_b": "cat", "relationship": "on the right of"}}), rt)
    assert multi.record["success_frame_count"] == obj.record["success_frame_count"] == 16
    assert spatial.record["frame_results"] == [1] * 16 and (spatial.sum, spatial.count) == (16, 16)
    assert len(pred.calls) == 16  # one model pass per frame for the three ObjectDet dimensions
    COLOR.score_video(video, Case("color", "a red bird", 0, {"color": "red"}), rt)
    assert len(pred.calls) == 32 and {t for _, t in pred.calls[16:]} == {"DenseCap"}
    assert all(img.dtype == np.uint8 for img, _ in pred.calls[16:])


def test_color_drops_a_video_whose_object_is_never_seen(tmp_path):
    path = frames_video(tmp_path, name="a red car-0.mp4")
    rt = runtime_with(Scripted(lambda i, image, task: [Inst("a red dog", (0, 0, 4, 4), .9, "dog")]), tmp_path)
    case = Case("color", "a red car", 0, {"color": "red"})
    dropped = COLOR.score_video(VideoRef(path, 0), case, rt)
    assert (dropped.count, dropped.record) == (0, None) and "never detected" in dropped.note

    rt = runtime_with(Scripted(lambda i, image, task: [Inst("a red car" if i < 4 else "a blue car", (0, 0, 4, 4), .9, "car")]), tmp_path)
    kept = COLOR.score_video(VideoRef(path, 0), case, rt)
    assert kept.record == {"video_results": 0.25, "cur_success_frame_rate": 0.25} and kept.count == 1


@pytest.mark.parametrize("module, aux", [
    (OBJ, None), (OBJ, {"color": "red"}), (MULTI, {"object": "bird"}), (COLOR, {}),
    (SPATIAL, {"spatial_relationship": {"object_a": "a"}}),
    (SPATIAL, {"spatial_relationship": {"object_a": "a", "object_b": "b", "relationship": "under"}}),
])
def test_missing_or_bad_auxiliary_info_fails_the_video_clearly(tmp_path, module, aux):
    path = frames_video(tmp_path, n=2)
    rt = runtime_with(Scripted(lambda *a: []), tmp_path)
    with pytest.raises(VideoError, match="auxiliary_info|relationship"):
        module.score_video(VideoRef(path, 0), Case("x", "a prompt", 0, aux), rt)


def test_unreadable_video_is_a_video_error(tmp_path):
    bad = tmp_path / "a car-0.mp4"
    bad.write_bytes(b"not a video")
    rt = runtime_with(Scripted(lambda *a: []), tmp_path)
    with pytest.raises(VideoError):
        OBJ.score_video(VideoRef(bad, 0), Case("object_class", "a car", 0, {"object": "car"}), rt)


# -- the parity kit: official inputs and official outputs replayed -------------------------------------

def _kit(dim):
    return load_json(KIT / "reference" / f"{dim}.json")


def _suite_case(dim, prompt):
    from pytest_vbench.suite import load_suite

    for e in load_suite().entries:
        if e["prompt_en"] == prompt and dim in e["dimension"]:
            return Case(dim, prompt, 0, (e.get("auxiliary_info") or {}).get(dim))
    raise AssertionError(f"{prompt!r} is not a {dim} prompt of the suite")


class Replay(Frames):
    """Checks each frame handed to the model against the official input and returns its official output."""

    def __init__(self, ref):
        self.ref = ref
        self.video = None
        self.k = 0

    def start(self, name):
        self.video, self.k = self.ref["videos"][name], 0

    def __call__(self, image, task):
        frame = self.video["frames"][self.k]
        self.k += 1
        want = frame["input"]
        assert task == self.ref["model_task"]
        assert list(image.shape) == want["shape"] and str(image.dtype) == want["dtype"]
        assert float(image.astype(np.float64).sum()) == want["sum"]  # bit-identical frames
        assert image.reshape(-1)[:6].astype(np.float64).tolist() == want["first"]
        return [Inst(i["description"], tuple(i["box"]), i["score"], i["det_obj"]) for i in frame["instances"]]


@pytest.mark.parametrize("dim", ["object_class", "multiple_objects", "color", "spatial_relationship"])
def test_kit_inputs_and_replayed_outputs_give_the_official_records(tmp_path, dim):
    ref = _kit(dim)
    replay = Replay(ref)
    rt = runtime_with(replay, tmp_path)
    total = DimensionTotal(dim)
    records = []
    for name in sorted(ref["videos"]):
        replay.start(name)
        case = _suite_case(dim, name[:-len("-0.mp4")])
        score = MODULES[dim].score_video(VideoRef(KIT / "videos" / name, 0), case, rt)
        assert replay.k == 16
        total.add(score.sum, score.count)
        if score.record is not None:
            records.append({"video_path": name, **score.record})
    key = lambda r: r["video_path"]  # noqa: E731
    assert sorted(records, key=key) == sorted(ref["records"], key=key)
    assert total.raw == pytest.approx(ref["dimension_score"], abs=1e-12)
