"""Pictures of a report and its baseline comparison, and the self-contained HTML page (``--vbench-html``).

Needs the ``plots`` extra (matplotlib). Figures are drawn with matplotlib's object API on the Agg
canvas (no pyplot, no global backend switch) and embedded in the page as base64 PNG, so the page
is one file that can be uploaded as a CI artifact.
"""

from __future__ import annotations

import base64
import html
import io
import math
import os
from pathlib import Path

from .dimensions import DIMENSIONS, GROUPS

STATUS_COLOURS = {"regressed": "#c0392b", "within tolerance": "#e67e22", "improved": "#27ae60",
                  "no significant change": "#7f8c8d"}


def require_matplotlib() -> None:
    """Raise ImportError with the install hint when matplotlib is missing."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise ImportError("the HTML report needs matplotlib: pip install 'pytest-vbench[plots]'") from None


def _figure(width: float, height: float):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=100)
    FigureCanvasAgg(fig)
    return fig


def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", bbox_inches="tight", metadata={"Software": None})
    return buf.getvalue()


def _unit_score(name: str, raw: float | None) -> float:
    """The dimension's normalised score without its weight, in percent (0 = Min, 100 = Max)."""
    if raw is None:
        return math.nan
    d = DIMENSIONS[name]
    return 100 * (raw - d.min) / (d.max - d.min)


def radar(report: dict, baseline: dict | None = None) -> bytes:
    """PNG: the 16 dimensions' normalised scores (current, and baseline when given) on a radar."""
    import numpy as np

    names = [n for n, d in DIMENSIONS.items() if d.group in GROUPS]  # VBench's 16 (no extra dimensions)
    angles = np.linspace(0, 2 * np.pi, len(names), endpoint=False)
    fig = _figure(7.5, 7.5)
    ax = fig.add_subplot(projection="polar")
    series = [("current", report, "#2471a3")]
    if baseline is not None:
        series.insert(0, ("baseline", baseline, "#aab7b8"))
    for label, rep, colour in series:
        values = np.array([_unit_score(n, (rep["dimensions"].get(n) or {}).get("raw")) for n in names])
        closed_a, closed_v = np.append(angles, angles[0]), np.append(values, values[0])
        ax.plot(closed_a, closed_v, color=colour, linewidth=2, label=label, marker="o", markersize=3)
        ax.fill(closed_a, np.nan_to_num(closed_v), color=colour, alpha=0.12)
    ax.set_xticks(angles)
    ax.set_xticklabels([n.replace("_", "\n") for n in names], fontsize=7)
    ax.set_ylim(0, 100)
    ax.set_yticks([25, 50, 75, 100])
    ax.set_rlabel_position(180 / len(names))  # between two dimension axes
    ax.tick_params(axis="y", labelsize=7)
    ax.set_title("normalised dimension scores, % of the (Min, Max) range", fontsize=10, pad=20)
    ax.legend(loc="upper right", bbox_to_anchor=(1.15, 1.1), fontsize=8)
    return _png(fig)


def delta_bars(comparison) -> bytes:
    """PNG: each name's delta against the baseline with its confidence interval, coloured by status."""
    names = comparison.names
    fig = _figure(8, 0.38 * len(names) + 1.3)
    ax = fig.add_subplot()
    y = list(range(len(names)))[::-1]
    deltas = [n.delta for n in names]
    colours = [STATUS_COLOURS.get(n.status, "#7f8c8d") for n in names]
    ax.barh(y, deltas, color=colours, alpha=0.8, height=0.6)
    lows = [max(0.0, n.delta - n.low) if math.isfinite(n.low) else 0.0 for n in names]
    highs = [max(0.0, n.high - n.delta) if math.isfinite(n.high) else 0.0 for n in names]
    ax.errorbar(deltas, y, xerr=[lows, highs], fmt="none", ecolor="black", capsize=3, linewidth=1)
    for yi, n in zip(y, names):
        if n.tolerance:
            ax.plot([-n.tolerance, -n.tolerance], [yi - 0.35, yi + 0.35], color="#c0392b", linewidth=1, linestyle=":")
    ax.axvline(0, color="black", linewidth=0.8)
    right = max([0.0, *_finite_highs(names)])
    for yi, n in zip(y, names):  # the numbers, at the right edge
        ax.annotate(f"{n.delta:+.2f} [{n.low:+.2f}, {n.high:+.2f}]", (1.01, yi), xycoords=("axes fraction", "data"),
                    va="center", fontsize=7, color=STATUS_COLOURS.get(n.status, "#7f8c8d"))
    ax.set_xlim(right=right * 1.05 + 0.05)
    ax.set_yticks(y)
    ax.set_yticklabels([n.name for n in names], fontsize=8)
    ax.set_xlabel(f"current - baseline (points), bars: {comparison.confidence * 100:g}% interval; "
                  f"dotted: allowed drop", fontsize=8)
    ax.grid(axis="x", alpha=0.3)
    return _png(fig)


def _finite_highs(names) -> list[float]:
    """Upper interval bounds that are finite (for the axis limit)."""
    return [n.high for n in names if math.isfinite(n.high)]


