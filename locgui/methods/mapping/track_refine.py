"""Consistent keypoints along tracks before triangulation.

Matched keypoints of one physical point are each off by the detector's own error (XFeat:
about a pixel between views), so the triangulated point is off too. Here tracks are grown
from the matches: the best-scoring keypoint of a connected set of matches is a track's root,
and the track grows along the matches, one hop at a time; a keypoint joins when patch
alignment (``locgui.methods.features.align``) finds the root's image content within a few
pixels of it, and moves there. A track holds at most one keypoint per image. Keypoints that
join no track (their match led elsewhere: an outlier, or another point) root new tracks in
the next round. Each track then pins one physical point in every image.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import numpy as np

from locgui.core.scene import SceneMap
from locgui.methods.features.align import (
    AlignConfig,
    align_templates,
    gray_image,
    local_affines,
    templates,
)
from locgui.methods.features.types import Features

log = logging.getLogger(__name__)

Pair = tuple[int, int]


def connected_labels(num_nodes: int, edges: np.ndarray) -> np.ndarray:
    """(num_nodes,) int64 label of each node's connected component (its smallest node).

    Args:
        edges: (E, 2) integer node pairs.
    """
    labels = np.arange(num_nodes, dtype=np.int64)
    if len(edges) == 0:
        return labels
    a, b = edges[:, 0].astype(np.int64), edges[:, 1].astype(np.int64)
    while True:
        low = np.minimum(labels[a], labels[b])
        before = labels.copy()
        np.minimum.at(labels, a, low)
        np.minimum.at(labels, b, low)
        labels = labels[labels]  # pointer jumping: follow labels to their own labels
        if np.array_equal(labels, before):
            return labels


def best_per_component(nodes: np.ndarray, labels: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """The highest-scoring node of each component among ``nodes`` ((K,) int64)."""
    order = np.lexsort((-scores[nodes], labels[nodes]))
    ranked = nodes[order]
    first = np.ones(len(ranked), bool)
    first[1:] = labels[ranked[1:]] != labels[ranked[:-1]]
    return ranked[first]


class _Images:
    """Grayscale working copies of the mapping images, kept for the ``capacity`` most recently
    used images (640x480: 1.2 MB as float32)."""

    def __init__(self, scene: SceneMap, max_side: int | None, capacity: int = 256) -> None:
        self.scene = scene
        self.max_side = max_side
        self.capacity = capacity
        self._gray: OrderedDict[int, tuple[np.ndarray, np.ndarray]] = OrderedDict()

    def gray(self, image_id: int) -> tuple[np.ndarray, np.ndarray]:
        """(float32 grayscale, (2,) its pixels per full-image pixel)."""
        if image_id not in self._gray:
            from locgui.io.images import read_image

            rgb = read_image(self.scene.image_path(image_id))
            gray = gray_image(rgb, self.max_side).astype(np.float32)
            scale = np.array([gray.shape[1] / rgb.shape[1], gray.shape[0] / rgb.shape[0]])
            self._gray[image_id] = (gray, scale)
        return _recent(self._gray, image_id, self.capacity)


def _recent(cache: OrderedDict[int, Any], key: int, capacity: int) -> Any:
    """``cache[key]``, marked most recent; the least recent entries beyond ``capacity`` go."""
    cache.move_to_end(key)
    while len(cache) > capacity:
        cache.popitem(last=False)
    return cache[key]


def refine_tracks(
    scene: SceneMap,
    features: dict[int, Features],
    matches: dict[Pair, np.ndarray],
    max_side: int | None,
    config: AlignConfig | None = None,
    rounds: int = 3,
) -> tuple[dict[int, Features], dict[str, float]]:
    """``features`` with the keypoints of every track aligned to its root (see the module).

    Alignment runs on grayscale copies shrunk to ``max_side`` (as features are extracted),
    through the local affine distortion between the two images (from their matches).
    Descriptors and scores are unchanged; keypoints that join no track are unchanged.

    Args:
        matches: (i, j) -> (M, 2) keypoint index pairs of images i and j.
        rounds: rounds of track growing (each roots new tracks at the keypoints left over).

    Returns:
        (refined features per image id, statistics: matched keypoints, keypoints that joined
        a track as non-root, their median move in full-image pixels).
    """
    cfg = config or AlignConfig()
    ids = sorted(features)
    index = {i: k for k, i in enumerate(ids)}
    sizes = [len(features[i]) for i in ids]
    offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    image_of = np.repeat(np.arange(len(ids)), sizes)  # node -> position in ``ids``
    keypoints = np.concatenate([features[i].keypoints for i in ids]).astype(np.float64)
    scores = np.concatenate([features[i].scores for i in ids]).astype(np.float64)
    pairs = [(index[i], index[j], m) for (i, j), m in matches.items() if len(m)]
    if not pairs:
        return dict(features), {"matched": 0.0, "joined": 0.0, "median_move_px": 0.0}
    edges = np.concatenate(
        [np.stack([m[:, 0] + offsets[a], m[:, 1] + offsets[b]], 1) for a, b, m in pairs]
    ).astype(np.int64)
    src, dst = np.r_[edges[:, 0], edges[:, 1]], np.r_[edges[:, 1], edges[:, 0]]
    affine_of = _pair_affines(pairs, offsets, keypoints)
    images = _Images(scene, max_side)
    total = len(keypoints)
    root = np.full(total, -1, np.int64)
    refined = keypoints.copy()
    for _ in range(rounds):
        free_edges = edges[(root[edges[:, 0]] < 0) & (root[edges[:, 1]] < 0)]
        if len(free_edges) == 0:
            break
        labels = connected_labels(total, free_edges)
        frontier = best_per_component(np.unique(free_edges), labels, scores)
        root[frontier] = frontier
        tried = np.zeros(total, bool)
        tried[frontier] = True
        while len(frontier):
            in_front = np.zeros(total, bool)
            in_front[frontier] = True
            hop = in_front[src] & (root[dst] < 0) & ~tried[dst]
            cand, cand_root = dst[hop], root[src[hop]]
            # One candidate per (track, image), none in an image the track already holds.
            key = cand_root * len(ids) + image_of[cand]
            held = root >= 0
            taken = np.isin(key, root[held] * len(ids) + image_of[held])
            cand, cand_root, key = cand[~taken], cand_root[~taken], key[~taken]
            order = np.lexsort((-scores[cand], key))
            cand, cand_root, key = cand[order], cand_root[order], key[order]
            first = np.ones(len(cand), bool)
            first[1:] = key[1:] != key[:-1]
            cand, cand_root = cand[first], cand_root[first]
            cand, keep = np.unique(cand, return_index=True)  # a keypoint joins one track
            cand_root = cand_root[keep]
            tried[cand] = True
            new, ok = _align(cand, cand_root, image_of, ids, refined, images, affine_of, cfg)
            refined[cand[ok]] = new[ok]
            root[cand[ok]] = cand_root[ok]
            frontier = cand[ok]
    joined = (root >= 0) & (root != np.arange(total))
    moves = np.linalg.norm(refined[joined] - keypoints[joined], axis=1)
    stats = {"matched": float(len(np.unique(edges))), "joined": float(joined.sum()),
             "median_move_px": float(np.median(moves)) if len(moves) else 0.0}  # fmt: skip
    log.info("track refinement: %d of %d matched keypoints aligned to a track root, median "
             "move %.2f px", joined.sum(), stats["matched"], stats["median_move_px"])  # fmt: skip
    out = {}
    for k, i in enumerate(ids):
        f = features[i]
        kp = refined[offsets[k] : offsets[k + 1]].astype(np.float32)
        out[i] = Features(kp, f.descriptors, f.scores, f.image_size, f.kind)
    return out, stats


def _pair_affines(
    pairs: list[tuple[int, int, np.ndarray]], offsets: np.ndarray, keypoints: np.ndarray
) -> Callable[[int, int, np.ndarray], np.ndarray | None]:
    """A function (image a, image b, (N, 2) full-image pixels of a) -> (N, 2, 2) local
    affine a -> b from the matches of the pair (either order), None for an unmatched pair."""
    by_pair = {}
    for a, b, m in pairs:
        xa, xb = keypoints[m[:, 0] + offsets[a]], keypoints[m[:, 1] + offsets[b]]
        by_pair[(a, b)] = (xa, xb)
        by_pair[(b, a)] = (xb, xa)

    def affine(a: int, b: int, at: np.ndarray) -> np.ndarray | None:
        if (a, b) not in by_pair:
            return None
        xa, xb = by_pair[(a, b)]
        return local_affines(xa, xb, at)

    return affine


def _align(
    cand: np.ndarray,
    cand_root: np.ndarray,
    image_of: np.ndarray,
    ids: list[int],
    positions: np.ndarray,
    images: _Images,
    affine_of: Callable[[int, int, np.ndarray], np.ndarray | None],
    cfg: AlignConfig,
) -> tuple[np.ndarray, np.ndarray]:
    """Align each candidate keypoint to its track root: ((K, 2) full-image pixels, (K,) ok).
    One Gauss-Newton run per candidate image, with the patches of every root image."""
    new = positions[cand].copy()
    ok = np.zeros(len(cand), bool)
    for b in np.unique(image_of[cand]):
        rows = np.flatnonzero(image_of[cand] == b)
        gray_dst, s_dst = images.gray(ids[b])
        patches, affines, inside = [], [], []
        order = rows[np.argsort(image_of[cand_root[rows]], kind="stable")]
        for a in np.unique(image_of[cand_root[order]]):
            grp = order[image_of[cand_root[order]] == a]
            gray_src, s_src = images.gray(ids[a])
            root_xy = positions[cand_root[grp]]
            patch, fits = templates(gray_src, root_xy * s_src, cfg.window)
            # d(dst working px) / d(src working px) from the full-image-pixel affine.
            A = affine_of(a, b, root_xy)
            if A is None:  # no direct matches: fit the track correspondences themselves
                A = local_affines(root_xy, positions[cand[grp]])
            A = A * (s_dst[:, None] / s_src[None, :])
            patches.append(patch)
            affines.append(A)
            inside.append(fits)
        start = positions[cand[order]] * s_dst
        got, good = align_templates(
            np.concatenate(patches), np.concatenate(affines), gray_dst, start, cfg
        )
        good &= np.concatenate(inside)
        new[order[good]] = got[good] / s_dst
        ok[order[good]] = True
    return new, ok
