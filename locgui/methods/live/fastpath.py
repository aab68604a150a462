"""The tracking fast path: map points in view of the predicted pose, guided matching of the
frame's descriptors against theirs, PnP. No retrieval and no database images."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from locgui.core.camera import Camera
from locgui.core.pose import Rigid3
from locgui.methods.live.config import TrackerConfig
from locgui.methods.live.mappoints import MapPoints, guided_match

REFERENCE_WIDTH = 640.0  # pixel settings of TrackerConfig are given at this image width


@contextmanager
def timed(timings: dict[str, float], name: str) -> Iterator[None]:
    """Add the seconds spent in the block to ``timings[name]``."""
    start = time.perf_counter()
    try:
        yield
    finally:
        timings[name] = timings.get(name, 0.0) + time.perf_counter() - start


@dataclass
class Measurement:
    """One pose measurement of a frame (or an attempt at one).

    Attributes:
        pose: the PnP pose ``cam_from_world``, None when the attempt failed.
        camera: intrinsics used.
        reason: why it failed, or what supports it.
        xy: (M, 2) float64 matched keypoint pixels. inliers: (M,) bool PnP inliers.
        candidates: map points selected around the predicted pose.
    """

    pose: Rigid3 | None
    camera: Camera
    reason: str
    xy: np.ndarray = field(default_factory=lambda: np.zeros((0, 2)))
    inliers: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))
    candidates: int = 0

    @property
    def num_inliers(self) -> int:
        return int(np.count_nonzero(self.inliers))

    @property
    def num_matches(self) -> int:
        return len(self.xy)


def track_against_points(
    points: MapPoints,
    feats: Any,
    predicted: Rigid3,
    camera: Camera,
    cfg: TrackerConfig,
    timings: dict[str, float],
) -> Measurement:
    """Measure the pose of a frame with ``feats`` near ``predicted`` (see the module)."""
    from locgui.methods.localize.pnp import absolute_pose

    px = camera.width / REFERENCE_WIDTH
    with timed(timings, "select"):
        vis = points.visible(predicted, camera, cfg.max_view_angle, cfg.max_distance_ratio)
    out = Measurement(None, camera, "", candidates=len(vis))
    if len(vis) < cfg.min_track_inliers:
        out.reason = f"tracking: only {len(vis)} map points in view of the predicted pose"
        return out
    with timed(timings, "match"):
        m = guided_match(
            feats.keypoints,
            feats.descriptors,
            vis.xy,
            points.descriptors[vis.rows],
            cfg.search_radius * px,
            cfg.min_similarity,
            cfg.ratio,
        )
    if len(m) < cfg.min_track_inliers:
        out.reason = f"tracking: {len(m)} matches < {cfg.min_track_inliers}"
        return out
    out.xy = feats.keypoints[m.kp].astype(np.float64)
    out.inliers = np.zeros(len(m), bool)
    xyz = points.xyz[vis.rows[m.point]]
    with timed(timings, "pnp"):
        pnp = absolute_pose(out.xy, xyz, camera, cfg.ransac_threshold * px, seed=cfg.seed)
    if pnp is None:
        out.reason = f"tracking: PnP found no pose from {len(m)} matches"
        return out
    out.inliers = pnp.inliers
    n = pnp.num_inliers
    if n < cfg.min_track_inliers:
        out.reason = f"tracking: {n} inliers < {cfg.min_track_inliers}"
    elif n < cfg.min_track_ratio * len(m):
        pct = 100 * cfg.min_track_ratio
        out.reason = f"tracking: {n} inliers are under {pct:g}% of {len(m)} matches"
    else:
        out.pose = pnp.cam_from_world
        out.reason = f"{n} inliers of {len(m)} matches to {len(vis)} map points"
    return out
