"""Pose validation: what makes a pose a success, and the uncertainty figure."""

from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from locgui.core.camera import Camera
from locgui.core.pose import Rigid3, look_at
from locgui.core.results import LocalizationResult, Matches2D3D, Query
from locgui.methods.localize.pnp import absolute_pose
from locgui.methods.localize.validation import (
    MapExtent,
    ValidatedLocalizer,
    pose_uncertainty,
    validate_pose,
)

CAMERA = Camera("PINHOLE", 640, 480, (500.0, 500.0, 320.0, 240.0))
POSE = look_at(np.array([0.0, -4.0, 1.0]), np.array([0.0, 0.0, 1.0]))
EXTENT = MapExtent(np.array([0.0, 0.0, 1.0]), 2.0)


def _scene(n: int = 300, seed: int = 0, box: tuple[float, float] | None = None) -> tuple:
    """(xy, xyz): points 3-5 units in front of POSE seen over the image (or inside ``box``,
    a pixel square (x0, size))."""
    rng = np.random.default_rng(seed)
    if box is None:
        px = rng.uniform([20, 20], [620, 460], (n, 2))
    else:
        px = rng.uniform(box[0], box[0] + box[1], (n, 2))
    depth = rng.uniform(3.0, 5.0, n)
    xyz = POSE.inverse().apply(CAMERA.unproject(px, depth))
    return px, xyz


def _result(xy: np.ndarray, xyz: np.ndarray, pose: Rigid3 = POSE, camera: Camera = CAMERA,
            threshold: float = 4.0) -> LocalizationResult:  # fmt: skip
    n = len(xy)
    matches = Matches2D3D(xy, xyz, np.arange(n), np.zeros(n, np.int64), np.ones(n, bool),
                          np.zeros(n))  # fmt: skip
    return LocalizationResult("m", "q", True, cam_from_world=pose, camera=camera,
                              matches_2d3d=matches, num_inliers=n,
                              extras={"threshold_px": threshold})  # fmt: skip


def test_a_good_pose_passes_with_its_uncertainty() -> None:
    xy, xyz = _scene()
    noisy = xy + np.random.default_rng(1).normal(0, 0.5, xy.shape)
    result = _result(noisy, xyz)
    assert validate_pose(result, 640, 480, EXTENT) == []
    sigma = result.extras["uncertainty"]
    assert 0 < sigma["position"] < 0.05 and 0 < sigma["rotation_deg"] < 0.5
    assert sigma["position_pct_extent"] == pytest.approx(100 * sigma["position"] / 2.0)


def test_the_uncertainty_matches_the_spread_of_repeated_solves() -> None:
    """1 px noise: the predicted 1-sigma position matches the scatter of 60 PnP solves."""
    xy, xyz = _scene(80)
    rng = np.random.default_rng(2)
    centers, predicted = [], []
    for _ in range(60):
        noisy = xy + rng.normal(0, 1.0, xy.shape)
        pnp = absolute_pose(noisy, xyz, CAMERA, 6.0)
        assert pnp is not None
        centers.append(pnp.cam_from_world.center)
        sig = pose_uncertainty(CAMERA, pnp.cam_from_world, noisy, xyz)
        assert sig is not None
        predicted.append(sig[0])
    scatter = np.sqrt(np.linalg.eigvalsh(np.cov(np.array(centers).T)).max())
    assert 0.6 < np.median(predicted) / scatter < 1.6


def test_inliers_in_one_corner_are_not_support() -> None:
    xy, xyz = _scene(100, box=(10.0, 30.0))
    failures = validate_pose(_result(xy, xyz), 640, 480, EXTENT)
    assert any("inliers cover 0.3% of the image" in f for f in failures)


