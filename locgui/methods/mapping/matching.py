"""Mapping stages on features: extraction, pair matching, known-pose epipolar verification."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from locgui.core.scene import SceneMap
from locgui.methods.localize.common import extract_features
from locgui.methods.localize.geometry import fundamental_from_poses
from locgui.runtime.context import RunContext

log = logging.getLogger(__name__)

Pair = tuple[int, int]


def extract_all(
    scene: SceneMap, ids: list[int], extractor: Any, ctx: RunContext, upscale_to: int = 0
) -> dict[int, Any]:
    """Features of every image in ``ids`` (keypoints in full-image pixels); images smaller
    than ``upscale_to`` are enlarged first (see ``extract_features``).

    Raises ImageDecodeError for an unreadable image, SceneFormatError when an image's size
    differs from its camera's.
    """
    from locgui.core.errors import SceneFormatError
    from locgui.io.images import read_image

    out: dict[int, Any] = {}
    for k, image_id in enumerate(ids):
        im = scene.images[image_id]
        ctx.progress("extract", k / len(ids), im.name)
        rgb = read_image(scene.image_path(image_id))
        cam = scene.camera_of(image_id)
        if (rgb.shape[1], rgb.shape[0]) != (cam.width, cam.height):
            raise SceneFormatError(
                f"{scene.image_path(image_id)}: image is {rgb.shape[1]}x{rgb.shape[0]} but its "
                f"camera is {cam.width}x{cam.height}"
            )
        out[image_id] = extract_features(extractor, rgb, upscale_to)
    ctx.progress("extract", 1.0, f"{len(ids)} images")
    return out


def match_pairs(
    pairs: list[Pair], features: dict[int, Any], matcher: Any, ctx: RunContext
) -> dict[Pair, np.ndarray]:
    """(M, 2) uint32 keypoint index pairs for every image pair (empty pairs dropped)."""
    out: dict[Pair, np.ndarray] = {}
    step = max(1, len(pairs) // 50)
    for k, (i, j) in enumerate(pairs):
        if k % step == 0:
            ctx.progress("match", k / max(len(pairs), 1), f"{k}/{len(pairs)} pairs")
        m = matcher.match(features[i], features[j])
        if len(m):
            out[(i, j)] = np.stack([m.idx0, m.idx1], axis=1).astype(np.uint32)
    ctx.progress("match", 1.0, f"{len(pairs)} pairs")
    return out


def verify_with_poses(
    scene: SceneMap,
    features: dict[int, Any],
    matches: dict[Pair, np.ndarray],
    threshold_px: dict[int, float],
    min_matches: int,
) -> dict[Pair, np.ndarray]:
    """Keep the matches consistent with the known poses (Sampson distance to the epipolar
    geometry below the images' thresholds); pairs left with fewer than ``min_matches`` are
    dropped.

    Args:
        threshold_px: per image id, the threshold in its full-resolution pixels.
    """
    undistorted: dict[int, np.ndarray] = {}

    def pinhole_xy(i: int) -> np.ndarray:
        if i not in undistorted:
            cam = scene.camera_of(i)
            xy = features[i].keypoints.astype(np.float64)
            undistorted[i] = cam.undistort_pixels(xy) if cam.has_distortion else xy
        return undistorted[i]

    out: dict[Pair, np.ndarray] = {}
    for (i, j), m in matches.items():
        pose_i, pose_j = scene.images[i].cam_from_world, scene.images[j].cam_from_world
        assert pose_i is not None and pose_j is not None
        F = fundamental_from_poses(
            scene.camera_of(i).pinhole_camera(), pose_i, scene.camera_of(j).pinhole_camera(), pose_j
        )
        x1 = pinhole_xy(i)[m[:, 0]]
        x2 = pinhole_xy(j)[m[:, 1]]
        err = sampson_distance(F, x1, x2)
        th = max(threshold_px[i], threshold_px[j])
        keep = m[err <= th * th]
        if len(keep) >= min_matches:
            out[(i, j)] = keep
    log.info("pose verification kept %d of %d pairs", len(out), len(matches))
    return out


def sampson_distance(F: np.ndarray, x1: np.ndarray, x2: np.ndarray) -> np.ndarray:
    """(N,) squared Sampson distance (pixels^2) of (N, 2) pixel pairs under ``F``."""
    h1 = np.concatenate([x1, np.ones((len(x1), 1))], axis=1)
    h2 = np.concatenate([x2, np.ones((len(x2), 1))], axis=1)
    Fx1 = h1 @ F.T
    Ftx2 = h2 @ F
    num = np.sum(h2 * Fx1, axis=1) ** 2
    den = Fx1[:, 0] ** 2 + Fx1[:, 1] ** 2 + Ftx2[:, 0] ** 2 + Ftx2[:, 1] ** 2
    return num / np.maximum(den, 1e-12)
