"""Constant-velocity motion prior and light pose smoothing that never hides a jump.

Poses are ``cam_from_world``; velocities are the relative motion ``cam_t1_from_cam_t0`` per
second, as a rotation vector (radians/s) and a camera-frame translation (map units/s).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from locgui.core.metrics import pose_error
from locgui.core.pose import Rigid3, axis_angle_to_rotmat, rotmat_to_axis_angle


def _hat(w: np.ndarray) -> np.ndarray:
    return np.array([[0.0, -w[2], w[1]], [w[2], 0.0, -w[0]], [-w[1], w[0], 0.0]])


def _left_jacobian(w: np.ndarray) -> np.ndarray:
    """SO(3) left Jacobian ``V`` of rotation vector ``w``: SE(3) ``t = V v``."""
    theta = float(np.linalg.norm(w))
    W = _hat(w)
    if theta < 1e-8:
        return np.eye(3) + 0.5 * W
    a = (1.0 - np.cos(theta)) / theta**2
    b = (theta - np.sin(theta)) / theta**3
    return np.eye(3) + a * W + b * W @ W


def scale_motion(delta: Rigid3, s: float) -> Rigid3:
    """``exp(s * log(delta))`` on SE(3): the relative motion ``delta`` continued (or cut)
    along its screw, so constant-twist motion is predicted exactly."""
    w = rotmat_to_axis_angle(delta.rotation)
    v = np.linalg.solve(_left_jacobian(w), delta.translation)
    return Rigid3(axis_angle_to_rotmat(w * s), _left_jacobian(w * s) @ (v * s))


def interpolate(a: Rigid3, b: Rigid3, w: float) -> Rigid3:
    """The pose a fraction ``w`` of the way from ``a`` (w = 0) to ``b`` (w = 1): rotation on the
    geodesic, camera centre on the straight line."""
    R = axis_angle_to_rotmat(rotmat_to_axis_angle(b.rotation @ a.rotation.T) * w) @ a.rotation
    c = (1 - w) * a.center + w * b.center
    return Rigid3(R, -R @ c)


@dataclass
class Disagreement:
    """How far a measured pose is from the prediction (map units, degrees) and whether that
    counts as a jump."""

    translation: float
    rotation_deg: float
    jump: bool


class MotionModel:
    """Keeps the last two output poses and predicts the next one at constant velocity.

    Args:
        jump_translation: map units; a measurement farther than this from the prediction is a
            jump (the history restarts at the measurement, nothing is smoothed).
        jump_rotation_deg: the same for rotation.
        smoothing: weight of the prediction in the output (0: output = measurement).
        max_gap: seconds; older history predicts nothing.
    """

    def __init__(
        self,
        jump_translation: float,
        jump_rotation_deg: float,
        smoothing: float = 0.3,
        max_gap: float = 1.0,
    ) -> None:
        self.jump_translation = jump_translation
        self.jump_rotation_deg = jump_rotation_deg
        self.smoothing = smoothing
        self.max_gap = max_gap
        self._history: list[tuple[float, Rigid3]] = []

    def reset(self, pose: Rigid3 | None = None, t: float = 0.0) -> None:
        """Forget the velocity; keep ``pose`` (at time ``t``) as the only history, if given."""
        self._history = [] if pose is None else [(t, pose)]

    @property
    def last(self) -> tuple[float, Rigid3] | None:
        return self._history[-1] if self._history else None

    def predict(self, t: float) -> Rigid3 | None:
        """The pose expected at time ``t`` (seconds), or None without recent history."""
        if not self._history or t - self._history[-1][0] > self.max_gap:
            return None
        t1, p1 = self._history[-1]
        if len(self._history) < 2:
            return p1
        t0, p0 = self._history[-2]
        if t1 - t0 <= 1e-6:
            return p1
        step = p1 * p0.inverse()  # cam_t1_from_cam_t0
        return scale_motion(step, (t - t1) / (t1 - t0)) * p1

    def disagreement(self, measured: Rigid3, predicted: Rigid3) -> Disagreement:
        dt, dr = pose_error(measured, predicted)
        return Disagreement(dt, dr, dt > self.jump_translation or dr > self.jump_rotation_deg)

    def update(self, measured: Rigid3, t: float) -> tuple[Rigid3, bool]:
        """Fuse a measurement taken at time ``t``: returns (output pose, whether it jumped)."""
        predicted = self.predict(t)
        if predicted is None:
            self.reset(measured, t)
            return measured, False
        if self.disagreement(measured, predicted).jump:
            self.reset(measured, t)
            return measured, True
        # Without a velocity yet, the prediction is only the last pose: do not drag toward it.
        weight = 1.0 - self.smoothing if len(self._history) >= 2 else 1.0
        out = interpolate(predicted, measured, weight)
        if self._history and t <= self._history[-1][0]:
            self._history[-1] = (t, out)
        else:
            self._history = [*self._history[-1:], (t, out)]
        return out, False
