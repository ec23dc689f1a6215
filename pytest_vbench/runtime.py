"""The per-process runtime a dimension scores with: device, cache dir, lazy models, decoded frames.

One :class:`Runtime` lives in each pytest process (the controller without xdist, each worker with
it). Models are loaded on first use, once per family; decoded videos are kept in a small
byte-bounded LRU so that dimensions reading the same video with the same decoder decode it once.
"""

from __future__ import annotations

import os
from collections import OrderedDict
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any


def resolve_device(spec: str, worker_id: str | None) -> str:
    """Turn ``auto|cpu|cuda|cuda:N|npu|...`` into a concrete device string for this process.

    ``auto`` picks ``cuda:(worker index % device count)`` when CUDA is visible, else CPU. ``cuda``
    without an index does the same worker-based pick. Torch is imported only when needed.
    """
    spec = (spec or "auto").strip().lower()
    if spec == "cpu" or ":" in spec:
        return spec
    index = 0
    if worker_id and worker_id.startswith("gw") and worker_id[2:].isdigit():
        index = int(worker_id[2:])
    if spec in ("auto", "cuda"):
        try:
            import torch
        except ImportError:
            if spec == "cuda":
                raise RuntimeError("--vbench-device cuda needs torch") from None
            return "cpu"
        count = torch.cuda.device_count()
        if count == 0:
            if spec == "cuda":
                raise RuntimeError("--vbench-device cuda was asked for but torch sees no CUDA device")
            return "cpu"
        return f"cuda:{index % count}"
    # other accelerators (npu, xpu, mps...): index by worker when the backend reports a count
    try:
        import torch

        backend = getattr(torch, spec, None)
        count = backend.device_count() if backend is not None and hasattr(backend, "device_count") else 0
    except ImportError:
        count = 0
    return f"{spec}:{index % count}" if count else spec


def check_device(spec: str) -> str | None:
    """Why ``--vbench-device spec`` cannot work on this machine (checked at start), or None.

    ``auto`` and ``cpu`` always work; anything else must be a device torch knows whose backend is
    available (``cuda`` without a visible GPU, ``cuda:3`` on a 2-GPU machine, or ``gpu`` are usage
    errors, not one failed item per case).
    """
    spec = (spec or "auto").strip().lower()
    if spec in ("auto", "cpu"):
        return None
    try:
        import torch
    except ImportError:
        return f"{spec!r} needs torch (pip install 'pytest-vbench[models]'), or use cpu / auto"
    try:
        device = torch.device(spec)
    except (RuntimeError, ValueError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else "unknown"
        return f"unknown device {spec!r} ({first}); use auto, cpu, cuda, cuda:N, or a backend torch supports"
    if device.type == "cpu":
        return None
    backend = getattr(torch, device.type, None)
    available = getattr(backend, "is_available", None)
    if available is None:
        return None  # a backend torch knows but cannot query (plugins such as torch_npu check later)
    if not available():
        return (f"{spec!r} was asked for but torch sees no {device.type} device on this machine; "
                f"use --vbench-device cpu (or auto: GPUs when visible, else the CPU)")
    count = getattr(backend, "device_count", None)
    if device.index is not None and count is not None and device.index >= count():
        return f"{spec!r}: this machine has {count()} {device.type} device(s) (indices 0..{count() - 1})"
    return None


class FrameCache:
    """A byte-bounded LRU of decoded videos keyed by (path, decoder, parameters)."""

    def __init__(self, max_bytes: int = 2 << 30):
        self.max_bytes = max_bytes
        self._items: OrderedDict[tuple, Any] = OrderedDict()
        self._sizes: dict[tuple, int] = {}
        self.hits = 0
        self.misses = 0

    def get(self, key: tuple, load: Callable[[], Any]) -> Any:
        """Return the cached value for ``key``, decoding with ``load()`` on a miss."""
        if key in self._items:
            self._items.move_to_end(key)
            self.hits += 1
            return self._items[key]
        self.misses += 1
        value = load()
        size = int(getattr(value, "nbytes", 0))
        if size <= self.max_bytes:
            self._items[key] = value
            self._sizes[key] = size
            while sum(self._sizes.values()) > self.max_bytes:
                old, _ = self._items.popitem(last=False)
                del self._sizes[old]
        return value

    def clear(self) -> None:
        """Drop every cached video."""
        self._items.clear()
        self._sizes.clear()


class Runtime:
    """Device, cache directory, options, lazily loaded models and the frame cache of one process."""

    def __init__(self, device: str = "cpu", cache_dir: str | Path | None = None, options: dict | None = None):
        self.device = device
        self.cache_dir = Path(cache_dir) if cache_dir is not None else default_cache_dir()
        self.options = dict(options or {})
        self.frames = FrameCache()
        self.memo: dict[str, dict] = {}  # per-process caches of dimension modules (e.g. text features)
        self._models: dict[str, Any] = {}
        #: called after each video is scored (``score_video``, or :meth:`video_done` from a batched
        #: ``score_case``): (file name, seconds, failed); set by progress.py
        self.on_video: Callable[[str, float, bool], None] | None = None
        #: the cases this process runs after the current item, and the result store (set by the plugin for
        #: each item; read by prefetch.py when a dimension scores the next items' videos ahead)
        self.upcoming: Callable[[], Iterable[Any]] | None = None
        self.result_store: Any = None

    def video_done(self, video: Any, seconds: float, failed: bool = False) -> None:
        """A batched ``score_case`` finished ``video`` (a ``VideoRef``): live progress, as ``score_video`` gets."""
        if self.on_video is not None:
            self.on_video(video.name, seconds, failed)

    def model(self, family: str) -> Any:
        """The loaded model of ``family`` on this runtime's device (loaded once, on first use)."""
        if family not in self._models:
            from .models import load

            self._models[family] = load(family, self)
        return self._models[family]

    def decoded(self, path: Path, decoder: str, load: Callable[[], Any], **params) -> Any:
        """Decoded frames of ``path`` by ``decoder`` with ``params``, shared across dimensions."""
        key = (str(path), decoder, tuple(sorted(params.items())))
        return self.frames.get(key, load)

    @property
    def loaded_families(self) -> list[str]:
        """Model families loaded so far in this process."""
        return sorted(self._models)


def default_cache_dir() -> Path:
    """``$VBENCH_CACHE_DIR`` or ``~/.cache/vbench``, with ``~`` and ``$VARS`` expanded."""
    env = os.environ.get("VBENCH_CACHE_DIR")
    raw = env if env else os.path.join("~", ".cache", "vbench")
    return Path(os.path.expandvars(os.path.expanduser(raw)))
