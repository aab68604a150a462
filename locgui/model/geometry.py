"""Geometry behind the 3D view, numpy only: frustums, the display frame, projection, picking.

The 3D view draws in a *display frame*: world coordinates rotated so that the scene's up
direction is +z (the orbit axis of the view) and shifted so the scene centre is the origin
(float32 vertex buffers keep their precision for scenes far from the world origin).
"""

from __future__ import annotations

import numpy as np

from locgui.core.camera import Camera
from locgui.core.pose import Rigid3
from locgui.core.scene import SceneMap

# Segment endpoints of one frustum as indices into its 6 vertices
# (0 apex, 1-4 image corners top-left, top-right, bottom-right, bottom-left, 5 "up" tip).
_FRUSTUM_EDGES = np.array(
    [[0, 1], [0, 2], [0, 3], [0, 4], [1, 2], [2, 3], [3, 4], [4, 1], [1, 5], [5, 2]]
)
SEGMENTS_PER_FRUSTUM = len(_FRUSTUM_EDGES)


def frustum_vertices(camera: Camera, cam_from_world: Rigid3, depth: float) -> np.ndarray:
    """(6, 3) world points of a camera frustum drawn ``depth`` map units deep.

    Row 0 is the camera centre; rows 1-4 the image corners (top-left, top-right,
    bottom-right, bottom-left; pixel edges, COLMAP convention) at z = ``depth`` in the camera
    frame; row 5 the tip of a small triangle above the top edge marking the image's up side.
    """
    K_inv = np.linalg.inv(camera.K())
    w, h = float(camera.width), float(camera.height)
    corners = np.array([[0, 0, 1], [w, 0, 1], [w, h, 1], [0, h, 1], [w / 2, -0.25 * h, 1]])
    rays = corners @ K_inv.T
    cam_pts = np.vstack([np.zeros(3), rays / rays[:, 2:3] * depth])
    return cam_from_world.inverse().apply(cam_pts)


def frustum_segments(vertices: np.ndarray) -> np.ndarray:
    """(10 * 2, 3) line-segment endpoints (GL "lines" mode) of one frustum's (6, 3) vertices."""
    return vertices[_FRUSTUM_EDGES.reshape(-1)]


def frustums_segments(cameras: list[Camera], poses: list[Rigid3], depth: float) -> np.ndarray:
    """(N * 20, 3) segment endpoints of N frustums (world frame)."""
    if not poses:
        return np.zeros((0, 3))
    return np.concatenate(
        [
            frustum_segments(frustum_vertices(c, p, depth))
            for c, p in zip(cameras, poses, strict=True)
        ]
    )


def default_frustum_depth(scene: SceneMap) -> float:
    """A frustum depth that reads well: 1.5x the median spacing of neighbouring cameras, kept
    between 8% and 20% of the scene radius."""
    ids = scene.posed_ids()
    radius = scene.scene_radius()
    if len(ids) < 2:
        return 0.1 * radius
    centers = scene.camera_centers(ids[:2000])
    d = np.linalg.norm(centers[:, None] - centers[None], axis=-1)
    np.fill_diagonal(d, np.inf)
    spacing = float(np.median(d.min(axis=1)))
    if not np.isfinite(spacing) or spacing <= 0:
        return 0.1 * radius
    return float(np.clip(1.5 * spacing, 0.08 * radius, 0.2 * radius))


