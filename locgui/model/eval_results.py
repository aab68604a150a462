"""An evaluation folder written by ``locgui eval --sweep --out FOLDER`` (or any batch run
with ``--out``), read back for the workbench's results window: the run, the maps, the
per-(map, method, preset) summaries and each query's errors."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from locgui.core.errors import LocguiError
from locgui.methods.batch.store import RESULTS_NAME, ResultStore
from locgui.methods.batch.summary import SUMMARY_NAME


class NotAnEvaluation(LocguiError):
    """The folder holds no batch evaluation."""


def is_eval_folder(path: str | Path) -> bool:
    p = Path(path)
    return p.is_dir() and (p / SUMMARY_NAME).is_file() and (p / RESULTS_NAME).is_file()


@dataclass
class EvalFolder:
    """What an evaluation folder holds.

    Attributes:
        path: the folder.
        run: figures of the last run (executor, wall time, items computed ...).
        maps: per map label: ``{"label", "path", "units", "scene_radius", ...}``.
        summaries: one per (map, method, preset), as in summary.json.
        rows: every stored row of those groups.
    """

    path: Path
    run: dict[str, Any]
    maps: dict[str, dict[str, Any]]
    summaries: list[dict[str, Any]]
    rows: list[dict[str, Any]] = field(default_factory=list)

    def groups(self, map_label: str) -> list[dict[str, Any]]:
        return [s for s in self.summaries if s["map"] == map_label]

    def label(self, summary: dict[str, Any]) -> str:
        presets = {s["preset"] for s in self.groups(summary["map"]) if s["method"] ==
                   summary["method"]}  # fmt: skip
        many = len(presets) > 1 or summary["preset"] != "default"
        return f"{summary['method']} ({summary['preset']})" if many else summary["method"]

    def errors(self, summary: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
        """(translation error in % of the scene radius, rotation error in degrees) per query
        of one group; inf where the query failed."""
        radius = float(self.maps[summary["map"]].get("scene_radius") or 1.0)
        mine = [r for r in self.rows if r["map"] == summary["map"] and r["method"] ==
                summary["method"] and r["preset"] == summary["preset"] and
                r.get("settings", summary["settings"]) == summary["settings"]]  # fmt: skip
        t = np.array([np.inf if r.get("t_err") is None else 100 * r["t_err"] / radius
                      for r in mine], float)  # fmt: skip
        r_ = np.array([np.inf if r.get("r_err_deg") is None else r["r_err_deg"] for r in mine],
                      float)  # fmt: skip
        return t, r_


def load_eval_folder(path: str | Path) -> EvalFolder:
    """Read summary.json and results.jsonl; NotAnEvaluation with what to do otherwise."""
    p = Path(path)
    if not is_eval_folder(p):
        raise NotAnEvaluation(
            f"{p} is not an evaluation folder (it needs {SUMMARY_NAME} and {RESULTS_NAME}); "
            "write one with `locgui eval MAP... --sweep --out FOLDER`"
        )
    try:
        data = json.loads((p / SUMMARY_NAME).read_text())
        maps = {m["label"]: m for m in data["plan"]["maps"]}
        summaries = list(data["summaries"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise NotAnEvaluation(f"{p / SUMMARY_NAME} does not read: {exc}") from exc
    return EvalFolder(p, data.get("run", {}), maps, summaries, ResultStore(p).rows())
