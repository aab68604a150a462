"""Pose validation: a localizer's pose counts as a success only after these checks.

Every localizer the registry creates is wrapped (``validated``), so paper methods and plug-ins
get the same checks as sfm. On the pose, its camera and its inlier 2D-3D matches:

- the pose is finite and the focal length positive, within a sane field of view (about
  5-140 deg: 0.18-12 x the longer image side);
- cheirality: the inlier points lie in front of the camera;
- enough inliers (``min_inliers``), and an inlier RMS reprojection error within the method's
  RANSAC threshold (``extras["threshold_px"]``, full-resolution pixels) or, for methods that
  do not say, ``max_rms`` of the image diagonal (a refinement that drifted off its inliers
  fails here);
- support: inliers spread over the image (convex hull of at least ``min_spread`` of its area),
  not a cluster in one corner that fits any pose;
- the camera centre within ``max_distance`` map extents of the map (a pose 1000 radii away is
  a failure, not a far-away success);
- the pose's 1-sigma position uncertainty (from the inliers' reprojection covariance) below
  ``max_sigma`` map extents.

A pose that fails says which check and the figure. Validation also adds the uncertainty to
``result.extras["uncertainty"]`` (position sigma in map units and in % of the map extent,
rotation sigma in degrees), which the views show.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np

from locgui.core.camera import Camera
from locgui.core.pose import Rigid3, axis_angle_to_rotmat
from locgui.core.results import LocalizationResult, Query
from locgui.methods.localize.geometry import reprojection_errors

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PoseChecks:
    """Thresholds of ``validate_pose`` (the defaults apply to every method)."""

    focal_range: tuple[float, float] = (0.18, 12.0)
    min_inliers: int = 10
    min_front: float = 0.95
    max_rms: float = 0.01
    min_spread: float = 0.01
    max_distance: float = 10.0
    max_sigma: float = 0.25


@dataclass(frozen=True)
class MapExtent:
    """Where the map is: the centroid of its cameras and points, and its extent (the median
    distance of its camera centres from their mean, as ``SceneMap.scene_radius``, but at
    least the median distance of its points)."""

    center: np.ndarray
    radius: float

    @classmethod
    def of(cls, scene: Any) -> MapExtent | None:
        parts = []
        if scene.posed_ids():
            parts.append(scene.camera_centers())
        if len(scene.points):
            parts.append(scene.points.xyz)
        if not parts:
            return None
        allp = np.concatenate(parts)
        center = np.median(allp, axis=0)
        radius = float(np.median(np.linalg.norm(allp - center, axis=1)))
        return cls(center, radius) if np.isfinite(radius) and radius > 0 else None


def map_extent(bundle: Any) -> MapExtent | None:
    """The ``MapExtent`` of ``bundle``'s scene, computed once per bundle (kept in its
    resources); None without a scene or an extent."""
    scene = getattr(bundle, "scene", None)
    if scene is None:
        return None
    resources = getattr(bundle, "resources", None)
    if resources is None:
        return MapExtent.of(scene)
    extent: MapExtent | None = resources.get("map_extent", "cpu", lambda: MapExtent.of(scene))
    return extent


def validate_pose(
    result: LocalizationResult,
    width: int,
    height: int,
    extent: MapExtent | None,
    checks: PoseChecks = PoseChecks(),
) -> list[str]:
    """The checks ``result``'s pose fails (empty: valid). Adds ``extras["uncertainty"]``."""
    pose, camera = result.cam_from_world, result.camera
    if pose is None:
        return ["no pose"]
    if not (np.all(np.isfinite(pose.rotation)) and np.all(np.isfinite(pose.translation))):
        return ["the pose is not finite"]
    failures = []
    if camera is not None:
        focal = float(min(camera.focal))
        side = max(width, height)
        lo, hi = checks.focal_range
        if not np.isfinite(focal) or focal <= 0:
            return [f"focal length {focal:.1f} px is not positive"]
        if not lo * side <= focal <= hi * side:
            failures.append(
                f"focal length {focal:.0f} px is outside {lo * side:.0f}-{hi * side:.0f} px"
            )
    if extent is not None:
        far = float(np.linalg.norm(pose.center - extent.center)) / extent.radius
        if far > checks.max_distance:
            failures.append(
                f"camera {far:.0f} map extents from the map (> {checks.max_distance:g})"
            )
    matches = result.matches_2d3d
    if matches is None or len(matches) == 0 or camera is None:
        return failures
    inl = np.asarray(matches.inliers, bool)
    xy, xyz = matches.query_xy[inl], matches.xyz[inl]
    if len(xy) < checks.min_inliers:
        return [*failures, f"{len(xy)} inliers < {checks.min_inliers}"]
    depth = pose.apply(xyz)[:, 2]
    front = float(np.mean(depth > 0))
    if front < checks.min_front:
        failures.append(f"only {100 * front:.0f}% of the inlier points are in front of the camera")
    errors = reprojection_errors(camera, pose, xy, xyz)  # inf where a point does not project
    rms = float(np.sqrt(np.mean(errors**2)))
    limit = float(result.extras.get("threshold_px") or checks.max_rms * np.hypot(width, height))
    if rms > limit:
        failures.append(f"inlier reprojection RMS {rms:.1f} px > {limit:.1f} px")
    spread = hull_fraction(xy, width, height)
    if spread < checks.min_spread:
        failures.append(
            f"inliers cover {100 * spread:.1f}% of the image (< {100 * checks.min_spread:g}%)"
        )
    estimated = result.extras.get("intrinsics_source") == "fov"  # P4Pf: the focal is unknown
    sigma = pose_uncertainty(camera, pose, xy, xyz, with_focal=estimated)
    if sigma is not None:
        record: dict[str, float] = {"position": sigma[0], "rotation_deg": sigma[1]}
        if extent is not None:
            record["position_pct_extent"] = 100.0 * sigma[0] / extent.radius
            if sigma[0] > checks.max_sigma * extent.radius:
                failures.append(
                    f"position uncertain by {100 * sigma[0] / extent.radius:.0f}% of the map "
                    f"extent (> {100 * checks.max_sigma:g}%)"
                )
        result.extras["uncertainty"] = record
    result.extras["validation"] = {"inlier_rms_px": rms, "spread": spread, "in_front": front}
    return failures


