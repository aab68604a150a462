"""Summaries of a batch run per (map, method, preset): accuracy, recall, latency per stage;
written as summary.json, summary.csv and summary.md beside the results store, with plots."""

from __future__ import annotations

import csv
import json
import math
import os
from pathlib import Path
from typing import Any

from locgui.methods.batch.plan import MapPlan, Plan, Settings
from locgui.methods.localize.evaluation import EvalReport, EvalRow

SUMMARY_NAME = "summary.json"


Group = tuple[MapPlan, Settings, EvalReport, list[dict[str, Any]]]


def group_reports(plan: Plan, rows: list[dict[str, Any]]) -> list[Group]:
    """One report per (map, settings) of the plan, its rows in plan order (items without a
    row yet are left out)."""
    by_key = {row["key"]: row for row in rows}
    keys: dict[tuple[str, Settings], list[str]] = {}
    for it in plan.items:  # one pass, in plan order
        keys.setdefault((it.map_label, it.settings), []).append(it.key)
    out = []
    for m in plan.maps:
        for s in plan.settings:
            group = [by_key[k] for k in keys.get((m.label, s), []) if k in by_key]
            report = EvalReport(s.method, m.units, m.scene_radius,
                                [EvalRow.from_dict(r) for r in group])  # fmt: skip
            out.append((m, s, report, group))
    return out


def summarize(plan: Plan, rows: list[dict[str, Any]],
              groups: list[Group] | None = None) -> list[dict[str, Any]]:  # fmt: skip
    """A summary per (map, settings): ``EvalReport.summary`` plus the map and preset
    (``groups``: ``group_reports(plan, rows)`` when the caller has it already)."""
    out = []
    for m, s, report, group in groups if groups is not None else group_reports(plan, rows):
        summary = report.summary() if group else {"method": s.method, "queries": 0,
                                                   "localized": 0}  # fmt: skip
        summary.update({"map": m.label, "preset": s.label, "settings": s.digest(),
                        "overrides": dict(s.overrides), "intrinsics": s.intrinsics,
                        "planned": len(m.refs), "scene_radius_cameras": m.radius_cameras,
                        "has_ground_truth": any(r.gt_cam_from_world is not None
                                                for r in m.refs)})  # fmt: skip
        out.append(summary)
    return out


TABLE_COLUMNS = ("map", "method", "preset", "localized", "median_t", "median_r_deg",
                 "median_%R", "recall", "recall_R", "latency_median_ms", "latency_p90_ms",
                 "stages_median_ms")  # fmt: skip


def table_rows(summaries: list[dict[str, Any]]) -> list[dict[str, str]]:
    """The summary table: one row of strings per (map, method, preset)."""
    out = []
    for s in summaries:
        row = {"map": s["map"], "method": s["method"], "preset": s["preset"],
               "localized": f"{s['localized']}/{s['planned']}"}  # fmt: skip
        metric, rel = s.get("metric"), s.get("relative_to_radius") or {}
        if metric and s.get("has_ground_truth"):
            row["median_t"] = _num(metric["median_translation"])
            row["median_r_deg"] = _num(metric["median_rotation_deg"])
            row["median_%R"] = _num(100 * rel["median_translation"])
            row["recall"] = " ".join(f"{k}:{100 * v:.0f}%" for k, v in metric["recall"].items())
            row["recall_R"] = " ".join(f"{k}:{100 * v:.0f}%" for k, v in rel["recall"].items())
        lat = s.get("latency_ms") or {}
        row["latency_median_ms"] = _num(lat.get("median"))
        row["latency_p90_ms"] = _num(lat.get("p90"))
        row["stages_median_ms"] = " ".join(
            f"{k}:{v['median']:.0f}" for k, v in (s.get("stage_latency_ms") or {}).items()
        )
        out.append({c: row.get(c, "") for c in TABLE_COLUMNS})
    return out


def _num(x: Any) -> str:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "-"
    return f"{x:.4g}"


def markdown_table(rows: list[dict[str, str]]) -> str:
    cols = [c for c in TABLE_COLUMNS if any(r[c] for r in rows)]
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join(r[c] for c in cols) + " |" for r in rows]
    return "\n".join(lines)


def write_summary(folder: str | Path, plan: Plan, rows: list[dict[str, Any]],
                  run: dict[str, Any]) -> list[Path]:  # fmt: skip
    """summary.json (run figures, per-group summaries), summary.csv, summary.md and the
    plots; each file replaced whole (written beside, then renamed)."""
    from locgui.methods.batch.plots import write_plots

    folder = Path(folder)
    groups = group_reports(plan, rows)
    summaries = summarize(plan, rows, groups)
    table = table_rows(summaries)
    written = [
        _write(folder / SUMMARY_NAME, json.dumps(
            finite({"run": run, "plan": plan.describe(), "summaries": summaries}), indent=2,
            allow_nan=False)),
        _write(folder / "summary.md", markdown_table(table) + "\n"),
    ]  # fmt: skip
    tmp = folder / "summary.csv.tmp"
    with tmp.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(TABLE_COLUMNS))
        writer.writeheader()
        writer.writerows(table)
    os.replace(tmp, folder / "summary.csv")
    written.append(folder / "summary.csv")
    written += write_plots(folder / "plots", plan, groups, summaries)
    return written


def finite(x: Any) -> Any:
    """``x`` with every non-finite float replaced by None (strict JSON)."""
    if isinstance(x, float):
        return x if math.isfinite(x) else None
    if isinstance(x, dict):
        return {str(k): finite(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [finite(v) for v in x]
    return x


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)
    return path
