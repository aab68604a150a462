"""Analytic ray-primitive intersection for the synthetic room (metres, world frame, z up).

Rays share one origin (the camera centre) and have directions ``d`` scaled so that the hit
parameter ``t`` along ``origin + t * d`` is whatever the caller wants (the z-depth when
``d`` comes from rays with camera z = 1). Misses give ``inf``. Each primitive also maps its
surface points to a face index, outward normal and 2D surface coordinates in metres.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

_EPS = 1e-9


def _yaw_matrix(yaw: float) -> np.ndarray:
    c, s = np.cos(yaw), np.sin(yaw)
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])


def _slab(
    o: np.ndarray, d: tuple[np.ndarray, ...], lo: np.ndarray, hi: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Entry and exit t of rays against the axis-aligned box [lo, hi]."""
    t_near: np.ndarray | None = None
    t_far: np.ndarray | None = None
    with np.errstate(divide="ignore", invalid="ignore"):
        for k in range(3):
            inv = 1.0 / d[k]
            t0 = (lo[k] - o[k]) * inv
            t1 = (hi[k] - o[k]) * inv
            near, far = np.minimum(t0, t1), np.maximum(t0, t1)
            t_near = near if t_near is None else np.maximum(t_near, near)
            t_far = far if t_far is None else np.minimum(t_far, far)
    assert t_near is not None and t_far is not None
    return t_near, t_far


@dataclass(frozen=True)
class Room:
    """The room seen from inside: axis-aligned box [lo, hi]; faces are its inner walls.

    Faces: 0 x=lo, 1 x=hi, 2 y=lo, 3 y=hi, 4 floor (z=lo), 5 ceiling (z=hi).
    """

    lo: np.ndarray
    hi: np.ndarray

    def intersect(
        self, o: np.ndarray, d: tuple[np.ndarray, np.ndarray, np.ndarray]
    ) -> tuple[np.ndarray, np.ndarray]:
        """(t, face) of the inner wall each ray leaves through; t = inf where it never does."""
        inside = bool(np.all(o > self.lo) and np.all(o < self.hi))
        t: np.ndarray | None = None
        face = np.zeros(d[0].shape, np.int16)
        with np.errstate(divide="ignore", invalid="ignore"):
            for k in range(3):
                positive = d[k] > 0
                if inside:  # distance to the wall ahead is positive: x / 0 gives +inf
                    gap = np.where(positive, self.hi[k] - o[k], o[k] - self.lo[k])
                    t_k = gap / np.abs(d[k])
                else:
                    t_k = (np.where(positive, self.hi[k], self.lo[k]) - o[k]) / d[k]
                    t_k[~np.isfinite(t_k)] = np.inf  # parallel to this pair of walls
                if t is None:
                    t = t_k
                    face += positive
                    continue
                closer = t_k < t
                np.minimum(t, t_k, out=t)
                face[closer] = 2 * k + positive[closer]
        assert t is not None
        if not inside:  # seen from outside: only rays that pass through the room hit a wall
            t_near, _ = _slab(o, d, self.lo, self.hi)
            t = np.where((t > np.maximum(t_near, 0.0)) & (t_near < t), t, np.inf)
        return t, face

    def surface(self, p: np.ndarray, face: np.ndarray) -> tuple[np.ndarray, ...]:
        """(normal (N, 3), u (N,), v (N,)) for points on the given faces (normals point in)."""
        axis = face // 2
        sign = np.where(face % 2 == 1, -1.0, 1.0)
        normal = np.zeros_like(p)
        normal[np.arange(len(p)), axis] = sign
        u = np.where(axis == 0, p[:, 1], p[:, 0])
        v = np.where(axis == 2, p[:, 1], p[:, 2])
        return normal, u, v


@dataclass(frozen=True)
class Box:
    """A box of half-size ``half`` centred at ``center``, turned by ``yaw`` about z."""

    center: np.ndarray
    half: np.ndarray
    yaw: float = 0.0

    @property
    def rotation(self) -> np.ndarray:
        """(3, 3) world_from_local rotation."""
        return _yaw_matrix(self.yaw)

    def corners(self) -> np.ndarray:
        """(8, 3) world corners."""
        signs = np.array([[sx, sy, sz] for sx in (-1, 1) for sy in (-1, 1) for sz in (-1, 1)])
        return (signs * self.half) @ self.rotation.T + self.center

    def intersect(self, o: np.ndarray, d: tuple[np.ndarray, ...]) -> np.ndarray:
        R = self.rotation
        o_l = R.T @ (o - self.center)
        if self.yaw == 0.0:
            d_l = d
        else:
            c, s = R[0, 0], R[1, 0]
            d_l = (c * d[0] + s * d[1], c * d[1] - s * d[0], d[2])
        t_near, t_far = _slab(o_l, d_l, -self.half, self.half)
        hit = (t_far >= t_near) & (t_near > _EPS)
        return np.where(hit, t_near, np.inf)

    def surface(self, p: np.ndarray) -> tuple[np.ndarray, ...]:
        """(normal, u, v, face) of points on the box; faces 0..5 = -x,+x,-y,+y,-z,+z local."""
        R = self.rotation
        p_l = (p - self.center) @ R
        rel = np.abs(p_l) / self.half
        axis = np.argmax(rel, axis=1)
        positive = p_l[np.arange(len(p)), axis] > 0
        face = 2 * axis + positive
        n_l = np.zeros_like(p)
        n_l[np.arange(len(p)), axis] = np.where(positive, 1.0, -1.0)
        u = np.where(axis == 0, p_l[:, 1], p_l[:, 0])
        v = np.where(axis == 2, p_l[:, 1], p_l[:, 2])
        return n_l @ R.T, u, v, face


