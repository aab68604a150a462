"""kapture: read, write, round trips of maps and query results, and bad input."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from locgui.core import Camera, Rigid3, SceneFormatError, SceneMap, UnsupportedCameraModel
from locgui.io import open_scene
from locgui.io.images import write_image
from locgui.io.kapture import read_kapture
from locgui.io.kapture_text import read_trajectories
from locgui.io.kapture_write import write_kapture, write_query_kapture

HEADER = "# kapture format: 1.1\n"


def with_image_files(scene: SceneMap, folder: Path) -> SceneMap:
    for im in scene.images.values():
        write_image(folder / im.name, np.zeros((4, 6, 3), np.uint8))
    scene.image_dir = folder
    return scene


def assert_same_map(a: SceneMap, b: SceneMap, atol: float = 1e-9) -> None:
    """Cameras, images, poses, points and tracks equal (points compared in row order)."""
    assert b.cameras == a.cameras
    assert sorted(b.images) == sorted(a.images)
    for image_id, ia in a.images.items():
        ib = b.images[image_id]
        assert (ib.name, ib.camera_id) == (ia.name, ia.camera_id)
        if ia.cam_from_world is None:
            assert ib.cam_from_world is None
            continue
        assert ib.cam_from_world is not None
        np.testing.assert_allclose(ib.cam_from_world.rotation, ia.cam_from_world.rotation,
                                   rtol=0, atol=atol)  # fmt: skip
        np.testing.assert_allclose(ib.cam_from_world.translation,
                                   ia.cam_from_world.translation, rtol=0, atol=atol)  # fmt: skip
    np.testing.assert_allclose(b.points.xyz, a.points.xyz, rtol=0, atol=atol)
    np.testing.assert_array_equal(b.points.rgb, a.points.rgb)
    rows_a = sorted(zip(a.points.track_point.tolist(), a.points.track_image.tolist(),
                        a.points.track_keypoint.tolist(), strict=True))  # fmt: skip
    rows_b = sorted(zip(b.points.track_point.tolist(), b.points.track_image.tolist(),
                        b.points.track_keypoint.tolist(), strict=True))  # fmt: skip
    assert rows_b == rows_a
    for image_id in {i for _, i, _ in rows_a}:
        np.testing.assert_array_equal(b.images[image_id].keypoints, a.images[image_id].keypoints)


@pytest.mark.parametrize("images", ["link", "copy"])
def test_random_scene_round_trip(tmp_path: Path, random_scene, images: str) -> None:
    scene = with_image_files(random_scene(seed=7), tmp_path / "src")
    out = write_kapture(scene, tmp_path / "k", images=images)
    back = open_scene(out)
    assert back.source_format == "kapture" and back.missing_images == []
    assert back.image_dir == (out / "sensors" / "records_data").resolve()
    assert (back.image_dir / "img_001.png").is_symlink() == (images == "link")
    assert_same_map(scene, back)
    np.testing.assert_array_equal(back.points.ids, np.arange(len(scene.points)))


def test_synthetic_scene_round_trip(tmp_path: Path, tiny_scene_dir: Path) -> None:
    scene = open_scene(tiny_scene_dir)
    out = write_kapture(scene, tmp_path / "k")
    back = read_kapture(out)
    assert_same_map(scene, back)
    assert len(back.posed_ids()) == len(scene.posed_ids()) > 0
    assert len(back.points) == len(scene.points) > 0
    lines = (out / "sensors" / "sensors.txt").read_text().splitlines()
    assert lines[0] == "# kapture format: 1.1" and lines[2].startswith("cam_00001, , camera, ")


def test_bundle_exports_to_kapture(tmp_path: Path, random_scene, capsys) -> None:
    from locgui.cli import main
    from locgui.io.bundle import open_bundle
    from tests.test_io_bundle_info import write_small_bundle

    scene = random_scene(seed=9)
    bundle = write_small_bundle(tmp_path / "m.locmap", scene)
    assert main(["export", "kapture", str(bundle), str(tmp_path / "k"), "--images", "none"]) == 0
    back = read_kapture(tmp_path / "k")
    assert_same_map(open_scene(bundle), back)
    assert "wrote kapture" in capsys.readouterr().out
    desc_dir = tmp_path / "k" / "reconstruction" / "descriptors" / "xfeat"
    assert (desc_dir / "descriptors.txt").read_text().splitlines()[2] == (
        "xfeat, float32, 8, xfeat, L2"
    )
    opened = open_bundle(bundle)
    for image_id, im in back.images.items():
        desc = np.fromfile(desc_dir / f"{im.name}.desc", "<f4").reshape(-1, 8)
        np.testing.assert_array_equal(desc, opened.feature_arrays(image_id)[1])
        assert im.keypoints is not None and len(desc) == len(im.keypoints)


def test_results_export_as_query_trajectories(tmp_path: Path, capsys) -> None:
    from locgui.cli import main

    pose = Rigid3.from_quat(np.array([0.9, 0.1, -0.2, 0.3]), np.array([1.0, -2.0, 0.5]))
    camera = Camera.pinhole(500.0, 501.0, 320.0, 240.0, 640, 480, 1)
    results = [
        {"query": "q/a.jpg", "success": True, "cam_from_world": pose.to_dict(),
         "camera": camera.to_dict()},
        {"query": "q/b.jpg", "success": False, "cam_from_world": None, "camera": None},
    ]  # fmt: skip
    (tmp_path / "results.json").write_text(json.dumps(results))
    args = ["export", "kapture-results", str(tmp_path / "results.json"), str(tmp_path / "q")]
    assert main(args) == 0
    poses = read_trajectories(tmp_path / "q" / "sensors" / "trajectories.txt")
    assert list(poses) == [(1, "query_00001")]
    assert poses[(1, "query_00001")].allclose(pose, atol=1e-12)
    records = (tmp_path / "q" / "sensors" / "records_camera.txt").read_text()
    assert "1, query_00001, q/a.jpg" in records and "2, query_00002, q/b.jpg" in records
    sensors = (tmp_path / "q" / "sensors" / "sensors.txt").read_text()
    assert "query_00001, , camera, PINHOLE, 640, 480, 500.0, 501.0, 320.0, 240.0" in sensors
    assert "1 of 2 queries posed" in capsys.readouterr().out
    # eval's summary.json holds its rows under "rows" (no camera)
    (tmp_path / "summary.json").write_text(json.dumps({"summary": {}, "rows": results}))
    args = ["export", "kapture-results", str(tmp_path / "summary.json"), str(tmp_path / "q2")]
    assert main(args) == 0


def write_files(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(HEADER + text)
    return root


def test_hand_written_kapture_with_rig_and_all_camera_models(tmp_path: Path) -> None:
    """Sensor ids without numbers are numbered in order, a rig pose is composed with the
    sensor's pose in the rig, UNKNOWN_CAMERA intrinsics are guessed."""
    root = write_files(tmp_path, {
        "sensors/sensors.txt":
        "front, Hero7, camera, SIMPLE_RADIAL, 640, 480, 500, 320, 240, 0.01\n"
        "back, , camera, RADIAL, 640, 480, 500, 320, 240, 0.01, -0.002\n"
        "wide, , camera, OPENCV, 64, 48, 50, 51, 32, 24, 0.1, 0.01, 0.001, 0.002\n"
        "pin, , camera, PINHOLE, 64, 48, 50, 51, 32, 24\n"
        "spin, , camera, SIMPLE_PINHOLE, 64, 48, 50, 32, 24\n"
        "nocal, , camera, UNKNOWN_CAMERA, 64, 48\n"
        "gps, , gnss, EPSG:4326\n",
        "sensors/rigs.txt":
        "rig, front, 1, 0, 0, 0, 0.1, 0, 0\nrig, back, 0, 0, 1, 0, -0.1, 0, 0\n",
        "sensors/records_camera.txt": "0, front, f/0.jpg\n0, back, b/0.jpg\n1, wide, w.jpg\n"
        "2, nocal, n.jpg\n",
        "sensors/trajectories.txt": "0, rig, 1, 0, 0, 0, 1, 2, 3\n1, wide, 0, 1, 0, 0, 0, 0, 0\n",
        "reconstruction/points3d.txt": "1, 2, 3, 255, 0, 10\n4, 5, 6, 0, 0, 0\n",
    })  # fmt: skip
    scene = open_scene(root)
    assert [c.model for c in scene.cameras.values()] == [
        "SIMPLE_RADIAL", "RADIAL", "OPENCV", "PINHOLE", "SIMPLE_PINHOLE", "SIMPLE_PINHOLE",
    ]  # fmt: skip
    assert scene.meta["intrinsics_guessed"] is True
    assert [im.name for im in scene.images.values()] == ["f/0.jpg", "b/0.jpg", "w.jpg", "n.jpg"]
    front, back, wide, nocal = scene.images.values()
    assert front.cam_from_world is not None and back.cam_from_world is not None
    np.testing.assert_allclose(front.cam_from_world.translation, [1.1, 2, 3])
    np.testing.assert_allclose(back.cam_from_world.rotation, np.diag([-1.0, 1.0, -1.0]))
    np.testing.assert_allclose(back.cam_from_world.translation, [-1.1, 2, -3])
    assert wide.cam_from_world is not None and nocal.cam_from_world is None
    np.testing.assert_array_equal(scene.points.rgb, [[255, 0, 10], [0, 0, 0]])
    assert len(scene.missing_images) == 4


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("sensors/sensors.txt", "c, , camera, FISHEYE, 64, 48, 1, 2, 3, 4\n", "model FISHEYE"),
        ("sensors/sensors.txt", "c, , camera, PINHOLE, 64, 48, 1, 2\n", "PINHOLE takes 4"),
        ("sensors/sensors.txt", "c, , camera, PINHOLE, 0, 48, 1, 2, 3, 4\n", "out of range"),
        ("sensors/records_camera.txt", "0, other, a.jpg\n", "camera 'other' is not in"),
        ("sensors/records_camera.txt", "0, c, a.jpg\n1, c, a.jpg\n", "recorded twice"),
        ("sensors/trajectories.txt", "0, c, 0, 0, 0, 0, 1, 2, 3\n", "quaternion is zero"),
        ("sensors/trajectories.txt", "0, c, 1, 0, 0, 0, nan, 2, 3\n", "not a finite number"),
        ("sensors/trajectories.txt", "x, c, 1, 0, 0, 0, 1, 2, 3\n", "'x' is not an integer"),
        ("reconstruction/points3d.txt", "1, 2\n", "at least 3"),
        ("reconstruction/points3d.txt", "1, 2, 3, 300, 0, 0\n", "colour outside"),
        ("reconstruction/observations.txt", "0, kp, a.jpg\n", "do not pair up"),
    ],
)
def test_bad_files_name_file_and_line(tmp_path: Path, name: str, text: str, message: str):
    files = {
        "sensors/sensors.txt": "c, , camera, PINHOLE, 64, 48, 50, 50, 32, 24\n",
        "sensors/records_camera.txt": "0, c, a.jpg\n",
        "sensors/trajectories.txt": "0, c, 1, 0, 0, 0, 0, 0, 0\n",
        "reconstruction/points3d.txt": "1, 2, 3\n",
        name: text,
    }
    root = write_files(tmp_path, files)
    error = UnsupportedCameraModel if "model" in message else SceneFormatError
    with pytest.raises(error, match=message) as info:
        read_kapture(root)
    assert str(root / name) in str(info.value)


