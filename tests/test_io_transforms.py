"""transforms.json reader/writer: round trips, intrinsics variants, missing files, bad input."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from locgui.core import Camera, SceneFormatError, SceneImage, SceneMap, UnsupportedCameraModel
from locgui.core.pose import Rigid3, axis_angle_to_rotmat
from locgui.io import open_scene
from locgui.io.transforms_json import read_transforms, write_transforms


def touch_images(folder: Path, names: list[str]) -> None:
    for name in names:
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(b"")


def posed_scene(tmp_path: Path, cameras: dict[int, Camera], n: int = 5) -> SceneMap:
    rng = np.random.default_rng(7)
    images = {
        i: SceneImage(
            i,
            f"img/{i:02d}.png",
            sorted(cameras)[i % len(cameras)],
            Rigid3(axis_angle_to_rotmat(rng.normal(size=3)), rng.normal(size=3)),
            split="test" if i == 2 else "train",
        )
        for i in range(1, n + 1)
    }
    touch_images(tmp_path, [im.name for im in images.values()])
    return SceneMap(cameras, images, image_dir=tmp_path)


@pytest.mark.parametrize(
    "cameras",
    [
        {1: Camera("OPENCV", 64, 48, (50.5, 51.25, 32.1, 24.3, 0.1, -0.02, 1e-3, -2e-3), 1)},
        {
            1: Camera.pinhole(40.0, 41.0, 31.5, 23.5, 64, 48, 1),
            2: Camera("OPENCV", 80, 60, (60.0, 60.5, 40.0, 30.0, 0.01, 0.0, 0.0, 0.0), 2),
        },
    ],
)
def test_round_trip(tmp_path: Path, cameras: dict[int, Camera]) -> None:
    scene = posed_scene(tmp_path, cameras)
    path = write_transforms(scene, tmp_path)
    data = json.loads(path.read_text())
    assert ("fl_x" in data) == (len(cameras) == 1)  # shared intrinsics at the top level
    back = read_transforms(tmp_path)
    assert sorted(c.params for c in back.cameras.values()) == sorted(
        c.params for c in cameras.values()
    )
    assert [im.name for im in back.images.values()] == [im.name for im in scene.images.values()]
    for a, b in zip(scene.images.values(), back.images.values(), strict=True):
        assert a.cam_from_world is not None and b.cam_from_world is not None
        assert back.cameras[b.camera_id].params == cameras[a.camera_id].params
        assert b.split == a.split
        np.testing.assert_allclose(b.cam_from_world.rotation, a.cam_from_world.rotation, atol=1e-15)
        np.testing.assert_allclose(
            b.cam_from_world.translation, a.cam_from_world.translation, atol=1e-13
        )


def write_json(folder: Path, data: dict) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "transforms.json"
    path.write_text(json.dumps(data))
    return path


def frame(file_path: str, **extra: object) -> dict:
    return {"file_path": file_path, "transform_matrix": np.eye(4).tolist(), **extra}


def test_camera_angle_fallback_extensionless_paths_and_missing_frames(tmp_path: Path) -> None:
    touch_images(tmp_path, ["train/r_0.png", "train/r_2.png"])
    write_json(
        tmp_path,
        {
            "camera_angle_x": 0.5,
            "w": 64,
            "h": 48,
            "frames": [frame("./train/r_0"), frame("./train/r_1"), frame("./train/r_2")],
        },
    )
    scene = open_scene(tmp_path / "transforms.json")
    assert scene.source_format == "transforms.json"
    assert [im.name for im in scene.images.values()] == ["train/r_0.png", "train/r_2.png"]
    assert scene.missing_images == ["train/r_1"]
    f = 32 / math.tan(0.25)
    assert scene.cameras[1] == Camera.pinhole(f, f, 32.0, 24.0, 64, 48, 1)
    np.testing.assert_array_equal(scene.images[1].cam_from_world.rotation, np.diag([1, -1, -1]))


def test_per_frame_intrinsics_make_one_camera_each(tmp_path: Path) -> None:
    touch_images(tmp_path, ["a.jpg", "b.jpg", "c.jpg"])
    base = {"w": 10, "h": 8, "cx": 5, "cy": 4}
    write_json(
        tmp_path,
        {
            **base,
            "fl_x": 9.0,
            "frames": [frame("a.jpg"), frame("b.jpg", fl_x=11.0, k1=0.1), frame("c.jpg")],
        },
    )
    scene = read_transforms(tmp_path)
    assert len(scene.cameras) == 2
    assert scene.camera_of(1) == scene.camera_of(3) == Camera.pinhole(9, 9, 5, 4, 10, 8, 1)
    assert scene.camera_of(2) == Camera("OPENCV", 10, 8, (11, 11, 5, 4, 0.1, 0, 0, 0), 2)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "invalid JSON"),
        ('{"w": 4}', "missing key 'frames'"),
        ('{"w": 4, "h": 4, "frames": [{"transform_matrix": []}]}', "missing key 'file_path'"),
        ('{"w": 4, "h": 4, "fl_x": 3, "frames": [{"file_path": "a.png"}]}', "transform_matrix"),
        ('{"fl_x": 3, "frames": [{"file_path": "a.png", "transform_matrix": []}]}', "'w' or 'h'"),
        ('{"w": 4, "h": 4, "frames": [{"file_path": "a.png"}]}', "'fl_x' or 'camera_angle_x'"),
        (
            '{"w": 4, "h": 4, "fl_x": 3, "frames": [{"file_path": "a.png", '
            '"transform_matrix": [[1, 0], [0, 1]]}]}',
            "finite 4x4",
        ),
        ('{"w": "x", "h": 4, "fl_x": 3, "frames": []}', "'w' must be a finite number"),
    ],
)
def test_bad_files_raise_scene_format_error(tmp_path: Path, content: str, message: str) -> None:
    (tmp_path / "a.png").write_bytes(b"")
    (tmp_path / "transforms.json").write_text(content)
    with pytest.raises(SceneFormatError, match=message) as info:
        open_scene(tmp_path)
    assert "transforms.json" in str(info.value) and "\n" not in str(info.value)


def test_fisheye_camera_model_is_refused(tmp_path: Path) -> None:
    touch_images(tmp_path, ["a.png"])
    write_json(
        tmp_path,
        {"camera_model": "OPENCV_FISHEYE", "w": 4, "h": 4, "fl_x": 3, "frames": [frame("a.png")]},
    )
    with pytest.raises(UnsupportedCameraModel, match="OPENCV_FISHEYE"):
        open_scene(tmp_path)


def test_all_images_missing_is_an_error(tmp_path: Path) -> None:
    write_json(tmp_path, {"w": 4, "h": 4, "fl_x": 3, "frames": [frame("gone.png")]})
    with pytest.raises(SceneFormatError, match="none of the 1 images exist"):
        open_scene(tmp_path)
