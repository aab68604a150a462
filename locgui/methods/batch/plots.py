"""The plots of a batch evaluation as SVG files (no plotting package needed): per map,
cumulative translation and rotation error per method, recall at the standard thresholds and
median latency per stage. The workbench draws the same figures from summary.json."""

from __future__ import annotations

import html
import math
from pathlib import Path
from typing import Any

import numpy as np

from locgui.methods.batch.plan import Plan

PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2",
           "#17becf", "#7f7f7f", "#bcbd22")  # fmt: skip
WIDTH, HEIGHT = 640, 400
LEFT, RIGHT, TOP, BOTTOM = 64, 170, 36, 48


def cumulative(errors: list[float]) -> tuple[np.ndarray, np.ndarray]:
    """(sorted finite errors, fraction of *all* queries within each): the curve a failure
    never reaches."""
    e = np.asarray(errors, float)
    finite = np.sort(e[np.isfinite(e)])
    return finite, np.arange(1, len(finite) + 1) / max(len(e), 1)


def nice_ceiling(value: float) -> float:
    """The smallest of 1, 2, 4, 5, 8 x 10^k at or above ``value`` (ticks at quarters)."""
    exp = math.floor(math.log10(value))
    for step in (1, 2, 4, 5, 8, 10):
        if step * 10.0**exp >= value:
            return step * 10.0**exp
    return 10.0 ** (exp + 1)


def _svg(title: str, body: list[str]) -> str:
    head = (f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
            f'viewBox="0 0 {WIDTH} {HEIGHT}" font-family="sans-serif" font-size="12">'
            f'<rect width="100%" height="100%" fill="white"/>'
            f'<text x="{WIDTH / 2}" y="20" text-anchor="middle" font-size="14">'
            f"{html.escape(title)}</text>")  # fmt: skip
    return head + "".join(body) + "</svg>\n"


def _legend(labels: list[str]) -> list[str]:
    x = WIDTH - RIGHT + 12
    out = []
    for k, label in enumerate(labels):
        y = TOP + 14 + 18 * k
        out.append(f'<rect x="{x}" y="{y - 9}" width="12" height="10" '
                   f'fill="{PALETTE[k % len(PALETTE)]}"/>'
                   f'<text x="{x + 18}" y="{y}">{html.escape(label[:22])}</text>')  # fmt: skip
    return out


def _axes(xlabel: str, ylabel: str, xticks: list[tuple[float, str]],
          yticks: list[tuple[float, str]]) -> list[str]:  # fmt: skip
    x0, y0, x1, y1 = LEFT, HEIGHT - BOTTOM, WIDTH - RIGHT, TOP
    out = [f'<rect x="{x0}" y="{y1}" width="{x1 - x0}" height="{y0 - y1}" fill="none" '
           f'stroke="#444"/>']  # fmt: skip
    for px, text in xticks:
        out.append(f'<line x1="{px:.1f}" y1="{y0}" x2="{px:.1f}" y2="{y1}" stroke="#ddd"/>'
                   f'<text x="{px:.1f}" y="{y0 + 16}" text-anchor="middle">{text}</text>')
    for py, text in yticks:
        out.append(f'<line x1="{x0}" y1="{py:.1f}" x2="{x1}" y2="{py:.1f}" stroke="#ddd"/>'
                   f'<text x="{x0 - 6}" y="{py + 4:.1f}" text-anchor="end">{text}</text>')
    out.append(f'<text x="{(x0 + x1) / 2}" y="{HEIGHT - 10}" text-anchor="middle">'
               f"{html.escape(xlabel)}</text>")
    out.append(f'<text x="16" y="{(y0 + y1) / 2}" text-anchor="middle" '
               f'transform="rotate(-90 16 {(y0 + y1) / 2})">{html.escape(ylabel)}</text>')
    return out


def cumulative_svg(title: str, xlabel: str, series: list[tuple[str, list[float]]]) -> str:
    """Fraction of queries within an error (log x axis), one step curve per series."""
    curves = [(label, *cumulative(errors)) for label, errors in series]
    values = np.concatenate([c[1] for c in curves]) if curves else np.zeros(0)
    values = values[values > 0]
    lo = 10 ** math.floor(math.log10(values.min())) if len(values) else 1e-3
    hi = 10 ** math.ceil(math.log10(values.max())) if len(values) else 1.0
    hi = max(hi, lo * 10)
    x0, y0, x1, y1 = LEFT, HEIGHT - BOTTOM, WIDTH - RIGHT, TOP

    def px(v: float) -> float:
        v = min(max(v, lo), hi)
        return x0 + (x1 - x0) * (math.log10(v) - math.log10(lo)) / (math.log10(hi / lo))

    def py(f: float) -> float:
        return y0 - (y0 - y1) * f

    decades = range(int(round(math.log10(lo))), int(round(math.log10(hi))) + 1)
    body = _axes(xlabel, "fraction of queries", [(px(10.0**d), f"{10.0**d:g}") for d in decades],
                 [(py(f), f"{f:.2g}") for f in (0, 0.25, 0.5, 0.75, 1.0)])  # fmt: skip
    for k, (_, xs, fs) in enumerate(curves):
        pts = [(px(lo), py(0.0))]
        prev = 0.0
        for x, f in zip(xs, fs, strict=True):
            pts += [(px(x), py(prev)), (px(x), py(f))]
            prev = f
        pts.append((px(hi), py(prev)))
        path = " ".join(f"{a:.1f},{b:.1f}" for a, b in pts)
        body.append(f'<polyline points="{path}" fill="none" stroke-width="2" '
                    f'stroke="{PALETTE[k % len(PALETTE)]}"/>')  # fmt: skip
    body += _legend([label for label, *_ in curves])
    return _svg(title, body)


