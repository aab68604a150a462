"""Track refinement before triangulation: matched keypoints aligned to their track's root."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from locgui.methods.features.types import Features
from tests.plugins.features import HOMOGRAPHY, apply_homography, textured_image, warp


def textured_points(n: int, width: int, height: int, seed: int) -> np.ndarray:
    """(n, 2) random COLMAP pixels at least 20 px inside the image."""
    rng = np.random.default_rng(seed)
    return rng.uniform([20, 20], [width - 20, height - 20], (n, 2))


def test_connected_labels() -> None:
    from locgui.methods.mapping.track_refine import connected_labels

    edges = np.array([[5, 1], [1, 3], [7, 8], [3, 0]])
    np.testing.assert_array_equal(connected_labels(10, edges), [0, 0, 2, 0, 4, 0, 6, 7, 7, 9])


class _Scene:
    """The part of a SceneMap ``refine_tracks`` reads: image files."""

    def __init__(self, paths: dict[int, Path]) -> None:
        self.paths = paths

    def image_path(self, image_id: int) -> Path:
        return self.paths[image_id]


def test_refine_tracks_makes_matched_keypoints_consistent(tmp_path: Path) -> None:
    """Three views (an image and two warps) with keypoints off by up to 1.5 px: after track
    refinement each track's keypoints show the same point as its root (best score), far
    closer than before; the root stays where it was."""
    from locgui.io.images import write_image
    from locgui.methods.mapping.track_refine import refine_tracks

    base = textured_image(320, 240, seed=7)
    h2 = np.array([[0.95, 0.08, 12.0], [-0.06, 1.02, -4.0], [0.0002, 0.0001, 1.0]])
    homographies = {1: np.eye(3), 2: HOMOGRAPHY, 3: h2}
    paths = {}
    for i, h in homographies.items():
        paths[i] = tmp_path / f"{i}.png"
        write_image(paths[i], base if i == 1 else warp(base, h))
    xy = textured_points(200, 320, 240, seed=5)
    rng = np.random.default_rng(6)
    feats: dict[int, Any] = {}
    for i, h in homographies.items():
        kp = apply_homography(h, xy) + (rng.uniform(-1.5, 1.5, xy.shape) if i != 1 else 0)
        scores = np.full(len(xy), 1.0 if i == 1 else 0.5, np.float32)  # image 1 holds roots
        feats[i] = Features(kp.astype(np.float32), np.eye(len(xy), 8, dtype=np.float32),
                            scores, (320, 240), "xfeat")  # fmt: skip
    rows = np.arange(len(xy))
    matches = {(1, 2): np.stack([rows, rows], 1), (2, 3): np.stack([rows, rows], 1)}
    out, stats = refine_tracks(_Scene(paths), feats, matches, None)  # type: ignore[arg-type]
    np.testing.assert_array_equal(out[1].keypoints, feats[1].keypoints)
    assert stats["joined"] > 0.8 * 2 * len(xy)
    for i in (2, 3):
        truth = apply_homography(homographies[i], xy)
        before = np.median(np.linalg.norm(feats[i].keypoints - truth, axis=1))
        after = np.median(np.linalg.norm(out[i].keypoints - truth, axis=1))
        assert before > 0.7 and after < 0.1, (i, before, after)
        np.testing.assert_array_equal(out[i].descriptors, feats[i].descriptors)
