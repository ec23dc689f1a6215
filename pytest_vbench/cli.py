"""The ``pytest-vbench`` command: ``list`` the dimensions and checkpoints, ``merge`` and ``gate`` reports.

Subcommands register in :data:`COMMANDS` (name -> (help, add_arguments, run)); each ``run`` returns
an exit status.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any


def _add_list(p: argparse.ArgumentParser) -> None:
    p.add_argument("--cache-dir", help="checkpoint cache (default $VBENCH_CACHE_DIR or ~/.cache/vbench)")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")


def _cache_dir(arg: str | None) -> Path:
    import os

    from .runtime import default_cache_dir

    return Path(os.path.expandvars(os.path.expanduser(arg))) if arg else default_cache_dir()


def run_list(args: argparse.Namespace) -> int:
    """Print every dimension and, per checkpoint file: state, pinned (lock/published) or unpinned, verified, size.

    Digests are computed once per file state and remembered in the cache manifest (see weights.check).
    """
    from . import weights
    from .dimensions import DIMENSIONS

    cache = _cache_dir(args.cache_dir)
    dims: list[dict[str, Any]] = []
    for d in DIMENSIONS.values():
        ckpts = [c.path for c in weights.for_dimensions([d.name])] or (
            ["vqa_model/<--vbench-vqa-model>/ (a Hugging Face snapshot)"] if "vqa" in d.families else [])
        dims.append({"name": d.name, "group": d.group, "implemented": d.implemented, "unit": d.unit,
                     "folder": d.folder, "custom_mode": d.custom_mode, "checkpoints": ckpts})
    try:
        lock_path = weights.find_lock()
        lock = weights.read_lock(lock_path) if lock_path else {}
    except weights.LockFileError as exc:
        print(f"pytest-vbench list: {exc}", file=sys.stderr)
        return 2
    files: list[dict[str, Any]] = []
    for c in [*weights.CHECKPOINTS, *_vqa_rows(cache)]:
        st = weights.check(c, cache, lock=lock)
        p = st.path
        files.append({"path": c.path, "location": str(p), "state": st.state, "size": st.size,
                      "pinned": st.source or _pin_source(c, lock), "verified": st.state == "verified",
                      "detail": st.detail, "dimensions": weights.dims_needing(c)})
    if args.json:
        print(json.dumps({"cache_dir": str(cache), "lock_file": str(lock_path) if lock_path else None,
                          "dimensions": dims, "checkpoints": files}, indent=2))
        return 0
    print(f"{'dimension':<24}{'group':<10}{'implemented':<13}{'custom':<8}checkpoints")
    for row in dims:
        print(f"{row['name']:<24}{row['group']:<10}{'yes' if row['implemented'] else 'no':<13}"
              f"{'yes' if row['custom_mode'] else 'no':<8}{', '.join(row['checkpoints']) or '-'}")
    print(f"\ncheckpoints in {cache}" + (f" (lock file {lock_path})" if lock_path else "") + ":")
    print(f"  {'state':<10} {'digest':<12} {'verified':<9} {'size':>10}  path")
    for f in files:
        size = "" if f["size"] is None else f"{f['size'] / 1e6:,.1f} MB"
        print(f"  {f['state']:<10} {f['pinned']:<12} {'yes' if f['verified'] else 'no':<9} {size:>10}  {f['path']}")
    return 0


def _add_download(p: argparse.ArgumentParser) -> None:
    p.add_argument("--dims", help="comma-separated dimensions (default: every dimension)")
    p.add_argument("--cache-dir", help="checkpoint cache (default $VBENCH_CACHE_DIR or ~/.cache/vbench)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.add_argument("--allow-http", action="store_true",
                   help="accept plain-http URLs (a mirror on your own network via HF_ENDPOINT); never a "
                        "redirect from https to http")
    p.add_argument("--verify", action="store_true", help="hash files already present again (normally once per "
                                                         "file state)")
    p.add_argument("--vqa-model", metavar="NAME", help="vqa_score: the model snapshot to fetch into "
                   "<cache>/vqa_model/NAME/ (default qwen2.5-vl-7b; only with --dims naming vqa_score)")


def run_download(args: argparse.Namespace) -> int:
    """Fetch the checkpoints the selected dimensions need; one line per file; exit 1 if any failed."""
    from . import download, weights
    from .dimensions import DIMENSIONS, UnknownDimension, parse_list

    try:
        dims = [d.name for d in parse_list(args.dims)] if args.dims else list(DIMENSIONS)
    except UnknownDimension as exc:
        print(f"pytest-vbench download: {exc}", file=sys.stderr)
        return 2
    cache = _cache_dir(args.cache_dir)
    vqa_model = _vqa_model(args, dims)
    if vqa_model is None:
        return 2
    try:
        outcomes = download.download(dims, cache, progress=not args.quiet, allow_http=args.allow_http,
                                     lock=weights.find_lock(), verify_hash=args.verify)
        if vqa_model:  # vqa_score's snapshot: the fixed files, then the shards its index names
            from .models.vqa import snapshots

            lock_path = weights.find_lock()
            outcomes += snapshots.download(vqa_model, cache, download.ensure, progress=not args.quiet,
                                           allow_http=args.allow_http, verify_hash=args.verify,
                                           lock=weights.read_lock(lock_path) if lock_path else {})
    except (weights.LockFileError, download.DownloadError) as exc:
        print(f"pytest-vbench download: {exc}", file=sys.stderr)
        return 2
    for path, outcome in outcomes:
        print(f"{outcome:<11} {path}" if not outcome.startswith("FAILED") else f"FAILED     {path}: {outcome[8:]}")
    failed = [p for p, o in outcomes if o.startswith("FAILED")]
    print(f"cache {cache}: {len(outcomes) - len(failed)} ok, {len(failed)} failed"
          + (f" ({', '.join(failed)})" if failed else ""))
    return 1 if failed else 0


def _pin_source(c: Any, lock: dict[str, Any]) -> str:
    """Where a file's expected digest comes from, also when the file is missing (check() says so only for a
    present file)."""
    return "lock" if c.path in lock else "published" if c.pinned else "name prefix" if c.sha256_prefix else "unpinned"


def _vqa_model(args: argparse.Namespace, dims: list[str]) -> str | None:
    """The VQA snapshot to fetch ("" for none; None after printing a usage error).

    Only when ``--dims`` names vqa_score: a bare ``download`` fetches the VBench 1.0 checkpoints, never
    a 16 GB video-language model nobody asked for.
    """
    from .models.vqa import VQAOptions

    named = bool(args.dims) and "vqa_score" in dims
    if args.vqa_model and not named:
        print("pytest-vbench download: --vqa-model needs --dims naming vqa_score", file=sys.stderr)
        return None
    if not named:
        return ""
    try:
        return VQAOptions.parse(args.vqa_model).model
    except ValueError as exc:
        print(f"pytest-vbench download: --vqa-model: {exc}", file=sys.stderr)
        return None


def _vqa_rows(cache: Path, model: str | None = None) -> list[Any]:
    """Checkpoint rows of the VQA snapshots: ``model``'s, or the default model's and every folder's in the cache."""
    from .models.vqa import DEFAULT_MODEL, snapshots

    names = [model] if model else sorted({DEFAULT_MODEL, *snapshots.present_models(cache)})
    return [r for n in names for r in snapshots.rows(n, cache)]


