"""SCR cell grid and supervision: exact scene coordinates from depth, rotated grids, SfM."""

from __future__ import annotations

import numpy as np
import pytest

from locgui.core.camera import Camera
from locgui.core.pose import look_at
from locgui.core.scene import Points3D, SceneImage
from locgui.methods.scr.data import (
    CellGrid,
    depth_targets,
    make_grid,
    resize_for,
    sfm_targets,
)

CAMERA = Camera.pinhole(250.0, 251.0, 161.25, 119.25, 320, 240)
POSE = look_at(np.array([1.8, -0.9, 1.4]), np.array([-1.0, 0.5, 0.9]))


def test_grid_sizes_and_cell_pixels():
    grid = make_grid(640, 480, max_side=320)
    assert (grid.net_width, grid.net_height, grid.shape) == (320, 256, (32, 40))
    xy = grid.xy()
    # cell (i, j) centre (8j + 4, 8i + 4) in the 320x256 image, x2 and x1.875 in the original,
    # snapped to the centre of the original pixel that holds it
    assert xy[0, 0].tolist() == [8.5, 7.5]
    assert xy[3, 5].tolist() == [np.floor(44 * 2) + 0.5, np.floor(28 * 1.875) + 0.5]
    assert make_grid(100, 70, max_side=640).net_width == 96  # never enlarged, multiple of 32


def test_depth_targets_are_the_ray_cast_surface_points(tiny_room):
    rgb, depth = tiny_room.render(CAMERA, POSE)
    grid = make_grid(320, 240, max_side=320)
    xyz = depth_targets(np.where(depth > 0, depth, np.nan), CAMERA, POSE, grid)
    assert xyz.shape == (32, 40, 3) and np.isfinite(xyz).all()  # 240 rows -> 256
    rays = CAMERA.unproject(grid.xy().reshape(-1, 2))  # z = 1, camera frame
    dirs = rays @ POSE.rotation  # world frame, rows are R^T @ ray
    t, ids = tiny_room.cast(POSE.center, (dirs[:, 0], dirs[:, 1], dirs[:, 2]))
    assert (ids >= 0).all()
    hits = POSE.center + t[:, None] * dirs
    np.testing.assert_allclose(xyz.reshape(-1, 3), hits, atol=2e-6)  # float32 depth files


def test_depth_targets_mark_invalid_depth():
    depth = np.full((240, 320), 2.0, np.float32)
    depth[:120] = np.nan
    grid = make_grid(320, 240, max_side=320)
    xyz = depth_targets(depth, CAMERA, POSE, grid)
    top = grid.xy()[..., 1] < 120
    assert np.isnan(xyz[top]).all() and np.isfinite(xyz[~top]).all()
    cam = POSE.apply(xyz[~top])
    np.testing.assert_allclose(cam[:, 2], 2.0)
    np.testing.assert_allclose(CAMERA.project(cam), grid.xy()[~top], atol=1e-9)


def test_rotated_grid_samples_the_rotated_image():
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 256, (240, 320, 3), dtype=np.uint8)
    rgb = np.repeat(np.repeat(rgb[::8, ::8], 8, 0), 8, 1)  # 8x8 blocks: bilinear-safe probes
    grid = make_grid(320, 240, max_side=320, rotation_deg=17.0)
    warped = resize_for(rgb, grid)
    rows, cols, inside = grid.pixel_index()
    assert 0.5 < inside.mean() < 1.0
    h, w = grid.shape
    centre = warped[4::8, 4::8][:h, :w]
    # compare where the original pixel is well inside its 8x8 block (no blending)
    A = grid.net_to_image()
    gx, gy = np.meshgrid(8 * np.arange(w) + 4, 8 * np.arange(h) + 4)
    x = A[0, 0] * gx + A[0, 1] * gy + A[0, 2]
    y = A[1, 0] * gx + A[1, 1] * gy + A[1, 2]
    safe = inside & (np.abs(x % 8 - 4) < 2.5) & (np.abs(y % 8 - 4) < 2.5)
    assert safe.sum() > 200
    np.testing.assert_array_equal(centre[safe], rgb[rows[safe], cols[safe]])


def test_unrotated_grid_is_a_plain_resize():
    grid = CellGrid(320, 240, 160, 128)
    rgb = np.zeros((240, 320, 3), np.uint8)
    assert resize_for(rgb, grid).shape == (128, 160, 3)
    assert grid.pixel_index()[2].all()


def test_sfm_targets_keep_the_point_depth_on_the_cell_ray():
    grid = make_grid(320, 240, max_side=320)
    pts = np.array([[0.3, 0.2, 3.0], [-0.5, 0.1, 2.0], [0.31, 0.21, 5.0]])  # camera frame
    kp = CAMERA.project(pts)
    world = POSE.inverse().apply(pts)
    points = Points3D(ids=np.array([7, 8, 9]), xyz=world)
    image = SceneImage(
        1, "a.png", 1, POSE, keypoints=np.vstack([kp, [[5.0, 5.0]]]),
        point3D_ids=np.array([7, 8, 9, -1]),
    )  # fmt: skip
    xyz = sfm_targets(image, CAMERA, points, grid)
    filled = np.isfinite(xyz).all(axis=-1)
    cells = [tuple(c) for c in np.argwhere(filled)]
    sy = grid.net_height / 240  # 240 rows are stretched to 256
    expect = sorted({(int(p[1] * sy // 8), int(p[0] // 8)) for p in kp})
    assert sorted(cells) == expect
    for i, j in cells:
        cam = POSE.apply(xyz[i, j][None])[0]
        np.testing.assert_allclose(CAMERA.project(cam[None])[0], grid.xy()[i, j], atol=1e-9)
        # the nearest observation to the cell centre wins; its depth is kept
        near = np.argmin(np.linalg.norm(kp - grid.xy()[i, j], axis=1))
        assert cam[2] == pytest.approx(pts[near, 2])
