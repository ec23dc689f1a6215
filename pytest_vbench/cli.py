"""The ``pytest-vbench`` command: ``list`` the dimensions and checkpoints, ``merge`` shard reports.

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
    """Print every dimension (group, implemented, checkpoints) and every checkpoint's state."""
    from . import weights
    from .dimensions import DIMENSIONS

    cache = _cache_dir(args.cache_dir)
    dims: list[dict[str, Any]] = []
    for d in DIMENSIONS.values():
        ckpts = [c.path for c in weights.for_dimensions([d.name])]
        dims.append({"name": d.name, "group": d.group, "implemented": d.implemented, "unit": d.unit,
                     "folder": d.folder, "custom_mode": d.custom_mode, "checkpoints": ckpts})
    files: list[dict[str, Any]] = []
    for c in weights.CHECKPOINTS:
        p = weights.location(c, cache)
        state = weights.state(c, cache)
        files.append({"path": str(p.relative_to(cache)) if p.is_relative_to(cache) else str(p), "state": state, "size": p.stat().st_size if p.is_file() else None,
                      "dimensions": weights.dims_needing(c)})
    if args.json:
        print(json.dumps({"cache_dir": str(cache), "dimensions": dims, "checkpoints": files}, indent=2))
        return 0
    print(f"{'dimension':<24}{'group':<10}{'implemented':<13}{'custom':<8}checkpoints")
    for row in dims:
        print(f"{row['name']:<24}{row['group']:<10}{'yes' if row['implemented'] else 'no':<13}"
              f"{'yes' if row['custom_mode'] else 'no':<8}{', '.join(row['checkpoints']) or '-'}")
    print(f"\ncheckpoints in {cache}:")
    for f in files:
        size = "" if f["size"] is None else f"{f['size'] / 1e6:,.1f} MB"
        print(f"  {f['state']:<8} {f['path']:<56} {size:>12}")
    return 0


def _add_download(p: argparse.ArgumentParser) -> None:
    p.add_argument("--dims", help="comma-separated dimensions (default: every dimension)")
    p.add_argument("--cache-dir", help="checkpoint cache (default $VBENCH_CACHE_DIR or ~/.cache/vbench)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")


def run_download(args: argparse.Namespace) -> int:
    """Fetch the checkpoints the selected dimensions need; exit 1 if any failed."""
    from . import download
    from .dimensions import DIMENSIONS, UnknownDimension, parse_list

    try:
        dims = [d.name for d in parse_list(args.dims)] if args.dims else list(DIMENSIONS)
    except UnknownDimension as exc:
        print(f"pytest-vbench download: {exc}", file=sys.stderr)
        return 2
    cache = _cache_dir(args.cache_dir)
    outcomes = download.download(dims, cache, progress=not args.quiet)
    for path, outcome in outcomes:
        print(f"{outcome:<11} {path}" if not outcome.startswith("FAILED") else f"{path}: {outcome}")
    failed = [p for p, o in outcomes if o.startswith("FAILED")]
    print(f"cache {cache}: {len(outcomes) - len(failed)} ok, {len(failed)} failed")
    return 1 if failed else 0


def _add_merge(p: argparse.ArgumentParser) -> None:
    p.add_argument("reports", nargs="+", help="--vbench-json reports of shards of one run")
    p.add_argument("-o", "--output", required=True, help="merged JSON report")
    p.add_argument("--missing-as-zero", action="store_true", help="official missing-dimension rule")


def run_merge(args: argparse.Namespace) -> int:
    """Merge shard reports (same suite) into one report with recomputed scores."""
    from .report import merge_reports, write_json

    try:
        merged = merge_reports([json.loads(Path(p).read_text(encoding="utf-8")) for p in args.reports],
                               missing_as_zero=args.missing_as_zero)
    except (OSError, ValueError, KeyError) as exc:
        print(f"pytest-vbench merge: {exc}", file=sys.stderr)
        return 2
    write_json(merged, args.output)
    print(f"wrote {args.output}")
    return 0


COMMANDS = {
    "download": ("fetch the checkpoints of the selected dimensions into the cache", _add_download, run_download),
    "list": ("list dimensions, their checkpoints and the cache state", _add_list, run_list),
    "merge": ("merge --vbench-json reports of several shards", _add_merge, run_merge),
    "static-filter": ("select static videos with RAFT like vbench's static_filter (JSON + filtered_videos/)",
                      lambda p: _static_filter().add_arguments(p), lambda a: _static_filter().run(a)),
}


def _static_filter():
    from . import static_filter

    return static_filter


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``pytest-vbench`` console script."""
    parser = argparse.ArgumentParser(prog="pytest-vbench", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for name, (help_, add, _) in COMMANDS.items():
        add(sub.add_parser(name, help=help_, description=help_))
    args = parser.parse_args(argv)
    return COMMANDS[args.command][2](args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
