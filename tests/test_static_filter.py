"""The temporal_flickering static filter: official rules, candidate selection, command.

tests/parity/static_filter.json holds, for the committed candidate videos in
tests/parity/videos/static_filter and the seeded ``raft_calibrated`` checkpoint of
tests/seeded_checkpoints.py, the official vbench 0.1.5 per-pair scores and verdicts
(``StaticFilter.infer`` on CPU; compared by tests/test_parity.py) and the output of its
``static_filter`` command (tools/parity_motion.py --only static_filter).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("torchvision")

from pytest_vbench import static_filter as sf  # noqa: E402
from pytest_vbench.cli import main as cli_main  # noqa: E402
from pytest_vbench.dimensions import DIMENSIONS  # noqa: E402
from pytest_vbench.dimensions import temporal_flickering as tf  # noqa: E402
from pytest_vbench.suite import Case, VideoRef, load_suite, standard_cases  # noqa: E402

HERE = Path(__file__).parent
REF = json.loads((HERE / "parity" / "static_filter.json").read_text())
VIDEOS = HERE / "parity" / "videos" / "static_filter"
BY_NAME = {r["video"]: r for r in REF["records"]}
PROMPT = "In a still frame, a stop sign"


# --- the official rules ---------------------------------------------------------------------------

def test_params_use_python_round_and_unpadded_short_side():
    assert sf.params((130, 170), 16) == (3.0 * 130 / 256, 2)
    assert sf.params((128, 128), 4)[1] == 0  # round(0.5) = 0 (banker's rounding)
    assert sf.params((128, 128), 12)[1] == 2  # round(1.5) = 2
    assert sf.params((128, 128), 20)[1] == 2  # round(2.5) = 2


def test_static_rule_exceeds_count_num_and_wrap_threshold():
    # count_num 1: one consecutive score above thres is allowed, two are not
    assert sf.is_static([2.0, 0.1, 0.1, 0.1, 0.1], 1.0, 1)[0]
    assert not sf.is_static([2.0, 2.0, 0.1, 0.1, 0.1], 1.0, 1)[0]
    # wrap pairs against thres * count_num * 2
    assert sf.is_static([0.1, 0.1, 1.9, 1.9], 1.0, 1)[0]
    assert not sf.is_static([0.1, 0.1, 0.1, 2.1], 1.0, 1)[0]
    # count_num 0 (fewer than 5 frames): any consecutive score above thres, or any positive wrap score
    assert not sf.is_static([1.5, 0.0, 0.0], 1.0, 0)[0]
    assert not sf.is_static([0.5, 0.0, 1e-6], 1.0, 0)[0]
    assert sf.is_static([0.5, 0.0, 0.0], 1.0, 0)[0]


def test_early_stop_gives_the_full_verdict():
    """Where ``exceeded`` stops the consecutive pairs, ``verdict_of`` of the prefix (no wrap scores) equals
    ``is_static`` of every score: exhaustively over short lists and count_num values."""
    import itertools

    for n in range(0, 6):
        for consecutive in itertools.product([0.5, 2.0], repeat=n):
            for wraps in itertools.product([0.0, 0.5, 5.0], repeat=2):
                for count_num in range(0, 3):
                    full = sf.is_static(list(consecutive) + list(wraps), 1.0, count_num)
                    for k in range(n + 1):
                        if sf.exceeded(list(consecutive[:k]), 1.0, count_num):
                            assert sf.verdict_of(list(consecutive[:k]), [], 1.0, count_num) == full
                            break


def test_check_video_stops_once_not_static(seeded_cache, monkeypatch):
    """Every pair far above thres: not static once count_num + 1 pairs are scored, and the wrap pairs are
    not scored; without the early stop every pair runs, with the same verdict and reason."""
    from pytest_vbench.dimensions import dynamic_degree as dd
    from pytest_vbench.models import raft
    from pytest_vbench.runtime import Runtime

    model = Runtime("cpu", seeded_cache("raft", seed=0).path).model("raft")
    path = VIDEOS / f"{PROMPT}-0.mp4"
    calls = []
    real = raft.flow
    monkeypatch.setattr(raft, "flow", lambda *a, **k: calls.append(1) or real(*a, **k))
    monkeypatch.setattr(dd, "top_magnitude", lambda f, fraction=dd.FRACTION: 1e6)
    early = sf.check_video(path, model)
    assert not early.static and len(calls) == len(early.scores) == early.count_num + 1
    calls.clear()
    monkeypatch.setattr(sf, "EARLY_STOP", False)
    full = sf.check_video(path, model)
    assert (full.static, full.reason) == (early.static, early.reason)
    assert len(full.scores) == len(calls) == full.frames - 1 + 2  # every pair and both wraps, one pass each


def test_top_magnitude_is_two_percent_of_the_padded_frame():
    import numpy as np

    flow = np.zeros((10, 10, 2), np.float32)
    flow[0, 0] = (3, 4)  # magnitude 5
    flow[0, 1] = (0, 1)
    from pytest_vbench.dimensions.dynamic_degree import top_magnitude

    assert top_magnitude(flow, sf.FRACTION) == pytest.approx(3.0)  # int(100 * 0.02) = 2 largest: (5 + 1) / 2
    assert top_magnitude(flow) == pytest.approx(1.2)  # dynamic_degree: int(100 * 0.05) = 5 largest: (5 + 1) / 5


# --- parity with the official per-pair scores: tests/test_parity.py::test_parity[static_filter.json] ---------

def test_reference_exercises_both_verdicts():
    assert {r["static"] for r in REF["records"]} == {True, False}


# --- selection inside the temporal_flickering item --------------------------------------------------

@pytest.fixture
def official_verdicts(monkeypatch):
    """check_video answering with the official verdicts (the RAFT part is checked above)."""
    tested = []

    def fake(path, model, device="cpu"):
        name = Path(path).name
        tested.append(name)
        return sf.Verdict(str(path), BY_NAME[name]["static"], "official verdict")

    monkeypatch.setattr(sf, "check_video", fake)
    return tested


class _RT:
    device = "cpu"

    def model(self, family):
        assert family == "raft"
        return object()


def test_score_case_selects_like_the_official_command(official_verdicts):
    case = Case("temporal_flickering", PROMPT, 0)
    videos = [VideoRef(VIDEOS / f"{PROMPT}-{i}.mp4", i) for i in range(12)]
    outcomes = tf.score_case(videos, case, _RT())
    chosen = [v.path.name for v, o in sorted(zip(videos, outcomes), key=lambda p: str(p[0].path)) if o.count]
    assert chosen == REF["selection"][PROMPT]["static_path"]
    for o in outcomes:
        if o.count:
            assert o.record == {"video_results": o.sum} and o.note.startswith("static, selected")
        else:
            assert o.note.startswith(("not static", "not tested")) and o.record is None
    # the official stops testing a prompt once it has 5 static videos
    names = sorted(v.path.name for v in videos)
    last = names.index(chosen[-1]) if len(chosen) == 5 else len(names) - 1
    assert official_verdicts == names[:last + 1]


def test_five_or_fewer_candidates_are_not_filtered(official_verdicts):
    case = Case("temporal_flickering", PROMPT, 0)
    videos = [VideoRef(VIDEOS / f"{PROMPT}-{i}.mp4", i) for i in range(5)]
    outcomes = tf.score_case(videos, case, _RT())
    assert official_verdicts == [] and all(o.count == 1 and o.note is None for o in outcomes)


def test_discovery_takes_candidates_beyond_five_only_for_temporal_flickering(tmp_path):
    for i in (0, 1, 2, 3, 4, 5, 6, 8, 24):
        (tmp_path / f"{PROMPT}-{i}.mp4").write_bytes(b"x")
    (tmp_path / "subject_consistency").mkdir()
    cases = standard_cases(load_suite(), [DIMENSIONS["temporal_flickering"]], tmp_path, samples=5)
    stop = next(c for c in cases if c.prompt == PROMPT)
    assert [v.sample for v in stop.videos] == [0, 1, 2, 3, 4, 5, 6, 8]  # 24: more than 10 missing in between
    (tmp_path / f"{PROMPT}-5.mp4").unlink()
    stop = next(c for c in standard_cases(load_suite(), [DIMENSIONS["temporal_flickering"]], tmp_path, samples=5)
                if c.prompt == PROMPT)
    assert [v.sample for v in stop.videos] == [0, 1, 2, 3, 4]


def test_samples_are_honoured_with_candidates(tmp_path, official_verdicts):
    for i in range(5):
        (tmp_path / f"{PROMPT}-{i}.mp4").write_bytes(b"x")
    tf_dim = [DIMENSIONS["temporal_flickering"]]
    stop = next(c for c in standard_cases(load_suite(), tf_dim, tmp_path, samples=2) if c.prompt == PROMPT)
    assert [v.sample for v in stop.videos] == [0, 1] and stop.keep is None and not sf.filters(stop)
    for i in range(5, 12):
        (tmp_path / f"{PROMPT}-{i}.mp4").write_bytes(b"x")
    stop = next(c for c in standard_cases(load_suite(), tf_dim, tmp_path, samples=2) if c.prompt == PROMPT)
    assert [v.sample for v in stop.videos] == list(range(12)) and stop.keep == 2 and sf.filters(stop)
    videos = [VideoRef(VIDEOS / f"{PROMPT}-{i}.mp4", i) for i in range(12)]
    outcomes = tf.score_case(videos, Case("temporal_flickering", PROMPT, 0, keep=2), _RT())
    chosen = [v.path.name for v, o in sorted(zip(videos, outcomes), key=lambda p: str(p[0].path)) if o.count]
    assert chosen == REF["selection"][PROMPT]["static_path"][:2]  # the first 2 static, not 5


def test_preflight_asks_for_raft_when_the_static_filter_runs(tmp_path):
    from pytest_vbench import weights

    dims = ["temporal_flickering"]
    assert weights.preflight(dims, tmp_path / "empty") is None  # no candidates: no model
    problem = weights.preflight(dims, tmp_path / "empty", optional=dims)
    assert "raft_model/models/raft-things.pth  (needed by temporal_flickering)" in problem
    assert "pytest-vbench download --dims temporal_flickering" in problem
    # ... and that command fetches RAFT; `list` and the loaders' messages name both users
    raft = [c for c in weights.for_dimensions(dims, optional=True) if "raft" in c.families]
    assert raft and not weights.for_dimensions(dims)
    assert {"dynamic_degree", "temporal_flickering"} <= set(weights.dims_needing(raft[0]))


# --- the command -------------------------------------------------------------------------------------

def test_command_writes_the_official_outputs(tmp_path, official_verdicts, monkeypatch):
    from pytest_vbench import fake_checkpoints

    fake_checkpoints.write("raft", tmp_path / "cache", seed=0)
    out = tmp_path / "out"
    assert cli_main(["static-filter", "--videos-path", str(VIDEOS), "--result-path", str(out),
                     "--cache-dir", str(tmp_path / "cache")]) == 0
    got = json.loads((out / "filtered_static_video.json").read_text())
    assert len(got) == 75  # every temporal_flickering prompt, as the official
    for prompt, entry in REF["selection"].items():
        assert got[prompt]["static_count"] == entry["static_count"]
        assert [Path(p).name for p in got[prompt]["static_path"]] == entry["static_path"]
    assert sorted(f.name for f in (out / "filtered_videos").iterdir()) == REF["filtered_videos"]
