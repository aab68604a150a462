"""The written synthetic scene: loads through open_scene with exact ground truth; writing is
deterministic and atomic; photometric options touch only the queries."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

from locgui.core.errors import LocguiError
from locgui.io import open_scene
from locgui.io.images import read_depth, read_image
from locgui.io.synth import (
    Photometric,
    SyntheticRoom,
    generate,
    get_preset,
    mapping_poses,
    query_poses,
)


def _digests(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def test_scene_loads_with_exact_poses_intrinsics_and_splits(tiny_scene_dir: Path) -> None:
    preset = get_preset("tiny")
    scene = open_scene(tiny_scene_dir)
    assert scene.units == "metres"
    assert scene.cameras == {1: preset.camera()}
    expected = mapping_poses(preset, 0) + query_poses(preset, 0)
    assert len(scene.images) == len(expected) == 20
    names = [f"map_{k:04d}.png" for k in range(16)] + [f"query_{k:04d}.png" for k in range(4)]
    for image_id, (pose, name) in enumerate(zip(expected, names, strict=True), start=1):
        image = scene.images[image_id]
        assert image.cam_from_world is not None
        assert image.cam_from_world.allclose(pose, atol=1e-12)
        assert image.name == name
        assert image.split == ("train" if name.startswith("map") else "test")
    assert scene.split_ids("test") == [17, 18, 19, 20]


def test_images_and_depth_on_disk_are_the_renders(
    tiny_scene_dir: Path, tiny_room: SyntheticRoom
) -> None:
    scene = open_scene(tiny_scene_dir)
    for image_id in (1, 18):
        image = scene.images[image_id]
        assert image.depth is not None and image.cam_from_world is not None
        rgb, depth = tiny_room.render(scene.camera_of(image_id), image.cam_from_world)
        assert np.array_equal(read_image(scene.image_path(image_id)), rgb)
        stored = read_depth(image.depth)
        assert stored.dtype == np.float32
        assert np.array_equal(stored, depth)  # every pixel hits the room: no NaN


def test_points_project_exactly_onto_their_keypoints(tiny_scene_dir: Path) -> None:
    scene = open_scene(tiny_scene_dir)
    points = scene.points
    assert 800 <= len(points) <= 3000
    assert points.track_lengths().min() >= 2
    observations = 0
    for image_id in scene.split_ids("train"):
        image = scene.images[image_id]
        assert image.keypoints is not None and image.point3D_ids is not None
        assert image.cam_from_world is not None
        rows = points.index_of(image.point3D_ids)
        assert (rows >= 0).all()
        xyz_cam = image.cam_from_world.apply(points.xyz[rows])
        projected = scene.camera_of(image_id).project(xyz_cam)
        np.testing.assert_allclose(projected, image.keypoints, atol=1e-6)
        observations += len(rows)
    assert observations == len(points.track_image)
    for image_id in scene.split_ids("test"):  # queries carry no observations
        keypoints = scene.images[image_id].keypoints
        assert keypoints is None or len(keypoints) == 0


def test_points_lie_on_surfaces_with_their_rendered_colour(
    tiny_scene_dir: Path, tiny_room: SyntheticRoom
) -> None:
    """Rendering a point's observing view at its keypoint gives the point's depth."""
    from tests.test_synth_render import _one_pixel_camera

    scene = open_scene(tiny_scene_dir)
    image = scene.images[3]
    assert image.keypoints is not None and image.point3D_ids is not None
    assert image.cam_from_world is not None
    camera = scene.camera_of(3)
    rows = scene.points.index_of(image.point3D_ids[:40])
    z = image.cam_from_world.apply(scene.points.xyz[rows])[:, 2]
    for keypoint, depth in zip(image.keypoints[:40], z, strict=True):
        rendered = tiny_room.render(_one_pixel_camera(camera, keypoint), image.cam_from_world)[1]
        assert abs(float(rendered[0, 0]) - depth) <= 2e-6 * depth


def test_sidecar_follows_the_contract(tiny_scene_dir: Path) -> None:
    sidecar = json.loads((tiny_scene_dir / "locgui_scene.json").read_text("utf-8"))
    assert sidecar["format"] == "locgui-scene" and sidecar["version"] == 1
    assert sidecar["units"] == "metres" and sidecar["image_dir"] == "images"
    assert sidecar["depth"] == {"dir": "depth", "suffix": ".npy", "scale": 1.0, "invalid": 0.0}
    assert sidecar["splits"]["train"] == [f"map_{k:04d}.png" for k in range(16)]
    assert sidecar["splits"]["test"] == [f"query_{k:04d}.png" for k in range(4)]
    meta = sidecar["meta"]
    assert (meta["generator"], meta["seed"], meta["preset"]) == ("locgui.io.synth", 0, "tiny")
    assert (tiny_scene_dir / "sparse" / "0" / "points3D.txt").is_file()
    assert not list(tiny_scene_dir.parent.glob(".tiny.*"))  # no temporary folder left


def test_same_seed_writes_identical_files(tiny_scene_dir: Path, tmp_path: Path) -> None:
    again = generate(tmp_path / "again", seed=0, preset="tiny")
    assert _digests(again) == _digests(tiny_scene_dir)


def test_photometric_changes_only_query_images(tiny_scene_dir: Path, tmp_path: Path) -> None:
    from locgui.cli import main

    out = tmp_path / "photo"
    assert main(["synth", str(out), "--preset", "tiny", "--exposure", "1.4", "--noise", "3"]) == 0
    before, after = _digests(tiny_scene_dir), _digests(out)
    assert before.keys() == after.keys()
    changed = {name for name in before if before[name] != after[name]}
    queries = {f"images/query_{k:04d}.png" for k in range(4)}
    assert changed == queries | {"locgui_scene.json"}
    clean = read_image(tiny_scene_dir / "images" / "query_0000.png").astype(float)
    bright = read_image(out / "images" / "query_0000.png").astype(float)
    unsaturated = clean < 150
    ratio = bright[unsaturated].mean() / clean[unsaturated].mean()
    assert ratio == pytest.approx(1.4, abs=0.03)
    assert json.loads((out / "locgui_scene.json").read_text("utf-8"))["meta"]["photometric"] == {
        "exposure": 1.4,
        "noise": 3.0,
        "blur": 0.0,
    }


def test_refuses_to_overwrite_a_folder_that_is_not_a_synthetic_scene(tmp_path: Path) -> None:
    (tmp_path / "precious.txt").write_text("keep me")
    with pytest.raises(LocguiError, match="not a synthetic scene"):
        generate(tmp_path, preset="tiny")
    assert (tmp_path / "precious.txt").read_text() == "keep me"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["precious.txt"]


def test_photometric_validates_and_blurs() -> None:
    with pytest.raises(LocguiError, match="odd"):
        Photometric(blur=4)
    rng = np.random.default_rng(0)
    image = np.zeros((9, 9, 3), np.uint8)
    image[4, 4] = 255
    blurred = Photometric(blur=3).apply(image, rng)
    assert blurred[4, 4, 0] < 255 and blurred[3, 4, 0] > 0 and blurred[0, 0, 0] == 0
    assert blurred.sum(dtype=np.int64) == pytest.approx(255 * 3, rel=0.05)