def bars_svg(title: str, ylabel: str, categories: list[str],
             series: list[tuple[str, list[float]]], stacked: bool = False,
             ymax: float | None = None) -> str:  # fmt: skip
    """Grouped (or stacked) bars: one group per category, one bar (segment) per series."""
    x0, y0, x1, y1 = LEFT, HEIGHT - BOTTOM, WIDTH - RIGHT, TOP
    totals = ([sum(v[c] for _, v in series) for c in range(len(categories))] if stacked
              else [v for _, vals in series for v in vals])  # fmt: skip
    top = ymax or nice_ceiling(max([t for t in totals if math.isfinite(t)] + [1e-9]) * 1.05)

    def py(v: float) -> float:
        return y0 - (y0 - y1) * min(max(v, 0.0), top) / top

    slot = (x1 - x0) / max(len(categories), 1)
    body = _axes("", ylabel, [(x0 + slot * (c + 0.5), html.escape(name[:18]))
                              for c, name in enumerate(categories)],
                 [(py(top * f), f"{top * f:g}") for f in (0, 0.25, 0.5, 0.75, 1.0)])  # fmt: skip
    n = max(len(series), 1)
    for c in range(len(categories)):
        base = 0.0
        for k, (_, vals) in enumerate(series):
            v = vals[c] if math.isfinite(vals[c]) else 0.0
            colour = PALETTE[k % len(PALETTE)]
            if stacked:
                x, w, lo_v, hi_v = x0 + slot * (c + 0.2), slot * 0.6, base, base + v
                base += v
            else:
                x, w, lo_v, hi_v = x0 + slot * (c + 0.1) + slot * 0.8 * k / n, slot * 0.8 / n, 0, v
            body.append(f'<rect x="{x:.1f}" y="{py(hi_v):.1f}" width="{w:.1f}" '
                        f'height="{py(lo_v) - py(hi_v):.1f}" fill="{colour}"/>')  # fmt: skip
    body += _legend([label for label, _ in series])
    return _svg(title, body)


def write_plots(folder: Path, plan: Plan, groups: list[Any],
                summaries: list[dict[str, Any]]) -> list[Path]:  # fmt: skip
    """Per map with ground truth: error_t, error_r, recall; per map: latency. SVG files.
    ``groups`` and ``summaries``: ``summary.group_reports`` and ``summary.summarize``."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for m in plan.maps:
        mine = [(s, rep, summ) for (mm, s, rep, group), summ in zip(groups, summaries, strict=True)
                if mm.label == m.label and group]  # fmt: skip
        if not mine:
            continue
        labels = [f"{s.method} ({s.label})" if len({x[0].label for x in mine}) > 1 else s.method
                  for s, _, _ in mine]  # fmt: skip
        files: dict[str, str] = {}
        if any(r.gt_cam_from_world is not None for r in m.refs):
            files["error_t"] = cumulative_svg(
                f"{m.label}: translation error", "error (% of the scene radius)",
                [(lab, list(100 * rep.errors()[0] / m.scene_radius))
                 for lab, (_, rep, _) in zip(labels, mine, strict=True)])  # fmt: skip
            files["error_r"] = cumulative_svg(
                f"{m.label}: rotation error", "error (degrees)",
                [(lab, list(rep.errors()[1]))
                 for lab, (_, rep, _) in zip(labels, mine, strict=True)])  # fmt: skip
            keys = list(mine[0][2]["metric"]["recall"])
            files["recall"] = bars_svg(
                f"{m.label}: recall", "recall (%)", keys,
                [(lab, [100 * summ["metric"]["recall"][k] for k in keys])
                 for lab, (_, _, summ) in zip(labels, mine, strict=True)], ymax=100)  # fmt: skip
        stages = sorted({k for _, _, summ in mine for k in summ.get("stage_latency_ms", {})})
        if stages:
            files["latency"] = bars_svg(
                f"{m.label}: median latency per stage", "ms", labels,
                [(st, [summ["stage_latency_ms"].get(st, {}).get("median", 0.0)
                       for _, _, summ in mine]) for st in stages], stacked=True)  # fmt: skip
        for name, text in files.items():
            path = folder / f"{m.label}_{name}.svg"
            tmp = path.with_name(path.name + ".tmp")
            tmp.write_text(text)
            tmp.replace(path)
            written.append(path)
    return written
