"""Axis and pose conventions of file formats <-> locgui's ``cam_from_world`` (OpenCV axes).

- OpenGL / NeRF (instant-ngp, nerfstudio): a camera-to-world 4x4 matrix whose camera axes are
  x right, y up, z backward. OpenCV axes are x right, y down, z forward, so the two camera
  frames differ by ``diag(1, -1, -1)``.
- TUM trajectories: ``tx ty tz qx qy qz qw`` is ``world_from_cam`` (camera centre and the
  camera-to-world rotation), quaternion in x, y, z, w order.
- COLMAP ``images.txt``: ``qw qx qy qz tx ty tz`` is ``cam_from_world``.
"""

from __future__ import annotations

import numpy as np

from locgui.core.pose import Rigid3, project_to_rotation, quat_to_rotmat, rotmat_to_quat

# Camera-frame change between OpenGL (x right, y up, z back) and OpenCV (x right, y down, z fwd).
GL_FROM_CV = np.diag([1.0, -1.0, -1.0, 1.0])


def rotation_deviation(R: np.ndarray) -> float:
    """How far a (3, 3) matrix is from a rotation: max |singular value - 1|."""
    return float(np.max(np.abs(np.linalg.svd(np.asarray(R, dtype=np.float64))[1] - 1.0)))


def c2w_to_cam_from_world(c2w: np.ndarray) -> Rigid3:
    """OpenCV camera-to-world (4, 4) or (3, 4) -> ``cam_from_world``.

    Files store rotations with a few digits (7-Scenes' deviate from orthonormal by ~1e-4), so
    the rotation is projected onto SO(3) (nearest rotation, SVD); the camera centre is kept
    exactly.
    """
    T = np.asarray(c2w, dtype=np.float64)
    return Rigid3(project_to_rotation(T[:3, :3]), T[:3, 3]).inverse()


def is_degenerate_rotation(M: np.ndarray) -> bool:
    """Whether a (3, 3) rotation block is too far from full rank to stand for a rotation (a
    zero or flattened matrix, which ``project_to_rotation`` would turn into an arbitrary one)."""
    s = np.linalg.svd(np.asarray(M, dtype=np.float64), compute_uv=False)
    return not (s[0] > 1e-12 and s[-1] > 1e-3 * s[0])


def opengl_c2w_to_cam_from_world(c2w_gl: np.ndarray) -> Rigid3:
    """OpenGL camera-to-world (4, 4) or (3, 4) -> OpenCV ``cam_from_world`` (see above)."""
    T = np.eye(4)
    T[:3, :] = np.asarray(c2w_gl, dtype=np.float64)[:3, :4]
    return c2w_to_cam_from_world(T @ GL_FROM_CV)  # right-multiplying flips camera y and z


def cam_from_world_to_opengl_c2w(cam_from_world: Rigid3) -> np.ndarray:
    """OpenCV ``cam_from_world`` -> (4, 4) OpenGL camera-to-world matrix."""
    return cam_from_world.inverse().matrix() @ GL_FROM_CV


def tum_to_cam_from_world(position: np.ndarray, quat_xyzw: np.ndarray) -> Rigid3:
    """TUM pose (camera centre (3,), camera-to-world quaternion x, y, z, w) -> cam_from_world."""
    x, y, z, w = np.asarray(quat_xyzw, dtype=np.float64)
    world_from_cam = Rigid3(quat_to_rotmat(np.array([w, x, y, z])), position)
    return world_from_cam.inverse()


def cam_from_world_to_tum(cam_from_world: Rigid3) -> tuple[np.ndarray, np.ndarray]:
    """``cam_from_world`` -> (camera centre (3,), camera-to-world quaternion (x, y, z, w))."""
    world_from_cam = cam_from_world.inverse()
    w, x, y, z = rotmat_to_quat(world_from_cam.rotation)
    return world_from_cam.translation.copy(), np.array([x, y, z, w])


def check_pose_values(position: np.ndarray, quat: np.ndarray) -> None:
    """Raise ValueError unless a read position and quaternion convert cleanly: finite, the
    quaternion not (near) zero, and magnitudes whose products cannot overflow float64."""
    p = np.abs(np.asarray(position, dtype=np.float64))
    q = np.abs(np.asarray(quat, dtype=np.float64))
    if not (np.isfinite(p).all() and np.isfinite(q).all()):
        raise ValueError("pose value is not finite")
    if not 1e-12 < q.max() < 1e12:
        raise ValueError("quaternion is zero or out of range")
    if p.max() >= 1e150:
        raise ValueError("position is out of range")


def centre_quat_to_cam_from_world(centre: np.ndarray, quat_wxyz: np.ndarray) -> Rigid3:
    """Camera centre + world-to-camera quaternion (w, x, y, z), as NVM and Cambridge store it."""
    R = quat_to_rotmat(quat_wxyz)
    return Rigid3(R, -R @ np.asarray(centre, dtype=np.float64))
