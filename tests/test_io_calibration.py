"""The one calibration reader (``locgui.io.calibration``): every file format, the field-of-view
guess, scaling to the image size, and one-line errors naming the file for bad input."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from locgui.core.camera import Camera
from locgui.core.errors import SceneFormatError
from locgui.io.calibration import IntrinsicsError, parse_intrinsics, read_calibration
from locgui.io.queries import QueryRef, iter_queries, load_query


def _write_opencv(path: Path, K: np.ndarray, dist: np.ndarray, size: tuple[int, int] | None):
    import cv2

    fs = cv2.FileStorage(str(path), cv2.FILE_STORAGE_WRITE)
    if size is not None:
        fs.write("image_width", size[0])
        fs.write("image_height", size[1])
    fs.write("camera_matrix", K)
    fs.write("distortion_coefficients", dist)
    fs.release()


def test_opencv_yaml_matches_cv2_projection_in_colmap_pixels(tmp_path: Path) -> None:
    import cv2

    K = np.array([[500.0, 0, 319.2], [0, 505.0, 241.7], [0, 0, 1]])
    dist = np.array([[-0.12, 0.03, 0.001, -0.002, 0.004]])
    path = tmp_path / "calib.yaml"
    _write_opencv(path, K, dist, (640, 480))
    cam, note = parse_intrinsics(str(path)).for_size(640, 480)
    assert cam is not None and cam.model == "OPENCV"
    assert "calib.yaml" in note and "k3=0.004" in note  # the ignored term is stated
    pts = np.array([[0.3, -0.2, 2.0], [-0.5, 0.4, 3.0], [0.0, 0.0, 1.0]])
    expected, _ = cv2.projectPoints(pts, np.zeros(3), np.zeros(3), K, dist[:, :4])
    np.testing.assert_allclose(cam.project(pts), expected.reshape(-1, 2) + 0.5, atol=1e-9)


def test_opencv_xml_without_size_and_ros_camera_info(tmp_path: Path) -> None:
    xml = tmp_path / "calib.xml"
    _write_opencv(xml, np.array([[400.0, 0, 159.5], [0, 400.0, 119.5], [0, 0, 1]]),
                  np.zeros((1, 5)), None)  # fmt: skip
    assert read_calibration(xml) == Camera("PINHOLE", 0, 0, (400, 400, 160, 120))
    cam, note = parse_intrinsics(xml).for_size(320, 240)
    assert cam == Camera("PINHOLE", 320, 240, (400, 400, 160, 120))
    assert "no image size in it: assumed 320x240" in note
    ros = tmp_path / "camera_info.yaml"
    ros.write_text(
        "image_width: 640\nimage_height: 480\ncamera_name: cam\n"
        "camera_matrix:\n  rows: 3\n  cols: 3\n"
        "  data: [500.0, 0.0, 319.5, 0.0, 505.0, 239.5, 0.0, 0.0, 1.0]\n"
        "distortion_model: plumb_bob\n"
        "distortion_coefficients:\n  rows: 1\n  cols: 5\n  data: [0.1, 0.0, 0.0, 0.0, 0.0]\n"
    )
    assert read_calibration(ros) == Camera("OPENCV", 640, 480, (500, 505, 320, 240, 0.1, 0, 0, 0))


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
    bare = tmp_path / "bare.txt"
    bare.write_text("SIMPLE_PINHOLE 640 480 500 320 240\n")
    assert read_calibration(bare) == Camera("SIMPLE_PINHOLE", 640, 480, (500, 320, 240))
    js = tmp_path / "camera.json"
    js.write_text(json.dumps(cam.to_dict()))
    assert parse_intrinsics(js).for_size(640, 480)[0] == cam
    nested = tmp_path / "nested.json"
    nested.write_text(json.dumps({"camera": cam.to_dict(), "note": "from a rig"}))
    assert read_calibration(nested) == cam
    beside = parse_intrinsics(None, beside_source=js)
    assert beside.camera == cam and beside.origin == "camera.json beside the source"
    guess, note = parse_intrinsics("fov:90").for_size(640, 480)
    assert guess is not None and guess.focal == pytest.approx((320.0, 320.0))
    assert note.startswith("intrinsics GUESSED from a 90 deg horizontal field of view")
    assert parse_intrinsics("FOV:60").fov_deg == 60.0
    auto, note = parse_intrinsics(None).for_size(640, 480)
    assert auto is None and "chosen by the method" in note


BAD_FILES = [
    ("broken.yaml", "camera_matrix: [1, 2\n  : : bad {\n", "OpenCV cannot parse .*line 2"),
    ("empty.yaml", "%YAML:1.0\nfoo: 1\n", "no 3x3 camera_matrix"),
    ("broken.xml", '<?xml version="1.0"?>\n<opencv_storage><camera_matrix', "OpenCV cannot"),
    ("garbage.json", "{not json", "not a calibration file"),
    ("list.json", "[1, 2, 3]", "not a calibration file"),
    ("fields.json", '{"model": "PINHOLE"}', "not a calibration file"),
    ("model.txt", "1 FISHEYE 640 480 1 2 3\n", "camera model 'FISHEYE' is not supported"),
    ("params.txt", "1 PINHOLE 640 480 500 500\n", "takes 4 parameters, got 2"),
    ("short.txt", "1 PINHOLE 640\n", "not a calibration file"),
    ("comments.txt", "# only a comment\n\n", "no camera line"),
]


@pytest.mark.parametrize(("name", "content", "match"), BAD_FILES)
def test_bad_files_raise_one_line_errors_naming_the_file(
    tmp_path: Path, name: str, content: str, match: str
) -> None:
    path = tmp_path / name
    path.write_text(content)
    with pytest.raises(SceneFormatError, match=match) as info:
        parse_intrinsics(path)
    message = str(info.value)
    assert isinstance(info.value, IntrinsicsError)
    assert message.startswith(f"{path}: ") and "\n" not in message


def test_missing_file_binary_file_and_bad_fov(tmp_path: Path) -> None:
    with pytest.raises(IntrinsicsError, match="none.yaml: no such intrinsics file"):
        parse_intrinsics(tmp_path / "none.yaml")
    binary = tmp_path / "cameras.txt"
    binary.write_bytes(b"\xff\xfe\x00\x81")
    with pytest.raises(IntrinsicsError, match="cameras.txt: not a calibration file"):
        parse_intrinsics(binary)
    with pytest.raises(IntrinsicsError, match="fov:DEGREES"):
        parse_intrinsics("fov:wide")
    with pytest.raises(IntrinsicsError, match="1..179 degrees"):
        parse_intrinsics("fov:180")


def test_queries_get_the_calibration_scaled_to_their_image_size(tmp_path: Path) -> None:
    txt = tmp_path / "cameras.txt"
    txt.write_text("1 PINHOLE 640 480 500 500 320 240\n")
    known = Camera("SIMPLE_PINHOLE", 320, 240, (100, 160, 120))
    small = QueryRef("small", pixels=np.zeros((240, 320, 3), np.uint8), camera=known)
    wide = QueryRef("wide", pixels=np.zeros((180, 320, 3), np.uint8))
    assert load_query(small).camera == known  # no intrinsics given: the reference's own
    assert load_query(small, parse_intrinsics(None)).camera == known
    scaled = load_query(small, parse_intrinsics(txt)).camera
    assert scaled == Camera("PINHOLE", 320, 240, (250, 250, 160, 120))
    (_, ok, _), (_, failed, reason) = iter_queries([small, wide], parse_intrinsics(txt))
    assert ok is not None and failed is None
    assert reason == ("cameras.txt: calibrated for 640x480 but the images are 320x180 "
                           "(another aspect ratio)")  # fmt: skip
