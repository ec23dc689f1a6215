"""Shards and the locality scheduler: deterministic cost-balanced lanes, xdist assignment, end-to-end equality."""

from __future__ import annotations

import json
import random
from pathlib import Path
from types import SimpleNamespace

import pytest

from pytest_vbench import dimensions, schedule, shard
from pytest_vbench.suite import load_suite, standard_cases

from synthetic import noise_frames, write_video

DIMS = ["subject_consistency", "background_consistency", "temporal_flickering", "motion_smoothness",
        "dynamic_degree", "aesthetic_quality", "imaging_quality", "object_class", "multiple_objects", "color",
        "spatial_relationship", "scene", "appearance_style", "temporal_style", "overall_consistency",
        "human_action"]


@pytest.fixture(scope="module")
def suite_cases():
    """Every case of the bundled suite for the 16 dimensions (no videos on disk: 5 expected each)."""
    dims = [dimensions.DIMENSIONS[d] for d in DIMS]
    return standard_cases(load_suite(), dims, Path("/nonexistent-videos"), 5)


def test_parse_shard_spec():
    assert shard.parse("2/4") == (2, 4) and shard.parse(" 1 / 1 ") == (1, 1)
    for bad in ("0/4", "5/4", "2", "a/b", "", "-1/2"):
        with pytest.raises(shard.ShardError, match="K/N"):
            shard.parse(bad)


def test_blocks_group_dimensions_sharing_a_family():
    b = schedule.blocks(DIMS)
    assert len({b[d] for d in ("object_class", "multiple_objects", "color", "spatial_relationship")}) == 1
    assert b["background_consistency"] == b["appearance_style"]
    assert b["temporal_style"] == b["overall_consistency"]
    assert b["temporal_flickering"] == b["dynamic_degree"]  # RAFT, optional for temporal_flickering
    assert b["subject_consistency"] != b["object_class"] and b["human_action"] != b["temporal_style"]


@pytest.mark.parametrize("n", [1, 2, 3, 4, 7])
def test_shards_partition_the_suite_balanced_and_local(suite_cases, n):
    parts = [shard.select(suite_cases, k, n) for k in range(1, n + 1)]
    names = [c.item_name for part in parts for c in part]
    assert sorted(names) == sorted(c.item_name for c in suite_cases)  # every item exactly once
    # deterministic, whatever order the cases come in
    shuffled = list(suite_cases)
    random.Random(n).shuffle(shuffled)
    assert [sorted(c.item_name for c in shard.select(shuffled, k, n)) for k in range(1, n + 1)] == \
        [sorted(c.item_name for c in p) for p in parts]
    costs = [sum(schedule.item_cost(c) for c in p) for p in parts]
    target = sum(costs) / n
    biggest = max(schedule.item_cost(c) for c in suite_cases)
    assert max(costs) <= target * (1 + schedule.BLOCK_SLACK) + biggest
    # locality: at most n - 1 family blocks are split between two shards
    block_of = schedule.blocks(DIMS)
    pairs = {(k, block_of[c.dimension]) for k, p in enumerate(parts) for c in p}
    assert len(pairs) <= len(set(block_of.values())) + n - 1


def test_shard_records_reason_and_whole_suite_expected(suite_cases):
    s = shard.Shard(suite_cases, 2, 4)
    assert s.reason == f"shard 2/4: {len(s.cases)} of {len(suite_cases)} items"
    assert sum(s.suite_expected.values()) == len(suite_cases)
    one = {"shard": s.to_json()}
    assert shard.merge_expected([one, {"shard": shard.Shard(suite_cases, 1, 4).to_json()}]) == s.suite_expected
    assert shard.merge_expected([{"x": 1}]) is None
    with pytest.raises(ValueError, match="more than once"):
        shard.merge_expected([one, one])
    with pytest.raises(ValueError, match="different splits"):
        shard.merge_expected([one, {"shard": shard.Shard(suite_cases, 1, 3).to_json()}])
    with pytest.raises(ValueError, match="some are not"):
        shard.merge_expected([one, {"x": 1}])


def test_lane_is_ordered_by_video():
    from pytest_vbench.suite import Case

    cases = [Case(d, p, o) for d in ("aesthetic_quality", "imaging_quality") for o, p in enumerate("abc")]
    (lane,) = schedule.lanes(cases, 1)
    assert [(c.prompt, c.dimension) for c in lane] == [(p, d) for p in "abc"
                                                       for d in ("aesthetic_quality", "imaging_quality")]


class FakeNode:
    def __init__(self, wid: str):
        self.gateway = SimpleNamespace(id=wid)
        self.shutting_down = False
        self.sent: list[int] = []

    def send_runtest_some(self, indices):
        self.sent.extend(indices)

    def shutdown(self):
        self.shutting_down = True


