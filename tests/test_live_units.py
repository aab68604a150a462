"""Live pieces with exact answers: the motion prior, guided matching (intrinsics files:
test_io_calibration.py)."""

from __future__ import annotations

import numpy as np

from locgui.core.pose import Rigid3, axis_angle_to_rotmat
from locgui.methods.live.mappoints import guided_match
from locgui.methods.live.motion import MotionModel, interpolate


def _pose(t: float) -> Rigid3:
    """A camera turning at 0.2 rad/s about y while moving 0.5 units/s along x."""
    return Rigid3(axis_angle_to_rotmat(np.array([0.0, 0.2 * t, 0.0])), [0.5 * t, 0.0, 2.0])


def test_constant_velocity_prediction_is_exact_for_constant_motion() -> None:
    model = MotionModel(jump_translation=0.1, jump_rotation_deg=5.0, smoothing=0.0)
    model.update(_pose(0.0), 0.0)
    model.update(_pose(0.1), 0.1)
    # Constant-twist motion in the camera frame: the prediction is exact (up to rounding).
    step = _pose(0.1) * _pose(0.0).inverse()
    expected = step * step * step * _pose(0.1)  # 0.3 s after the last pose
    assert model.predict(0.4).allclose(expected, atol=1e-12)
    assert model.predict(2.0) is None  # older than max_gap


def test_smoothing_pulls_toward_the_prediction_but_a_jump_resets() -> None:
    model = MotionModel(jump_translation=0.1, jump_rotation_deg=5.0, smoothing=0.5)
    model.update(_pose(0.0), 0.0)
    out, _ = model.update(_pose(0.1), 0.1)
    assert out == _pose(0.1)  # no velocity yet: nothing to smooth toward
    predicted = model.predict(0.2)
    assert predicted is not None
    noisy = Rigid3(predicted.rotation, predicted.translation + [0.02, 0.0, 0.0])  # 2 cm off
    out, jumped = model.update(noisy, 0.2)
    assert not jumped
    assert out.allclose(interpolate(predicted, noisy, 0.5), atol=1e-12)
    np.testing.assert_allclose(np.linalg.norm(out.center - noisy.center), 0.01, atol=1e-12)
    far = Rigid3(np.eye(3), [1.0, 0.0, 2.0])  # 1 unit away: a real jump is never smoothed
    out, jumped = model.update(far, 0.3)
    assert jumped and out == far
    assert model.predict(0.4) == far  # the velocity was reset with the history


def test_guided_match_respects_radius_similarity_ratio_and_mutuality() -> None:
    rng = np.random.default_rng(0)
    desc = rng.normal(size=(5, 8)).astype(np.float32)
    desc /= np.linalg.norm(desc, axis=1, keepdims=True)
    points_xy = np.array([[10.0, 10], [50, 50], [90, 90], [200, 200], [52, 50]])
    kp_xy = np.array([[12.0, 11], [49, 52], [150, 150], [201, 198]])
    kp_desc = desc[[0, 1, 2, 3]].copy()
    # kp 0 -> point 0; kp 1 sees points 1 and 4 (both near) and point 4 has the same
    # descriptor, so the ratio test rejects it; kp 2 has point 2 too far away; kp 3 -> point 3.
    point_desc = desc.copy()
    point_desc[4] = desc[1]
    m = guided_match(kp_xy, kp_desc, points_xy, point_desc, 10.0, 0.5, 0.8)
    assert dict(zip(m.kp.tolist(), m.point.tolist(), strict=True)) == {0: 0, 3: 3}
    np.testing.assert_allclose(m.similarity, 1.0, atol=1e-6)
    loose = guided_match(kp_xy, kp_desc, points_xy, point_desc, 10.0, 0.5, 1.0)
    assert dict(zip(loose.kp.tolist(), loose.point.tolist(), strict=True)) == {0: 0, 1: 1, 3: 3}
    assert len(guided_match(kp_xy, kp_desc, points_xy, point_desc, 10.0, 1.01, 1.0)) == 0
