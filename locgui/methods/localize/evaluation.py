"""Batch evaluation of a localizer on queries with ground truth: per-query rows, error and
recall summaries (metric and relative to the scene radius), latency distribution."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from locgui.core.metrics import (
    STANDARD_THRESHOLDS,
    pose_error,
    robust_align,
    spread_radius,
    summarize_errors,
)
from locgui.core.pose import Sim3
from locgui.core.results import LocalizationResult, Query
from locgui.io.calibration import Intrinsics
from locgui.io.queries import QueryRef, iter_queries
from locgui.runtime.context import RunContext

log = logging.getLogger(__name__)

RELATIVE_THRESHOLDS: tuple[tuple[float, float], ...] = (
    (0.01, 5.0),
    (0.05, 2.0),
    (0.1, 5.0),
    (1.0, 10.0),
)
"""(fraction of the scene radius, degrees): the standard thresholds for a ~5 m scene."""


@dataclass
class EvalRow:
    """One query's outcome (errors are inf when it failed or has no ground truth)."""

    name: str
    success: bool
    reason: str
    t_err: float
    r_err: float
    num_inliers: int
    total_s: float
    timings: dict[str, float]
    result: LocalizationResult | None = None

    def to_dict(self) -> dict[str, Any]:
        pose = self.result.cam_from_world if self.result is not None else None
        return {
            "query": self.name,
            "success": self.success,
            "reason": self.reason,
            "t_err": _finite(self.t_err),
            "r_err_deg": _finite(self.r_err),
            "num_inliers": self.num_inliers,
            "total_ms": round(self.total_s * 1000, 2),
            "timings_ms": {k: round(v * 1000, 2) for k, v in self.timings.items()},
            "cam_from_world": pose.to_dict() if pose is not None else None,
        }

    @classmethod
    def from_dict(cls, row: dict[str, Any]) -> EvalRow:
        """The row written by ``to_dict`` (without the result: summaries need no pose)."""

        def err(value: Any) -> float:
            return float("inf") if value is None else float(value)

        return cls(
            str(row["query"]), bool(row["success"]), str(row.get("reason", "")),
            err(row.get("t_err")), err(row.get("r_err_deg")), int(row.get("num_inliers", 0)),
            float(row.get("total_ms", 0.0)) / 1000,
            {k: float(v) / 1000 for k, v in (row.get("timings_ms") or {}).items()},
        )  # fmt: skip


@dataclass
class EvalReport:
    """Rows and summaries of one method on one query set."""

    method: str
    units: str
    scene_radius: float
    rows: list[EvalRow] = field(default_factory=list)

    def errors(self) -> tuple[np.ndarray, np.ndarray]:
        return (
            np.array([r.t_err for r in self.rows], float),
            np.array([r.r_err for r in self.rows], float),
        )

    def summary(self) -> dict[str, Any]:
        t, r = self.errors()
        unit = "m" if self.units == "metres" else "u"
        metric = summarize_errors(t, r, STANDARD_THRESHOLDS, unit=unit).to_dict()
        rel = summarize_errors(t / self.scene_radius, r, RELATIVE_THRESHOLDS, unit="R").to_dict()
        totals = np.array([row.total_s for row in self.rows if row.timings], float)
        stages = sorted({k for row in self.rows for k in row.timings})
        return {
            "method": self.method,
            "units": self.units,
            "scene_radius": self.scene_radius,
            "queries": len(self.rows),
            "localized": int(sum(r.success for r in self.rows)),
            "metric": metric,
            "relative_to_radius": rel,
            "latency_ms": _latency(totals),
            "stage_latency_ms": {
                s: _latency(np.array([row.timings[s] for row in self.rows if s in row.timings]))
                for s in stages
            },
        }


def _latency(values: np.ndarray) -> dict[str, float]:
    if len(values) == 0:
        return {"median": float("nan"), "p90": float("nan"), "max": float("nan")}
    ms = values * 1000
    return {
        "median": round(float(np.median(ms)), 2),
        "p90": round(float(np.percentile(ms, 90)), 2),
        "max": round(float(ms.max()), 2),
    }