def _scheduler(suite_cases, workers: int):
    cases = {f"vbench::{c.item_name}": c for c in suite_cases}
    collection = ["tests/test_other.py::test_a", *cases]
    lines: list[str] = []
    config = SimpleNamespace(getvalue=lambda name: [f"{workers}*popen"] if name == "tx" else None)
    sched = schedule.LocalityScheduling(config, None, cases, lines.append)
    nodes = [FakeNode(f"gw{i}") for i in range(workers)]
    for node in nodes:
        sched.add_node(node)
    for node in nodes:
        sched.add_node_collection(node, collection)
    sched.schedule()
    return sched, nodes, collection, lines


def test_scheduler_gives_each_worker_its_lane_and_steals_from_the_end(suite_cases):
    sched, nodes, collection, lines = _scheduler(suite_cases, 2)
    assert len(lines) == 2 and lines[0].startswith("vbench: locality schedule: gw0:")
    lane_ids = [{f"vbench::{c.item_name}" for c in lane} for lane in sched.plan]
    first = [collection[i] for i in nodes[0].sent]
    assert first and set(first) <= lane_ids[0]
    assert {collection[i] for i in nodes[1].sent} <= lane_ids[1]
    # gw1 works, gw0 is stalled: gw1 finishes its lane and the other tests, then takes gw0's *last* chunks
    ran: dict[str, str] = {}

    def work(node):
        done = 0
        while done < len(node.sent):
            index = node.sent[done]
            assert collection[index] not in ran, "an item was sent twice"
            ran[collection[index]] = node.gateway.id
            done += 1
            sched.mark_test_complete(node, index)

    work(nodes[1])
    assert not sched.workqueue and nodes[1].shutting_down
    work(nodes[0])
    assert sorted(ran) == sorted(collection)
    stolen = [n for n, w in ran.items() if w == "gw1" and n in lane_ids[0]]
    lane0 = [f"vbench::{c.item_name}" for c in sched.plan[0]]
    assert stolen and set(stolen) == set(lane0[len(lane0) - len(stolen):])  # the end of gw0's lane
    assert ran["tests/test_other.py::test_a"] == "gw1"
    assert sched.tests_finished


def test_scheduler_with_equal_speed_keeps_every_lane_on_its_worker(suite_cases):
    sched, nodes, collection, _ = _scheduler(suite_cases, 3)
    lane_of = {f"vbench::{c.item_name}": k for k, lane in enumerate(sched.plan) for c in lane}
    cost_left = {n.gateway.id: 0.0 for n in nodes}
    done = {n.gateway.id: 0 for n in nodes}
    ran: dict[str, int] = {}
    cases = {f"vbench::{c.item_name}": c for c in suite_cases}
    while True:  # the worker that has spent the least estimated time goes next
        ready = [n for n in nodes if done[n.gateway.id] < len(n.sent)]
        if not ready:
            break
        node = min(ready, key=lambda n: (cost_left[n.gateway.id], n.gateway.id))
        index = node.sent[done[node.gateway.id]]
        done[node.gateway.id] += 1
        nodeid = collection[index]
        ran[nodeid] = int(node.gateway.id[2:])
        cost_left[node.gateway.id] += schedule.item_cost(cases[nodeid]) if nodeid in cases else 0.0
        sched.mark_test_complete(node, index)
    assert sorted(ran) == sorted(collection)
    moved = [n for n in cases if ran[n] != lane_of[n]]
    assert len(moved) <= len(cases) // 20  # balanced lanes: little or no stealing
    busiest, idlest = max(cost_left.values()), min(cost_left.values())
    mean = sum(cost_left.values()) / len(cost_left)
    assert busiest - idlest <= 0.02 * mean + 2 * max(schedule.item_cost(c) for c in suite_cases), cost_left


