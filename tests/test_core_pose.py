import numpy as np
import pytest

from locgui.core import Rigid3, Sim3
from locgui.core.metrics import pose_error, recall, robust_align, summarize_errors, umeyama
from locgui.core.pose import (
    axis_angle_to_rotmat,
    look_at,
    quat_to_rotmat,
    rotmat_to_axis_angle,
    rotmat_to_quat,
)


def random_pose(rng):
    return Rigid3(axis_angle_to_rotmat(rng.normal(size=3)), rng.normal(size=3) * 5)


def test_quaternion_round_trip():
    rng = np.random.default_rng(0)
    for _ in range(100):
        R = axis_angle_to_rotmat(rng.normal(size=3) * 2)
        np.testing.assert_allclose(quat_to_rotmat(rotmat_to_quat(R)), R, atol=1e-12)
        np.testing.assert_allclose(axis_angle_to_rotmat(rotmat_to_axis_angle(R)), R, atol=1e-9)


def test_compose_inverse_apply():
    rng = np.random.default_rng(1)
    a_from_b, b_from_c = random_pose(rng), random_pose(rng)
    p = rng.normal(size=(10, 3))
    np.testing.assert_allclose((a_from_b * b_from_c).apply(p), a_from_b.apply(b_from_c.apply(p)))
    assert (a_from_b * a_from_b.inverse()).allclose(Rigid3.identity())
    np.testing.assert_allclose(Rigid3.from_matrix(a_from_b.matrix()).matrix(), a_from_b.matrix())


def test_center_is_camera_position():
    rng = np.random.default_rng(2)
    cam_from_world = random_pose(rng)
    np.testing.assert_allclose(cam_from_world.apply(cam_from_world.center), 0, atol=1e-12)


def test_look_at_opencv_frame():
    pose = look_at(np.array([0, -5.0, 1]), np.array([0, 0, 1.0]), up=np.array([0, 0, 1.0]))
    target_cam = pose.apply(np.array([0, 0, 1.0]))
    assert target_cam[2] == pytest.approx(5.0) and abs(target_cam[0]) < 1e-12
    above = pose.apply(np.array([0, 0, 2.0]))
    assert above[1] < 0  # world up appears upward: negative image y


def test_sim3_inverse_and_pose_transform():
    rng = np.random.default_rng(3)
    S = Sim3(2.5, axis_angle_to_rotmat(rng.normal(size=3)), rng.normal(size=3))
    p = rng.normal(size=(5, 3))
    np.testing.assert_allclose(S.inverse().apply(S.apply(p)), p, atol=1e-12)
    cam_from_b = random_pose(rng)
    cam_from_a = S.transform_pose(cam_from_b)
    np.testing.assert_allclose(cam_from_a.center, S.apply(cam_from_b.center))
    # a point seen at depth d in b is seen in the same direction in a
    pb = cam_from_b.inverse().apply(np.array([0.1, -0.2, 3.0]))
    pa_cam = cam_from_a.apply(S.apply(pb))
    d = np.array([0.1, -0.2, 3.0])
    np.testing.assert_allclose(pa_cam / np.linalg.norm(pa_cam), d / np.linalg.norm(d), atol=1e-12)


def test_pose_error_and_recall():
    gt = Rigid3.identity()
    est = Rigid3(axis_angle_to_rotmat([0, 0, np.deg2rad(3)]), [0.0, 0, 0])
    t, r = pose_error(est, gt)
    assert t == pytest.approx(0) and r == pytest.approx(3.0)
    rec = recall(np.array([0.01, 0.3, np.inf]), np.array([1, 1, np.inf]), ((0.05, 5), (0.5, 5)))
    assert rec == pytest.approx([1 / 3, 2 / 3])
    s = summarize_errors(np.array([0.01, 0.02, np.inf]), np.array([0.1, 0.2, np.inf]))
    assert s.failures == 1 and s.median_t == pytest.approx(0.02)


def test_umeyama_and_robust_align_recover_similarity():
    rng = np.random.default_rng(4)
    S = Sim3(0.37, axis_angle_to_rotmat(rng.normal(size=3)), rng.normal(size=3))
    src = rng.normal(size=(40, 3))
    dst = S.apply(src)
    T = umeyama(src, dst)
    assert T.scale == pytest.approx(0.37)
    dst_noisy = dst.copy()
    dst_noisy[:8] += rng.normal(size=(8, 3)) * 5  # outliers
    T2, inl = robust_align(src, dst_noisy)
    assert inl[8:].all() and not inl[:8].any()
    np.testing.assert_allclose(T2.apply(src[8:]), dst[8:], atol=1e-9)