@dataclass(frozen=True)
class Sphere:
    """A sphere; surface coordinates come from projecting onto the dominant-axis plane."""

    center: np.ndarray
    radius: float

    def corners(self) -> np.ndarray:
        signs = np.array([[sx, sy, sz] for sx in (-1, 1) for sy in (-1, 1) for sz in (-1, 1)])
        return signs * self.radius + self.center

    def intersect(self, o: np.ndarray, d: tuple[np.ndarray, ...]) -> np.ndarray:
        oc = o - self.center
        a = d[0] * d[0] + d[1] * d[1] + d[2] * d[2]
        b = d[0] * oc[0] + d[1] * oc[1] + d[2] * oc[2]
        c = float(oc @ oc) - self.radius**2
        disc = b * b - a * c
        with np.errstate(invalid="ignore"):
            t = (-b - np.sqrt(disc)) / a
        return np.where((disc >= 0) & (t > _EPS), t, np.inf)

    def surface(self, p: np.ndarray) -> tuple[np.ndarray, ...]:
        q = p - self.center
        normal = q / self.radius
        axis = np.argmax(np.abs(q), axis=1)
        face = 2 * axis + (q[np.arange(len(p)), axis] > 0)
        u = np.where(axis == 0, q[:, 1], q[:, 0])
        v = np.where(axis == 2, q[:, 1], q[:, 2])
        return normal, u, v, face


@dataclass(frozen=True)
class Cylinder:
    """A vertical capped cylinder of ``radius`` from z = ``z0`` to ``z1`` at ``center_xy``."""

    center_xy: np.ndarray
    radius: float
    z0: float
    z1: float

    def corners(self) -> np.ndarray:
        r = self.radius
        cx, cy = self.center_xy
        return np.array(
            [
                [cx + sx * r, cy + sy * r, z]
                for sx in (-1, 1)
                for sy in (-1, 1)
                for z in (self.z0, self.z1)
            ]
        )

    def intersect(self, o: np.ndarray, d: tuple[np.ndarray, ...]) -> np.ndarray:
        ox, oy = o[0] - self.center_xy[0], o[1] - self.center_xy[1]
        a = d[0] * d[0] + d[1] * d[1]
        b = d[0] * ox + d[1] * oy
        c = ox * ox + oy * oy - self.radius**2
        disc = b * b - a * c
        with np.errstate(invalid="ignore", divide="ignore"):
            t_side = (-b - np.sqrt(disc)) / a
            z_side = o[2] + t_side * d[2]
            side_ok = (disc >= 0) & (t_side > _EPS) & (z_side >= self.z0) & (z_side <= self.z1)
            z_cap = np.where(o[2] > self.z1, self.z1, self.z0)
            t_cap = (z_cap - o[2]) / d[2]
            xc = ox + t_cap * d[0]
            yc = oy + t_cap * d[1]
            cap_ok = (t_cap > _EPS) & (xc * xc + yc * yc <= self.radius**2)
        if self.z0 <= o[2] <= self.z1:
            cap_ok = np.zeros_like(cap_ok)  # beside the cylinder: caps face away
        return np.minimum(np.where(side_ok, t_side, np.inf), np.where(cap_ok, t_cap, np.inf))

    def surface(self, p: np.ndarray) -> tuple[np.ndarray, ...]:
        qx, qy = p[:, 0] - self.center_xy[0], p[:, 1] - self.center_xy[1]
        half_h = 0.5 * (self.z1 - self.z0)
        zc = p[:, 2] - 0.5 * (self.z0 + self.z1)
        radial = np.hypot(qx, qy) / self.radius
        on_cap = np.abs(zc) / half_h > radial  # caps: |z| at the limit, radius within
        side_n = np.stack([qx, qy, np.zeros_like(qx)], axis=1) / self.radius
        cap_n = np.zeros_like(p)
        cap_n[:, 2] = np.sign(zc)
        normal = np.where(on_cap[:, None], cap_n, side_n)
        angle = np.arctan2(qy, qx)
        u = np.where(on_cap, qx, angle * self.radius)
        v = np.where(on_cap, qy, p[:, 2])
        face = np.where(on_cap, 1 + (zc > 0), 0)
        return normal, u, v, face


Primitive = Box | Sphere | Cylinder