def _add_gate_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("gate (the same rules as pytest's --vbench-* options)")
    g.add_argument("--config", metavar="YAML", help="gate config: fail_under, baseline, max_drop, max_regression, "
                   "confidence, resamples")
    g.add_argument("--fail-under", metavar="NAME=PCT", action="append", default=[], help="threshold; repeatable")
    g.add_argument("--baseline", metavar="JSON", help="baseline report (overrides the config's baseline)")
    g.add_argument("--max-drop", metavar="[NAME=]POINTS", action="append", default=[],
                   help="allowed drop against the baseline; repeatable")
    g.add_argument("--max-regression", metavar="POINTS", help="allowed drop for every name (= --max-drop POINTS)")
    g.add_argument("--confidence", metavar="LEVEL", help="confidence of the intervals (default 0.95)")
    g.add_argument("--resamples", metavar="N", help="bootstrap resamples (default 100000)")
    g.add_argument("--baseline-force", action="store_true", help="compare with a baseline that differs")
    g.add_argument("--html", metavar="PATH", help="write the self-contained HTML report (plots extra)")
    g.add_argument("--allow-partial", action="store_true",
                   help="let the gate pass an incomplete report (deselected or not-run items; never an "
                        "interrupted or crashed run), as --vbench-allow-partial")


