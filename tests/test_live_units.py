"""Live pieces with exact answers: intrinsics files, the motion prior, guided matching."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from locgui.core.camera import Camera
from locgui.core.pose import Rigid3, axis_angle_to_rotmat
from locgui.methods.live.intrinsics import IntrinsicsError, parse_intrinsics
from locgui.methods.live.mappoints import guided_match
from locgui.methods.live.motion import MotionModel, interpolate


def test_opencv_yaml_matches_cv2_projection_in_colmap_pixels(tmp_path: Path) -> None:
    import cv2

    K = np.array([[500.0, 0, 319.2], [0, 505.0, 241.7], [0, 0, 1]])
    dist = np.array([[-0.12, 0.03, 0.001, -0.002, 0.004]])
    path = tmp_path / "calib.yaml"
    fs = cv2.FileStorage(str(path), cv2.FILE_STORAGE_WRITE)
    fs.write("image_width", 640)
    fs.write("image_height", 480)
    fs.write("camera_matrix", K)
    fs.write("distortion_coefficients", dist)
    fs.release()
    intr = parse_intrinsics(str(path))
    cam, note = intr.for_size(640, 480)
    assert cam is not None and cam.model == "OPENCV"
    assert "calib.yaml" in note and "k3=0.004" in note  # the ignored term is stated
    pts = np.array([[0.3, -0.2, 2.0], [-0.5, 0.4, 3.0], [0.0, 0.0, 1.0]])
    expected, _ = cv2.projectPoints(pts, np.zeros(3), np.zeros(3), K, dist[:, :4])
    np.testing.assert_allclose(cam.project(pts), expected.reshape(-1, 2) + 0.5, atol=1e-9)


def test_colmap_text_json_fov_and_scaling(tmp_path: Path) -> None:
    txt = tmp_path / "cameras.txt"
    txt.write_text("# Camera list\n7 PINHOLE 640 480 500 510 320.5 240.5\n")
    cam, _ = parse_intrinsics(txt).for_size(640, 480)
    assert cam == Camera("PINHOLE", 640, 480, (500, 510, 320.5, 240.5), 7)
    half, note = parse_intrinsics(txt).for_size(320, 240)
    assert half is not None and half.params == (250, 255, 160.25, 120.25)
    assert "scaled from 640x480 to 320x240" in note
    with pytest.raises(IntrinsicsError, match="another aspect ratio"):
        parse_intrinsics(txt).for_size(640, 360)
    js = tmp_path / "camera.json"
    js.write_text(json.dumps(cam.to_dict()))
    assert parse_intrinsics(js).for_size(640, 480)[0] == cam
    guess, note = parse_intrinsics("fov:90").for_size(640, 480)
    assert guess is not None and guess.focal == pytest.approx((320.0, 320.0))
    assert note.startswith("intrinsics GUESSED from a 90 deg horizontal field of view")
    auto, note = parse_intrinsics(None).for_size(640, 480)
    assert auto is None and "chosen by the method" in note
    with pytest.raises(IntrinsicsError, match="fov:DEGREES"):
        parse_intrinsics("fov:wide")
    with pytest.raises(IntrinsicsError, match="no such intrinsics file"):
        parse_intrinsics(tmp_path / "none.yaml")


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