def rotation_between(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(3, 3) smallest rotation taking unit direction ``a`` to unit direction ``b``."""
    a = np.asarray(a, float) / np.linalg.norm(a)
    b = np.asarray(b, float) / np.linalg.norm(b)
    v, c = np.cross(a, b), float(a @ b)
    if c < -1 + 1e-9:  # opposite: turn half way round any perpendicular axis
        axis = np.cross(a, [1.0, 0, 0]) if abs(a[0]) < 0.9 else np.cross(a, [0, 1.0, 0])
        axis /= np.linalg.norm(axis)
        return 2 * np.outer(axis, axis) - np.eye(3)
    vx = np.array([[0, -v[2], v[1]], [v[2], 0, -v[0]], [-v[1], v[0], 0]])
    return np.eye(3) + vx + vx @ vx / (1 + c)


def scene_up(scene: SceneMap) -> np.ndarray:
    """(3,) unit world direction that appears upward in most images (+z without cameras)."""
    ids = scene.posed_ids()
    if not ids:
        return np.array([0.0, 0.0, 1.0])
    # Row 1 of R (cam_from_world) is the camera's +y (image down) axis in world coordinates.
    downs = np.array([scene.images[i].cam_from_world.rotation[1] for i in ids])  # type: ignore[union-attr]
    up = -downs.mean(axis=0)
    n = np.linalg.norm(up)
    return up / n if n > 1e-6 else np.array([0.0, 0.0, 1.0])


def display_frame(scene: SceneMap) -> Rigid3:
    """``display_from_world``: scene up -> +z, scene centre (median) -> origin."""
    R = rotation_between(scene_up(scene), np.array([0.0, 0.0, 1.0]))
    parts = [scene.points.xyz] if len(scene.points) else []
    if scene.posed_ids():
        parts.append(scene.camera_centers())
    center = np.median(np.concatenate(parts), axis=0) if parts else np.zeros(3)
    return Rigid3(R, -R @ center)


def project_to_screen(
    points: np.ndarray, mvp: np.ndarray, width: float, height: float
) -> tuple[np.ndarray, np.ndarray]:
    """Project display-frame points to widget pixels.

    Args:
        points: (N, 3) display-frame coordinates.
        mvp: (4, 4) projection @ view matrix (OpenGL clip coordinates, column vectors).
        width, height: widget size in logical pixels.
    Returns:
        (N, 2) pixel coordinates (x right, y down, origin top-left) and (N,) bool mask of
        points in front of the camera and inside the view.
    """
    pts = np.asarray(points, np.float64)
    clip = pts @ mvp[:3, :3].T + mvp[:3, 3]
    w = pts @ mvp[3, :3] + mvp[3, 3]
    front = w > 1e-9
    ndc = clip[:, :2] / np.where(front, w, 1.0)[:, None]
    xy = np.stack([(ndc[:, 0] + 1) * 0.5 * width, (1 - ndc[:, 1]) * 0.5 * height], axis=1)
    inside = front & (np.abs(ndc[:, 0]) <= 1) & (np.abs(ndc[:, 1]) <= 1)
    return xy, inside


def pick_nearest(
    screen_xy: np.ndarray, valid: np.ndarray, click: tuple[float, float], radius: float
) -> int | None:
    """Index of the valid projected point nearest to ``click`` within ``radius`` pixels."""
    if len(screen_xy) == 0:
        return None
    d2 = np.sum((screen_xy - np.asarray(click, float)) ** 2, axis=1)
    d2[~valid] = np.inf
    i = int(np.argmin(d2))
    return i if d2[i] <= radius * radius else None


def nice_step(span: float, target_lines: int = 10) -> float:
    """A 1-2-5 x 10^k step giving about ``target_lines`` lines over ``span``."""
    raw = max(span, 1e-9) / target_lines
    base = 10 ** np.floor(np.log10(raw))
    return float(min((m * base for m in (1, 2, 5, 10)), key=lambda s: abs(s - raw)))


def floor_grid(lo: np.ndarray, hi: np.ndarray, z: float) -> np.ndarray:
    """(2K, 3) segment endpoints of a square grid covering [lo, hi] in x and y at height z
    (display frame), on a 1-2-5 step."""
    step = nice_step(float(max(hi[0] - lo[0], hi[1] - lo[1])))
    x0, x1 = np.floor(lo[0] / step) * step, np.ceil(hi[0] / step) * step
    y0, y1 = np.floor(lo[1] / step) * step, np.ceil(hi[1] / step) * step
    segs = [[[x, y0, z], [x, y1, z]] for x in np.arange(x0, x1 + step / 2, step)]
    segs += [[[x0, y, z], [x1, y, z]] for y in np.arange(y0, y1 + step / 2, step)]
    return np.asarray(segs, float).reshape(-1, 3)


def error_segments(gt_center: np.ndarray, estimate_centers: np.ndarray) -> np.ndarray:
    """(2K, 3) segment endpoints (GL "lines"): the ground-truth camera centre to each of the K
    estimated centres ((3,) and (K, 3) world points, map units)."""
    ends = np.asarray(estimate_centers, float).reshape(-1, 3)
    starts = np.broadcast_to(np.asarray(gt_center, float).reshape(1, 3), ends.shape)
    return np.stack([starts, ends], axis=1).reshape(-1, 3)


def framing_distance(lo: np.ndarray, hi: np.ndarray, fov_deg: float, margin: float = 1.3) -> float:
    """Orbit distance at which a view with a vertical field of view ``fov_deg`` (degrees)
    holds the box [lo, hi] (its bounding sphere, times ``margin``), in the box's units."""
    radius = 0.5 * float(np.linalg.norm(np.asarray(hi, float) - np.asarray(lo, float)))
    return max(radius, 1e-6) * margin / np.sin(np.radians(fov_deg) / 2)


def visible_depth(base: float, view_distance: float, fov_deg: float, fraction: float) -> float:
    """A frustum depth no smaller than ``fraction`` of the view's height at ``view_distance``
    (so a frustum stays visible however far the camera is), nor than ``base`` (map units)."""
    view_height = 2 * view_distance * np.tan(np.radians(fov_deg) / 2)
    return float(max(base, fraction * view_height))
