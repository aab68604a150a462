"""The tracking fast path's map side: which map points a camera near a pose can see, and
guided matching of a frame's descriptors against those points' descriptors.

Each map point carries one descriptor (the bundle's ``point_descriptors``: the mean of its
observations' local descriptors), its mean viewing direction and the range of distances it
was observed from in the mapping images. A point is selected when it projects into the
image in front of the predicted camera, is seen from within ``max_view_angle`` of its mean
viewing direction, and at a distance within ``max_distance_ratio`` of its observed range.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from locgui.core.camera import Camera
from locgui.core.pose import Rigid3


@dataclass
class VisiblePoints:
    """Map points selected for one frame.

    Attributes:
        rows: (P,) int64 rows into ``MapPoints`` arrays.
        xy: (P, 2) float64 projections under the predicted pose, pixels (COLMAP convention).
    """

    rows: np.ndarray
    xy: np.ndarray

    def __len__(self) -> int:
        return len(self.rows)


class MapPoints:
    """Per-point arrays of a bundle, precomputed once for tracking.

    Attributes:
        ids: (N,) int64 map point ids.
        xyz: (N, 3) float64 world coordinates, map units.
        descriptors: (N, D) float32 L2-normalized point descriptors.
        view_dir: (N, 3) float64 unit mean direction from the point to its mapping cameras.
        dist_range: (N, 2) float64 nearest and farthest mapping-camera distance, map units.
    """

    def __init__(self, bundle: Any) -> None:
        ids, desc = bundle.point_descriptors()
        points = bundle.scene.points
        rows = points.index_of(np.asarray(ids, np.int64))
        keep = rows >= 0
        self.ids = np.asarray(ids, np.int64)[keep]
        self.xyz = points.xyz[rows[keep]]
        self.descriptors = np.ascontiguousarray(np.asarray(desc, np.float32)[keep])
        self.view_dir, self.dist_range = _viewing_geometry(bundle.scene, rows[keep])
        self.has_view_dir = np.linalg.norm(self.view_dir, axis=1) > 0.5

    def __len__(self) -> int:
        return len(self.ids)

    def visible(
        self,
        cam_from_world: Rigid3,
        camera: Camera,
        max_view_angle_deg: float,
        max_distance_ratio: float,
    ) -> VisiblePoints:
        """Points a camera at ``cam_from_world`` likely sees (see the module docstring)."""
        p_cam = cam_from_world.apply(self.xyz)
        to_cam = cam_from_world.center - self.xyz
        dist = np.linalg.norm(to_cam, axis=1)
        ok = p_cam[:, 2] > 1e-6
        with np.errstate(invalid="ignore", divide="ignore"):
            cos = np.einsum("ij,ij->i", to_cam, self.view_dir) / np.maximum(dist, 1e-12)
        ok &= (cos >= np.cos(np.deg2rad(max_view_angle_deg))) | ~self.has_view_dir
        ok &= dist >= self.dist_range[:, 0] / max_distance_ratio
        ok &= dist <= self.dist_range[:, 1] * max_distance_ratio
        rows = np.flatnonzero(ok)
        xy = camera.project(p_cam[rows])
        inside = camera.in_image(xy) & np.isfinite(xy).all(axis=1)
        return VisiblePoints(rows[inside], xy[inside])


def _viewing_geometry(scene: Any, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean viewing direction (N, 3) and observed distance range (N, 2) of point ``rows``."""
    points = scene.points
    n_all = len(points.ids)
    centers = {i: im.cam_from_world.center for i, im in scene.images.items() if im.cam_from_world}
    obs_ok = np.array([int(i) in centers for i in points.track_image], dtype=bool)
    tp = points.track_point[obs_ok]
    cam_xyz = np.array([centers[int(i)] for i in points.track_image[obs_ok]]).reshape(-1, 3)
    vec = cam_xyz - points.xyz[tp]
    dist = np.linalg.norm(vec, axis=1)
    unit = vec / np.maximum(dist, 1e-12)[:, None]
    dir_sum = np.zeros((n_all, 3))
    np.add.at(dir_sum, tp, unit)
    dmin = np.full(n_all, np.inf)
    dmax = np.zeros(n_all)
    np.minimum.at(dmin, tp, dist)
    np.maximum.at(dmax, tp, dist)
    norm = np.linalg.norm(dir_sum, axis=1, keepdims=True)
    view_dir = np.where(norm > 1e-12, dir_sum / np.maximum(norm, 1e-12), 0.0)
    seen = np.isfinite(dmin)
    # Points without observations (not expected in a bundle) pass every view test.
    dmin = np.where(seen, dmin, 0.0)
    dmax = np.where(seen, dmax, np.inf)
    return view_dir[rows], np.stack([dmin[rows], dmax[rows]], axis=1)


