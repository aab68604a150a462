"""From 2D-2D matches against database images to deduplicated 2D-3D correspondences."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from locgui.core.results import Matches2D2D, Matches2D3D


def matches_to_2d3d(
    query_xy: np.ndarray,
    query_idx: list[np.ndarray],
    matches: list[Matches2D2D],
    xyz_of: Callable[[np.ndarray], np.ndarray],
) -> tuple[Matches2D3D, np.ndarray]:
    """Lift 2D-2D matches to 2D-3D through the database keypoints' 3D points.

    A query keypoint matched (through several database images) to several 3D points keeps the
    point with the most votes, ties broken by the best match score; repeated (keypoint, point)
    pairs count once.

    Args:
        query_xy: (Nq, 2) all query keypoints, pixels.
        query_idx: per database image, (M_i,) query keypoint index of each match.
        matches: per database image, its matches (``point3D_ids`` -1 where none).
        xyz_of: callable (K,) point ids -> (K, 3) world coordinates.
    Returns:
        The correspondences (inliers all False, errors NaN: PnP has not run) and (N,) the
        query keypoint index of each.
    """
    q = np.concatenate([np.asarray(i, np.int64) for i in query_idx] + [np.zeros(0, np.int64)])
    pid = np.concatenate([m.point3D_ids for m in matches] + [np.zeros(0, np.int64)])
    score = np.concatenate([m.scores for m in matches] + [np.zeros(0, np.float32)])
    src = np.concatenate(
        [np.full(len(m.point3D_ids), m.image_id, np.int64) for m in matches]
        + [np.zeros(0, np.int64)]
    )
    keep = pid >= 0
    q, pid, score, src = q[keep], pid[keep], score[keep], src[keep]
    if len(q) == 0:
        return Matches2D3D.empty(), np.zeros(0, np.int64)
    # Unique (keypoint, point) pairs, with their votes and the best-scoring source.
    order = np.lexsort((-score, pid, q))
    q, pid, score, src = q[order], pid[order], score[order], src[order]
    first = np.ones(len(q), bool)
    first[1:] = (q[1:] != q[:-1]) | (pid[1:] != pid[:-1])
    starts = np.flatnonzero(first)
    votes = np.diff(np.append(starts, len(q)))
    q, pid, score, src = q[starts], pid[starts], score[starts], src[starts]
    # One point per query keypoint: most votes, then best score.
    order = np.lexsort((-score, -votes, q))
    q, pid, score, src = q[order], pid[order], score[order], src[order]
    first = np.ones(len(q), bool)
    first[1:] = q[1:] != q[:-1]
    q, pid, src = q[first], pid[first], src[first]
    n = len(q)
    xyz = np.asarray(xyz_of(pid), dtype=np.float64).reshape(n, 3)
    result = Matches2D3D(
        query_xy=np.asarray(query_xy, np.float64)[q],
        xyz=xyz,
        point3D_ids=pid,
        source_image_ids=src,
        inliers=np.zeros(n, bool),
        reproj_error=np.full(n, np.nan),
    )
    return result, q
