"""Merging case results and writing them out: our JSON, the official eval_results, Markdown, table.

:class:`Results` collects case results (from item reports, any order), and :meth:`Results.summary`
builds the report dict. The dict is deterministic: cases are sorted by (dimension order, suite
order), sums are exactly rounded, and everything that varies between runs (timings, devices, worker
count) lives under the ``runtime`` key only.
"""

from __future__ import annotations

import errno
import json
import math
import os
import platform
import time
from importlib import metadata
from pathlib import Path
from typing import Any

from .dimensions import DIMENSIONS, GROUPS
from .results import CaseResult, data_reasons
from .scoring import DimensionTotal, final_scores, normalise

SCHEMA = "pytest-vbench/1"


def _version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def provenance() -> dict[str, Any]:
    """Versions that decide the numbers (package metadata) and the GPU (torch is imported when installed)."""
    dists = ["pytest-vbench", "torch", "torchvision", "numpy", "opencv-python-headless", "opencv-python",
             "decord", "Pillow", "timm", "open_clip_torch", "pyiqa", "transformers"]
    from .gpu_info import describe as gpu

    return {"python": platform.python_version(),
            "packages": {d: v for d in dists if (v := _version(d)) is not None},
            "gpu": gpu()}  # name, count, driver, CUDA/cuDNN/torch versions; None on CPU


class Results:
    """Case results of a session, merged as they arrive."""

    def __init__(self, dims: list[str], suite: dict[str, Any], samples: int = 5):
        self.dims = list(dims)
        self.suite = suite
        self.samples = samples
        self.cases: dict[tuple[str, str], dict[str, Any]] = {}
        self.devices: set[str] = set()
        self.workers: set[str] = set()
        self.expected: dict[str, int] = {}  # prompts per dimension (from collection)
        self.seconds: dict[tuple[str, str], float] = {}
        self.shard: dict[str, Any] | None = None  # --vbench-shard: shard.Shard.to_json()

    def add(self, case: CaseResult | dict[str, Any], worker: str | None = None, device: str | None = None) -> None:
        """Merge one case result (a retried case replaces its earlier result); plain JSON is read as a CaseResult."""
        typed = case if isinstance(case, CaseResult) else CaseResult.from_json(case)
        result = typed.to_json()
        self.cases[(result["dimension"], result["prompt"])] = result
        self.seconds[(result["dimension"], result["prompt"])] = result.get("seconds", 0.0)
        if worker:
            self.workers.add(worker)
        if device:
            self.devices.add(device)

    def sorted_cases(self) -> list[dict[str, Any]]:
        """Cases in table order of their dimension, then suite order."""
        rank = {name: i for i, name in enumerate(DIMENSIONS)}
        return sorted(self.cases.values(), key=lambda r: (rank[r["dimension"]], r["order"], r["prompt"]))

    def summary(self, missing_as_zero: bool = False) -> dict[str, Any]:
        """The full report dict (without the verdict, which the gate adds)."""
        per_dim: dict[str, dict[str, Any]] = {}
        totals = {name: DimensionTotal(name) for name in self.dims}
        for name in self.dims:
            d = DIMENSIONS[name]
            per_dim[name] = {"group": d.group, "unit": d.unit, "implemented": d.implemented,
                             "prompts": {"expected": self.expected.get(name, 0), "scored": 0, "failed": 0,
                                         "not_run": 0},
                             "videos": {"scored": 0, "missing": 0, "failed": 0},
                             "seconds": 0.0, "results": []}
        for case in self.sorted_cases():
            name = case["dimension"]
            if name not in per_dim:
                continue
            entry = per_dim[name]
            for v in case["videos"]:
                totals[name].add(v["sum"], v["count"])
                entry["results"].append({"prompt": case["prompt"], "video": v["video"], "path": v["path"],
                                         "sum": v["sum"], "count": v["count"], "record": v["record"],
                                         **({"note": v["note"]} if v.get("note") else {})})
            entry["videos"]["scored"] += len(case["videos"])
            entry["videos"]["missing"] += len(case["missing"])
            entry["videos"]["failed"] += len(case["errors"])
            entry["seconds"] += self.seconds.get((name, case["prompt"]), 0.0)
            failed = bool(case["errors"]) or not case["videos"]
            entry["prompts"]["failed" if failed else "scored"] += 1
            if case["errors"]:
                entry.setdefault("errors", []).extend(
                    {"prompt": case["prompt"], "video": e["video"], "error": e["error"].splitlines()[0]}
                    for e in case["errors"])
            if not case["videos"] and not case["errors"]:
                entry.setdefault("prompts_without_videos", []).append(case["prompt"])
        raws: dict[str, float] = {}
        timing = {}
        for name, entry in per_dim.items():
            t = totals[name]
            raw = t.raw
            entry["sum"] = t.total
            entry["count"] = t.count
            entry["raw"] = raw
            entry["normalised"] = None if raw is None else normalise(name, raw)
            p = entry["prompts"]
            p["not_run"] = max(0, p["expected"] - p["scored"] - p["failed"])
            scored = entry["videos"]["scored"]
            seconds = entry.pop("seconds")
            timing[name] = {"seconds": round(seconds, 6),
                            "seconds_per_video": round(seconds / scored, 6) if scored else None}
            if raw is not None:
                raws[name] = raw
        groups = final_scores(raws, missing_as_zero=missing_as_zero)
        not_selected = [n for n in DIMENSIONS if n not in self.dims]
        covered = _coverage(per_dim)
        out: dict[str, Any] = {
            "schema": SCHEMA,
            "suite": self.suite,
            "samples_per_prompt": self.samples,
            **({"shard": self.shard} if self.shard else {}),
            "dimensions_selected": self.dims,
            "dimensions_not_selected": not_selected,
            "dimensions_not_implemented": [n for n in DIMENSIONS if not DIMENSIONS[n].implemented],
            "missing_as_zero": missing_as_zero,
            "dimensions": per_dim,
            "scores": {g: {"value": s.value, "partial": s.partial, "missing": s.missing,
                           **({"covers": covered[g]} if g in covered else {})}
                       for g, s in groups.items()},
            "cases": [_stable_case(c) for c in self.sorted_cases() if c["dimension"] in per_dim],
            "provenance": provenance(),
            "runtime": {"timing": timing, "devices": sorted(self.devices), "workers": len(self.workers) or 1,
                        # per-video results served by the result store (store.py)
                        "store_hits": sum(int(c.get("store_hits", 0)) for c in self.cases.values()),
                        "finished": time.strftime("%Y-%m-%dT%H:%M:%S%z")},
        }
        reasons = data_reasons(out)  # the plugin replaces these with what it saw of the session
        out["complete"] = not reasons
        out["incomplete_reasons"] = [r.text for r in reasons]
        out["incompleteness"] = [{"kind": r.kind, "text": r.text} for r in reasons]
        out["planned_partial"] = []  # reasons this run is partial on purpose (the plugin fills them)
        return out