def _gate_requested(args: argparse.Namespace) -> bool:
    return bool(args.config or args.fail_under or args.baseline)


def _gate(report: dict, args: argparse.Namespace, prog: str) -> tuple[int, dict | None]:
    """Evaluate thresholds and the baseline on a report dict; print the lines; (exit status, verdict)."""
    from . import compare, gate, results
    from .compare import format_table

    try:
        thresholds, extra = gate.load_config(args.config) if args.config else ([], {})
        thresholds += [gate.parse_threshold(spec, "--fail-under") for spec in args.fail_under]
        settings = compare.Settings.build(extra, args.max_drop, args.max_regression, args.confidence,
                                          args.resamples, args.baseline_force)
        baseline_path = args.baseline or extra.get("baseline")
        baseline = compare.load_report(baseline_path) if baseline_path else None
        if args.html:
            from .plots import require_matplotlib

            require_matplotlib()
        verdict, comparison = compare.verdict(report, thresholds, baseline, settings, baseline_path)
        # the same partial-run rule as the plugin: an incomplete report never passes unless allowed
        completeness = results.from_report(report, allow_partial=args.allow_partial)
        results.to_report(report, completeness)
        results.decide(verdict, completeness)
    except (gate.GateError, ImportError) as exc:
        print(f"pytest-vbench {prog}: {exc}", file=sys.stderr)
        return 2, None
    if comparison is not None:
        report["comparison"] = comparison.to_json()
        for line in format_table(comparison):
            print(line)
    from .report import completeness_lines

    for line in completeness_lines(report):
        print(line)
    report["verdict"] = verdict
    if args.html:
        from .plots import write_html

        print(f"wrote {write_html(report, args.html, baseline, comparison)}")
    for line in verdict["failures"]:
        print(line)
    if not verdict["failures"]:
        print(f"vbench gate passed ({len(thresholds)} threshold(s){', baseline' if baseline else ''})")
    return (0 if verdict["passed"] else 1), verdict


def _add_gate(p: argparse.ArgumentParser) -> None:
    p.add_argument("report", help="a --vbench-json report")
    _add_gate_options(p)


def run_gate(args: argparse.Namespace) -> int:
    """Gate a saved report: print the FAIL lines; exit 1 on failure, 2 on a usage error."""
    from .compare import CompareError, load_report

    try:
        report = load_report(args.report, "report")
    except CompareError as exc:
        print(f"pytest-vbench gate: {exc}", file=sys.stderr)
        return 2
    report.pop("comparison", None)
    report.pop("verdict", None)
    return _gate(report, args, "gate")[0]


def _add_lock(p: argparse.ArgumentParser) -> None:
    p.add_argument("--cache-dir", help="checkpoint cache (default $VBENCH_CACHE_DIR or ~/.cache/vbench)")
    p.add_argument("--dims", help="comma-separated dimensions (default: every file present in the cache)")
    p.add_argument("--output", "-o", default=None,
                   help="lock file to write (default $VBENCH_CHECKPOINT_LOCK or ./vbench-checkpoints.lock)")
    p.add_argument("--accept-unofficial", action="store_true",
                   help="record files whose sha256 differs from the published one (your own fine-tunes)")
    p.add_argument("--vqa-model", metavar="NAME", help="vqa_score: record this snapshot's files (default: every "
                   "snapshot folder in <cache>/vqa_model/)")