def _load(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def _body(report: dict) -> str:
    return json.dumps({k: v for k, v in report.items() if k not in ("runtime", "verdict")}, sort_keys=True)


def test_shards_merged_equal_one_run(pytester, small_suite, flicker_videos, tmp_path):
    from pytest_vbench.cli import main

    common = ["-p", "no:cacheprovider", "--vbench-videos", str(flicker_videos), "--vbench-full-info", str(small_suite)]
    full, s1, s2, merged = (tmp_path / n for n in ("full.json", "s1.json", "s2.json", "merged.json"))
    pytester.runpytest_subprocess(*common, "--vbench-json", str(full)).assert_outcomes(passed=3)
    r1 = pytester.runpytest_subprocess(*common, "--vbench-json", str(s1), "--vbench-shard", "1/2")
    r2 = pytester.runpytest_subprocess(*common, "--vbench-json", str(s2), "--vbench-shard", "2/2")
    r1.assert_outcomes(passed=1, deselected=2)  # three equal items: the tie goes to the later shard
    r2.assert_outcomes(passed=2, deselected=1)
    b = _load(s2)
    assert b["shard"]["index"] == 2 and b["dimensions"]["temporal_flickering"]["prompts"]["expected"] == 2
    assert b["dimensions"]["temporal_flickering"]["prompts"]["not_run"] == 0
    assert main(["merge", str(s2), str(s1), "-o", str(merged)]) == 0
    assert _body(_load(merged)) == _body(_load(full))
    assert main(["merge", str(s2), "-o", str(tmp_path / "half.json")]) == 0  # one shard: the rest is not run
    half = _load(tmp_path / "half.json")["dimensions"]["temporal_flickering"]["prompts"]
    assert half == {"expected": 3, "scored": 2, "failed": 0, "not_run": 1}


def test_xdist_locality_schedule_gives_the_same_json(pytester, tmp_path):
    pytest.importorskip("pyiqa")
    pytest.importorskip("decord")
    from pytest_vbench import fake_checkpoints

    d = tmp_path / "custom"
    d.mkdir()
    for p in ("a dog running", "a red car"):
        for i in range(2):
            write_video(d / f"{p}-{i}.mp4", noise_frames(len(p) + i, n=4))
    cache = tmp_path / "cache"
    fake_checkpoints.write("musiq", cache, seed=0, tiny=True)
    fake_checkpoints.write("dino", cache, seed=0, tiny=True)
    common = ["-p", "no:cacheprovider", "--vbench-videos", str(d), "--vbench-mode", "custom", "--vbench-dims",
              "imaging_quality,subject_consistency", "--vbench-cache-dir", str(cache)]
    a, b = tmp_path / "n0.json", tmp_path / "n2.json"
    pytester.runpytest_subprocess(*common, "--vbench-json", str(a)).assert_outcomes(passed=4)
    result = pytester.runpytest_subprocess(*common, "--vbench-json", str(b), "-n", "2")
    result.assert_outcomes(passed=4)
    # each worker loads one model: the imaging_quality items (MUSIQ) on one, subject_consistency (DINO) on the other
    result.stdout.fnmatch_lines(["*vbench: locality schedule: gw0: 2 item(s)*families musiq",
                                 "*vbench: locality schedule: gw1: 2 item(s)*families dino"])
    ra, rb = _load(a), _load(b)
    assert rb["runtime"]["workers"] == 2
    assert _body(ra) == _body(rb)


def test_shard_option_records_planned_partiality_and_expected_counts(pytester, small_suite, flicker_videos):
    from pytest_vbench.plugin import _KEY

    args = ["-p", "no:cacheprovider", "--vbench-videos", str(flicker_videos), "--vbench-full-info", str(small_suite)]
    config = pytester.parseconfigure(*args, "--vbench-shard", "2/2")
    vb = config.stash[_KEY]
    assert vb.planned_partial == ["shard 2/2: 2 of 3 items"]  # contract 2
    assert vb.results.expected == {"temporal_flickering": 2}  # contract 4: the shard's items only
    assert pytester.parseconfigure(*args).stash[_KEY].planned_partial == []
    with pytest.raises(pytest.UsageError, match="K/N"):
        pytester.parseconfigure(*args, "--vbench-shard", "3/2")


def test_measured_seconds_per_video_drive_the_xdist_plan():
    from pytest_vbench.suite import Case, VideoRef

    class Cache(dict):
        def set(self, key, value):
            self[key] = json.loads(json.dumps(value))  # what pytest's cache keeps: plain JSON

    results = [
        {"dimension": "imaging_quality", "videos": [{}, {}], "seconds": 4.0, "store_hits": 0},
        {"dimension": "imaging_quality", "videos": [{}, {}], "seconds": 0.01, "store_hits": 2},  # from the store
        {"dimension": "temporal_flickering", "videos": [{}], "seconds": 3.0, "store_hits": 0},
        {"dimension": "color", "videos": [], "seconds": 0.0},  # no video: nothing measured
    ]
    assert schedule.measure(results) == {"imaging_quality": 2.0, "temporal_flickering": 3.0}
    cache = Cache({schedule.CACHE_KEY: {"color": 7.0, "imaging_quality": 9.0}})
    schedule.remember(cache, results)
    assert cache[schedule.CACHE_KEY] == {"color": 7.0, "imaging_quality": 2.0, "temporal_flickering": 3.0}
    cost = schedule.cost_model(cache[schedule.CACHE_KEY])
    two = [VideoRef(Path(f"v{i}.mp4"), i) for i in range(2)]
    assert cost(Case("temporal_flickering", "p", 0, None, two)) == 6.0  # measured: slower than the table says
    # not measured: the table, scaled by the median measured/table ratio (here color's 7/35)
    assert cost(Case("subject_consistency", "p", 0, None, two)) == pytest.approx(2 * 8.0 * 7.0 / 35.0)
    assert schedule.cost_model(None) is schedule.item_cost and schedule.cost_model({"x": "bad"}) is schedule.item_cost