def _coverage(per_dim: dict[str, dict[str, Any]]) -> dict[str, str]:
    """For a score over fewer prompts than expected: which prompts it covers (dimensions get ``covers`` and
    ``prompts_not_covered`` in place; the returned texts are for the group scores)."""
    groups: dict[str, list[str]] = {}
    for name, entry in per_dim.items():
        p = entry["prompts"]
        if p["not_run"] or p["failed"]:
            covered = sorted({r["prompt"] for r in entry["results"]})
            entry["covers"] = f"{len(covered)} of {p['expected']} prompts"
            entry["prompts_covered"] = covered
            group = DIMENSIONS[name].group
            for g in (group, "total") if group in GROUPS else ():
                groups.setdefault(g, []).append(f"{name} {len(covered)}/{p['expected']}")
    return {g: "partial prompts: " + ", ".join(parts) for g, parts in groups.items()}


def _stable_case(case: dict[str, Any]) -> dict[str, Any]:
    """A case result without what varies between runs (timings, device)."""
    out = {k: v for k, v in case.items() if k not in ("seconds", "device", "store_hits")}
    out["videos"] = [{k: v for k, v in video.items() if k != "seconds"} for video in case["videos"]]
    return out


def merge_reports(reports: list[dict[str, Any]], missing_as_zero: bool = False) -> dict[str, Any]:
    """Merge ``--vbench-json`` reports of shards of one run (same suite) into one report."""
    if not reports:
        raise ValueError("nothing to merge")
    suites = {r["suite"]["sha256"] for r in reports}
    if len(suites) > 1:
        raise ValueError("the reports come from different prompt suites (sha256 differ); they cannot be merged")
    dims = [n for n in DIMENSIONS if any(n in r["dimensions_selected"] for r in reports)]
    from .shard import merge_expected

    merged = Results(dims, reports[0]["suite"], reports[0].get("samples_per_prompt", 5))
    whole = merge_expected(reports)  # shards of one run: the whole run's expected counts
    for r in reports:
        for name, d in r["dimensions"].items():
            merged.expected[name] = (whole.get(name, 0) if whole is not None
                                     else max(merged.expected.get(name, 0), d["prompts"]["expected"]))
        timing = r.get("runtime", {}).get("timing", {})
        for case in r["cases"]:
            merged.add(case)
        for name, t in timing.items():  # keep shard timings per dimension (spread over its cases)
            cases = [c for c in r["cases"] if c["dimension"] == name]
            for c in cases:
                merged.seconds[(name, c["prompt"])] = t["seconds"] / len(cases)
        merged.devices.update(r.get("runtime", {}).get("devices", []))
    out = merged.summary(missing_as_zero=missing_as_zero)
    # a shard that was interrupted or crashed stays so in the merge (deselection is what shards are made of)
    kept = [r for rep in reports for r in rep.get("incompleteness") or [] if r.get("kind") in ("interrupted", "crashed")]
    if kept:
        out["incompleteness"] = kept + out["incompleteness"]
        out["incomplete_reasons"] = [r["text"] for r in out["incompleteness"]]
        out["complete"] = False
    out["runtime"]["merged_from"] = len(reports)
    out["runtime"]["store_hits"] = sum(int(r.get("runtime", {}).get("store_hits", 0)) for r in reports)
    return out


