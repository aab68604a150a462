"""Ray generation and pose conventions of the NeRF (OpenCV frame, COLMAP pixel centres)."""

from __future__ import annotations

import numpy as np
import pytest

from locgui.core.camera import Camera
from locgui.core.pose import Rigid3, axis_angle_to_rotmat, look_at
from locgui.methods.nerf.data import fit_size, resize_camera
from locgui.methods.nerf.rays import (
    camera_rays,
    opengl_c2w_from_pose,
    patch_centers,
    pose_from_opengl_c2w,
)

CAMERAS = [
    Camera.pinhole(100.0, 110.0, 31.5, 24.0, 64, 48),
    Camera("OPENCV", 64, 48, (90.0, 95.0, 32.2, 23.7, -0.12, 0.03, 0.001, -0.002)),
    Camera("SIMPLE_RADIAL", 64, 48, (80.0, 32.0, 24.0, 0.05)),
]


def random_pose(seed: int) -> Rigid3:
    rng = np.random.default_rng(seed)
    return Rigid3(axis_angle_to_rotmat(rng.normal(size=3)), rng.normal(size=3) * 3)


@pytest.mark.parametrize("camera", CAMERAS, ids=lambda c: c.model)
def test_ray_points_project_back_to_their_pixels_at_their_depth(camera: Camera) -> None:
    pose = random_pose(1)
    rng = np.random.default_rng(2)
    pixels = rng.uniform([0, 0], [camera.width, camera.height], size=(50, 2))
    depth = rng.uniform(0.5, 9.0, size=50)
    origins, dirs = camera_rays(camera, pose, pixels)
    np.testing.assert_allclose(origins, np.tile(pose.center, (50, 1)), atol=1e-12)
    world = origins + depth[:, None] * dirs
    cam_pts = pose.apply(world)
    np.testing.assert_allclose(cam_pts[:, 2], depth, rtol=1e-10)  # t is z-depth
    np.testing.assert_allclose(camera.project(cam_pts), pixels, atol=1e-6)
    # the same points as Camera.unproject gives them
    np.testing.assert_allclose(world, pose.inverse().apply(camera.unproject(pixels, depth)))


def test_default_pixels_are_colmap_centres_row_major() -> None:
    camera = CAMERAS[0]
    _, dirs = camera_rays(camera, Rigid3.identity())
    assert dirs.shape == (camera.width * camera.height, 3)
    # the top-left pixel's centre is (0.5, 0.5); the second ray is one column to the right
    fx, fy = camera.focal
    cx, cy = camera.principal_point
    np.testing.assert_allclose(dirs[0], [(0.5 - cx) / fx, (0.5 - cy) / fy, 1.0])
    np.testing.assert_allclose(dirs[1], [(1.5 - cx) / fx, (0.5 - cy) / fy, 1.0])
    np.testing.assert_allclose(dirs[camera.width], [(0.5 - cx) / fx, (1.5 - cy) / fy, 1.0])


def test_opengl_conversion_round_trip_and_axes() -> None:
    for seed in range(5):
        pose = random_pose(seed)
        c2w = opengl_c2w_from_pose(pose)
        assert pose_from_opengl_c2w(c2w).allclose(pose, atol=1e-12)
    # A camera at (1, 2, 3) looking along world +x with world +z up in the image: an OpenGL
    # camera looks down its own -z axis and has y up.
    pose = look_at(np.array([1.0, 2.0, 3.0]), np.array([5.0, 2.0, 3.0]))
    c2w = opengl_c2w_from_pose(pose)
    np.testing.assert_allclose(c2w[:3, 3], [1, 2, 3], atol=1e-12)
    np.testing.assert_allclose(-c2w[:3, 2], [1, 0, 0], atol=1e-12)  # viewing direction
    np.testing.assert_allclose(c2w[:3, 1], [0, 0, 1], atol=1e-12)  # image up = world up


def test_patch_centres() -> None:
    c = patch_centers(32, 16, 8)
    assert c.shape == (8, 2)
    np.testing.assert_allclose(c[0], [4, 4])
    np.testing.assert_allclose(c[3], [28, 4])
    np.testing.assert_allclose(c[4], [4, 12])


@pytest.mark.parametrize("camera", CAMERAS, ids=lambda c: c.model)
def test_resized_camera_keeps_rays_of_corresponding_pixels(camera: Camera) -> None:
    w, h = fit_size(camera.width, camera.height, 40)
    assert max(w, h) == 40
    small = resize_camera(camera, w, h)
    rel = np.array([[0.1, 0.2], [0.5, 0.5], [0.93, 0.71]])
    big_px = rel * [camera.width, camera.height]
    small_px = rel * [w, h]
    np.testing.assert_allclose(small.unproject(small_px), camera.unproject(big_px), atol=1e-9)


def test_fit_size_multiple() -> None:
    assert fit_size(640, 480, 320, multiple=32) == (320, 256)
    assert fit_size(100, 50, None) == (100, 50)
    assert fit_size(100, 50, 400) == (100, 50)  # never enlarged
