"""Frame-named rigid and similarity transforms.

A transform named ``a_from_b`` maps points expressed in frame b into frame a:
``p_a = a_from_b * p_b``. Poses of cameras are stored as ``cam_from_world`` (COLMAP);
``world_from_cam`` is the inverse and its translation is the camera centre.
Quaternions are (w, x, y, z), Hamilton convention, as in COLMAP.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def quat_to_rotmat(q: np.ndarray) -> np.ndarray:
    """(4,) quaternion (w, x, y, z) -> (3, 3) rotation matrix. Normalizes the input."""
    w, x, y, z = np.asarray(q, dtype=np.float64) / np.linalg.norm(q)
    return np.array(
        [
            [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
            [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
            [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
        ]
    )


def rotmat_to_quat(R: np.ndarray) -> np.ndarray:
    """(3, 3) rotation matrix -> (4,) quaternion (w, x, y, z) with w >= 0."""
    R = np.asarray(R, dtype=np.float64)
    # Shepperd's method: pick the largest diagonal term for numerical stability.
    trace = np.trace(R)
    candidates = [trace, R[0, 0], R[1, 1], R[2, 2]]
    i = int(np.argmax(candidates))
    if i == 0:
        s = np.sqrt(1 + trace) * 2
        q = [0.25 * s, (R[2, 1] - R[1, 2]) / s, (R[0, 2] - R[2, 0]) / s, (R[1, 0] - R[0, 1]) / s]
    elif i == 1:
        s = np.sqrt(1 + R[0, 0] - R[1, 1] - R[2, 2]) * 2
        q = [(R[2, 1] - R[1, 2]) / s, 0.25 * s, (R[0, 1] + R[1, 0]) / s, (R[0, 2] + R[2, 0]) / s]
    elif i == 2:
        s = np.sqrt(1 + R[1, 1] - R[0, 0] - R[2, 2]) * 2
        q = [(R[0, 2] - R[2, 0]) / s, (R[0, 1] + R[1, 0]) / s, 0.25 * s, (R[1, 2] + R[2, 1]) / s]
    else:
        s = np.sqrt(1 + R[2, 2] - R[0, 0] - R[1, 1]) * 2
        q = [(R[1, 0] - R[0, 1]) / s, (R[0, 2] + R[2, 0]) / s, (R[1, 2] + R[2, 1]) / s, 0.25 * s]
    q_arr = np.array(q)
    q_arr /= np.linalg.norm(q_arr)
    return q_arr if q_arr[0] >= 0 else -q_arr


def axis_angle_to_rotmat(rotvec: np.ndarray) -> np.ndarray:
    """(3,) rotation vector (axis * angle in radians) -> (3, 3) rotation matrix (Rodrigues)."""
    rotvec = np.asarray(rotvec, dtype=np.float64)
    theta = np.linalg.norm(rotvec)
    if theta < 1e-12:
        return np.eye(3)
    k = rotvec / theta
    K = np.array([[0, -k[2], k[1]], [k[2], 0, -k[0]], [-k[1], k[0], 0]])
    return np.eye(3) + np.sin(theta) * K + (1 - np.cos(theta)) * K @ K


def rotmat_to_axis_angle(R: np.ndarray) -> np.ndarray:
    """(3, 3) rotation matrix -> (3,) rotation vector."""
    q = rotmat_to_quat(R)
    s = np.linalg.norm(q[1:])
    if s < 1e-12:
        return np.zeros(3)
    angle = 2 * np.arctan2(s, q[0])
    return q[1:] / s * angle


def project_to_rotation(M: np.ndarray) -> np.ndarray:
    """Nearest rotation matrix to a (3, 3) matrix (SVD, det = +1)."""
    U, _, Vt = np.linalg.svd(M)
    D = np.diag([1.0, 1.0, np.sign(np.linalg.det(U @ Vt))])
    return U @ D @ Vt


def look_at(eye: np.ndarray, target: np.ndarray, up: np.ndarray | None = None) -> Rigid3:
    """``cam_from_world`` of an OpenCV camera at ``eye`` looking at ``target``.

    ``up`` is the world direction that appears upward in the image (default +z).
    """
    up = np.array([0.0, 0.0, 1.0]) if up is None else up
    eye = np.asarray(eye, dtype=np.float64)
    z = np.asarray(target, dtype=np.float64) - eye
    z /= np.linalg.norm(z)
    x = np.cross(-np.asarray(up, dtype=np.float64), z)
    if np.linalg.norm(x) < 1e-9:  # looking along up: pick any perpendicular
        x = np.cross(z, [1.0, 0, 0]) if abs(z[0]) < 0.9 else np.cross(z, [0, 1.0, 0])
    x /= np.linalg.norm(x)
    y = np.cross(z, x)
    R_world_from_cam = np.stack([x, y, z], axis=1)
    return Rigid3(R_world_from_cam, eye).inverse()


@dataclass(frozen=True)
class Rigid3:
    """A rigid transform ``a_from_b``: ``p_a = rotation @ p_b + translation``.

    Attributes:
        rotation: (3, 3) rotation matrix.
        translation: (3,) translation, in the units of frame a.
    """

    rotation: np.ndarray
    translation: np.ndarray

    def __post_init__(self) -> None:
        R = np.asarray(self.rotation, dtype=np.float64).reshape(3, 3)
        t = np.asarray(self.translation, dtype=np.float64).reshape(3)
        R.flags.writeable = False
        t.flags.writeable = False
        object.__setattr__(self, "rotation", R)
        object.__setattr__(self, "translation", t)

    @classmethod
    def identity(cls) -> Rigid3:
        return cls(np.eye(3), np.zeros(3))

    @classmethod
    def from_matrix(cls, T: np.ndarray) -> Rigid3:
        """From a (4, 4) or (3, 4) homogeneous matrix."""
        T = np.asarray(T, dtype=np.float64)
        return cls(T[:3, :3], T[:3, 3])

    @classmethod
    def from_quat(cls, qvec: np.ndarray, tvec: np.ndarray) -> Rigid3:
        """From a COLMAP quaternion (w, x, y, z) and translation."""
        return cls(quat_to_rotmat(qvec), tvec)

    def matrix(self) -> np.ndarray:
        """(4, 4) homogeneous matrix."""
        T = np.eye(4)
        T[:3, :3] = self.rotation
        T[:3, 3] = self.translation
        return T

    def quat(self) -> np.ndarray:
        """(4,) quaternion (w, x, y, z)."""
        return rotmat_to_quat(self.rotation)

    def inverse(self) -> Rigid3:
        Rt = self.rotation.T
        return Rigid3(Rt, -Rt @ self.translation)

    def __mul__(self, other: Rigid3) -> Rigid3:
        """Composition: ``a_from_b * b_from_c = a_from_c``."""
        return Rigid3(
            self.rotation @ other.rotation, self.rotation @ other.translation + self.translation
        )

    def apply(self, points: np.ndarray) -> np.ndarray:
        """Transform (N, 3) points (or one (3,) point) from frame b to frame a."""
        points = np.asarray(points, dtype=np.float64)
        return points @ self.rotation.T + self.translation

    @property
    def center(self) -> np.ndarray:
        """For ``cam_from_world``: the camera centre in world coordinates, (3,)."""
        return -self.rotation.T @ self.translation

    def to_dict(self) -> dict[str, list]:
        return {
            "rotation": self.rotation.tolist(),
            "translation": self.translation.tolist(),
            "qvec_wxyz": self.quat().tolist(),
        }

    @classmethod
    def from_dict(cls, d: dict) -> Rigid3:
        return cls(np.array(d["rotation"]), np.array(d["translation"]))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Rigid3):
            return NotImplemented
        return bool(
            np.array_equal(self.rotation, other.rotation)
            and np.array_equal(self.translation, other.translation)
        )

    def __hash__(self) -> int:
        return hash((self.rotation.tobytes(), self.translation.tobytes()))

    def allclose(self, other: Rigid3, atol: float = 1e-9) -> bool:
        return bool(
            np.allclose(self.rotation, other.rotation, atol=atol)
            and np.allclose(self.translation, other.translation, atol=atol)
        )


@dataclass(frozen=True)
class Sim3:
    """A similarity transform ``a_from_b``: ``p_a = scale * rotation @ p_b + translation``."""

    scale: float
    rotation: np.ndarray
    translation: np.ndarray

    def __post_init__(self) -> None:
        object.__setattr__(self, "scale", float(self.scale))
        object.__setattr__(
            self, "rotation", np.asarray(self.rotation, dtype=np.float64).reshape(3, 3)
        )
        object.__setattr__(
            self, "translation", np.asarray(self.translation, dtype=np.float64).reshape(3)
        )

    @classmethod
    def identity(cls) -> Sim3:
        return cls(1.0, np.eye(3), np.zeros(3))

    def matrix(self) -> np.ndarray:
        T = np.eye(4)
        T[:3, :3] = self.scale * self.rotation
        T[:3, 3] = self.translation
        return T

    def inverse(self) -> Sim3:
        Rt = self.rotation.T
        return Sim3(1.0 / self.scale, Rt, -(Rt @ self.translation) / self.scale)

    def __mul__(self, other: Sim3) -> Sim3:
        return Sim3(
            self.scale * other.scale,
            self.rotation @ other.rotation,
            self.scale * self.rotation @ other.translation + self.translation,
        )

    def apply(self, points: np.ndarray) -> np.ndarray:
        points = np.asarray(points, dtype=np.float64)
        return self.scale * points @ self.rotation.T + self.translation

    def transform_pose(self, cam_from_b: Rigid3) -> Rigid3:
        """Re-express a camera pose ``cam_from_b`` as ``cam_from_a`` where ``a = self * b``.

        The camera's metric frame is kept; only its placement in the new world changes.
        """
        world_from_cam_b = cam_from_b.inverse()
        R = self.rotation @ world_from_cam_b.rotation
        c = self.apply(world_from_cam_b.translation)
        return Rigid3(R, c).inverse()