def raw_scores(report: dict[str, Any]) -> dict[str, float]:
    """Raw dimension scores of a report dict that have a value."""
    return {n: d["raw"] for n, d in report["dimensions"].items() if d["raw"] is not None}


class OutputError(OSError):
    """An output file could not be written (full disk, permissions); nothing partial was left behind."""


def finite_json(value: Any) -> Any:
    """``value`` with every NaN/inf float replaced by None, so that strict JSON writers never crash on it."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: finite_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite_json(v) for v in value]
    return value


def render_json(report: dict[str, Any], indent: int = 2) -> str:
    """Strict JSON text of a report (non-finite numbers become null; never raises on them)."""
    return json.dumps(finite_json(report), indent=indent, ensure_ascii=False, allow_nan=False) + "\n"


class Output:
    """One output file: its path, its text, and whether the text is appended (Markdown step summary)."""

    def __init__(self, path: str | os.PathLike[str], text: str, append: bool = False):
        self.path = Path(path)
        self.data = text.encode("utf-8")
        self.append = append


def _oserror(path: Path, exc: OSError) -> OutputError:
    return OutputError(exc.errno, f"cannot write {path}: {exc.strerror or exc}"
                                  + ("; the disk is full" if exc.errno == errno.ENOSPC else ""))


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _append_block(path: Path, data: bytes) -> None:
    """Append ``data`` in one write; on failure cut the file back to its old size (complete or absent)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        size = os.fstat(fd).st_size
        try:
            _write_all(fd, data)
        except OSError:
            try:
                os.ftruncate(fd, size)
            except OSError:
                pass
            raise
    finally:
        os.close(fd)


def write_outputs(outputs: list[Output]) -> list[Path]:
    """Write every output, or none: whole files go to a temporary name first and are renamed into place
    only when every file (and the appended block) was written. Raises :class:`OutputError` (one line)."""
    staged: list[tuple[Path, Path]] = []
    current = outputs[0].path if outputs else Path(".")
    try:
        for out in outputs:
            if out.append:
                continue
            current = out.path
            out.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = out.path.with_name(f".{out.path.name}.{os.getpid()}.part")
            staged.append((tmp, out.path))
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            try:
                _write_all(fd, out.data)
            finally:
                os.close(fd)
        for out in outputs:
            if out.append:
                current = out.path
                _append_block(out.path, out.data)
        for tmp, final in staged:
            current = final
            os.replace(tmp, final)
    except OSError as exc:
        for tmp, _ in staged:
            try:
                tmp.unlink()
            except OSError:
                pass
        raise _oserror(current, exc) from None
    return [out.path for out in outputs]


def write_json(report: dict[str, Any], path: str | os.PathLike[str]) -> Path:
    """Write our JSON report atomically (non-finite numbers as null)."""
    return write_outputs([Output(path, render_json(report))])[0]


