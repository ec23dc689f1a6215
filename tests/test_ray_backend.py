"""The optional Ray backend: actor sizing and plans (always), and a local Ray run (slow tier, needs ray)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from types import ModuleType, SimpleNamespace

import pytest

from pytest_vbench import ray_backend
from pytest_vbench.suite import Case


def test_one_actor_per_gpu_else_per_cpu_slot():
    assert ray_backend.actor_count({"CPU": 16.0, "GPU": 4.0}, 2) == (4, {"num_gpus": 1.0, "num_cpus": 1.0})
    assert ray_backend.actor_count({"CPU": 8.0}, 2) == (4, {"num_cpus": 2.0})
    assert ray_backend.actor_count({"CPU": 2.0}, 4) == (1, {"num_cpus": 2.0})
    assert ray_backend.actor_count({}, 2) == (1, {"num_cpus": 1.0})


def test_plan_keeps_families_together_per_actor():
    cases = [Case(d, f"p{i}", i) for d in ("object_class", "color", "human_action") for i in range(4)]
    lanes = ray_backend.plan(cases, 2)
    assert sorted(c.item_name for lane in lanes for c in lane) == sorted(c.item_name for c in cases)
    grit = [k for k, lane in enumerate(lanes) for c in lane if c.dimension in ("object_class", "color")]
    assert len(set(grit)) == 1  # both GRiT dimensions on one actor


def _config(**options):
    values = {"vbench_ray": "local", "vbench_ray_cpus": 2, **options}
    return SimpleNamespace(getoption=lambda name, default=None: values.get(name, default),
                           option=SimpleNamespace(numprocesses=options.get("numprocesses")))


def test_usage_errors(monkeypatch):
    session = SimpleNamespace(result_store=None, device_spec="auto", cache_dir=Path("/c"), options={})
    assert ray_backend.from_config(_config(vbench_ray=None), session) is None
    with pytest.raises(ValueError, match="drop -n"):
        ray_backend.from_config(_config(numprocesses=2), session)
    with pytest.raises(ValueError, match="at least 1"):
        ray_backend.from_config(_config(vbench_ray_cpus=0), session)
    monkeypatch.setitem(sys.modules, "ray", None)  # not installed
    with pytest.raises(ValueError, match=r"pytest-vbench\[ray\]"):
        ray_backend.from_config(_config(), session)
    monkeypatch.setitem(sys.modules, "ray", ModuleType("ray"))  # installed (nothing is called before collection)
    backend = ray_backend.from_config(_config(vbench_ray="ray://head:10001"), session)
    assert backend is not None and backend.address == "ray://head:10001" and backend.store_root is None


@pytest.mark.slow
def test_local_ray_run_gives_the_same_json(pytester, small_suite, flicker_videos, tmp_path):
    pytest.importorskip("ray")
    common = ["-p", "no:cacheprovider", "--vbench-videos", str(flicker_videos), "--vbench-full-info",
              str(small_suite)]
    a, b = tmp_path / "plain.json", tmp_path / "ray.json"
    pytester.runpytest_subprocess(*common, "--vbench-json", str(a)).assert_outcomes(passed=3)
    store = tmp_path / "store"
    pytester.runpytest_subprocess(*common, "--vbench-json", str(b), "--vbench-ray", "local",
                                  "--vbench-ray-cpus", "1", "--vbench-result-cache", str(store)
                                  ).assert_outcomes(passed=3)
    ra, rb = (json.loads(p.read_text(encoding="utf-8")) for p in (a, b))
    assert rb["runtime"]["devices"] == ["cpu"]
    body = {k: v for k, v in ra.items() if k != "runtime"}
    assert json.dumps(body) == json.dumps({k: v for k, v in rb.items() if k != "runtime"})
    assert len(list(store.rglob("*.json"))) == 15  # the actors wrote the store
