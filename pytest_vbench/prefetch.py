"""Results computed ahead: an item may score the videos of the items this process runs next (opt-in).

``--vbench-vqa-batch-prompts N`` lets the ``vqa_score`` item of one prompt put the videos of up to
N - 1 following ``vqa_score`` prompts in the same forward pass. Every per-item guarantee stays:

* which items come next: without xdist the rest of ``session.items`` after the running item (the
  order pytest runs them in); in an xdist worker the item the worker runs next and the indices the
  controller has already queued for it (read from xdist's worker queue under its lock; when that
  queue cannot be read, only the next item; when neither can, nothing is looked ahead and each item
  scores alone). With Ray, or a runtime without :attr:`Runtime.upcoming`, nothing is looked ahead.
* a video whose result is in the result store is not scored ahead (its item takes it from the store);
* results computed ahead wait in a per-process table keyed by the result store's key
  (:func:`pytest_vbench.store.case_keys`), until the item they belong to runs and takes them: they
  ride on that item's report, count as scored in this run (not as store hits), and are stored by it;
* only successful results are kept: a video that failed ahead is scored again by its own item, which
  reports the failure; results of items that never run (deselected later, stolen by another
  worker, a crash) are simply lost.

This module knows pytest's and xdist's objects only through attributes (no pytest import).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any

_MEMO = "prefetch"
_SETTLED = "prefetch-settled"


@dataclass
class Ahead:
    """A video's outcome computed by another item, and its share of that item's seconds."""

    outcome: Any
    seconds: float


def table(runtime: Any) -> dict[str, Ahead]:
    """This process's table of results computed ahead, by result-store key."""
    memo: dict[str, Any] = runtime.memo.setdefault(_MEMO, {})
    return memo


def keys(case: Any, videos: list[Any], runtime: Any) -> dict[int, str]:
    """The result-store key of each readable video of ``videos`` (of ``case``), by index."""
    from .store import case_keys

    found, _ = case_keys(replace(case, videos=list(videos)), runtime)
    return found


def take(case: Any, videos: list[Any], runtime: Any) -> dict[int, Ahead]:
    """Remove and return the results computed ahead for ``videos`` of ``case``, by index."""
    tab = table(runtime)
    if not tab:
        return {}
    return {i: tab.pop(k) for i, k in keys(case, videos, runtime).items() if k in tab}


def put(key: str, outcome: Any, seconds: float, runtime: Any) -> None:
    """Keep the outcome of a video scored ahead until its own item takes it."""
    table(runtime)[key] = Ahead(outcome, seconds)


def _readable_name(video: Any) -> bool:
    try:
        str(video.path).encode("utf-8")
    except UnicodeEncodeError:  # the runner fails such a video in its own item
        return False
    return True


def ahead(case: Any, limit: int, runtime: Any) -> list[tuple[Any, list[tuple[Any, str]]]]:
    """Up to ``limit`` cases of ``case``'s dimension that this process runs next, with the videos to score ahead.

    Each entry is ``(case, [(video, key), ...])``: the videos not in the result store and not already
    computed ahead. Cases with nothing left to score are skipped.
    """
    upcoming = getattr(runtime, "upcoming", None)
    if upcoming is None or limit < 1:
        return []
    store = getattr(runtime, "result_store", None)
    tab = table(runtime)
    # items found with nothing left to score ahead stay so (the store only grows; results ahead wait for
    # their item): not hashed and looked up again by every later item
    settled: set[str] = runtime.memo.setdefault(_SETTLED, set())
    out: list[tuple[Any, list[tuple[Any, str]]]] = []
    for other in upcoming():
        if len(out) >= limit:
            break
        if other.dimension != case.dimension or other.item_name in settled or other.item_name == case.item_name:
            continue
        videos = [v for v in other.videos if _readable_name(v)]
        todo = [(videos[i], k) for i, k in sorted(keys(other, videos, runtime).items())
                if k not in tab and (store is None or store.get(k) is None)]
        if todo:
            out.append((other, todo))
        else:
            settled.add(other.item_name)
    return out


# ------------------------------------------------------------------- which items this process runs next
def upcoming_cases(item: Any) -> Iterator[Any]:
    """The cases of the vbench items this process runs after ``item``, in order (lazily).

    Without xdist: the items after ``item`` in ``session.items``. In an xdist worker: the next item
    and the worker's queue (see the module docstring).
    """
    items = item.session.items
    if not hasattr(item.config, "workerinput"):
        start = _position(items, item)
        following = items[start + 1:] if start is not None else []
    else:  # an xdist worker runs only what the controller sends it
        worker = _xdist_worker(item.config)
        following = [items[i] for i in _queued(worker) if 0 <= i < len(items)] if worker is not None else []
    for other in following:
        case = getattr(other, "case", None)
        if case is not None and hasattr(case, "dimension"):
            yield case


def _position(items: list[Any], item: Any) -> int | None:
    for i, other in enumerate(items):
        if other is item:
            return i
    return None


def _xdist_worker(config: Any) -> Any:
    """xdist's WorkerInteractor of this worker process (None when it cannot be found)."""
    for plugin in config.pluginmanager.get_plugins():
        if type(plugin).__name__ == "WorkerInteractor" and hasattr(plugin, "nextitem_index"):
            return plugin
    return None


def _queued(worker: Any) -> list[int]:
    """The item indices an xdist worker runs next: its next item, then its queue (or only the next item)."""
    first = worker.nextitem_index
    out = [first] if isinstance(first, int) and not isinstance(first, bool) else []
    if not out:
        return out  # the worker shuts down after this item
    try:
        with worker.torun.lock() as queue:
            queued = list(queue)
    except (AttributeError, TypeError):  # another xdist version: only the next item
        return out
    return out + [i for i in queued if isinstance(i, int) and not isinstance(i, bool)]
