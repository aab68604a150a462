import numpy as np
import pytest

from locgui.core import Camera, UnsupportedCameraModel

CAMERAS = [
    Camera("SIMPLE_PINHOLE", 640, 480, (500, 320, 240)),
    Camera("PINHOLE", 640, 480, (510, 490, 321, 239)),
    Camera("SIMPLE_RADIAL", 640, 480, (500, 320, 240, -0.08)),
    Camera("RADIAL", 640, 480, (500, 320, 240, -0.1, 0.02)),
    Camera("OPENCV", 1080, 1920, (1400, 1410, 540, 960, 0.05, -0.03, 0.001, -0.0008)),
]


@pytest.mark.parametrize("cam", CAMERAS, ids=lambda c: c.model)
def test_project_unproject_round_trip(cam):
    rng = np.random.default_rng(0)
    px = rng.uniform([0, 0], [cam.width, cam.height], size=(500, 2))
    depth = rng.uniform(0.5, 20, size=500)
    pts = cam.unproject(px, depth)
    np.testing.assert_allclose(pts[:, 2], depth)
    np.testing.assert_allclose(cam.project(pts), px, atol=1e-6)


@pytest.mark.parametrize("cam", CAMERAS, ids=lambda c: c.model)
def test_undistort_inverts_distort(cam):
    rng = np.random.default_rng(1)
    uv = rng.uniform(-0.5, 0.5, size=(200, 2))
    np.testing.assert_allclose(cam.undistort_normalized(cam.distort(uv)), uv, atol=1e-10)


def test_distortion_matches_opencv_formula():
    cam = CAMERAS[-1]
    k1, k2, p1, p2 = cam.distortion
    u, v = 0.3, -0.2
    r2 = u * u + v * v
    rad = 1 + k1 * r2 + k2 * r2 * r2
    expected = [
        u * rad + 2 * p1 * u * v + p2 * (r2 + 2 * u * u),
        v * rad + p1 * (r2 + 2 * v * v) + 2 * p2 * u * v,
    ]
    np.testing.assert_allclose(cam.distort(np.array([[u, v]]))[0], expected)


def test_principal_point_pixel_convention():
    cam = Camera.pinhole(100, 100, 320, 240, 640, 480)
    # the optical axis hits the pixel corner between the four centre pixels: (320, 240)
    np.testing.assert_allclose(cam.project(np.array([[0, 0, 1.0]])), [[320, 240]])
    # the centre of the top-left pixel is (0.5, 0.5)
    assert cam.pixel_grid()[0].tolist() == [0.5, 0.5]


def test_points_behind_camera_are_nan():
    cam = CAMERAS[0]
    out = cam.project(np.array([[0, 0, -1.0], [0, 0, 1.0]]))
    assert np.isnan(out[0]).all() and np.isfinite(out[1]).all()


def test_unsupported_model_and_wrong_param_count():
    with pytest.raises(UnsupportedCameraModel, match="FISHEYE"):
        Camera("FISHEYE", 10, 10, (1, 2, 3))
    with pytest.raises(UnsupportedCameraModel, match="takes 4"):
        Camera("PINHOLE", 10, 10, (1, 2, 3))


def test_scaled_and_fov():
    cam = Camera.from_fov(640, 480, 90.0)
    assert cam.focal[0] == pytest.approx(320.0)
    half = cam.scaled(0.5)
    assert (half.width, half.height) == (320, 240)
    assert half.focal[0] == pytest.approx(160.0)