def test_observations_need_keypoints_in_range(tmp_path: Path, random_scene) -> None:
    out = write_kapture(random_scene(seed=1), tmp_path / "k", images="none")
    obs = out / "reconstruction" / "observations.txt"
    lines = obs.read_text().splitlines()
    lines[2] = lines[2].rsplit(",", 1)[0] + ", 999"
    obs.write_text("\n".join(lines) + "\n")
    with pytest.raises(SceneFormatError, match="has no keypoint 999"):
        read_kapture(out)


def test_unsupported_version_and_non_empty_target(tmp_path: Path, random_scene) -> None:
    root = write_files(tmp_path / "a", {"sensors/sensors.txt": ""})
    (root / "sensors" / "sensors.txt").write_text("# kapture format: 2.0\n")
    with pytest.raises(SceneFormatError, match="kapture format '2.0' is not supported"):
        read_kapture(root)
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "photo.jpg").write_text("x")
    with pytest.raises(SceneFormatError, match="folder is not empty"):
        write_kapture(random_scene(), tmp_path / "b", overwrite=True)


def test_query_kapture_writer_checks_names(tmp_path: Path) -> None:
    with pytest.raises(SceneFormatError, match="holds a comma"):
        write_query_kapture(tmp_path / "q", ["a,b.jpg"], [None], [None])