def drop_bars(comparison) -> bytes | None:
    """PNG: the (dimension, prompt) cases with the largest drops (None when no case dropped)."""
    rows = comparison.largest_drops
    if not rows:
        return None
    fig = _figure(9, 0.38 * len(rows) + 1.2)
    ax = fig.add_subplot()
    y = list(range(len(rows)))[::-1]
    ax.barh(y, [r["delta"] for r in rows], color="#c0392b", alpha=0.75, height=0.6)
    labels = [f"{r['dimension']}: {r['prompt'][:60]}{'…' if len(r['prompt']) > 60 else ''}" for r in rows]
    for yi, r in zip(y, rows):
        ax.annotate(f"{r['delta']:+.2f} ({r['baseline']:.1f} -> {r['current']:.1f})", (1.01, yi),
                    xycoords=("axes fraction", "data"), va="center", fontsize=7)
    ax.set_yticks(y)
    ax.set_yticklabels(labels, fontsize=7)
    ax.axvline(0, color="black", linewidth=0.8)
    ax.set_xlabel("per-prompt change of the dimension score (points, mean over the prompt's videos); "
                  "worst prompts of the dimensions that dropped most", fontsize=8)
    ax.grid(axis="x", alpha=0.3)
    return _png(fig)


def _img(png: bytes, alt: str) -> str:
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{base64.b64encode(png).decode()}">'


def _table(header: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


CSS = """body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:1em 0;font-size:.9em}td,th{border:1px solid #ccc;padding:.25em .6em}
td:not(:first-child){text-align:right}th{background:#f3f3f3}.pass{color:#1e8449}.fail{color:#c0392b}
img{max-width:100%;display:block;margin:1em 0}code{background:#f3f3f3;padding:0 .2em}"""


def render_html(report: dict, baseline: dict | None = None, comparison=None) -> str:
    """One self-contained HTML page: verdict, score table, comparison table and the plots."""
    from .report import HEADER, completeness_lines, fake_note, group_lines, table_rows

    verdict = report.get("verdict")
    parts = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
             "<title>VBench results</title>", f"<style>{CSS}</style></head><body>", "<h1>VBench results</h1>"]
    parts += [f'<h2 class="fail">{html.escape(line)}</h2>' for line in fake_note(report)]
    if verdict is not None:
        ok = verdict["passed"]
        parts.append(f'<h2 class="{"pass" if ok else "fail"}">Verdict: {"PASS" if ok else "FAIL"}</h2>')
        if verdict["failures"]:
            parts.append("<ul>" + "".join(f"<li>{html.escape(f)}</li>" for f in verdict["failures"]) + "</ul>")
    done = completeness_lines(report)  # an incomplete run says so here as in the terminal and Markdown
    if done:
        parts.append(f'<h2 class="fail">{html.escape(done[0])}</h2><ul>'
                     + "".join(f"<li>{html.escape(line.strip().removeprefix('- '))}</li>" for line in done[1:])
                     + "</ul>")
    parts.append("<ul>" + "".join(f"<li><b>{html.escape(label)}</b>: {html.escape(value)}</li>"
                                  for label, value in group_lines(report)) + "</ul>")
    parts.append(_table(HEADER, table_rows(report)))
    if comparison is not None:
        pct = f"{comparison.confidence * 100:g}% CI"
        parts.append(f"<h2>Compared with the baseline</h2><p>{comparison.prompts_paired} paired prompts, "
                     f"{comparison.resamples} bootstrap resamples (seed {comparison.seed}); a name regresses when "
                     f"its drop is significant (Holm-adjusted one-sided p &lt; {comparison.alpha:g}) and larger "
                     f"than its allowed drop.</p>")
        parts.append(_table(["name", "baseline", "current", "delta", pct, "p (adj.)", "max drop", "status"],
                            [[n.name, f"{n.baseline:.2f}", f"{n.current:.2f}", f"{n.delta:+.2f}",
                              f"[{n.low:+.2f}, {n.high:+.2f}]", f"{n.p_drop_adjusted:.4f}", f"{n.tolerance:g}",
                              n.status] for n in comparison.names]))
        if comparison.notes():
            parts.append("<ul>" + "".join(f"<li>{html.escape(x)}</li>" for x in comparison.notes()) + "</ul>")
        parts.append(_img(delta_bars(comparison), "delta per name with its interval"))
        drops = drop_bars(comparison)
        if drops is not None:
            parts.append("<h3>Prompts with the largest drops</h3>")
            parts.append(_table(["dimension", "prompt", "baseline", "current", "delta"],
                                [[r["dimension"], r["prompt"], f"{r['baseline']:.2f}", f"{r['current']:.2f}",
                                  f"{r['delta']:+.2f}"] for r in comparison.largest_drops]))
            parts.append(_img(drops, "prompts with the largest drops"))
    parts.append(_img(radar(report, baseline), "radar of the normalised dimension scores"))
    suite = report["suite"]
    parts.append(f"<p>Suite <code>{html.escape(str(suite.get('source')))}</code> (sha256 "
                 f"<code>{html.escape(str(suite.get('sha256'))[:12])}</code>)</p></body></html>")
    return "\n".join(parts) + "\n"


def write_html(report: dict, path: str | os.PathLike, baseline: dict | None = None, comparison=None) -> Path:
    """Write the HTML page atomically; returns its path."""
    from .report import Output, write_outputs

    return write_outputs([Output(Path(path), render_html(report, baseline, comparison))])[0]
