"""Query, matches, scene coordinates and localization results: what every method returns."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from locgui.core.camera import Camera
from locgui.core.pose import Rigid3


@dataclass
class Query:
    """A query image to localize.

    Attributes:
        name: display name (file name, or the database image name when held out).
        image: (H, W, 3) uint8 RGB pixels.
        camera: intrinsics; None lets the method guess from a field of view.
        gt_cam_from_world: ground-truth pose when known.
        path: file it was read from, if any.
        held_out_image_id: database image id excluded from retrieval ("leave one out").
    """

    name: str
    image: np.ndarray
    camera: Camera | None = None
    gt_cam_from_world: Rigid3 | None = None
    path: Path | None = None
    held_out_image_id: int | None = None


@dataclass
class Retrieved:
    """One entry of the retrieval shortlist."""

    image_id: int
    name: str
    score: float


@dataclass
class Matches2D2D:
    """Matches between the query and one database image.

    Attributes:
        image_id: the database image.
        query_xy: (N, 2) query pixel coordinates.
        db_xy: (N, 2) database pixel coordinates.
        scores: (N,) match confidence in [0, 1].
        point3D_ids: (N,) the 3D point the database keypoint observes, -1 for none.
    """

    image_id: int
    query_xy: np.ndarray
    db_xy: np.ndarray
    scores: np.ndarray
    point3D_ids: np.ndarray


@dataclass
class Matches2D3D:
    """2D-3D correspondences used for the pose, with their fate.

    Attributes:
        query_xy: (N, 2) query pixel coordinates.
        xyz: (N, 3) world points, map units.
        point3D_ids: (N,) map point ids (-1 for points not in the map, e.g. regressed).
        source_image_ids: (N,) database image each match came through (-1 if none).
        inliers: (N,) bool, PnP inlier mask (all False before PnP).
        reproj_error: (N,) pixels under the final pose (NaN before PnP).
    """

    query_xy: np.ndarray
    xyz: np.ndarray
    point3D_ids: np.ndarray
    source_image_ids: np.ndarray
    inliers: np.ndarray
    reproj_error: np.ndarray

    def __len__(self) -> int:
        return len(self.query_xy)

    @classmethod
    def empty(cls) -> Matches2D3D:
        return cls(
            np.zeros((0, 2)),
            np.zeros((0, 3)),
            np.zeros(0, np.int64),
            np.zeros(0, np.int64),
            np.zeros(0, bool),
            np.zeros(0),
        )


@dataclass
class SceneCoordinates:
    """Dense predicted scene coordinates on a pixel grid.

    Attributes:
        xy: (H', W', 2) pixel coordinates (COLMAP convention) of each prediction.
        xyz: (H', W', 3) predicted world coordinates, map units.
        confidence: (H', W') positive confidence (higher is better).
        gt_xyz: (H', W', 3) ground-truth coordinates where known (NaN elsewhere), or None.
    """

    xy: np.ndarray
    xyz: np.ndarray
    confidence: np.ndarray
    gt_xyz: np.ndarray | None = None


PARTIAL_KINDS = ("retrieved", "matches_2d2d", "matches_2d3d", "scene_coordinates")
"""What a method may send through ``ctx.partial(kind, payload)`` before its pose: the
``LocalizationResult`` field that the payload fills (``"extras:NAME"`` fills an extra), so the
views show a partial result exactly as they show a finished one."""


@dataclass
class LocalizationResult:
    """The outcome of one method on one query.

    Attributes:
        method: registry name of the method.
        query_name: the query's name.
        success: whether a pose was estimated and accepted.
        cam_from_world: estimated pose, or None.
        camera: intrinsics used for the query.
        reason: why it failed (or notes on success), in words a user understands.
        num_inliers: PnP / RANSAC inliers.
        timings: stage name -> seconds, in execution order.
        retrieved: the retrieval shortlist, best first.
        matches_2d2d: per database image matches (for the match views).
        matches_2d3d: the correspondences used for the pose.
        scene_coordinates: dense predictions for SCR-like methods.
        extras: method-specific arrays or figures (e.g. a rendering).
    """

    method: str
    query_name: str
    success: bool
    cam_from_world: Rigid3 | None = None
    camera: Camera | None = None
    reason: str = ""
    num_inliers: int = 0
    timings: dict[str, float] = field(default_factory=dict)
    retrieved: list[Retrieved] = field(default_factory=list)
    matches_2d2d: list[Matches2D2D] = field(default_factory=list)
    matches_2d3d: Matches2D3D | None = None
    scene_coordinates: SceneCoordinates | None = None
    extras: dict = field(default_factory=dict)

    def apply_partial(self, kind: str, payload: Any) -> None:
        """Fill the field named ``kind`` (one of ``PARTIAL_KINDS``) with early output that a
        method sent through ``ctx.partial`` before its pose; "extras:NAME" goes to extras.

        Raises:
            ValueError: ``kind`` names no partial field (a typo would reach no view).
        """
        if kind in ("matches_2d2d", "retrieved"):
            setattr(self, kind, list(payload))
        elif kind in PARTIAL_KINDS:
            setattr(self, kind, payload)
        elif kind.startswith("extras:"):
            self.extras[kind[len("extras:"):]] = payload
        else:
            raise ValueError(f"partial kind {kind!r} is not one of {PARTIAL_KINDS} or extras:NAME")

    @property
    def total_time(self) -> float:
        return float(sum(self.timings.values()))

    def summary(self) -> dict:
        """A JSON-ready summary (no large arrays)."""
        return {
            "method": self.method,
            "query": self.query_name,
            "success": self.success,
            "reason": self.reason,
            "cam_from_world": self.cam_from_world.to_dict() if self.cam_from_world else None,
            "camera": self.camera.to_dict() if self.camera else None,
            "num_inliers": self.num_inliers,
            "num_matches": len(self.matches_2d3d) if self.matches_2d3d is not None else 0,
            "uncertainty": self.extras.get("uncertainty"),
            "timings_ms": {k: round(v * 1000, 2) for k, v in self.timings.items()},
            "total_ms": round(self.total_time * 1000, 2),
            "retrieved": [
                {"image_id": r.image_id, "name": r.name, "score": round(r.score, 4)}
                for r in self.retrieved
            ],
        }
