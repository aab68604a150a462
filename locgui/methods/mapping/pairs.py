"""Which image pairs to match: every pair for small sets, else retrieval neighbours plus
pose-based covisible neighbours (when poses are known)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from locgui.core.scene import SceneMap

Pair = tuple[int, int]


def exhaustive_pairs(ids: list[int]) -> list[Pair]:
    """All (i, j) with i < j."""
    ids = sorted(ids)
    return [(a, b) for k, a in enumerate(ids) for b in ids[k + 1 :]]


def pose_neighbours(scene: SceneMap, ids: list[int], k: int) -> dict[int, list[int]]:
    """Per image, the ``k`` images most likely to see the same surfaces.

    Cameras are compared by their "look-at" points (centre + r * viewing direction, with r
    the scene radius), so that cameras looking at the same region are close, plus
    ``r * (1 - cos(angle between viewing directions))``, so that of cameras looking at one
    spot, those seeing it from the same side come first. Pairs whose viewing directions
    differ by more than 90 degrees are never chosen.
    """
    if k <= 0 or len(ids) < 2:
        return {i: [] for i in ids}
    centres = scene.camera_centers(ids)
    dirs = []
    for i in ids:
        pose = scene.images[i].cam_from_world
        assert pose is not None
        dirs.append(pose.rotation[2])  # the camera z axis in world coordinates
    view = np.array(dirs)
    radius = float(np.median(np.linalg.norm(centres - centres.mean(0), axis=1))) or 1.0
    look = centres + radius * view
    cos = view @ view.T
    dist = np.linalg.norm(look[:, None] - look[None], axis=2) + radius * (1.0 - cos)
    dist[cos < 0] = np.inf
    np.fill_diagonal(dist, np.inf)
    order = np.argsort(dist, axis=1)[:, :k]
    return {
        i: [ids[j] for j in order[row] if np.isfinite(dist[row, j])] for row, i in enumerate(ids)
    }


def select_pairs(
    scene: SceneMap,
    ids: list[int],
    exhaustive_below: int,
    retrieval: Callable[[int, int], list[int]] | None,
    retrieval_k: int,
    pose_k: int,
    posed: bool,
) -> list[Pair]:
    """The pairs to match, each once as (smaller id, larger id), sorted.

    Args:
        retrieval: ``(image_id, k) -> neighbour ids`` from the global index (or None).
    """
    if len(ids) <= exhaustive_below or (retrieval is None and not posed):
        return exhaustive_pairs(ids)
    found: set[Pair] = set()
    if retrieval is not None:
        for i in ids:
            for j in retrieval(i, retrieval_k):
                if j != i:
                    found.add((min(i, j), max(i, j)))
    if posed:
        for i, nbrs in pose_neighbours(scene, ids, pose_k).items():
            for j in nbrs:
                found.add((min(i, j), max(i, j)))
    return sorted(found)
