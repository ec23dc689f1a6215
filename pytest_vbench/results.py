"""Typed case results (what crosses processes) and the completeness of a run.

A :class:`CaseResult` is what one item produces: the scored videos of one (dimension, prompt), the
videos that failed with their message, and the expected files that were not found. It travels as
plain JSON on the item's report (``to_json`` / ``from_json``); every reader goes through
``from_json``, which also refuses non-finite statistics (a NaN score fails its video, see
:func:`finite_or_error`).

:class:`Completeness` says whether a run produced a result for every item it was asked to run and,
if not, why (interrupted, crashed, deselected, not run). A run whose only incompleteness was asked
for (``planned_partial``: ``--vbench-allow-partial``, a shard, present-only mode) may pass the gate;
any other incompleteness never does. Nothing here imports pytest or torch.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

#: incomplete-reason kinds that ``--vbench-allow-partial`` accepts (never interrupted or crashed)
ALLOWABLE = ("deselected", "not_run")


@dataclass
class VideoResult:
    """One scored video: sufficient statistics, the official record, an optional note."""

    video: str
    path: str
    sample: int
    sum: float
    count: int
    record: dict[str, Any] | None = None
    note: str | None = None
    seconds: float = 0.0

    def to_json(self) -> dict[str, Any]:
        """Plain JSON form."""
        out: dict[str, Any] = {"video": self.video, "path": self.path, "sample": self.sample,
                               "sum": self.sum, "count": self.count, "record": self.record}
        if self.note is not None:
            out["note"] = self.note
        out["seconds"] = self.seconds
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> VideoResult:
        """Read the plain JSON form."""
        total = data["sum"]  # a saved report writes a non-finite sum as null: read back as NaN, which fails
        return cls(str(data["video"]), str(data["path"]), int(data["sample"]),
                   math.nan if total is None else float(total),
                   int(data["count"]), data.get("record"), data.get("note"), float(data.get("seconds", 0.0)))


@dataclass
class VideoFailure:
    """One video that could not be scored, with the message a user acts on."""

    video: str
    path: str
    sample: int
    error: str

    def to_json(self) -> dict[str, Any]:
        """Plain JSON form."""
        return {"video": self.video, "path": self.path, "sample": self.sample, "error": self.error}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> VideoFailure:
        """Read the plain JSON form."""
        return cls(str(data["video"]), str(data["path"]), int(data["sample"]), str(data["error"]))


def _nonfinite(value: Any) -> bool:
    """True for a float (or nested float in a list/dict) that is NaN or infinite."""
    if isinstance(value, float):
        return not math.isfinite(value)
    if isinstance(value, dict):
        return any(_nonfinite(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return any(_nonfinite(v) for v in value)
    return False


def finite_or_error(video: VideoResult) -> VideoFailure | None:
    """A failure for a video whose statistics or record hold NaN/inf (fail closed), else None."""
    if _nonfinite(video.sum) or _nonfinite(video.record):
        return VideoFailure(video.video, video.path, video.sample,
                            f"{video.path}: the score is not a finite number (sum={video.sum!r}, "
                            f"record={video.record!r}); the video fails instead of poisoning the dimension "
                            f"score. A NaN usually means a degenerate video (constant frames, one frame) "
                            f"or a model error: check the file")
    return None


@dataclass
class CaseResult:
    """The result of one (dimension, prompt) case, as it travels from an item to the controller."""

    dimension: str
    prompt: str
    order: int
    folder: str
    videos: list[VideoResult] = field(default_factory=list)
    errors: list[VideoFailure] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    seconds: float = 0.0
    device: str | None = None
    store_hits: int = 0  # videos whose result came from the result store (store.py)

    def add(self, outcome: VideoResult | VideoFailure) -> None:
        """Record one video's outcome; a non-finite score becomes a failure here (one place for every path)."""
        if isinstance(outcome, VideoResult):
            failure = finite_or_error(outcome)
            if failure is None:
                self.videos.append(outcome)
                return
            outcome = failure
        self.errors.append(outcome)

    @property
    def failed(self) -> bool:
        """True when the item fails: a video errored, or no video was found at all."""
        return bool(self.errors) or not self.videos

    def failure_message(self) -> str:
        """One readable message for a failed case."""
        lines = []
        if not self.videos and not self.errors:
            lines.append(f"no video found for prompt {self.prompt!r} ({self.dimension}); expected one of: "
                         f"{', '.join(self.missing)} in the videos directory or its '{self.folder}/' subfolder")
            if any(len(m.encode("utf-8", "surrogateescape")) > 255 for m in self.missing):
                lines.append("these file names are longer than 255 bytes, which most file systems cannot store: "
                             "shorten the prompts in the suite, or use --vbench-mode custom with a "
                             "--vbench-prompt-file that maps short file names to the prompts")
        lines += [e.error for e in self.errors]
        return "\n".join(lines)

    def to_json(self) -> dict[str, Any]:
        """Plain JSON form (the ``vbench`` user property of the item's report)."""
        out: dict[str, Any] = {"dimension": self.dimension, "prompt": self.prompt, "order": self.order,
                               "folder": self.folder, "videos": [v.to_json() for v in self.videos],
                               "errors": [e.to_json() for e in self.errors], "missing": list(self.missing),
                               "seconds": self.seconds}
        if self.device is not None:
            out["device"] = self.device
        out["store_hits"] = self.store_hits
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CaseResult:
        """Read the plain JSON form; a non-finite video score read here fails that video too."""
        case = cls(str(data["dimension"]), str(data["prompt"]), int(data["order"]), str(data.get("folder", "")),
                   [], [VideoFailure.from_json(e) for e in data.get("errors", [])],
                   [str(m) for m in data.get("missing", [])], float(data.get("seconds", 0.0)), data.get("device"),
                   int(data.get("store_hits", 0)))
        for v in data.get("videos", []):
            case.add(VideoResult.from_json(v))
        return case


