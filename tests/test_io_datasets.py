"""7-Scenes, Cambridge Landmarks, PLY and plain image folders on small layouts made here."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest

from locgui.core import Camera, DepthInfo, ImageDecodeError, SceneFormatError
from locgui.core.pose import Rigid3, axis_angle_to_rotmat, quat_to_rotmat
from locgui.io import open_scene
from locgui.io.images import write_depth, write_image
from locgui.io.ply import write_ply


def c2w_matrix(rng: np.random.Generator) -> np.ndarray:
    T = np.eye(4)
    T[:3, :3] = axis_angle_to_rotmat(rng.normal(size=3))
    T[:3, 3] = rng.normal(size=3)
    return T


def make_7scenes(
    root: Path, seqs: dict[int, int], rng: np.random.Generator
) -> dict[str, np.ndarray]:
    poses = {}
    for seq, n in seqs.items():
        folder = root / f"seq-{seq:02d}"
        for k in range(n):
            stem = folder / f"frame-{k:06d}"
            write_image(f"{stem}.color.png", np.zeros((6, 8, 3), np.uint8))
            write_depth(f"{stem}.depth.png", np.full((6, 8), 1.25, np.float32), scale=0.001)
            T = c2w_matrix(rng)
            np.savetxt(f"{stem}.pose.txt", T)
            poses[f"seq-{seq:02d}/frame-{k:06d}.color.png"] = T
    return poses


def test_7scenes_layout(tmp_path: Path) -> None:
    poses = make_7scenes(tmp_path, {1: 2, 2: 1, 3: 1}, np.random.default_rng(0))
    (tmp_path / "TrainSplit.txt").write_text("sequence1\nsequence3\n")
    (tmp_path / "TestSplit.txt").write_text("sequence2\n")
    scene = open_scene(tmp_path)
    assert scene.source_format == "7scenes" and scene.units == "metres"
    assert scene.cameras == {1: Camera.pinhole(585, 585, 320, 240, 640, 480, 1)}
    assert [im.name for im in scene.images.values()] == list(poses)
    assert [im.split for im in scene.images.values()] == ["train", "train", "test", "train"]
    assert scene.meta["depth_registered"] is False
    for im in scene.images.values():
        expected = np.linalg.inv(poses[im.name])  # the files hold camera-to-world
        assert im.cam_from_world is not None
        np.testing.assert_allclose(im.cam_from_world.matrix(), expected, rtol=0, atol=1e-12)
        stem = im.name.replace(".color.png", "")
        assert im.depth == DepthInfo(tmp_path / f"{stem}.depth.png", 0.001, 65535.0)


def test_7scenes_bad_pose_and_unlisted_sequence(tmp_path: Path, caplog) -> None:
    make_7scenes(tmp_path, {1: 1, 2: 1}, np.random.default_rng(1))
    (tmp_path / "TrainSplit.txt").write_text("sequence1\n")
    with caplog.at_level(logging.WARNING):
        scene = open_scene(tmp_path)
    assert "seq-02 is in neither split file" in caplog.text
    assert scene.images[2].split == "train"
    (tmp_path / "seq-02" / "frame-000000.pose.txt").write_text("1 2 3\n")
    with pytest.raises(SceneFormatError, match=r"frame-000000.pose.txt: expected a 4x4 matrix"):
        open_scene(tmp_path)
    (tmp_path / "TrainSplit.txt").write_text("seq one\n")
    with pytest.raises(SceneFormatError, match="TrainSplit.txt: line 1 is not 'sequenceN'"):
        open_scene(tmp_path)


CAMBRIDGE_HEADER = "Visual Landmark Dataset V1\nImageFile, Camera Position [X Y Z W P Q R]\n\n"


def fmt(values: np.ndarray) -> str:
    return " ".join(repr(float(v)) for v in values)


def make_cambridge(root: Path, with_nvm: bool) -> list[tuple[str, np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(3)
    entries = []
    for i in range(3):
        q = rng.normal(size=4)
        q = q / np.linalg.norm(q) * np.sign(q[0])
        entries.append((f"seq1/frame{i:05d}.png", rng.normal(size=3) * 10, q))
        write_image(root / entries[-1][0], np.zeros((30, 40, 3), np.uint8))
    for file_name, rows in (("dataset_train.txt", entries[:2]), ("dataset_test.txt", entries[2:])):
        lines = [f"{n} {fmt(c)} {fmt(q)}" for n, c, q in rows]
        (root / file_name).write_text(CAMBRIDGE_HEADER + "\n".join(lines) + "\n")
    if with_nvm:
        cams = [
            f"{n.replace('.png', '.jpg')} {100.0 + i} {fmt(q)} {fmt(c)} 0.001 0"
            for i, (n, c, q) in enumerate(entries)
        ]
        points = ["1 2 3 10 20 30 2 0 7 -1.5 2.5 2 9 3.0 -4.0", "4 5 6 1 2 3 1 2 0 0.5 0.5"]
        nvm = ["NVM_V3", "", "3", *cams, "", "2", *points, "", "0", ""]
        (root / "reconstruction.nvm").write_text("\n".join(nvm))
    return entries


def test_cambridge_with_nvm(tmp_path: Path) -> None:
    entries = make_cambridge(tmp_path, with_nvm=True)
    scene = open_scene(tmp_path)
    assert scene.source_format == "cambridge" and scene.units == "metres"
    assert [im.split for im in scene.images.values()] == ["train", "train", "test"]
    for i, (name, centre, q) in enumerate(entries):
        im = scene.images[i + 1]
        assert im.name == name
        R = quat_to_rotmat(q)  # WPQR is the world-to-camera rotation
        assert im.cam_from_world is not None
        np.testing.assert_allclose(im.cam_from_world.rotation, R, rtol=0, atol=1e-15)
        np.testing.assert_allclose(im.cam_from_world.center, centre, rtol=0, atol=1e-12)
        assert scene.camera_of(im.image_id) == Camera(
            "SIMPLE_PINHOLE", 40, 30, (100.0 + i, 20.0, 15.0), i + 1
        )
    pts = scene.points
    np.testing.assert_array_equal(pts.xyz, [[1, 2, 3], [4, 5, 6]])
    np.testing.assert_array_equal(pts.rgb, [[10, 20, 30], [1, 2, 3]])
    assert sorted(pts.track_of(0)) == [(1, 0), (3, 0)] and pts.track_of(1) == [(3, 1)]
    # Measurements are relative to the image centre (20, 15).
    np.testing.assert_array_equal(scene.images[1].keypoints, [[18.5, 17.5]])
    np.testing.assert_array_equal(scene.images[3].keypoints, [[23.0, 11.0], [20.5, 15.5]])
    np.testing.assert_array_equal(scene.images[3].point3D_ids, [0, 1])
    assert scene.images[2].keypoints is not None and len(scene.images[2].keypoints) == 0


def test_cambridge_without_nvm_guesses_intrinsics(tmp_path: Path) -> None:
    make_cambridge(tmp_path, with_nvm=False)
    (tmp_path / "seq1" / "frame00001.png").unlink()
    scene = open_scene(tmp_path)
    assert scene.meta["intrinsics_guessed"] is True
    assert scene.missing_images == ["seq1/frame00001.png"]
    assert len(scene.images) == 2 and len(scene.points) == 0
    (tmp_path / "dataset_test.txt").write_text(CAMBRIDGE_HEADER + "seq1/frame00002.png 1 2\n")
    with pytest.raises(SceneFormatError, match="dataset_test.txt: line 4: expected"):
        open_scene(tmp_path)


def test_ply_points_round_trip(tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    xyz, rgb = rng.normal(size=(50, 3)), rng.integers(0, 256, (50, 3)).astype(np.uint8)
    path = write_ply(tmp_path / "cloud.ply", xyz, rgb)
    scene = open_scene(path)
    assert scene.source_format == "ply" and not scene.images
    np.testing.assert_array_equal(scene.points.xyz, xyz)
    np.testing.assert_array_equal(scene.points.rgb, rgb)
    path.write_bytes(path.read_bytes()[:-7])
    with pytest.raises(SceneFormatError, match="cloud.ply: truncated PLY file"):
        open_scene(path)


def test_image_folder_without_exif_one_camera_per_size(tmp_path: Path) -> None:
    for name, (h, w) in {"a.png": (30, 40), "b.jpg": (30, 40), "c.png": (20, 10)}.items():
        write_image(tmp_path / "images" / name, np.zeros((h, w, 3), np.uint8))
    scene = open_scene(tmp_path)
    assert scene.source_format == "images" and scene.meta["intrinsics_guessed"] is True
    assert scene.image_dir == (tmp_path / "images").resolve()
    assert [im.name for im in scene.images.values()] == ["a.png", "b.jpg", "c.png"]
    assert scene.posed_ids() == []
    # No EXIF: the documented default prior, 1.2 x the longer side, one camera per size.
    assert scene.cameras == {
        1: Camera("SIMPLE_RADIAL", 40, 30, (48.0, 20.0, 15.0, 0.0), 1),
        2: Camera("SIMPLE_RADIAL", 10, 20, (24.0, 5.0, 10.0, 0.0), 2),
    }
    assert scene.meta["camera_priors"][1] == {
        "focal": 48.0, "source": "default", "name": "", "bounds": 2.5, "images": 2
    }
    (tmp_path / "images" / "d.jpg").write_bytes(b"not an image")
    with pytest.raises(ImageDecodeError, match="d.jpg: not a decodable image"):
        open_scene(tmp_path)


def test_missing_empty_and_unknown_paths(tmp_path: Path) -> None:
    with pytest.raises(SceneFormatError, match="nowhere: no such file or folder"):
        open_scene(tmp_path / "nowhere")
    with pytest.raises(SceneFormatError, match="folder is empty"):
        open_scene(tmp_path)
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(SceneFormatError, match="not a recognized scene .looked for: locmap, "):
        open_scene(tmp_path)


def test_pose_identity_sanity() -> None:
    """The Rigid3 used above inverts like numpy does (guards the independent checks)."""
    T = c2w_matrix(np.random.default_rng(9))
    np.testing.assert_allclose(
        Rigid3.from_matrix(T).inverse().matrix(), np.linalg.inv(T), atol=1e-12
    )