def official_results(report: dict[str, Any]) -> dict[str, Any]:
    """``{dimension: [score, [record, ...]]}`` as ``<name>_eval_results.json`` of vbench 0.1.5."""
    out = {}
    for name, d in report["dimensions"].items():
        if d["raw"] is None or d.get("group") not in GROUPS:  # extra dimensions are not VBench's
            continue
        records = [{"video_path": r["path"], **r["record"]} for r in d["results"] if r["record"] is not None]
        out[name] = [d["raw"], records]
    return out


def official_path(report: dict[str, Any], directory: str | os.PathLike[str], name: str | None = None) -> Path:
    """``<dir>/<name>_eval_results.json``, or ``<name>_eval_results.partial.json`` for an incomplete run
    (colon-free: CI artifact stores refuse ``:``)."""
    name = name or "results_" + time.strftime("%Y-%m-%d-%H%M%S")
    partial = ".partial" if report.get("complete") is False else ""
    return Path(directory) / f"{name}_eval_results{partial}.json"


def official_text(report: dict[str, Any]) -> str:
    """The official file's text (strict JSON)."""
    return json.dumps(finite_json(official_results(report)), indent=4, ensure_ascii=False, allow_nan=False)


def write_official(report: dict[str, Any], directory: str | os.PathLike[str], name: str | None = None) -> Path:
    """Write the official results file atomically (readable by the official ``cal_final_score.py``)."""
    path = official_path(report, directory, name)
    return write_outputs([Output(path, official_text(report))])[0]


def _pct(v: float | None) -> str:
    return "-" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v * 100:.2f}%"


def table_rows(report: dict[str, Any]) -> list[list[str]]:
    """Rows of the per-dimension table: name, group, raw, normalised, prompts, videos, s/video."""
    rows = []
    for name, d in report["dimensions"].items():
        p, v = d["prompts"], d["videos"]
        t = report["runtime"]["timing"].get(name, {}).get("seconds_per_video")
        extras = [f"{v[k]} {k}" for k in ("missing", "failed") if v[k]]
        videos = f"{v['scored']}" + (f" ({', '.join(extras)})" if extras else "")
        prompts = f"{p['scored']}/{p['expected']}" + (f" ({p['failed']} failed)" if p["failed"] else "")
        rows.append([name, d["group"], _pct(d["raw"]), _pct(d["normalised"]), prompts, videos,  # both in percent
                     "-" if t is None else f"{t:.3f}"])
    return rows


HEADER = ["dimension", "group", "raw", "normalised", "prompts ok", "videos", "s/video"]


def group_lines(report: dict[str, Any]) -> list[tuple[str, str]]:
    """(label, value text) for Quality, Semantic and Total."""
    out = []
    for g in (*GROUPS, "total"):
        s = report["scores"][g]
        text = _pct(s["value"])
        missing = (", ".join(s["missing"]) if len(s["missing"]) <= 4
                   else f"{len(s['missing'])} dimensions")
        if s["partial"] and s["value"] is not None:
            text += f"  PARTIAL: over the present dimensions only, missing {missing}"
        elif s["partial"]:
            text += f"  (missing {missing})"
        if report.get("missing_as_zero"):
            text += "  (missing dimensions counted as raw 0, as the official script)"
        out.append((g.capitalize(), text))
    return out


EXTRA_NOTE = "Extra     {} (beyond VBench 1.0): reported only, not part of Quality, Semantic or Total"


def extra_dimensions(report: dict[str, Any]) -> list[str]:
    """Selected dimensions outside the official groups (e.g. vqa_score)."""
    return [n for n, d in report["dimensions"].items() if d.get("group") not in GROUPS]


FAKE_NOTE = ("FAKE CHECKPOINTS: made with seeded random weights (`pytest-vbench fake-cache`); these scores are "
             "meaningless, a dry run of the CI wiring")


def fake_note(report: dict[str, object]) -> list[str]:
    """One warning line when the report was made with a fake cache (identity.fake_checkpoints), else none."""
    identity = report.get("identity")
    return [FAKE_NOTE] if isinstance(identity, dict) and identity.get("fake_checkpoints") else []


