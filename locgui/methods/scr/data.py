"""Where the SCR network's output cells sit in the image, and their ground-truth coordinates.

The network sees the image resized to ``net_size`` (multiples of 32, so XFeat's 1/32 level
aligns) and predicts one value per 8 x 8 cell. Cell (i, j) covers the resized image's pixels
[8j, 8j + 8) x [8i, 8i + 8); its centre maps back to the original image at
``((8j + 4) W / W', (8i + 4) H / H')`` and is snapped to the centre of the original pixel that
contains it, so its depth is read exactly (no interpolation across depth edges) and the
scene coordinate of an exact depth map is exact.

Supervision (world frame, map units):
- depth: the snapped pixel unprojected with its z-depth and the image pose;
- SfM points otherwise: a keypoint observing a 3D point labels its cell with the point moved
  along the cell-centre ray to the point's camera depth (the cell centre is at most half a
  cell from the keypoint; keeping the depth, not the point, keeps the 2D-3D pair consistent).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from locgui.core.camera import Camera
from locgui.core.pose import Rigid3
from locgui.core.scene import Points3D, SceneImage

STRIDE = 8
ALIGN = 32


@dataclass(frozen=True)
class CellGrid:
    """The output grid of one image.

    Attributes:
        width, height: the original image size, pixels.
        net_width, net_height: the size the network sees (multiples of 32).
        rotation_deg: in-plane rotation of the network image about its centre (augmentation;
            0 at inference).
    """

    width: int
    height: int
    net_width: int
    net_height: int
    rotation_deg: float = 0.0

    @property
    def shape(self) -> tuple[int, int]:
        """(h, w) cells."""
        return self.net_height // STRIDE, self.net_width // STRIDE

    def net_to_image(self) -> np.ndarray:
        """(2, 3) affine map from network-image to original-image coordinates (both COLMAP)."""
        a = np.deg2rad(self.rotation_deg)
        rot = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
        lin = rot @ np.diag([self.width / self.net_width, self.height / self.net_height])
        c_img = np.array([self.width / 2, self.height / 2])
        c_net = np.array([self.net_width / 2, self.net_height / 2])
        return np.concatenate([lin, (c_img - lin @ c_net)[:, None]], axis=1)

    def pixel_index(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(rows, cols, inside): (h, w) each; the original pixel holding each cell centre,
        and whether it lies inside the original image (always, without rotation)."""
        h, w = self.shape
        gx, gy = np.meshgrid(STRIDE * np.arange(w) + STRIDE / 2, STRIDE * np.arange(h) + STRIDE / 2)
        A = self.net_to_image()
        x = A[0, 0] * gx + A[0, 1] * gy + A[0, 2]
        y = A[1, 0] * gx + A[1, 1] * gy + A[1, 2]
        cols, rows = np.floor(x).astype(np.int64), np.floor(y).astype(np.int64)
        inside = (cols >= 0) & (cols < self.width) & (rows >= 0) & (rows < self.height)
        if self.rotation_deg == 0.0:  # float round-off at the last column/row
            inside[:] = True
        cols = np.clip(cols, 0, self.width - 1)
        rows = np.clip(rows, 0, self.height - 1)
        return rows, cols, inside

    def xy(self) -> np.ndarray:
        """(h, w, 2) float64 cell pixel coordinates in the original image (COLMAP)."""
        rows, cols, _ = self.pixel_index()
        return np.stack([cols + 0.5, rows + 0.5], axis=-1).astype(np.float64)


def make_grid(
    width: int, height: int, max_side: int, scale: float = 1.0, rotation_deg: float = 0.0
) -> CellGrid:
    """The grid for an image of ``width`` x ``height`` shrunk to ``max_side`` (never enlarged),
    then scaled by ``scale`` and rotated by ``rotation_deg`` (augmentation)."""
    s = min(1.0, max_side / max(width, height)) * scale
    net_w = max(ALIGN, int(round(width * s / ALIGN)) * ALIGN)
    net_h = max(ALIGN, int(round(height * s / ALIGN)) * ALIGN)
    return CellGrid(width, height, net_w, net_h, float(rotation_deg))


