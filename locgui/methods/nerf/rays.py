"""Rays of a locgui camera, and the one place where OpenGL/NeRF camera poses are converted.

locgui's NeRF works directly in the OpenCV camera frame (x right, y down, z forward) with
COLMAP pixel centres, so no conversion happens during training or rendering. Ray directions
are scaled so that their camera-frame z component is 1: the ray parameter ``t`` of a point
``o + t d`` is then its z-depth, the quantity depth maps store.

NeRF code (instant-ngp, nerfstudio, the original NeRF) stores camera-to-world matrices in the
OpenGL convention (x right, y up, z backward). ``opengl_c2w_from_pose`` / ``pose_from_opengl_c2w``
convert between the two; they are inverses of each other (tested).
"""

from __future__ import annotations

import numpy as np

from locgui.core.camera import Camera
from locgui.core.pose import Rigid3

# Flips the y and z axes: OpenCV camera frame <-> OpenGL camera frame (its own inverse).
_CV_FROM_GL = np.diag([1.0, -1.0, -1.0])


def camera_directions(camera: Camera, pixels: np.ndarray | None = None) -> np.ndarray:
    """Camera-frame ray directions with z = 1 (lens distortion removed).

    Args:
        camera: intrinsics (any supported COLMAP model).
        pixels: (N, 2) pixel coordinates, COLMAP convention; None for every pixel centre,
            row-major.
    Returns:
        (N, 3) float64 directions (x/z, y/z, 1) in the OpenCV camera frame.
    """
    if pixels is None:
        pixels = camera.pixel_grid()
    return camera.unproject(np.asarray(pixels, dtype=np.float64))


def camera_rays(
    camera: Camera, cam_from_world: Rigid3, pixels: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """World-frame rays through pixels.

    Args:
        camera: intrinsics.
        cam_from_world: pose (OpenCV camera frame).
        pixels: (N, 2) COLMAP-convention pixel coordinates; None for all pixel centres.
    Returns:
        origins (N, 3) and directions (N, 3), float64, world frame. Directions are not unit
        length: ``origin + t * direction`` lies at z-depth ``t`` in the camera.
    """
    dirs_cam = camera_directions(camera, pixels)
    world_from_cam = cam_from_world.inverse()
    dirs = dirs_cam @ world_from_cam.rotation.T
    origins = np.broadcast_to(world_from_cam.translation, dirs.shape).copy()
    return origins, dirs


def patch_centers(width: int, height: int, stride: int) -> np.ndarray:
    """Centres of the ``stride`` x ``stride`` patches of an image, COLMAP convention.

    Returns:
        (height // stride * width // stride, 2) float64 pixel coordinates, row-major; the
        patch in row r, column c covers pixels [c*stride, (c+1)*stride) and has its centre at
        (c + 0.5) * stride.
    """
    xs = (np.arange(width // stride) + 0.5) * stride
    ys = (np.arange(height // stride) + 0.5) * stride
    gx, gy = np.meshgrid(xs, ys)
    return np.stack([gx.ravel(), gy.ravel()], axis=1)


def opengl_c2w_from_pose(cam_from_world: Rigid3) -> np.ndarray:
    """(4, 4) camera-to-world matrix in the OpenGL/NeRF convention (x right, y up, z back)."""
    world_from_cam = cam_from_world.inverse().matrix()
    world_from_cam[:3, :3] = world_from_cam[:3, :3] @ _CV_FROM_GL
    return world_from_cam


def pose_from_opengl_c2w(c2w: np.ndarray) -> Rigid3:
    """``cam_from_world`` (OpenCV frame) from a (4, 4) or (3, 4) OpenGL camera-to-world."""
    c2w = np.asarray(c2w, dtype=np.float64)
    rotation = c2w[:3, :3] @ _CV_FROM_GL
    return Rigid3(rotation, c2w[:3, 3]).inverse()
