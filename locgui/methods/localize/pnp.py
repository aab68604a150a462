"""Absolute pose from 2D-3D correspondences: pycolmap LO-RANSAC (P3P, or P4Pf when the focal
length is unknown) followed by non-linear refinement on the inliers."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from locgui.core.camera import Camera
from locgui.core.pose import Rigid3
from locgui.methods.localize.geometry import (
    from_pycolmap_camera,
    from_pycolmap_rigid,
    reprojection_errors,
    to_pycolmap_camera,
)

log = logging.getLogger(__name__)


@dataclass
class PnPResult:
    """A PnP-RANSAC outcome.

    Attributes:
        cam_from_world: the refined pose.
        camera: the intrinsics (with the estimated focal length when it was estimated).
        inliers: (N,) bool inlier mask over the input correspondences.
        reproj_error: (N,) pixel reprojection error of every input under the final pose.
    """

    cam_from_world: Rigid3
    camera: Camera
    inliers: np.ndarray
    reproj_error: np.ndarray

    @property
    def num_inliers(self) -> int:
        return int(self.inliers.sum())


def absolute_pose(
    xy: np.ndarray,
    xyz: np.ndarray,
    camera: Camera,
    threshold_px: float,
    *,
    refine: bool = True,
    estimate_focal: bool = False,
    seed: int = 0,
    max_trials: int | None = None,
) -> PnPResult | None:
    """Estimate ``cam_from_world`` from correspondences; None when RANSAC finds no model (or,
    estimating the focal length, a non-positive one).

    Args:
        xy: (N, 2) query pixels, COLMAP convention, in ``camera``'s image.
        xyz: (N, 3) world points, map units.
        camera: query intrinsics (distortion honoured).
        threshold_px: RANSAC inlier threshold, pixels.
        refine: non-linear refinement of the pose (and estimated focal) on the inliers.
        estimate_focal: estimate the focal length too (P4Pf), and refine it with the radial
            distortion k1 (the camera is turned into SIMPLE_RADIAL first).
        seed: RANSAC seed (-1: random).
        max_trials: cap on RANSAC trials (None: pycolmap's default).
    """
    import pycolmap

    xy = np.ascontiguousarray(xy, dtype=np.float64).reshape(-1, 2)
    xyz = np.ascontiguousarray(xyz, dtype=np.float64).reshape(-1, 3)
    if len(xy) < 4:
        return None
    if estimate_focal:
        camera = _single_focal(camera)
    pc_cam = to_pycolmap_camera(camera)
    est = pycolmap.AbsolutePoseEstimationOptions()
    est.ransac.max_error = float(threshold_px)
    est.ransac.random_seed = int(seed)
    if max_trials is not None:
        est.ransac.max_num_trials = int(max_trials)
    est.estimate_focal_length = bool(estimate_focal)
    if refine:
        ref = pycolmap.AbsolutePoseRefinementOptions()
        ref.refine_focal_length = bool(estimate_focal)
        ref.refine_extra_params = bool(estimate_focal)  # k1 of SIMPLE_RADIAL: photos distort
        out = pycolmap.estimate_and_refine_absolute_pose(xy, xyz, pc_cam, est, ref)
    else:
        out = pycolmap.estimate_absolute_pose(xy, xyz, pc_cam, est)
    if out is None:
        return None
    focal = np.asarray(pc_cam.params)[list(pc_cam.focal_length_idxs())]
    if not np.all(np.isfinite(focal)) or np.any(focal <= 0):
        log.debug("PnP estimated a focal length of %s px: no pose", focal)
        return None
    pose = from_pycolmap_rigid(out["cam_from_world"])
    used = from_pycolmap_camera(pc_cam)
    inliers = np.asarray(out["inlier_mask"], dtype=bool).reshape(-1)
    return PnPResult(pose, used, inliers, reprojection_errors(used, pose, xy, xyz))


def _single_focal(camera: Camera) -> Camera:
    fx, fy = camera.focal
    cx, cy = camera.principal_point
    f = 0.5 * (fx + fy)
    k1 = camera.distortion[0]
    return Camera("SIMPLE_RADIAL", camera.width, camera.height, (f, cx, cy, k1), camera.camera_id)
