"""Exact sparse 3D points for the synthetic scene: surface samples with visibility tracks.

Points are drawn where a mapping image has strong gradients (where a feature detector would
fire), re-cast in float64 so they lie on the surface, and observed by every mapping image
that sees them unoccluded and not at a grazing angle. Keypoints are their exact projections.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from locgui.core.camera import Camera
from locgui.core.pose import Rigid3
from locgui.core.scene import Points3D
from locgui.io.synth.room import SyntheticRoom

_MAX_GRAZING_COS = 0.2  # observations steeper than ~78 degrees from the normal are dropped
_OCCLUSION_TOL = 1e-6  # relative: a hit before 1 - tol along the ray means occluded


@dataclass
class SurfaceSamples:
    """Candidate points.

    Attributes:
        xyz: (N, 3) float64 world points on surfaces, metres.
        rgb: (N, 3) uint8 rendered colour where they were sampled.
        normal: (N, 3) float64 unit surface normals.
    """

    xyz: np.ndarray
    rgb: np.ndarray
    normal: np.ndarray


def sample_surface_points(
    room: SyntheticRoom,
    camera: Camera,
    cam_from_world: Rigid3,
    rgb: np.ndarray,
    count: int,
    rng: np.random.Generator,
) -> SurfaceSamples:
    """Up to ``count`` surface points seen in one rendered image, favouring strong gradients.

    Args:
        rgb: (H, W, 3) uint8 the rendering of ``room`` from this camera and pose.
    """
    gray = rgb.astype(np.float32).mean(axis=2)
    gy, gx = np.gradient(gray)
    weight = np.hypot(gx, gy)
    weight[:2] = weight[-2:] = 0
    weight[:, :2] = weight[:, -2:] = 0
    weight = weight.ravel() ** 2
    total = weight.sum()
    count = min(count, int(np.count_nonzero(weight)))
    if total <= 0 or count == 0:
        return SurfaceSamples(np.zeros((0, 3)), np.zeros((0, 3), np.uint8), np.zeros((0, 3)))
    flat = rng.choice(weight.size, size=count, replace=False, p=weight / total)
    rows, cols = np.divmod(flat, camera.width)
    pixels = np.stack([cols, rows], axis=1) + rng.uniform(0.0, 1.0, (count, 2))
    rays_world = camera.unproject(pixels) @ cam_from_world.rotation
    origin = cam_from_world.center
    t, ids = room.cast(origin, (rays_world[:, 0], rays_world[:, 1], rays_world[:, 2]))
    ok = ids >= 0
    xyz = origin + t[ok, None] * rays_world[ok]
    return SurfaceSamples(xyz, rgb[rows[ok], cols[ok]], room.normals(xyz, ids[ok]))


def build_tracks(
    room: SyntheticRoom,
    camera: Camera,
    poses: dict[int, Rigid3],
    samples: SurfaceSamples,
    min_track: int = 2,
) -> tuple[Points3D, dict[int, tuple[np.ndarray, np.ndarray]]]:
    """Observations of the samples in the images ``poses`` (image_id -> cam_from_world).

    Returns:
        points: the samples seen by at least ``min_track`` images (ids 1..N, error 0).
        keypoints: image_id -> ((K, 2) float64 keypoints, COLMAP convention;
            (K,) int64 point ids).
    """
    n = len(samples.xyz)
    seen = np.zeros((len(poses), n), bool)
    projections = np.zeros((len(poses), n, 2))
    for row, pose in enumerate(poses.values()):
        seen[row], projections[row] = _observe(room, camera, pose, samples)
    keep = np.flatnonzero(seen.sum(axis=0) >= min_track)
    ids = np.arange(1, len(keep) + 1, dtype=np.int64)
    track_point, track_image, track_kp = [], [], []
    keypoints: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    for row, image_id in enumerate(poses):
        cols = np.flatnonzero(seen[row, keep])
        keypoints[image_id] = (projections[row, keep[cols]], ids[cols])
        track_point.append(cols)
        track_image.append(np.full(len(cols), image_id, np.int64))
        track_kp.append(np.arange(len(cols), dtype=np.int64))
    points = Points3D(
        ids=ids,
        xyz=samples.xyz[keep],
        rgb=samples.rgb[keep],
        error=np.zeros(len(keep)),
        track_point=np.concatenate(track_point).astype(np.int64),
        track_image=np.concatenate(track_image),
        track_keypoint=np.concatenate(track_kp),
    )
    return points, keypoints


def _observe(
    room: SyntheticRoom, camera: Camera, cam_from_world: Rigid3, samples: SurfaceSamples
) -> tuple[np.ndarray, np.ndarray]:
    """(N,) bool visible and (N, 2) projections of the samples in one image."""
    xyz_cam = cam_from_world.apply(samples.xyz)
    uv = camera.project(xyz_cam)
    visible = (xyz_cam[:, 2] > 1e-6) & camera.in_image(uv)
    origin = cam_from_world.center
    to_point = samples.xyz - origin
    cos_view = np.abs(np.einsum("ij,ij->i", to_point, samples.normal)) / np.linalg.norm(
        to_point, axis=1
    )
    visible &= cos_view > _MAX_GRAZING_COS
    idx = np.flatnonzero(visible)
    if idx.size:
        d = to_point[idx]
        t, _ = room.cast(origin, (d[:, 0], d[:, 1], d[:, 2]))
        visible[idx] = t >= 1.0 - _OCCLUSION_TOL
    return visible, np.nan_to_num(uv)