def resize_for(rgb: np.ndarray, grid: CellGrid) -> np.ndarray:
    """(H, W, 3) uint8 -> (H', W', 3) uint8: the image the network sees on ``grid``.

    Shrinking uses area averaging; a rotated grid is then warped bilinearly (black outside).
    """
    import cv2

    height, width = rgb.shape[:2]
    size = (grid.net_width, grid.net_height)
    shrink = grid.net_width * grid.net_height < width * height
    if grid.rotation_deg == 0.0:
        if size == (width, height):
            return rgb
        interp = cv2.INTER_AREA if shrink else cv2.INTER_LINEAR
        return cv2.resize(rgb, size, interpolation=interp)
    src = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA) if shrink else rgb
    fx, fy = src.shape[1] / width, src.shape[0] / height
    A = np.diag([fx, fy]) @ grid.net_to_image()  # net -> src, COLMAP coordinates
    # OpenCV indexes pixel centres at integers: subtract 0.5 on both sides
    M = A.copy()
    M[:, 2] += A[:, :2] @ [0.5, 0.5] - 0.5
    flags = cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP
    return cv2.warpAffine(src, M, size, flags=flags, borderMode=cv2.BORDER_CONSTANT)


def photometric_jitter(rgb: np.ndarray, strength: float, rng: np.random.Generator) -> np.ndarray:
    """Random brightness, contrast, per-channel gain and gamma; (H, W, 3) uint8 -> uint8."""
    if strength <= 0:
        return rgb
    x = rgb.astype(np.float32) / 255.0
    gamma = float(np.exp(rng.uniform(-0.5, 0.5) * strength))
    x = x**gamma
    mean = x.mean()
    contrast = 1.0 + rng.uniform(-1, 1) * strength
    gain = 1.0 + rng.uniform(-0.5, 0.5, 3).astype(np.float32) * strength
    x = (x - mean) * contrast + mean * (1.0 + rng.uniform(-1, 1) * strength)
    x = x * gain
    return np.clip(np.rint(x * 255.0), 0, 255).astype(np.uint8)


def depth_targets(
    depth: np.ndarray, camera: Camera, cam_from_world: Rigid3, grid: CellGrid
) -> np.ndarray:
    """(h, w, 3) float64 world coordinates of the cells from a z-depth map, NaN where invalid.

    Args:
        depth: (H, W) z-depth, map units, NaN or <= 0 where invalid; must match the camera size.
    """
    rows, cols, inside = grid.pixel_index()
    z = np.asarray(depth, np.float64)[rows, cols]
    xy = np.stack([cols + 0.5, rows + 0.5], axis=-1).reshape(-1, 2)
    with np.errstate(invalid="ignore"):
        valid = np.isfinite(z) & (z > 0) & inside
    pts_cam = camera.unproject(xy, np.where(valid, z, 1.0).reshape(-1))
    world = cam_from_world.inverse().apply(pts_cam)
    world[~valid.reshape(-1)] = np.nan
    return world.reshape(*grid.shape, 3)


def sfm_targets(image: SceneImage, camera: Camera, points: Points3D, grid: CellGrid) -> np.ndarray:
    """(h, w, 3) float64 cell coordinates from the image's triangulated keypoints, NaN elsewhere.

    Each cell takes the observation nearest its centre; the point is moved along the cell's
    ray to its own camera depth.
    """
    h, w = grid.shape
    out = np.full((h * w, 3), np.nan)
    if image.keypoints is None or image.point3D_ids is None or image.cam_from_world is None:
        return out.reshape(h, w, 3)
    rows = points.index_of(image.point3D_ids)
    seen = rows >= 0
    kp, xyz = image.keypoints[seen], points.xyz[rows[seen]]
    if len(kp) == 0:
        return out.reshape(h, w, 3)
    A = grid.net_to_image()
    net = (kp - A[:, 2]) @ np.linalg.inv(A[:, :2]).T  # keypoints in network-image pixels
    cj = np.floor(net[:, 0] / STRIDE).astype(np.int64)
    ci = np.floor(net[:, 1] / STRIDE).astype(np.int64)
    on = (cj >= 0) & (cj < w) & (ci >= 0) & (ci < h)
    _, _, inside = grid.pixel_index()
    on[on] &= inside[ci[on], cj[on]]
    kp, xyz, cell = kp[on], xyz[on], (ci * w + cj)[on]
    if len(kp) == 0:
        return out.reshape(h, w, 3)
    cell_xy = grid.xy().reshape(-1, 2)
    dist = np.linalg.norm(kp - cell_xy[cell], axis=1)
    order = np.lexsort((dist, cell))  # per cell, nearest observation first
    first = order[np.r_[True, cell[order][1:] != cell[order][:-1]]]
    pose = image.cam_from_world
    z = pose.apply(xyz[first])[:, 2]
    ok = z > 0
    cells = cell[first][ok]
    pts_cam = camera.unproject(cell_xy[cells], z[ok])
    out[cells] = pose.inverse().apply(pts_cam)
    return out.reshape(h, w, 3)