def run_lock(args: argparse.Namespace) -> int:
    """Record size + sha256 of the cache's checkpoint files in a lock file that runs then verify against."""
    import os

    from . import weights
    from .dimensions import UnknownDimension, parse_list

    cache = _cache_dir(args.cache_dir)
    try:
        dims = [d.name for d in parse_list(args.dims)] if args.dims else None
    except UnknownDimension as exc:
        print(f"pytest-vbench lock: {exc}", file=sys.stderr)
        return 2
    rows = weights.for_dimensions(dims) if dims is not None else list(weights.CHECKPOINTS)
    required = {r.path for r in rows} if dims is not None else set()  # missing ones fail the command
    if dims is None or "vqa_score" in dims or args.vqa_model:  # the VQA snapshots' files
        from .models.vqa import DEFAULT_MODEL, snapshots

        names = [args.vqa_model] if args.vqa_model else snapshots.present_models(cache) or (
            [DEFAULT_MODEL] if dims else [])  # --dims vqa_score with no snapshot: its files are missing
        vqa_rows = [r for n in names for r in snapshots.lock_rows(n, cache)]
        rows += vqa_rows
        if args.vqa_model or dims is not None:  # the snapshot asked for must be complete
            required |= {r.path for r in vqa_rows}
    out = Path(args.output or os.environ.get(weights.LOCK_ENV) or weights.LOCK_FILE)
    try:
        entries = weights.read_lock(out) if out.is_file() else {}
    except weights.LockFileError as exc:
        print(f"pytest-vbench lock: {exc}", file=sys.stderr)
        return 2
    failed = 0
    for c in rows:
        path = weights.location(c, cache)
        if not path.is_file():
            if c.path in required:
                print(f"pytest-vbench lock: {path} is missing", file=sys.stderr)
                failed += 1
            continue
        try:
            weights.sniff(path)
        except weights.CorruptCheckpoint as exc:
            print(f"pytest-vbench lock: {exc}", file=sys.stderr)
            failed += 1
            continue
        digest, _ = weights.file_digest(c, cache, force=True)
        published = weights.published_mismatch(c, path, digest)
        differs = published is not None
        if differs and not args.accept_unofficial:
            print(f"pytest-vbench lock: {path} has sha256 {digest}, which differs from the published {published}: "
                  f"not recorded (--accept-unofficial records it)", file=sys.stderr)
            failed += 1
            continue
        entries[c.path] = weights.LockEntry(path.stat().st_size, digest, unofficial=differs)
        kind = "unofficial" if differs else "published" if c.pinned else "unpinned"
        print(f"{kind:<10} {digest[:16]}  {path.stat().st_size:>14,}  {c.path}")
    if failed:
        print(f"pytest-vbench lock: {failed} file(s) not recorded; {out} left unchanged", file=sys.stderr)
        return 1
    weights.write_lock(out, entries)
    print(f"wrote {out} ({len(entries)} files): commit it; runs started next to it (or with "
          f"${weights.LOCK_ENV}) verify every file against it")
    return 0


def _add_merge(p: argparse.ArgumentParser) -> None:
    p.add_argument("reports", nargs="+", help="--vbench-json reports of shards of one run")
    p.add_argument("-o", "--output", required=True, help="merged JSON report")
    p.add_argument("--missing-as-zero", action="store_true", help="official missing-dimension rule")
    _add_gate_options(p)


def run_merge(args: argparse.Namespace) -> int:
    """Merge shard reports of one run (disjoint cases, same suite and implementations); gate it if asked."""
    from .compare import CompareError, check_shards, load_report
    from .report import merge_reports, write_json

    try:
        shards = [load_report(p, "shard") for p in args.reports]
        identity = check_shards(shards, args.reports)
        merged = merge_reports(shards, missing_as_zero=args.missing_as_zero)
    except (CompareError, ValueError, KeyError) as exc:
        print(f"pytest-vbench merge: {exc}", file=sys.stderr)
        return 2
    if identity is not None:
        merged["identity"] = identity
    status = 0
    if _gate_requested(args):
        status, verdict = _gate(merged, args, "merge")
        if verdict is None:
            return status
    write_json(merged, args.output)
    print(f"wrote {args.output}")
    return status


