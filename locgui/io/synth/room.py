"""``SyntheticRoom``: an analytic ray caster for the seeded textured room."""

from __future__ import annotations

import logging

import numpy as np

from locgui.core.camera import Camera
from locgui.core.pose import Rigid3
from locgui.io.synth import textures
from locgui.io.synth.layout import Layout, build_layout

log = logging.getLogger(__name__)

_N_FACES = 6  # room faces take ids 0..5, objects 6.. in ``SyntheticRoom.cast``
_LIGHT = np.array([0.6, -0.4, 2.6])
_CHUNK_PIXELS = 32768


def _clip_rect(
    rect: tuple[int, int, int, int] | None, r0: int, r1: int
) -> tuple[int, int, int, int] | None:
    """A window in image rows [r0, r1) re-expressed relative to the band's first row."""
    if rect is None:
        return None
    return max(rect[0], r0) - r0, min(rect[1], r1) - r0, rect[2], rect[3]


def _outside_frustum(camera: Camera, corners: np.ndarray) -> bool:
    """True when all (N, 3) camera-frame corners lie beyond one plane of the view frustum
    (behind the camera, or past one image edge), so their convex hull cannot be seen."""
    fx, fy = camera.focal
    cx, cy = camera.principal_point
    x, y, z = corners[:, 0], corners[:, 1], corners[:, 2]
    margin = 2.0  # pixels, for distortion-free cameras; distortion keeps every object
    if camera.has_distortion:
        return bool(np.all(z <= 0))
    beyond = (
        z <= 0,
        fx * x + (cx + margin) * z < 0,
        fx * x + (cx - camera.width - margin) * z > 0,
        fy * y + (cy + margin) * z < 0,
        fy * y + (cy - camera.height - margin) * z > 0,
    )
    return any(bool(np.all(b)) for b in beyond)


