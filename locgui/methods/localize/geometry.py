"""Conversions between locgui core types and pycolmap, and small pose helpers.

pycolmap is imported inside the functions (heavy import; see docs/DEVELOPING.md).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from locgui.core.camera import Camera
from locgui.core.pose import Rigid3


def to_pycolmap_camera(camera: Camera) -> Any:
    """A ``pycolmap.Camera`` with the same model, size, parameters and id."""
    import pycolmap

    return pycolmap.Camera(
        model=camera.model,
        width=camera.width,
        height=camera.height,
        params=list(camera.params),
        camera_id=camera.camera_id,
    )


def from_pycolmap_camera(camera: Any) -> Camera:
    return Camera(
        camera.model_name,
        int(camera.width),
        int(camera.height),
        tuple(float(p) for p in camera.params),
        int(camera.camera_id),
    )


def to_pycolmap_rigid(pose: Rigid3) -> Any:
    import pycolmap

    return pycolmap.Rigid3d(pycolmap.Rotation3d(pose.rotation), pose.translation.reshape(3, 1))


def from_pycolmap_rigid(rigid: Any) -> Rigid3:
    return Rigid3(np.asarray(rigid.rotation.matrix()), np.asarray(rigid.translation).reshape(3))


def reprojection_errors(
    camera: Camera, cam_from_world: Rigid3, xy: np.ndarray, xyz: np.ndarray
) -> np.ndarray:
    """(N,) pixel distance between ``xy`` and the projection of ``xyz``; inf behind the camera.

    Args:
        xy: (N, 2) observed pixels, COLMAP convention.
        xyz: (N, 3) world points.
    """
    if len(xy) == 0:
        return np.zeros(0)
    proj = camera.project(cam_from_world.apply(xyz))
    err = np.linalg.norm(proj - xy, axis=1)
    return np.where(np.isfinite(err), err, np.inf)


def fundamental_from_poses(cam1: Camera, pose1: Rigid3, cam2: Camera, pose2: Rigid3) -> np.ndarray:
    """(3, 3) F with ``x2^T F x1 = 0`` for pinhole pixels of two posed cameras."""
    rel = pose2 * pose1.inverse()  # cam2_from_cam1
    t = rel.translation
    tx = np.array([[0, -t[2], t[1]], [t[2], 0, -t[0]], [-t[1], t[0], 0]])
    E = tx @ rel.rotation
    return np.linalg.inv(cam2.K()).T @ E @ np.linalg.inv(cam1.K())