def format_table(report: dict[str, Any]) -> list[str]:
    """The terminal summary as lines."""
    rows = table_rows(report)
    widths = [max(len(HEADER[i]), *(len(r[i]) for r in rows)) if rows else len(HEADER[i]) for i in range(len(HEADER))]
    fmt = "  ".join(f"{{:{'<' if i < 2 else '>'}{w}}}" for i, w in enumerate(widths))
    lines = fake_note(report) + [fmt.format(*HEADER), fmt.format(*("-" * w for w in widths))]
    lines += [fmt.format(*r) for r in rows]
    lines.append("")
    lines += [f"{label:<9} {value}" for label, value in group_lines(report)]
    if extra_dimensions(report):
        lines.append(EXTRA_NOTE.format(", ".join(extra_dimensions(report))))
    if report["dimensions_not_implemented"]:
        lines.append(f"not implemented in this version: {', '.join(report['dimensions_not_implemented'])}")
    lines += completeness_lines(report)
    return lines


def completeness_lines(report: dict[str, Any]) -> list[str]:
    """``INCOMPLETE RUN`` and one line per reason, plus what each partial score covers (empty when complete)."""
    if report.get("complete", True):
        return []
    lines = ["INCOMPLETE RUN: the scores cover only the prompts that ran"]
    lines += [f"  - {reason}" for reason in report.get("incomplete_reasons", [])]
    covers = [f"{n} {d['covers']}" for n, d in report["dimensions"].items() if d.get("covers")]
    if covers:
        lines.append(f"  scores cover: {'; '.join(covers)}")
    return lines


def markdown(report: dict[str, Any], verdict: dict[str, Any] | None = None) -> str:
    """A GitHub-flavoured Markdown summary (fits ``$GITHUB_STEP_SUMMARY``)."""
    out = ["## VBench results", ""] + [f"> **{line}**\n" for line in fake_note(report)]
    if verdict is not None:
        out += [f"**Verdict: {'PASS' if verdict['passed'] else 'FAIL'}**", ""]
        out += [f"- {line}" for line in verdict["failures"]]
        if verdict["failures"]:
            out.append("")
    done = completeness_lines(report)
    if done:
        out += [f"**{done[0]}**", ""] + [f"- {line.strip().removeprefix('- ')}" for line in done[1:]] + [""]
    out += ["| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    out += ["| " + " | ".join(r) + " |" for r in table_rows(report)]
    out.append("")
    out += [f"- **{label}**: {value}" for label, value in group_lines(report)]
    if extra_dimensions(report):
        out.append(f"- **Extra**: {', '.join(extra_dimensions(report))} (beyond VBench 1.0): reported only, "
                   f"not part of Quality, Semantic or Total")
    suite = report["suite"]
    out += ["", f"Suite: `{suite['source']}` (sha256 `{suite['sha256'][:12]}…`, {suite['mode']} mode)"]
    return "\n".join(out) + "\n"


def _nearest_existing(path: Path) -> Path:
    p = path
    while not p.exists() and p != p.parent:
        p = p.parent
    return p


def check_outputs(outputs: list[tuple[str, str | os.PathLike[str], str]]) -> list[str]:
    """Problems with the output locations, found before any item runs: ``(option, path, "file"|"dir")``.

    The same path given to two outputs, a directory given where a file goes (or a file where a
    directory goes), and a location that cannot be created or written are each one line.
    """
    problems: list[str] = []
    seen: dict[Path, str] = {}
    for option, raw, kind in outputs:
        path = Path(os.path.abspath(os.path.expanduser(str(raw))))
        if path in seen:
            problems.append(f"{option} and {seen[path]} both write {path}; give each output its own path")
            continue
        seen[path] = option
        if kind == "file" and path.is_dir():
            problems.append(f"{option} {path} is a directory; give a file name (e.g. {path / 'vbench.json'})")
            continue
        if kind == "dir" and path.exists() and not path.is_dir():
            problems.append(f"{option} {path} is a file; give a directory")
            continue
        base = path if kind == "dir" and path.is_dir() else path.parent
        existing = _nearest_existing(base)
        if not existing.is_dir():
            problems.append(f"{option} {path}: {existing} is not a directory, so the output cannot be created")
        elif not os.access(existing, os.W_OK | os.X_OK):
            problems.append(f"{option} {path}: {existing} is not writable")
        elif kind == "file" and path.exists() and not os.access(path, os.W_OK):
            problems.append(f"{option} {path} is not writable")
    return problems
