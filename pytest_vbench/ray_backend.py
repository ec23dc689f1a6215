"""Optional Ray backend: the same cases, scored by Ray actors that hold their models (``ray`` extra).

``pytest --vbench-videos out/ --vbench-ray local`` (or ``auto``, or a cluster address such as
``ray://head:10001``) keeps pytest as the driver: collection, item reports, the report files and
the verdict are exactly those of a plain run. Only where a case is scored changes: when collection
is finished, the selected cases are planned into one lane per actor (:func:`schedule.lanes`: model
families kept together, balanced by estimated cost) and submitted at once; each actor scores its
lane in order with its own :class:`~pytest_vbench.runtime.Runtime` (models loaded once per actor)
and the result store. Each item then waits for its own case's result and reports it as usual, so
results stream into the report as the actors finish them, in the same per-video format.

Actors: one per GPU when the cluster has GPUs (``num_gpus=1``: Ray sets ``CUDA_VISIBLE_DEVICES`` and
the actor's ``auto`` device is its GPU), else one per ``--vbench-ray-cpus`` CPUs (default 2).
Cluster nodes must see the videos, the checkpoint cache and the result store at the same paths
(a shared file system). Dimensions registered from a ``conftest.py`` are not known to the actors;
register them in an installed plugin module instead. Lanes are static (no stealing between actors).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

RAY_MISSING = "--vbench-ray needs Ray: pip install 'pytest-vbench[ray]'"


def add_options(group: Any) -> None:
    """Register ``--vbench-ray`` and ``--vbench-ray-cpus``."""
    group.addoption("--vbench-ray", metavar="ADDRESS", default=None,
                    help="score the cases on Ray actors: 'local' starts a local Ray instance, 'auto' joins the "
                         "cluster of $RAY_ADDRESS, or a cluster address (ray://host:10001); needs the ray extra")
    group.addoption("--vbench-ray-cpus", metavar="N", type=int, default=2,
                    help="CPUs per Ray actor when the cluster has no GPU (default 2)")


def actor_count(resources: dict[str, float], cpus_per_actor: int) -> tuple[int, dict[str, float]]:
    """``(actors, resources per actor)`` for a cluster's resources: one per GPU, else per ``cpus_per_actor`` CPUs."""
    gpus = int(resources.get("GPU", 0))
    if gpus:
        return gpus, {"num_gpus": 1.0, "num_cpus": 1.0}
    cpus = max(1, int(resources.get("CPU", 1)))
    per = max(1, min(cpus_per_actor, cpus))
    return max(1, cpus // per), {"num_cpus": float(per)}


def plan(cases: Sequence[Any], actors: int) -> list[list[Any]]:
    """The cases of each actor, in the order it scores them."""
    from .schedule import lanes

    return lanes(cases, actors)


class CaseActor:
    """What one actor holds: a runtime (device, models, frame cache) and the result store."""

    def __init__(self, device_spec: str, cache_dir: str, options: dict[str, Any], store_root: str | None):
        from .runtime import Runtime, resolve_device
        from .store import ResultStore

        self.runtime = Runtime(resolve_device(device_spec, None), Path(cache_dir), options)
        self.store = ResultStore(Path(store_root)) if store_root else None

    def run(self, case: Any) -> dict[str, Any]:
        """Score one case exactly as an item does (same result dict)."""
        from .store import run_case

        result = run_case(case, self.runtime, self.store)
        result.device = self.runtime.device
        return result.to_json()

    def families(self) -> list[str]:
        """Model families loaded by this actor so far."""
        return self.runtime.loaded_families


class RayBackend:
    """The driver side: starts or joins Ray, creates the actors, submits the cases, hands out results."""

    def __init__(self, address: str, cpus_per_actor: int, device_spec: str, cache_dir: Path,
                 options: dict[str, Any], store_root: Path | None):
        self.address = address
        self.cpus_per_actor = cpus_per_actor
        self.device_spec = device_spec
        self.cache_dir = cache_dir
        self.options = options
        self.store_root = store_root
        self.futures: dict[str, Any] = {}
        self.actors: list[Any] = []
        self.lanes: list[list[Any]] = []
        self.started_here = False

    def start(self, cases: Sequence[Any]) -> None:
        """Connect, create one actor per GPU or CPU slot, and submit every case to its lane's actor."""
        import ray

        if not ray.is_initialized():
            if self.address == "local":
                ray.init(include_dashboard=False, log_to_driver=False)
            else:
                ray.init(address=self.address, log_to_driver=False)
            self.started_here = True
        count, resources = actor_count(ray.cluster_resources(), self.cpus_per_actor)
        self.lanes = plan(cases, min(count, max(1, len(cases))))
        remote = ray.remote(**resources)(CaseActor)
        store_root = str(self.store_root) if self.store_root is not None else None
        self.actors = [remote.remote(self.device_spec, str(self.cache_dir), self.options, store_root)
                       for _ in self.lanes]
        for actor, lane in zip(self.actors, self.lanes):
            for case in lane:
                self.futures[case.item_name] = actor.run.remote(case)

    def result(self, case: Any) -> dict[str, Any]:
        """The result of ``case`` (waits for its actor)."""
        import ray

        return dict(ray.get(self.futures.pop(case.item_name)))

    def stop(self) -> None:
        """Release the actors (and the local Ray instance this run started)."""
        try:
            import ray
        except ImportError:  # pragma: no cover
            return
        for actor in self.actors:
            ray.kill(actor)
        self.actors = []
        if self.started_here and ray.is_initialized():
            ray.shutdown()


def from_config(config: Any, session: Any) -> RayBackend | None:
    """The backend ``--vbench-ray`` asks for (None without it); a usage error text as ValueError."""
    address = config.getoption("vbench_ray", None)
    if not address:
        return None
    if getattr(config.option, "numprocesses", None):
        raise ValueError("--vbench-ray replaces xdist: drop -n (the Ray actors are the workers)")
    cpus = config.getoption("vbench_ray_cpus")
    if cpus < 1:
        raise ValueError(f"--vbench-ray-cpus must be at least 1, got {cpus}")
    try:
        import ray  # noqa: F401
    except ImportError:
        raise ValueError(RAY_MISSING) from None
    store = session.result_store
    return RayBackend(address, cpus, session.device_spec, session.cache_dir, session.options,
                      store.root if store is not None else None)


def start(config: Any, session: Any, items: Sequence[Any]) -> None:
    """After collection: submit the selected cases (called from ``pytest_collection_finish``)."""
    backend = getattr(session, "ray", None)
    if backend is None or config.getoption("collectonly"):
        return
    backend.start([item.case for item in items if getattr(item, "case", None) is not None])
    config.add_cleanup(backend.stop)
