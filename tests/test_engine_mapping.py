"""Map building on the tiny synthetic scene: exact poses kept, points on the true surfaces,
features aligned with the COLMAP model, per-point descriptors, pairs, cancellation, SfM."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest

from locgui.core.errors import Cancelled
from locgui.core.pose import look_at
from locgui.core.scene import SceneImage, SceneMap
from locgui.io import open_scene
from locgui.io.bundle import MapBundle
from locgui.io.images import read_depth
from locgui.methods.features.types import bundle_features
from locgui.methods.mapping.config import MapBuildConfig
from locgui.methods.mapping.pairs import exhaustive_pairs, pose_neighbours, select_pairs
from locgui.methods.mapping.pipeline import build_map
from locgui.methods.mapping.source import select_images
from locgui.runtime.context import RunContext


def _relative_depth_errors(bundle: MapBundle, scene: SceneMap) -> np.ndarray:
    """Per point: min over its observing images of |z - depth| / depth, with the depth map
    sampled in the 3x3 pixels around the projection (keypoints sit on depth edges)."""
    pts = bundle.scene.points
    best = np.full(len(pts), np.inf)
    for image_id, im in bundle.scene.images.items():
        depth = read_depth(scene.images[image_id].depth)  # type: ignore[arg-type]
        cam = bundle.scene.camera_of(image_id)
        sel = np.flatnonzero(im.point3D_ids >= 0)  # type: ignore[operator]
        rows = pts.index_of(im.point3D_ids[sel])  # type: ignore[index]
        xc = im.cam_from_world.apply(pts.xyz[rows])  # type: ignore[union-attr]
        px = np.floor(cam.project(xc)).astype(int)
        for dy in (-1, 0, 1):
            for dx in (-1, 0, 1):
                y = np.clip(px[:, 1] + dy, 0, cam.height - 1)
                x = np.clip(px[:, 0] + dx, 0, cam.width - 1)
                d = depth[y, x]
                err = np.abs(xc[:, 2] - d) / d
                best[rows] = np.fmin(best[rows], np.where(np.isfinite(err), err, np.inf))
    return best


def test_known_poses_are_kept_exactly(tiny_bundle: MapBundle, tiny_scene_dir: Path) -> None:
    scene = open_scene(tiny_scene_dir)
    assert sorted(im.name for im in tiny_bundle.scene.images.values()) == sorted(
        im.name for im in scene.images.values() if im.split == "train"
    )
    for image_id, im in tiny_bundle.scene.images.items():
        assert im.cam_from_world.allclose(scene.images[image_id].cam_from_world, 1e-9)  # type: ignore[union-attr]
    assert tiny_bundle.units == "metres"
    assert tiny_bundle.manifest["source"]["queries"] == sorted(
        im.name for im in scene.images.values() if im.split == "test"
    )


def test_triangulated_points_lie_on_the_true_surfaces(
    tiny_bundle: MapBundle, tiny_scene_dir: Path
) -> None:
    err = _relative_depth_errors(tiny_bundle, open_scene(tiny_scene_dir))
    assert len(err) > 1000
    assert np.median(err) < 0.01, "median point depth error must be under 1%"
    assert np.mean(err < 0.05) > 0.8, "most points must be within 5% of the true depth"


def test_features_are_the_models_points2d(tiny_bundle: MapBundle) -> None:
    for image_id, im in tiny_bundle.scene.images.items():
        f = bundle_features(tiny_bundle, image_id)
        np.testing.assert_allclose(f.keypoints, im.keypoints, atol=1e-4)  # type: ignore[arg-type]
        assert len(im.point3D_ids) == len(f)  # type: ignore[arg-type]
        np.testing.assert_allclose(np.linalg.norm(f.descriptors, axis=1), 1.0, atol=2e-3)


def test_point_descriptor_is_the_normalized_mean_of_its_observations(
    tiny_bundle: MapBundle,
) -> None:
    ids, desc = tiny_bundle.point_descriptors()
    pts = tiny_bundle.scene.points
    lengths = pts.track_lengths()
    row = int(np.argmax(lengths))  # the longest track
    obs = [bundle_features(tiny_bundle, i).descriptors[k] for i, k in pts.track_of(row)]
    mean = np.mean(obs, axis=0)
    k = int(np.flatnonzero(ids == pts.ids[row])[0])
    np.testing.assert_allclose(desc[k], mean / np.linalg.norm(mean), atol=2e-3)
    assert lengths[row] >= 3


def test_pairs_exhaustive_below_threshold_then_covisible() -> None:
    images = {}
    for i in range(40):  # cameras on a circle looking at the centre
        a = 2 * np.pi * i / 40
        eye = np.array([3 * np.cos(a), 3 * np.sin(a), 0.0])
        images[i + 1] = SceneImage(i + 1, f"{i}.png", 1, look_at(eye, np.zeros(3)))
    scene = SceneMap(images=images)
    ids = sorted(images)
    assert len(select_pairs(scene, ids[:10], 30, None, 5, 5, True)) == 45
    nbrs = pose_neighbours(scene, ids, 4)
    assert set(nbrs[1]) == {2, 3, 39, 40}  # the nearest cameras on the circle
    pairs = select_pairs(scene, ids, 30, lambda i, k: [], 5, 4, True)
    assert len(pairs) == 40 * 4 // 2 and all(a < b for a, b in pairs)
    assert len(exhaustive_pairs([3, 1, 2])) == 3


def test_holdout_marks_every_nth_image_as_query(tiny_scene_dir: Path) -> None:
    scene = open_scene(tiny_scene_dir)
    inp = select_images(scene, holdout=4)
    train = sorted(im.name for im in scene.images.values() if im.name.startswith("map_"))
    held = {scene.images[i].name for i in inp.query_ids}
    assert {train[0], train[4], train[8], train[12]} <= held
    assert len(inp.map_ids) == 12 and inp.posed
    assert all(inp.scene.images[i].split == "test" for i in inp.query_ids)
    # The caller's scene is not modified.
    assert all(scene.images[i].split == "train" for i in inp.query_ids if i not in set(
        scene.split_ids("test")))  # fmt: skip
    assert scene.images[inp.query_ids[0]].name == train[0]


def test_cancel_leaves_no_bundle(tiny_scene_dir: Path, tmp_path: Path) -> None:
    event = threading.Event()
    seen: list[str] = []

    def on_progress(stage: str, fraction: float, message: str) -> None:
        seen.append(stage)
        if stage == "match":
            event.set()  # the user presses cancel while pairs are matched

    ctx = RunContext(on_progress=on_progress, cancel_event=event)
    out = tmp_path / "cancelled.locmap"
    with pytest.raises(Cancelled):
        build_map(tiny_scene_dir, out, MapBuildConfig(max_keypoints=256, device="cpu"), ctx)
    assert "extract" in seen and not out.exists()
    assert not list(tmp_path.iterdir())