# ------------------------------------------------------------------------------------ completeness
@dataclass
class Reason:
    """Why a run is incomplete: a kind (interrupted, crashed, deselected, not_run, planned) and a sentence."""

    kind: str
    text: str


@dataclass
class Completeness:
    """Whether every item the run was asked to run produced a result, and why not."""

    reasons: list[Reason] = field(default_factory=list)
    allow_partial: bool = False

    @property
    def complete(self) -> bool:
        """True when nothing is missing (planned partiality makes a run incomplete too)."""
        return not self.reasons

    @property
    def texts(self) -> list[str]:
        """The reasons as sentences (``incomplete_reasons`` of the report)."""
        return [r.text for r in self.reasons]

    def blocking(self) -> list[Reason]:
        """Reasons that make the gate fail: anything not planned (or not accepted by --vbench-allow-partial)."""
        return [r for r in self.reasons
                if r.kind != "planned" and not (self.allow_partial and r.kind in ALLOWABLE)]

    def failure_lines(self) -> list[str]:
        """``FAIL`` lines for the verdict (empty when the gate may pass)."""
        block = self.blocking()
        if not block:
            return []
        hint = ("" if any(r.kind in ("interrupted", "crashed") for r in block)
                else "; pass --vbench-allow-partial to gate a partial run on purpose")
        return [f"FAIL incomplete run: {'; '.join(r.text for r in block)}{hint}"]


def _shown(names: list[str], limit: int = 3) -> str:
    return ", ".join(names[:limit]) + (f" ... ({len(names)} in all)" if len(names) > limit else "")


def assess(expected: list[str], collected: list[str] | None, received: set[str], crashed: dict[str, str],
           *, interrupted: str | None = None, stopped: str | None = None, planned: list[str] | None = None,
           allow_partial: bool = False) -> Completeness:
    """Completeness of a session from item ids.

    ``expected``: ids of the items the run was asked to run (after shards / present-only mode);
    ``collected``: ids left after deselection (None when collection never finished);
    ``received``: ids whose result arrived; ``crashed``: id -> why, for items that ended without a result;
    ``interrupted`` / ``stopped``: why the session ended early, if it did.
    """
    reasons = [Reason("planned", text) for text in (planned or [])]
    if interrupted:
        missing = [i for i in expected if i not in received]
        reasons.append(Reason("interrupted", f"interrupted ({interrupted}): {len(missing)} of {len(expected)} "
                                             f"item(s) have no result"))
    if crashed:
        reasons.append(Reason("crashed", f"{len(crashed)} item(s) ended without a result (crashed): "
                                         f"{_shown([f'{k} ({v})' for k, v in crashed.items()], 2)}"))
    chosen = set(collected) if collected is not None else set(expected)
    deselected = [i for i in expected if i not in chosen]
    if deselected:
        reasons.append(Reason("deselected", f"{len(deselected)} of {len(expected)} item(s) deselected "
                                            f"(-k, -m, --lf, --deselect): {_shown(deselected)}"))
    if not interrupted:
        not_run = [i for i in expected if i in chosen and i not in received and i not in crashed]
        if not_run:
            why = f" ({stopped})" if stopped else ""
            reasons.append(Reason("not_run", f"{len(not_run)} of {len(expected)} item(s) not run{why}: "
                                             f"{_shown(not_run)}"))
    return Completeness(reasons, allow_partial)