@dataclass
class GuidedMatches:
    """Keypoint-to-point matches of one frame.

    Attributes:
        kp: (M,) int64 keypoint indices.
        point: (M,) int64 indices into the ``VisiblePoints`` given.
        similarity: (M,) float32 cosine similarity.
    """

    kp: np.ndarray
    point: np.ndarray
    similarity: np.ndarray

    def __len__(self) -> int:
        return len(self.kp)


def guided_match(
    kp_xy: np.ndarray,
    kp_desc: np.ndarray,
    proj_xy: np.ndarray,
    point_desc: np.ndarray,
    radius: float,
    min_similarity: float,
    ratio: float,
) -> GuidedMatches:
    """Match keypoints to projected map points within ``radius`` pixels of each other.

    A match is the best-similarity point within the radius, at least ``min_similarity``,
    passing the distance-ratio test against the second-best point within the radius, and
    mutual (the keypoint is also that point's best within the radius). The image is cut into
    tiles of a few radii: each tile's keypoints are compared densely with the points near
    the tile only, so the cost grows with the matches, not with keypoints x points.

    Args:
        kp_xy: (K, 2) keypoint pixels. kp_desc: (K, D) L2-normalized descriptors.
        proj_xy: (P, 2) projected point pixels. point_desc: (P, D) L2-normalized descriptors.
        radius: search radius in pixels.
    """
    k, p = len(kp_xy), len(proj_xy)
    best_pt = np.full(k, -1, np.int64)
    s1 = np.full(k, -2.0, np.float32)
    s2 = np.full(k, -2.0, np.float32)
    back_sim = np.full(p, -2.0, np.float32)
    back_kp = np.full(p, -1, np.int64)
    if k and p:
        kp = np.asarray(kp_xy, np.float32)
        pt = np.asarray(proj_xy, np.float32)
        kd = np.asarray(kp_desc, np.float32)
        pd = np.asarray(point_desc, np.float32)
        tile = max(4.0 * radius, 32.0)
        cell = np.floor(kp / tile).astype(np.int64)
        keys = cell[:, 0] * 1_000_003 + cell[:, 1]
        for key in np.unique(keys):
            rows = np.flatnonzero(keys == key)
            lo = np.floor(kp[rows[0]] / tile) * tile - radius
            hi = lo + tile + 2 * radius
            cols = np.flatnonzero(np.all((pt >= lo) & (pt <= hi), axis=1))
            if len(cols) == 0:
                continue
            _match_tile(kp[rows], kd[rows], pt[cols], pd[cols], radius, rows, cols,
                        (best_pt, s1, s2, back_sim, back_kp))  # fmt: skip
    keep = (best_pt >= 0) & (s1 >= min_similarity)
    keep[keep] &= back_kp[best_pt[keep]] == np.flatnonzero(keep)
    if ratio < 1.0:
        d1 = np.sqrt(np.clip(2.0 - 2.0 * s1, 0.0, None))
        d2 = np.sqrt(np.clip(2.0 - 2.0 * s2, 0.0, None))
        keep &= (s2 <= -2.0) | (d1 <= ratio * d2)
    idx = np.flatnonzero(keep)
    return GuidedMatches(idx.astype(np.int64), best_pt[idx], s1[idx])


def _match_tile(
    kp: np.ndarray,
    kd: np.ndarray,
    pt: np.ndarray,
    pd: np.ndarray,
    radius: float,
    rows: np.ndarray,
    cols: np.ndarray,
    out: tuple[np.ndarray, ...],
) -> None:
    """Dense matching of one tile's keypoints (``rows``) with nearby points (``cols``),
    written into the global best/second-best (per keypoint) and best (per point) arrays."""
    best_pt, s1, s2, back_sim, back_kp = out
    d2 = (kp * kp).sum(1)[:, None] + (pt * pt).sum(1)[None, :] - 2.0 * (kp @ pt.T)
    sim = kd @ pd.T
    sim[d2 > radius * radius] = -2.0
    r = np.arange(len(rows))
    best = sim.argmax(axis=1)
    first = sim[r, best]
    col_best = sim.argmax(axis=0)
    col_sim = sim[col_best, np.arange(len(cols))]
    better = col_sim > back_sim[cols]
    back_sim[cols[better]] = col_sim[better]
    back_kp[cols[better]] = rows[col_best[better]]
    if sim.shape[1] > 1:
        sim[r, best] = -2.0
        s2[rows] = sim.max(axis=1)
    valid = first > -2.0
    best_pt[rows[valid]] = cols[best[valid]]
    s1[rows] = first
