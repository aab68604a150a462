"""Axis-convention converters: exact known values and round trips on random poses."""

from __future__ import annotations

import numpy as np
import pytest

from locgui.core.pose import Rigid3, axis_angle_to_rotmat, quat_to_rotmat
from locgui.io.conventions import (
    cam_from_world_to_opengl_c2w,
    cam_from_world_to_tum,
    centre_quat_to_cam_from_world,
    opengl_c2w_to_cam_from_world,
    tum_to_cam_from_world,
)


def random_poses(n: int, seed: int = 0) -> list[Rigid3]:
    rng = np.random.default_rng(seed)
    return [
        Rigid3(axis_angle_to_rotmat(rng.normal(size=3) * 2), rng.normal(size=3) * 5)
        for _ in range(n)
    ]


def test_opengl_identity_camera_looks_down_minus_z() -> None:
    """An OpenGL camera at c with identity rotation looks along world -z with +y up."""
    c2w = np.eye(4)
    c2w[:3, 3] = [1.0, 2.0, 3.0]
    pose = opengl_c2w_to_cam_from_world(c2w)
    np.testing.assert_array_equal(pose.rotation, np.diag([1.0, -1.0, -1.0]))
    np.testing.assert_array_equal(pose.center, [1.0, 2.0, 3.0])
    # A world point straight ahead (-z) is in front of the OpenCV camera (+z), world +y is up
    # in the image (OpenCV -y).
    ahead = pose.apply(np.array([1.0, 2.0, 0.0]))
    above = pose.apply(np.array([1.0, 3.0, 2.0]))
    np.testing.assert_array_equal(ahead, [0.0, 0.0, 3.0])
    assert above[1] < 0


@pytest.mark.parametrize("seed", [0, 1])
def test_opengl_round_trips(seed: int) -> None:
    for pose in random_poses(20, seed):
        c2w = cam_from_world_to_opengl_c2w(pose)
        # Independent check: OpenGL axes are OpenCV axes with y and z negated.
        world_from_cam = pose.inverse().matrix()
        np.testing.assert_array_equal(c2w[:3, 0], world_from_cam[:3, 0])
        np.testing.assert_array_equal(c2w[:3, 1:3], -world_from_cam[:3, 1:3])
        np.testing.assert_array_equal(c2w[:3, 3], world_from_cam[:3, 3])
        back = opengl_c2w_to_cam_from_world(c2w)
        np.testing.assert_allclose(back.rotation, pose.rotation, rtol=0, atol=1e-15)
        np.testing.assert_allclose(back.translation, pose.translation, rtol=0, atol=1e-13)
        # And starting from the file side: c2w -> pose -> c2w.
        c2w_back = cam_from_world_to_opengl_c2w(opengl_c2w_to_cam_from_world(c2w))
        np.testing.assert_allclose(c2w_back, c2w, rtol=0, atol=1e-13)


def test_tum_is_world_from_cam_with_xyzw_quaternion() -> None:
    # 90 degrees about z: quaternion (w, x, y, z) = (c, 0, 0, s).
    c = s = np.sqrt(0.5)
    pose = tum_to_cam_from_world(np.array([1.0, 2.0, 3.0]), np.array([0.0, 0.0, s, c]))
    np.testing.assert_allclose(pose.center, [1.0, 2.0, 3.0], atol=1e-15)
    expected_world_from_cam = np.array([[0.0, -1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])
    np.testing.assert_allclose(pose.rotation.T, expected_world_from_cam, atol=1e-15)


@pytest.mark.parametrize("seed", [2, 3])
def test_tum_round_trips(seed: int) -> None:
    for pose in random_poses(20, seed):
        centre, q_xyzw = cam_from_world_to_tum(pose)
        np.testing.assert_allclose(centre, pose.center, rtol=0, atol=1e-13)
        x, y, z, w = q_xyzw
        np.testing.assert_allclose(
            quat_to_rotmat(np.array([w, x, y, z])), pose.rotation.T, rtol=0, atol=1e-15
        )
        back = tum_to_cam_from_world(centre, q_xyzw)
        np.testing.assert_allclose(back.rotation, pose.rotation, rtol=0, atol=1e-15)
        np.testing.assert_allclose(back.translation, pose.translation, rtol=0, atol=1e-13)


def test_centre_and_world_to_camera_quaternion() -> None:
    for pose in random_poses(10, 4):
        back = centre_quat_to_cam_from_world(pose.center, pose.quat())
        np.testing.assert_allclose(back.rotation, pose.rotation, rtol=0, atol=1e-15)
        np.testing.assert_allclose(back.translation, pose.translation, rtol=0, atol=1e-13)