def from_report(report: dict[str, Any], allow_partial: bool = False) -> Completeness:
    """Completeness of a saved report (``pytest-vbench gate`` / ``merge``).

    A report written by the plugin carries its reasons with their kinds (``incompleteness``); a report
    without them (an older one, merged shards) is judged from the data: every dimension must have a
    result for each of its expected prompts.
    """
    kinds = report.get("incompleteness")
    if isinstance(kinds, list):
        reasons = [Reason(str(r.get("kind", "recorded")), str(r.get("text", ""))) for r in kinds]
    elif report.get("complete") is False:
        reasons = [Reason("recorded", str(t)) for t in report.get("incomplete_reasons") or
                   ["the report says it is incomplete"]]
    else:
        reasons = []
    if not reasons:
        reasons = data_reasons(report)
    return Completeness(reasons, allow_partial)


def to_report(report: dict[str, Any], completeness: Completeness) -> None:
    """Record ``complete``, ``incomplete_reasons`` and ``incompleteness`` (with kinds) in a report dict."""
    report["complete"] = completeness.complete
    report["incomplete_reasons"] = completeness.texts
    report["incompleteness"] = [{"kind": r.kind, "text": r.text} for r in completeness.reasons]


def data_reasons(report: dict[str, Any]) -> list[Reason]:
    """``not_run`` reasons from a report's per-dimension prompt counts."""
    out = []
    for name, d in report.get("dimensions", {}).items():
        p = d.get("prompts", {})
        if p.get("not_run"):
            out.append(Reason("not_run", f"{name}: {p['not_run']} of {p.get('expected', '?')} prompt(s) "
                                         f"have no result"))
    return out


class Tracker:
    """What the controller saw of a session's items: collected ids, results, items that ended without one.

    Fed by the plugin's hooks (the same calls with and without xdist); :meth:`assess` turns it into a
    :class:`Completeness`.
    """

    def __init__(self, expected: list[str]):
        self.expected = list(expected)
        self.collected: list[str] | None = None
        self.received: set[str] = set()
        self.crashed: dict[str, str] = {}
        self.interrupted: str | None = None

    def on_collected(self, ids: list[str]) -> None:
        """Item ids left after deselection (the controller's, or one xdist worker's)."""
        self.collected = sorted(set(self.collected or []) | set(ids))

    def on_report(self, nodeid: str, failed: bool, has_result: bool, why: str = "") -> None:
        """One test report of an item (any phase)."""
        if has_result:
            self.received.add(nodeid)
            self.crashed.pop(nodeid, None)
        elif failed and nodeid not in self.received:
            self.crashed[nodeid] = (why.strip().splitlines() or ["no result"])[-1][:200]

    def assess(self, *, stopped: str | None = None, planned: list[str] | None = None,
               allow_partial: bool = False) -> Completeness:
        """The completeness of what was seen (against ``expected`` as it is now)."""
        known = set(self.expected)
        return assess(self.expected, self.collected, self.received & known,
                      {k: v for k, v in self.crashed.items() if k in known}, interrupted=self.interrupted,
                      stopped=stopped, planned=planned, allow_partial=allow_partial)


def decide(verdict: dict[str, Any], completeness: Completeness, exit_status: int = 0,
           exit_reason: str = "") -> dict[str, Any]:
    """Complete a gate verdict (thresholds, baseline) with the run's completeness and exit status.

    ``passed`` is true only when the gate passes, the run is complete (or only partial as planned),
    and the session's exit status is 0; each reason it is not is one ``FAIL`` line.
    """
    failures = list(verdict["failures"]) + completeness.failure_lines()
    if exit_status:
        failures.append(f"FAIL exit status {int(exit_status)}" + (f": {exit_reason}" if exit_reason else ""))
    verdict["failures"] = failures
    verdict["passed"] = not failures
    verdict["complete"] = completeness.complete
    return verdict