def test_mapping_and_query_kaptures_read_as_one_scene(tmp_path: Path, random_scene) -> None:
    mapping = with_image_files(random_scene(seed=4, n_images=4), tmp_path / "src_map")
    query = random_scene(seed=5, n_images=2)
    write_kapture(mapping, tmp_path / "data" / "mapping")
    write_kapture(query, tmp_path / "data" / "query", images="none")
    scene = open_scene(tmp_path / "data")
    assert scene.source_format == "kapture" and scene.meta["kapture_parts"] == ["mapping", "query"]
    assert scene.splits() == {"train": len(mapping.images), "test": len(query.images)}
    assert len(scene.cameras) == len(mapping.cameras) + len(query.cameras)
    train = [im for im in scene.images.values() if im.split == "train"]
    test = [im for im in scene.images.values() if im.split == "test"]
    assert train[0].name == "mapping/sensors/records_data/img_001.png"
    assert (scene.image_dir / train[0].name).is_file()
    assert sorted(scene.missing_images) == sorted(im.name for im in test)
    q1 = query.images[1]
    assert q1.cam_from_world is not None and test[0].cam_from_world is not None
    assert test[0].cam_from_world.allclose(q1.cam_from_world, atol=1e-12)
    assert scene.cameras[test[0].camera_id].params == query.cameras[q1.camera_id].params
    assert test[0].keypoints is None
    np.testing.assert_allclose(scene.points.xyz, mapping.points.xyz, atol=1e-12)
    assert len(scene.points.track_point) == len(mapping.points.track_point)