class SyntheticRoom:
    """A procedurally textured room (about 8 x 6 x 3 m, metres, z up) with objects.

    ``render`` gives the exact image and z-depth for any camera and pose; the same seed gives
    the same room on every machine.

    Args:
        seed: selects the layout, materials and textures.
    """

    def __init__(self, seed: int = 0) -> None:
        self.seed = int(seed)
        self.layout: Layout = build_layout(self.seed)
        self._ray_cache: dict[Camera, np.ndarray] = {}

    # ------------------------------------------------------------------ geometry
    @property
    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """(lo, hi) corners of the room, metres."""
        return self.layout.room.lo.copy(), self.layout.room.hi.copy()

    def cast(
        self,
        origin: np.ndarray,
        dirs: tuple[np.ndarray, np.ndarray, np.ndarray],
        rects: list[tuple[int, int, int, int] | None] | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """First hit of rays ``origin + t * d``.

        Args:
            origin: (3,) world point shared by all rays.
            dirs: x, y, z components of the directions, arrays of any equal shape.
            rects: for 2D direction arrays, per object a (row0, row1, col0, col1) window
                that bounds where it can be hit, or None for everywhere.
        Returns:
            t: hit parameter per ray (inf where nothing is hit).
            ids: int16 per ray: 0..5 room face, 6 + k object k, -1 nothing.
        """
        t, ids = self.layout.room.intersect(origin, dirs)
        ids[~np.isfinite(t)] = -1
        for k, placed in enumerate(self.layout.objects):
            rect = rects[k] if rects is not None else None
            if rect is None:
                window: tuple[slice, ...] = (slice(None),) * t.ndim
            else:
                r0, r1, c0, c1 = rect
                if r1 <= r0 or c1 <= c0:
                    continue
                window = (slice(r0, r1), slice(c0, c1))
            t_obj = placed.shape.intersect(origin, tuple(d[window] for d in dirs))
            t_win = t[window]  # basic slicing: views, updated in place
            closer = t_obj < t_win
            np.copyto(t_win, t_obj, where=closer)
            np.copyto(ids[window], np.int16(_N_FACES + k), where=closer)
        return t, ids

    def normals(self, points: np.ndarray, ids: np.ndarray) -> np.ndarray:
        """(N, 3) unit surface normals at (N, 3) world points lying on primitives ``ids``
        (as returned by ``cast``; room normals point into the room)."""
        out = np.zeros((len(points), 3))
        for prim in np.unique(ids):
            sel = ids == prim
            if prim < 0:
                continue
            if prim < _N_FACES:
                out[sel, prim // 2] = -1.0 if prim % 2 else 1.0
            else:
                out[sel] = self.layout.objects[prim - _N_FACES].shape.surface(points[sel])[0]
        return out

    def _object_rects(
        self, camera: Camera, cam_from_world: Rigid3
    ) -> list[tuple[int, int, int, int] | None]:
        """Pixel windows bounding each object's projection (None: cannot bound it)."""
        rects: list[tuple[int, int, int, int] | None] = []
        for placed in self.layout.objects:
            corners = cam_from_world.apply(placed.shape.corners())
            if _outside_frustum(camera, corners):
                rects.append((0, 0, 0, 0))
                continue
            if camera.has_distortion or np.any(corners[:, 2] < 1e-3):
                rects.append(None)
                continue
            uv = camera.project(corners)
            c0 = int(np.clip(np.floor(uv[:, 0].min()) - 1, 0, camera.width))
            c1 = int(np.clip(np.ceil(uv[:, 0].max()) + 1, 0, camera.width))
            r0 = int(np.clip(np.floor(uv[:, 1].min()) - 1, 0, camera.height))
            r1 = int(np.clip(np.ceil(uv[:, 1].max()) + 1, 0, camera.height))
            rects.append((r0, r1, c0, c1))
        return rects

    def _camera_rays(self, camera: Camera) -> np.ndarray:
        """(H, W, 3) camera-frame rays with z = 1 through the pixel centres."""
        rays = self._ray_cache.get(camera)
        if rays is None:
            rays = camera.unproject(camera.pixel_grid()).reshape(camera.height, camera.width, 3)
            if len(self._ray_cache) >= 4:
                self._ray_cache.pop(next(iter(self._ray_cache)))
            self._ray_cache[camera] = rays
        return rays

    # ------------------------------------------------------------------ rendering
    def render(self, camera: Camera, cam_from_world: Rigid3) -> tuple[np.ndarray, np.ndarray]:
        """Render the room.

        Args:
            camera: intrinsics; rays pass through pixel centres (COLMAP convention).
            cam_from_world: pose, OpenCV camera frame.
        Returns:
            rgb: (H, W, 3) uint8.
            depth: (H, W) float32 z-depth in metres, 0 where nothing is hit.
        """
        rays = self._camera_rays(camera)
        R_wc = cam_from_world.rotation.T
        origin = cam_from_world.center
        rects = self._object_rects(camera, cam_from_world)
        t = np.empty((camera.height, camera.width))
        ids = np.empty((camera.height, camera.width), np.int16)
        # Work in chunks of ~32k pixels: every temporary array stays in cache (about 4x
        # faster than whole-image arrays) while numpy's per-call overhead stays small.
        dirs_all = R_wc @ rays.reshape(-1, 3).T  # (3, H*W) world directions, one row each
        dirs_img = dirs_all.reshape(3, camera.height, camera.width)
        step = max(1, _CHUNK_PIXELS // camera.width)
        for r0 in range(0, camera.height, step):
            r1 = min(r0 + step, camera.height)
            dirs = (dirs_img[0, r0:r1], dirs_img[1, r0:r1], dirs_img[2, r0:r1])
            clipped = [_clip_rect(r, r0, r1) for r in rects]
            t[r0:r1], ids[r0:r1] = self.cast(origin, dirs, clipped)
        depth = np.where(ids >= 0, t, 0.0).astype(np.float32)
        rgb = self._shade(origin, dirs_all, t.ravel(), ids.ravel(), camera)
        return rgb.reshape(camera.height, camera.width, 3), depth

    def _shade(
        self, origin: np.ndarray, dirs: np.ndarray, t: np.ndarray, ids: np.ndarray, camera: Camera
    ) -> np.ndarray:
        """(N, 3) uint8 colour of N hits (black where nothing is hit).

        Args:
            dirs: (3, N) world ray directions (t along them is the z-depth).
            t: (N,) hit parameters; ids: (N,) int16 what was hit (see ``cast``).
        """
        focal = float(np.mean(camera.focal))
        out = np.zeros((ids.size, 3), np.uint8)
        order = np.argsort(ids, kind="stable")  # radix sort on int16
        n_ids = _N_FACES + len(self.layout.objects)
        bounds = np.searchsorted(ids[order], np.arange(-1, n_ids + 1))
        for prim in range(n_ids):
            for start in range(bounds[prim + 1], bounds[prim + 2], _CHUNK_PIXELS):
                sel = order[start : min(start + _CHUNK_PIXELS, bounds[prim + 2])]
                # float32 is plenty for shading (micrometres on the surface).
                d = [dirs[k][sel].astype(np.float32) for k in range(3)]
                colour = self._shade_group(prim, origin, d, t[sel].astype(np.float32), focal)
                colour *= np.float32(255.0)
                np.clip(colour, 0.0, 255.0, out=colour)
                out[sel] = np.rint(colour, out=colour)
        return out

    def _shade_group(
        self, prim: int, origin: np.ndarray, d: list[np.ndarray], t: np.ndarray, focal: float
    ) -> np.ndarray:
        """(N, 3) colour of N hits on primitive id ``prim`` (room face or 6 + object).

        Args:
            d: x, y, z components of the ray directions, (N,) float32 each.
            t: (N,) float32 hit parameters (z-depth).
        """
        p = [np.float32(origin[k]) + t * d[k] for k in range(3)]
        d_norm = np.sqrt(d[0] * d[0] + d[1] * d[1] + d[2] * d[2])
        if prim < _N_FACES:  # a wall: constant normal
            axis, sign = prim // 2, np.float32(-1.0 if prim % 2 else 1.0)
            u = p[1] if axis == 0 else p[0]
            v = p[1] if axis == 2 else p[2]
            cos_view = np.abs(d[axis]) / d_norm
            n_dot_l = sign * (np.float32(_LIGHT[axis]) - p[axis])
            material = self.layout.materials[self.layout.wall_materials[prim]]
            faces: np.ndarray | None = None
            face_seed = prim
        else:
            placed = self.layout.objects[prim - _N_FACES]
            normal, u, v, faces = placed.shape.surface(np.stack(p, axis=1))
            normal = normal.astype(np.float32)
            u, v = u.astype(np.float32), v.astype(np.float32)
            n = [normal[:, k] for k in range(3)]
            cos_view = np.abs(n[0] * d[0] + n[1] * d[1] + n[2] * d[2]) / d_norm
            n_dot_l = sum(n[k] * (np.float32(_LIGHT[k]) - p[k]) for k in range(3))
            material = self.layout.materials[placed.material]
            face_seed = prim * 16
        footprint = t / np.float32(focal) / np.maximum(cos_view, np.float32(0.2))
        albedo = self._albedo(material, u, v, footprint, faces, face_seed)
        dist2 = sum((np.float32(_LIGHT[k]) - p[k]) ** 2 for k in range(3))
        lambert = np.abs(n_dot_l) / np.sqrt(dist2)
        light = np.float32(0.5) + np.float32(0.6) * lambert / (np.float32(1.0) + 0.04 * dist2)
        albedo *= light[:, None]
        return albedo

    @staticmethod
    def _albedo(
        material: textures.Material,
        u: np.ndarray,
        v: np.ndarray,
        footprint: np.ndarray,
        faces: np.ndarray | None,
        face_seed: int,
    ) -> np.ndarray:
        """(N, 3) albedo; ``faces`` (N,) splits a primitive's faces (None: one face)."""
        if faces is None:
            return textures.albedo(material, u, v, footprint, face_seed)
        out = np.empty((len(u), 3), np.float32)
        for f in np.unique(faces):
            sel = faces == f
            out[sel] = textures.albedo(material, u[sel], v[sel], footprint[sel], face_seed + int(f))
        return out