def hull_fraction(xy: np.ndarray, width: int, height: int) -> float:
    """Area of the convex hull of ``xy`` over the image area."""
    import cv2

    if len(xy) < 3:
        return 0.0
    hull = cv2.convexHull(np.ascontiguousarray(xy, np.float32))
    return float(cv2.contourArea(hull)) / float(width * height)


def pose_uncertainty(
    camera: Camera, pose: Rigid3, xy: np.ndarray, xyz: np.ndarray, with_focal: bool = False
) -> tuple[float, float] | None:
    """(1-sigma camera-centre uncertainty in map units, rotation in degrees) from the
    reprojection Jacobian of the inliers, scaled by their residual variance; None when the
    problem is degenerate. ``with_focal``: the focal length was estimated with the pose, so
    its uncertainty (which trades against the distance to the scene) counts too."""
    if len(xy) < 7:
        return None
    base = _reprojection_vec(camera, pose, xyz)
    resid = base - xy
    n_params = 7 if with_focal else 6
    dof = max(2 * len(xy) - n_params, 1)
    sigma2 = float(np.sum(resid**2)) / dof
    eps = 1e-6 * max(1.0, float(np.linalg.norm(pose.translation)))
    jac = np.empty((2 * len(xy), n_params))
    centers = np.zeros((n_params, 3))
    for k in range(6):
        delta = np.zeros(6)
        delta[k] = 1e-6 if k < 3 else eps
        moved = _perturb(pose, delta)
        jac[:, k] = ((_reprojection_vec(camera, moved, xyz) - base) / delta[k]).ravel()
        centers[k] = (moved.center - pose.center) / delta[k]
    if with_focal:  # relative focal change
        scaled = _reprojection_vec(_focal_scaled(camera, 1e-6), pose, xyz)
        jac[:, 6] = ((scaled - base) / 1e-6).ravel()
    info = jac.T @ jac
    if not np.all(np.isfinite(info)):
        return None
    try:
        cov = np.linalg.inv(info) * max(sigma2, 1e-12)
    except np.linalg.LinAlgError:
        return None
    cov_c = centers.T @ cov @ centers
    pos = float(np.sqrt(max(np.linalg.eigvalsh(cov_c).max(), 0.0)))
    rot = float(np.degrees(np.sqrt(max(np.linalg.eigvalsh(cov[:3, :3]).max(), 0.0))))
    return (pos, rot) if np.isfinite(pos) and np.isfinite(rot) else None


def _focal_scaled(camera: Camera, eps: float) -> Camera:
    """``camera`` with its focal length(s) times (1 + eps)."""
    from locgui.core.camera import MODEL_PARAMS

    names = MODEL_PARAMS[camera.model]
    params = tuple(v * (1 + eps) if n in ("f", "fx", "fy") else v
                   for n, v in zip(names, camera.params, strict=True))  # fmt: skip
    return Camera(camera.model, camera.width, camera.height, params, camera.camera_id)


def _perturb(pose: Rigid3, delta: np.ndarray) -> Rigid3:
    return Rigid3(axis_angle_to_rotmat(delta[:3]) @ pose.rotation, pose.translation + delta[3:])


def _reprojection_vec(camera: Camera, pose: Rigid3, xyz: np.ndarray) -> np.ndarray:
    return camera.project(pose.apply(xyz))


class ValidatedLocalizer:
    """A localizer whose successes pass ``validate_pose`` (others pass through unchanged).

    Attributes of the wrapped localizer stay reachable (``validated.config`` etc.).
    """

    def __init__(self, inner: Any, bundle: Any, checks: PoseChecks | None = None) -> None:
        self.inner = inner
        self.checks = checks or PoseChecks()
        self.extent = map_extent(bundle)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def localize(self, query: Query, ctx: Any) -> LocalizationResult:
        result: LocalizationResult = self.inner.localize(query, ctx)
        if not result.success:
            return result
        height, width = np.asarray(query.image).shape[:2]
        failures = validate_pose(result, width, height, self.extent, self._checks())
        if failures:
            log.debug("%s %s: pose rejected: %s", result.method, query.name, failures)
            result.success = False
            result.extras["rejected_center"] = [float(v) for v in result.cam_from_world.center]  # type: ignore[union-attr]
            result.cam_from_world = None
            result.reason = "pose rejected: " + "; ".join(failures) + (
                f" (was: {result.reason})" if result.reason else ""
            )
        return result

    def _checks(self) -> PoseChecks:
        config = getattr(self.inner, "config", None)
        floor = getattr(config, "min_inliers", None)
        if isinstance(floor, int) and floor < self.checks.min_inliers:
            from dataclasses import replace

            return replace(self.checks, min_inliers=max(4, floor))
        return self.checks
