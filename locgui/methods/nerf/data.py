"""Posed training views, the scene box, appearance histograms and the scene fingerprint.

numpy only at module level; images are read through ``locgui.io`` and resized with OpenCV
(imported inside the functions).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from locgui.core.camera import Camera
from locgui.core.errors import MethodError
from locgui.core.pose import Rigid3
from locgui.core.scene import SceneMap

log = logging.getLogger(__name__)


@dataclass
class PosedView:
    """One image at training resolution.

    Attributes:
        name: image name in the scene.
        camera: intrinsics of the resized image.
        cam_from_world: its pose (OpenCV frame).
        rgb: (H, W, 3) uint8.
        depth: (H, W) float32 z-depth in map units, NaN where invalid, or None.
    """

    name: str
    camera: Camera
    cam_from_world: Rigid3
    rgb: np.ndarray
    depth: np.ndarray | None = None


def resize_camera(camera: Camera, width: int, height: int) -> Camera:
    """The camera of the same image resized to ``width`` x ``height`` (COLMAP convention).

    x and y scale independently, so the result is PINHOLE (or OPENCV when the lens has
    distortion; every supported model's distortion is expressible as OPENCV's k1, k2, p1, p2).
    """
    sx, sy = width / camera.width, height / camera.height
    fx, fy = camera.focal
    cx, cy = camera.principal_point
    k = (fx * sx, fy * sy, cx * sx, cy * sy)
    if camera.has_distortion:
        return Camera("OPENCV", width, height, (*k, *camera.distortion), camera.camera_id)
    return Camera("PINHOLE", width, height, k, camera.camera_id)


def fit_size(width: int, height: int, max_side: int | None, multiple: int = 1) -> tuple[int, int]:
    """(w, h) with the longer side at most ``max_side`` (never enlarged), rounded to a
    multiple of ``multiple`` (at least ``multiple``)."""
    scale = 1.0 if not max_side else min(1.0, max_side / max(width, height))
    w = max(multiple, round(width * scale / multiple) * multiple)
    h = max(multiple, round(height * scale / multiple) * multiple)
    return w, h


def resize_rgb(rgb: np.ndarray, width: int, height: int) -> np.ndarray:
    """(H, W, 3) uint8 -> (height, width, 3) uint8 (area averaging when shrinking)."""
    import cv2

    if rgb.shape[1] == width and rgb.shape[0] == height:
        return rgb
    shrink = width < rgb.shape[1]
    interp = cv2.INTER_AREA if shrink else cv2.INTER_LINEAR
    return cv2.resize(rgb, (width, height), interpolation=interp)


def resize_depth(depth: np.ndarray, width: int, height: int) -> np.ndarray:
    """(H, W) float32 depth -> (height, width), nearest neighbour so invalid stays NaN."""
    import cv2

    if depth.shape[1] == width and depth.shape[0] == height:
        return depth
    return cv2.resize(depth, (width, height), interpolation=cv2.INTER_NEAREST)


def image_histogram(rgb: np.ndarray, bins: int) -> np.ndarray:
    """(bins,) float32 normalized luminance histogram of an (H, W, 3) uint8 image (DFNet)."""
    lum = rgb.astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)
    hist, _ = np.histogram(lum, bins=bins, range=(0.0, 256.0))
    return (hist / max(hist.sum(), 1)).astype(np.float32)


def load_views(
    scene: SceneMap, image_ids: list[int], max_side: int | None, with_depth: bool
) -> list[PosedView]:
    """Read posed images (and depth) at reduced resolution.

    Raises:
        MethodError: an image has no pose.
    """
    from locgui.io.images import read_depth, read_image

    views = []
    for image_id in image_ids:
        im = scene.images[image_id]
        if im.cam_from_world is None:
            raise MethodError(f"image {im.name} has no pose; NeRF training needs posed images")
        rgb = read_image(scene.image_path(image_id))
        camera = scene.camera_of(image_id)
        if (rgb.shape[1], rgb.shape[0]) != (camera.width, camera.height):
            raise MethodError(
                f"image {im.name} is {rgb.shape[1]}x{rgb.shape[0]} but its camera says "
                f"{camera.width}x{camera.height}"
            )
        w, h = fit_size(camera.width, camera.height, max_side)
        depth = None
        if with_depth and im.depth is not None:
            depth = resize_depth(read_depth(im.depth).astype(np.float32), w, h)
        elif with_depth:
            depth = sparse_depth(scene, image_id, w, h)
        views.append(
            PosedView(
                im.name,
                resize_camera(camera, w, h),
                im.cam_from_world,
                resize_rgb(rgb, w, h),
                depth,
            )
        )
    return views


def sparse_depth(scene: SceneMap, image_id: int, width: int, height: int) -> np.ndarray | None:
    """(height, width) float32 z-depth of the SfM points an image observes, NaN elsewhere
    (DS-NeRF-style sparse depth supervision for scenes without depth maps), or None.

    Points with a mean reprojection error above 2 px are left out.
    """
    im = scene.images[image_id]
    if im.keypoints is None or im.point3D_ids is None or im.cam_from_world is None:
        return None
    rows = scene.points.index_of(im.point3D_ids)
    ok = rows >= 0
    if not ok.any():
        return None
    err = scene.points.error[rows[ok]]
    keep = ~(err > 2.0)  # NaN error (unknown) is kept
    kp = im.keypoints[ok][keep]
    xyz = scene.points.xyz[rows[ok]][keep]
    z = im.cam_from_world.apply(xyz)[:, 2]
    cam = scene.camera_of(image_id)
    col = np.floor(kp[:, 0] * width / cam.width).astype(int)
    row = np.floor(kp[:, 1] * height / cam.height).astype(int)
    inside = (z > 0) & (col >= 0) & (col < width) & (row >= 0) & (row < height)
    depth = np.full((height, width), np.nan, np.float32)
    depth[row[inside], col[inside]] = z[inside]
    return depth


def focus_point(poses: list[Rigid3]) -> np.ndarray:
    """(3,) least-squares closest point to the cameras' optical axes."""
    A = np.zeros((3, 3))
    b = np.zeros(3)
    for pose in poses:
        axis = pose.rotation[2]  # world direction of the camera's z axis
        P = np.eye(3) - np.outer(axis, axis)
        A += P
        b += P @ pose.center
    return np.linalg.lstsq(A + 1e-6 * np.eye(3), b, rcond=None)[0]


