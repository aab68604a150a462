"""What links matches, 3D points and database images (pure functions over results and scenes)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from locgui.core.results import LocalizationResult, Matches2D3D
from locgui.core.scene import SceneMap


@dataclass
class MatchTable:
    """The matches the match view draws between the query and one database image.

    Attributes:
        query_xy: (N, 2) query pixels (COLMAP convention).
        db_xy: (N, 2) database-image pixels, NaN where the match has no database side.
        m3d_index: (N,) row in the result's ``matches_2d3d`` (-1: a 2D-2D match without 3D).
        inlier: (N,) PnP inlier flag (False where unknown).
        error: (N,) reprojection error in pixels under the estimated pose (NaN: unknown).
        point3D_id: (N,) map point (-1: none).
    """

    query_xy: np.ndarray
    db_xy: np.ndarray
    m3d_index: np.ndarray
    inlier: np.ndarray
    error: np.ndarray
    point3D_id: np.ndarray

    def __len__(self) -> int:
        return len(self.query_xy)

    @classmethod
    def empty(cls) -> MatchTable:
        z2 = np.zeros((0, 2))
        zi = np.zeros(0, np.int64)
        return cls(z2, z2.copy(), zi, np.zeros(0, bool), np.zeros(0), zi.copy())

    def subset(self, mask: np.ndarray) -> MatchTable:
        return MatchTable(
            self.query_xy[mask],
            self.db_xy[mask],
            self.m3d_index[mask],
            self.inlier[mask],
            self.error[mask],
            self.point3D_id[mask],
        )


JOIN_TOLERANCE_PX = 16.0
"""How far a 2D-3D match's query pixel may lie from its 2D-2D match's: sfm aligns query
keypoints to the map (``refine_keypoints``, at most 3 px at the feature size, so up to about
13 px in a 12-megapixel photo shrunk to 640)."""


def _join(pids: np.ndarray, query_xy: np.ndarray, m3d: Matches2D3D, image_id: int) -> np.ndarray:
    """(N,) row in ``m3d`` of each 2D-2D match (point id ``pids``, query pixel ``query_xy``)
    through ``image_id``, -1 for none: the row of the same point whose query pixel is nearest,
    within ``JOIN_TOLERANCE_PX`` (a refined keypoint moved; an exact pixel join lost every
    refined match, and the debugger showed all of them as "no 3D"). A row joins one match
    at most, the nearest (sfm keeps one 2D-3D match per map point)."""
    rows: dict[int, list[int]] = {}
    for i, (pid, src) in enumerate(zip(m3d.point3D_ids, m3d.source_image_ids, strict=True)):
        if src in (image_id, -1):
            rows.setdefault(int(pid), []).append(i)
    xy3 = np.asarray(m3d.query_xy, float).reshape(-1, 2)
    out = np.full(len(query_xy), -1, np.int64)
    best: dict[int, tuple[float, int]] = {}  # row -> (distance, match): one match per row
    for j, (pid, q) in enumerate(zip(np.asarray(pids).reshape(-1), query_xy, strict=True)):
        cands = rows.get(int(pid))
        if not cands:
            continue
        dist = np.linalg.norm(xy3[cands] - q, axis=1)
        k = int(np.argmin(dist))
        row, d = cands[k], float(dist[k])
        if d <= JOIN_TOLERANCE_PX and d < best.get(row, (np.inf, -1))[0]:
            best[row] = (d, j)
    for row, (_, j) in best.items():
        out[j] = row
    return out


def match_table(
    result: LocalizationResult, image_id: int | None, scene: SceneMap | None = None
) -> MatchTable:
    """Matches to draw for ``image_id`` (None: every 2D-3D match, query side only).

    2D-2D matches of that image are joined to the 2D-3D matches by point id and nearest query
    pixel (``_join``) to get their inlier flag and error. Without 2D-2D matches, the 2D-3D
    matches that came through the image are drawn, their database pixel read from the point's
    track in ``scene``.
    """
    m3d = result.matches_2d3d if result.matches_2d3d is not None else Matches2D3D.empty()
    if image_id is None:
        return _from_2d3d(m3d, np.arange(len(m3d)), None, scene)
    pairs = [m for m in result.matches_2d2d if m.image_id == image_id]
    if not pairs:
        rows = np.flatnonzero(m3d.source_image_ids == image_id)
        return _from_2d3d(m3d, rows, image_id, scene)
    m = pairs[0]
    idx = _join(m.point3D_ids, np.asarray(m.query_xy, float).reshape(-1, 2), m3d, image_id)
    has = idx >= 0
    inlier = np.zeros(len(idx), bool)
    error = np.full(len(idx), np.nan)
    inlier[has] = m3d.inliers[idx[has]]
    error[has] = m3d.reproj_error[idx[has]]
    return MatchTable(
        np.asarray(m.query_xy, float).reshape(-1, 2),
        np.asarray(m.db_xy, float).reshape(-1, 2),
        idx,
        inlier,
        error,
        np.asarray(m.point3D_ids, np.int64).reshape(-1),
    )


def _from_2d3d(
    m3d: Matches2D3D, rows: np.ndarray, image_id: int | None, scene: SceneMap | None
) -> MatchTable:
    db_xy = np.full((len(rows), 2), np.nan)
    if image_id is not None and scene is not None:
        db_xy = keypoints_of_points(scene, image_id, m3d.point3D_ids[rows])
    return MatchTable(
        np.asarray(m3d.query_xy, float).reshape(-1, 2)[rows],
        db_xy,
        rows.astype(np.int64),
        np.asarray(m3d.inliers, bool)[rows],
        np.asarray(m3d.reproj_error, float)[rows],
        np.asarray(m3d.point3D_ids, np.int64)[rows],
    )


def match_counts(result: LocalizationResult) -> dict[int, tuple[int, int]]:
    """Database image id -> (2D-3D matches, inliers) that came through it."""
    m3d = result.matches_2d3d
    if m3d is None or len(m3d) == 0:
        return {}
    out: dict[int, tuple[int, int]] = {}
    for img in np.unique(m3d.source_image_ids):
        sel = m3d.source_image_ids == img
        out[int(img)] = (int(sel.sum()), int(np.sum(m3d.inliers[sel])))
    return out


def match_index_of_point(result: LocalizationResult, point3D_id: int) -> int | None:
    """Row of ``matches_2d3d`` using ``point3D_id`` (an inlier first), or None."""
    m3d = result.matches_2d3d
    if m3d is None or point3D_id < 0:
        return None
    rows = np.flatnonzero(m3d.point3D_ids == point3D_id)
    if len(rows) == 0:
        return None
    inl = rows[m3d.inliers[rows]]
    return int(inl[0] if len(inl) else rows[0])


@dataclass(frozen=True)
class Observation:
    """A database image seeing a map point."""

    image_id: int
    name: str
    xy: tuple[float, float]


def observations(scene: SceneMap, point3D_id: int) -> list[Observation]:
    """The track of a map point: every database image that observes it, with its pixel."""
    row = int(scene.points.index_of(np.array([point3D_id]))[0])
    if row < 0:
        return []
    out = []
    for image_id, kp in scene.points.track_of(row):
        im = scene.images.get(image_id)
        if im is None:
            continue
        xy = (float("nan"), float("nan"))
        if im.keypoints is not None and 0 <= kp < len(im.keypoints):
            xy = (float(im.keypoints[kp][0]), float(im.keypoints[kp][1]))
        out.append(Observation(image_id, im.name, xy))
    return out


def keypoints_of_points(scene: SceneMap, image_id: int, point3D_ids: np.ndarray) -> np.ndarray:
    """(N, 2) pixel where database image ``image_id`` observes each point (NaN: it does not)."""
    out = np.full((len(point3D_ids), 2), np.nan)
    im = scene.images.get(image_id)
    if im is None or im.keypoints is None or im.point3D_ids is None:
        return out
    seen = im.point3D_ids >= 0
    ids, kps = im.point3D_ids[seen], np.asarray(im.keypoints, float)[seen]
    if len(ids) == 0:
        return out
    order = np.argsort(ids)
    pos = np.clip(np.searchsorted(ids, point3D_ids, sorter=order), 0, len(ids) - 1)
    hit = ids[order[pos]] == point3D_ids
    out[hit] = kps[order[pos[hit]]]
    return out


def point_xyz(scene: SceneMap, point3D_id: int) -> np.ndarray | None:
    """(3,) world position of a map point, or None if unknown."""
    row = int(scene.points.index_of(np.array([point3D_id]))[0])
    return None if row < 0 else scene.points.xyz[row]


def match_xyz(result: LocalizationResult, index: int) -> np.ndarray | None:
    """(3,) world point of a 2D-3D match (also for regressed points without a map id)."""
    m3d = result.matches_2d3d
    if m3d is None or not 0 <= index < len(m3d):
        return None
    return np.asarray(m3d.xyz[index], float)