def _finite(x: float) -> float | None:
    return round(float(x), 6) if np.isfinite(x) else None


def row_for(
    ref: QueryRef | Query, result: LocalizationResult, wall_s: float, align: Sim3 | None = None
) -> EvalRow:
    """Errors of ``result`` against the reference's ground truth.

    ``align`` maps the map's frame to the ground truth's (``gt_from_map``; for SfM maps).
    """
    t_err, r_err = float("inf"), float("inf")
    gt = ref.gt_cam_from_world
    if result.success and result.cam_from_world is not None and gt is not None:
        est = (
            result.cam_from_world if align is None else align.transform_pose(result.cam_from_world)
        )
        t_err, r_err = pose_error(est, gt)
    total = result.total_time if result.timings else wall_s
    return EvalRow(result.query_name, result.success, result.reason, t_err, r_err,
                   result.num_inliers, total, dict(result.timings), result)  # fmt: skip


def evaluate(
    localizer: Any,
    method: str,
    refs: Iterable[QueryRef],
    units: str,
    scene_radius: float,
    ctx: RunContext | None = None,
    intrinsics: Intrinsics | None = None,
    keep_results: bool = False,
    align: Sim3 | None = None,
) -> EvalReport:
    """Localize every query and collect the rows. Bad images become failed rows.

    ``scene_radius`` and errors are in ground-truth units; ``align`` is ``gt_from_map``.
    """
    ctx = ctx or RunContext()
    report = EvalReport(method, units, scene_radius)
    refs = list(refs)
    for k, (ref, query, error) in enumerate(iter_queries(refs, intrinsics)):
        ctx.progress("evaluate", k / max(len(refs), 1), ref.name)
        if query is None:
            failed = LocalizationResult(method, ref.name, False, reason=error)
            report.rows.append(row_for(ref, failed, 0.0))
            continue
        start = time.perf_counter()
        result = localizer.localize(query, ctx)
        row = row_for(ref, result, time.perf_counter() - start, align)
        if not keep_results:
            row.result = LocalizationResult(
                method, result.query_name, result.success, result.cam_from_world, result.camera
            )
        report.rows.append(row)
    return report


def gt_alignment(bundle: Any, gt_scene: Any) -> Sim3 | None:
    """``gt_from_map`` for a map built by SfM (its frame is arbitrary), from the camera centres
    of the mapping images that ``gt_scene`` poses; None when the map kept known poses."""
    if "structure from motion" not in str(bundle.manifest.get("source", {}).get("poses", "")):
        return None
    src, dst = [], []
    for im in bundle.scene.images.values():
        gt = gt_scene.image_by_name(im.name)
        if gt is not None and gt.cam_from_world is not None and im.cam_from_world is not None:
            src.append(im.cam_from_world.center)
            dst.append(gt.cam_from_world.center)
    if len(src) < 3:
        return None
    align, _ = robust_align(np.array(src), np.array(dst))
    return align


def evaluation_radius(
    bundle: Any, gt_scene: Any, refs: list[Any], aligned: bool
) -> tuple[float, int]:
    """(scene radius, cameras it is computed from): the median distance of every ground-truth
    camera, map and queries, from their centroid, in ground-truth units. ``aligned``: the
    ground truth has its own frame (the map was built by SfM), so only its cameras count."""
    parts = [gt_scene.camera_centers()] if gt_scene.posed_ids() else []
    if not aligned:  # the map is in the ground truth's frame: its cameras count too
        parts.append(bundle.scene.camera_centers())
        parts.append(np.array([r.gt_cam_from_world.center for r in refs
                               if r.gt_cam_from_world is not None]).reshape(-1, 3))  # fmt: skip
    centers = np.unique(np.round(np.concatenate(parts), 9), axis=0) if parts else np.zeros((0, 3))
    if len(centers) < 2:
        return float(bundle.scene.scene_radius()), len(centers)
    return spread_radius(centers), len(centers)
