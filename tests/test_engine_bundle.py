"""Map bundle format: round trip, atomic writes, incomplete/unknown-version bundles, checkpoints."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from locgui.core.camera import Camera
from locgui.core.errors import BundleError
from locgui.core.pose import Rigid3, look_at
from locgui.core.scene import Points3D, SceneImage, SceneMap
from locgui.io import bundle as bundle_mod
from locgui.io.bundle import open_bundle, write_bundle
from locgui.methods.features.types import Features, bundle_features


def _small_map(tmp_path: Path, with_points: bool = True) -> tuple[SceneMap, dict[int, Features]]:
    """Two posed cameras looking at a few points; keypoints are the exact projections."""
    rng = np.random.default_rng(3)
    cam = Camera.pinhole(200.0, 200.0, 80.0, 60.0, 160, 120)
    xyz = rng.uniform([-1, -1, 4], [1, 1, 6], (20, 3))
    images: dict[int, SceneImage] = {}
    feats: dict[int, Features] = {}
    track_point, track_image, track_kp = [], [], []
    for image_id, x in ((1, -0.3), (2, 0.3)):
        pose = look_at(np.array([x, 0.0, 0.0]), np.array([0.0, 0.0, 5.0]), np.array([0, -1.0, 0]))
        kp = cam.project(pose.apply(xyz))
        ids = np.arange(20) + 100 if with_points else np.full(20, -1)
        images[image_id] = SceneImage(image_id, f"im{image_id}.png", 1, pose, "train", kp, ids)
        desc = rng.normal(size=(20, 8)).astype(np.float32)
        desc /= np.linalg.norm(desc, axis=1, keepdims=True)
        feats[image_id] = Features(
            kp.astype(np.float32), desc, rng.random(20).astype(np.float32), (160, 120), "xfeat"
        )
        track_point += list(range(20))
        track_image += [image_id] * 20
        track_kp += list(range(20))
    points = Points3D()
    if with_points:
        points = Points3D(
            ids=np.arange(20, dtype=np.int64) + 100,
            xyz=xyz,
            rgb=np.full((20, 3), 128, np.uint8),
            error=np.full(20, 0.5),
            track_point=np.array(track_point),
            track_image=np.array(track_image),
            track_keypoint=np.array(track_kp),
        )
    scene = SceneMap({1: cam}, images, points, image_dir=tmp_path, units="metres")
    return scene, feats


def _write(tmp_path: Path, name: str = "small.locmap", **kwargs: object) -> Path:
    scene, feats = _small_map(tmp_path)
    return write_bundle(tmp_path / name, scene, feats, {"type": "xfeat", "config": {}}, **kwargs)  # type: ignore[arg-type]


def test_round_trip_keeps_scene_features_and_capabilities(tmp_path: Path) -> None:
    scene, feats = _small_map(tmp_path)
    desc = np.random.default_rng(0).normal(size=(20, 8)).astype(np.float32)
    path = write_bundle(
        tmp_path / "a.locmap", scene, feats, {"type": "xfeat", "config": {"top_k": 7}},
        point_descriptors=desc, retrieval_state={"x": np.arange(3)},
    )  # fmt: skip
    b = open_bundle(path)
    assert b.manifest["format"] == "locgui-map" and b.manifest["version"] == 1
    assert b.capabilities == {"features:xfeat", "sfm_points", "point_descriptors", "retrieval"}
    assert b.units == "metres" and b.feature_config == {"top_k": 7}
    for image_id, f in feats.items():
        got = bundle_features(b, image_id)
        np.testing.assert_array_equal(got.keypoints, f.keypoints)
        np.testing.assert_allclose(got.descriptors, f.descriptors, atol=1e-3)  # float16 on disk
        assert got.image_size == (160, 120) and got.kind == "xfeat"
        np.testing.assert_allclose(b.scene.images[image_id].keypoints, f.keypoints, atol=1e-4)
        assert b.scene.images[image_id].cam_from_world.allclose(
            scene.images[image_id].cam_from_world, 1e-9
        )
    ids, pdesc = b.point_descriptors()
    np.testing.assert_array_equal(ids, np.arange(20) + 100)
    np.testing.assert_allclose(pdesc, desc, atol=2e-3)
    rows = b.scene.points.index_of(np.arange(20) + 100)
    np.testing.assert_allclose(b.scene.points.xyz[rows], scene.points.xyz, atol=1e-12)
    np.testing.assert_array_equal(b.retrieval_state()["x"], np.arange(3))
    assert b.scene.image_dir == tmp_path.absolute()


def test_map_without_points_has_no_sfm_capability(tmp_path: Path) -> None:
    scene, feats = _small_map(tmp_path, with_points=False)
    b = open_bundle(write_bundle(tmp_path / "e.locmap", scene, feats, {"type": "xfeat"}))
    assert "sfm_points" not in b.capabilities and len(b.scene.points) == 0


def test_crash_mid_write_leaves_no_bundle(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt  # Ctrl-C while the features are written

    monkeypatch.setattr(bundle_mod, "write_features", boom)
    with pytest.raises(KeyboardInterrupt):
        _write(tmp_path)
    assert not (tmp_path / "small.locmap").exists()
    staging = [p for p in tmp_path.glob(".small.locmap*") if p.is_dir()]  # not the lock file
    assert not staging, "the staging folder must be removed"


def test_folder_without_manifest_is_reported_incomplete(tmp_path: Path) -> None:
    path = _write(tmp_path)
    (path / "manifest.json").unlink()  # e.g. a copy interrupted before the manifest
    with pytest.raises(BundleError, match="incomplete map bundle"):
        open_bundle(path)


def test_overwrite_replaces_and_refuses_without_flag(tmp_path: Path) -> None:
    path = _write(tmp_path)
    with pytest.raises(BundleError, match="already exists"):
        _write(tmp_path)
    _write(tmp_path, overwrite=True)
    assert open_bundle(path).manifest["stats"]["points"] == 20


@pytest.mark.parametrize(
    ("patch", "message"),
    [({"version": 2}, "version 2 is not supported"), ({"format": "other"}, "not a locgui map")],
)
def test_unknown_version_or_format_is_a_clear_error(
    tmp_path: Path, patch: dict[str, object], message: str
) -> None:
    path = _write(tmp_path)
    manifest = json.loads((path / "manifest.json").read_text())
    manifest.update(patch)
    (path / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(BundleError, match=message):
        open_bundle(path)


def test_other_feature_type_than_requested_is_refused(tmp_path: Path) -> None:
    path = _write(tmp_path)
    with pytest.raises(BundleError, match="built with xfeat features, but sift"):
        open_bundle(path, feature_type="sift")
    assert open_bundle(path, feature_type="xfeat").feature_type == "xfeat"


def test_checkpoints_are_added_atomically(tmp_path: Path) -> None:
    b = open_bundle(_write(tmp_path))
    folder = b.add_checkpoint("scr", {"head.pt": b"weights-1"}, {"lr": 1e-3}, {"median_px": 2.5})
    assert (folder / "head.pt").read_bytes() == b"weights-1"
    assert json.loads((folder / "metrics.json").read_text()) == {"median_px": 2.5}
    assert "scr" in b.capabilities and b.checkpoint_dir("scr") == folder
    reopened = open_bundle(b.path)
    assert "scr" in reopened.capabilities and reopened.checkpoints()["scr"]["config"] == {
        "lr": 1e-3
    }

    with pytest.raises(FileNotFoundError):  # a file that cannot be copied: the old one survives
        b.add_checkpoint("scr", {"head.pt": b"x", "more.pt": tmp_path / "missing.pt"}, {}, {})
    assert not list((b.path / "checkpoints").glob(".scr*"))
    with pytest.raises(BundleError, match="bytes or a file path"):
        b.add_checkpoint("scr", {"head.pt": 3}, {}, {})  # type: ignore[dict-item]
    assert (b.checkpoint_dir("scr") / "head.pt").read_bytes() == b"weights-1"
    with pytest.raises(BundleError, match="no checkpoint 'nerf'"):
        b.checkpoint_dir("nerf")


def test_poses_are_stored_not_recomputed(tmp_path: Path) -> None:
    scene, feats = _small_map(tmp_path)
    pose = Rigid3(np.eye(3), [0.1, 0.2, 0.3])
    scene.images[1].cam_from_world = pose
    b = open_bundle(write_bundle(tmp_path / "p.locmap", scene, feats, {"type": "xfeat"}))
    assert b.scene.images[1].cam_from_world.allclose(pose, 1e-12)