def test_a_non_positive_or_absurd_focal_fails() -> None:
    xy, xyz = _scene()
    bad = SimpleNamespace(focal=(-5e7, -5e7))  # a Camera refuses such a focal itself
    assert validate_pose(_result(xy, xyz, camera=bad), 640, 480, EXTENT) == [  # type: ignore[arg-type]
        "focal length -50000000.0 px is not positive"
    ]
    huge = Camera("PINHOLE", 640, 480, (5e4, 5e4, 320.0, 240.0))
    failures = validate_pose(_result(xy, xyz, camera=huge), 640, 480, EXTENT)
    assert "focal length 50000 px is outside 115-7680 px" in failures


def test_a_pose_far_from_the_map_fails() -> None:
    xy, xyz = _scene()
    far = Rigid3(POSE.rotation, POSE.translation + np.array([0.0, 0.0, 3000.0]))
    failures = validate_pose(_result(xy, xyz, pose=far), 640, 480, EXTENT)
    assert any("map extents from the map" in f for f in failures)


def test_points_behind_the_camera_fail() -> None:
    xy, xyz = _scene()
    flipped = Rigid3(np.diag([1.0, -1.0, -1.0]) @ POSE.rotation, np.diag([1.0, -1.0, -1.0])
                     @ POSE.translation)  # fmt: skip
    failures = validate_pose(_result(xy, xyz, pose=flipped), 640, 480, EXTENT)
    assert any("in front of the camera" in f for f in failures)


def test_inliers_that_do_not_fit_the_pose_fail() -> None:
    xy, xyz = _scene()
    failures = validate_pose(_result(xy + 9.0, xyz), 640, 480, EXTENT)
    assert "inlier reprojection RMS 12.7 px > 4.0 px" in failures


@dataclass
class _Wild:
    """A localizer that reports a pose 1000 map extents away as a success."""

    config: Any = None

    def localize(self, query: Query, ctx: Any) -> LocalizationResult:
        pose = Rigid3(np.eye(3), np.array([0.0, 0.0, 2000.0]))
        return LocalizationResult("wild", query.name, True, cam_from_world=pose, camera=CAMERA,
                                  reason="trust me")  # fmt: skip


def test_a_wrapped_localizer_reports_a_rejected_pose_as_failed(tiny_bundle: Any) -> None:
    validated = ValidatedLocalizer(_Wild(), tiny_bundle)
    result = validated.localize(Query("q", np.zeros((480, 640, 3), np.uint8)), None)
    assert not result.success and result.cam_from_world is None
    assert result.reason.startswith("pose rejected: camera ") and "(was: trust me)" in result.reason


def test_registry_localizers_are_validated(tiny_bundle: Any, tiny_scene_dir: Any) -> None:
    from locgui.io import open_scene
    from locgui.io.images import read_image
    from locgui.methods.registry import get_method
    from locgui.runtime.context import RunContext

    scene = open_scene(tiny_scene_dir)
    im = scene.images[scene.split_ids("test")[0]]
    localizer = get_method("sfm").create(tiny_bundle)
    assert isinstance(localizer, ValidatedLocalizer)
    query = Query(im.name, read_image(scene.image_path(im.image_id)), scene.camera_of(im.image_id))
    result = localizer.localize(query, RunContext())
    assert result.success, result.reason
    assert result.extras["uncertainty"]["position"] < 0.05 * MapExtent.of(tiny_bundle.scene).radius


def test_rpr_refuses_a_field_of_view_guess(tiny_bundle: Any, tiny_scene_dir: Any) -> None:
    """An essential matrix from a guessed focal gives wrong poses that fit their own matches."""
    from locgui.io import open_scene
    from locgui.io.images import read_image
    from locgui.methods.registry import get_method
    from locgui.runtime.context import RunContext

    scene = open_scene(tiny_scene_dir)
    im = scene.images[scene.split_ids("test")[0]]
    spec = get_method("rpr")
    localizer = spec.create(tiny_bundle, spec.make_config(use_map_camera=False))
    result = localizer.localize(Query(im.name, read_image(scene.image_path(im.image_id))),
                                RunContext())  # fmt: skip
    assert not result.success and result.reason.startswith("rpr needs the query's intrinsics")