def _add_fake_cache(p: argparse.ArgumentParser) -> None:
    p.add_argument("dir", help="the cache directory to write (then: --vbench-cache-dir DIR or VBENCH_CACHE_DIR=DIR)")
    p.add_argument("--dims", help="comma-separated dimensions (default: the 16 VBench 1.0 dimensions)")
    p.add_argument("--seed", type=int, default=0, help="seed of the random weights (default 0)")


def run_fake_cache(args: argparse.Namespace) -> int:
    """Write tiny seeded random checkpoints for a dry run of the CI wiring; the marker file makes every
    report made with this cache say FAKE."""
    import warnings

    from . import fake_checkpoints
    from .dimensions import DIMENSIONS, GROUPS, UnknownDimension, parse_list

    try:
        dims = [d.name for d in parse_list(args.dims)] if args.dims else \
            [n for n, d in DIMENSIONS.items() if d.group in GROUPS]
    except UnknownDimension as exc:
        print(f"pytest-vbench fake-cache: {exc}", file=sys.stderr)
        return 2
    cache = _cache_dir(args.dir)
    real = [c for c in _real_files(cache) if not fake_checkpoints.fake_marker(cache)]
    if real:
        print(f"pytest-vbench fake-cache: {cache} already holds checkpoints and no {fake_checkpoints.MARKER} "
              f"(e.g. {real[0]}): refusing to mix fake weights into a real cache; pick an empty directory",
              file=sys.stderr)
        return 2
    try:
        with warnings.catch_warnings():  # torch's TorchScript deprecation notes while writing the CLIP archives
            warnings.simplefilter("ignore", FutureWarning)
            written = fake_checkpoints.write_fake_cache(cache, dims, seed=args.seed)
    except (ValueError, ImportError) as exc:
        print(f"pytest-vbench fake-cache: {exc}", file=sys.stderr)
        return 2
    for path in written:
        print(f"fake  {path.relative_to(cache)}")
    print(f"wrote a FAKE cache in {cache} for {len(dims)} dimension(s); use it with --vbench-cache-dir {cache} "
          f"(every report made with it says FAKE CHECKPOINTS)")
    return 0


def _real_files(cache: Path) -> list[str]:
    from . import weights

    return [c.path for c in weights.CHECKPOINTS if weights.location(c, cache).is_file()]


def _package_version() -> str:
    from importlib import metadata

    try:
        return metadata.version("pytest-vbench")
    except metadata.PackageNotFoundError:  # a source tree on sys.path
        from . import __version__

        return __version__


COMMANDS = {
    "download": ("fetch the checkpoints of the selected dimensions into the cache", _add_download, run_download),
    "list": ("list dimensions, their checkpoints and the cache state", _add_list, run_list),
    "gate": ("evaluate thresholds and the baseline comparison on a saved --vbench-json report", _add_gate, run_gate),
    "lock": ("record size + sha256 of the cached checkpoints in a lock file that runs verify against",
             _add_lock, run_lock),
    "merge": ("merge --vbench-json reports of several shards (and gate the result)", _add_merge, run_merge),
    "fake-cache": ("write tiny seeded FAKE checkpoints for every model family (a dry run of CI wiring)",
                   _add_fake_cache, run_fake_cache),
    "static-filter": ("select static videos with RAFT like vbench's static_filter (JSON + filtered_videos/)",
                      lambda p: _static_filter().add_arguments(p), lambda a: _static_filter().run(a)),
}


def _static_filter():
    from . import static_filter

    return static_filter


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``pytest-vbench`` console script."""
    parser = argparse.ArgumentParser(prog="pytest-vbench", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"pytest-vbench {_package_version()}")
    sub = parser.add_subparsers(dest="command", required=True)
    for name, (help_, add, _) in COMMANDS.items():
        add(sub.add_parser(name, help=help_, description=help_))
    args = parser.parse_args(argv)
    return COMMANDS[args.command][2](args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