def scene_box(
    scene: SceneMap, views: list[PosedView], margin: float
) -> tuple[np.ndarray, np.ndarray]:
    """World-frame box (min, max) that holds the cameras and the visible surfaces.

    Uses, in order of preference: depth maps of the views (back-projected), the map's 3D points
    (1st-99th percentiles, robust to outliers), else the point the cameras look at with a
    radius of their median distance to it. The camera centres are always inside.
    """
    centers = np.array([v.cam_from_world.center for v in views])
    parts = [centers]
    depth_pts = [_depth_points(v) for v in views if v.depth is not None]
    if depth_pts:
        pts = np.concatenate(depth_pts)
        parts.append(np.percentile(pts, [0.5, 99.5], axis=0))
    elif len(scene.points) >= 50:
        parts.append(np.percentile(scene.points.xyz, [1, 99], axis=0))
    else:
        focus = focus_point([v.cam_from_world for v in views])
        radius = float(np.median(np.linalg.norm(centers - focus, axis=1)))
        parts.append(np.stack([focus - radius, focus + radius]))
    allp = np.concatenate(parts)
    lo, hi = allp.min(axis=0), allp.max(axis=0)
    pad = margin * (hi - lo).max() + 1e-6
    return lo - pad, hi + pad


def _depth_points(view: PosedView, step: int = 4) -> np.ndarray:
    assert view.depth is not None
    pix = view.camera.pixel_grid(step)
    rows = (pix[:, 1] - 0.5).astype(int)
    cols = (pix[:, 0] - 0.5).astype(int)
    z = view.depth[rows, cols]
    ok = np.isfinite(z) & (z > 0)
    pts_cam = view.camera.unproject(pix[ok], z[ok])
    return view.cam_from_world.inverse().apply(pts_cam)
