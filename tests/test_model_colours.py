"""The 3D view's colour table, the point-cloud colourings and the geometry of error segments
and framing (numpy only)."""

from __future__ import annotations

import dataclasses
import itertools

import numpy as np
import pytest

from locgui.core.camera import Camera
from locgui.core.pose import look_at
from locgui.core.scene import Points3D, SceneImage, SceneMap
from locgui.model import colours, geometry


def test_every_meaning_and_method_has_its_own_colour():
    named = {**colours.MEANINGS, **{f"m{i}": c for i, c in enumerate(colours.METHOD_PALETTE)}}
    values = [c.lower() for c in named.values()]
    assert len(set(values)) == len(values)
    for a, b in itertools.combinations(named, 2):
        assert colours.delta_e(named[a], named[b]) >= colours.MIN_DELTA_E, (a, b)
    assert colours.closest_pair()[2] >= colours.MIN_DELTA_E


def test_delta_e_of_known_colours():
    assert colours.delta_e("#000000", "#ffffff") == pytest.approx(100.0, abs=0.1)
    assert colours.delta_e("#3ddc84", "#3ddc84") == 0.0


def _two_view_scene(shift: np.ndarray) -> SceneMap:
    """Two cameras looking at three points; keypoints are the exact projections except the
    first point's keypoint in the second image, moved by ``shift`` pixels."""
    cam = Camera.pinhole(200.0, 200.0, 160.0, 120.0, 320, 240)
    xyz = np.array([[0.0, 0.0, 0.0], [0.3, 0.1, 0.2], [-0.2, 0.2, -0.1]])
    poses = [look_at(np.array([0.0, -3.0, 0.5]), np.zeros(3)),
             look_at(np.array([1.0, -3.0, 0.0]), np.zeros(3))]  # fmt: skip
    images = {}
    for i, pose in enumerate(poses, start=1):
        kp = cam.project(pose.apply(xyz))
        if i == 2:
            kp[0] += shift
        images[i] = SceneImage(i, f"{i}.png", 1, pose, keypoints=kp,
                               point3D_ids=np.arange(3, dtype=np.int64))  # fmt: skip
    points = Points3D(
        ids=np.arange(3, dtype=np.int64),
        xyz=xyz,
        rgb=np.array([[200, 10, 10], [10, 200, 10], [10, 10, 200]], np.uint8),
        error=np.full(3, np.nan),
        track_point=np.array([0, 1, 2, 0, 1, 2]),
        track_image=np.array([1, 1, 1, 2, 2, 2]),
        track_keypoint=np.array([0, 1, 2, 0, 1, 2]),
    )
    return SceneMap(cameras={1: cam}, images=images, points=points)


def test_reprojection_errors_are_measured_from_the_observations():
    scene = _two_view_scene(np.array([3.0, 4.0]))
    # Point 0: errors 0 and 5 px over its two observations; the others are exact.
    np.testing.assert_allclose(colours.reprojection_errors(scene), [2.5, 0.0, 0.0], atol=1e-9)
    # Without a posed image the stored error stays (here unknown).
    scene.images[1].cam_from_world = scene.images[2].cam_from_world = None
    assert np.isnan(colours.reprojection_errors(scene)).all()


def test_error_colouring_is_brighter_for_larger_errors_and_marks_unknown_points():
    scene = _two_view_scene(np.array([3.0, 4.0]))
    pc = colours.point_colours(scene, "error")
    assert pc.mode == "error" and pc.low == 0.0 and pc.unknown == 0
    assert pc.rgb[0].sum() > pc.rgb[1].sum() == pc.rgb[2].sum()
    errors = np.array([1.0, np.nan, 0.0])
    pc = colours.point_colours(scene, "error", errors)
    assert pc.unknown == 1
    np.testing.assert_array_equal(pc.rgb[1], colours.hex_rgb(colours.UNKNOWN))


def test_track_length_colours_are_monotonic(tiny_scene):
    pc = colours.point_colours(tiny_scene, "track")
    lengths = tiny_scene.points.track_lengths()
    assert len(np.unique(lengths)) >= 3  # the check below means something
    brightness = pc.rgb.astype(int).sum(axis=1)
    order = np.argsort(lengths, kind="stable")
    assert (np.diff(brightness[order]) >= 0).all()
    assert brightness[lengths == lengths.max()].min() > brightness[lengths == lengths.min()].max()
    assert pc.low <= np.percentile(lengths, 50) <= pc.high


def test_neutral_image_and_unknown_colourings(tiny_scene):
    n = len(tiny_scene.points)
    neutral = colours.point_colours(tiny_scene, "neutral")
    assert neutral.rgb.shape == (n, 3)
    assert (neutral.rgb == colours.hex_rgb(colours.MEANINGS["points"])).all()
    assert (colours.point_colours(tiny_scene, "no such mode").rgb == neutral.rgb).all()
    image = colours.point_colours(tiny_scene, "image")
    np.testing.assert_array_equal(image.rgb, tiny_scene.points.rgb)
    empty = dataclasses.replace(tiny_scene, points=Points3D())
    assert colours.point_colours(empty, "error").rgb.shape == (0, 3)


def test_the_ramp_runs_dark_to_bright():
    rgb = colours.ramp(np.array([0.0, 0.25, 0.5, 1.0, 2.0, -1.0]))
    assert (np.diff(rgb[:4].astype(int).sum(axis=1)) > 0).all()
    np.testing.assert_array_equal(rgb[3], rgb[4])  # clipped above
    np.testing.assert_array_equal(rgb[5], rgb[0])  # and below


def test_error_segments_join_the_ground_truth_to_each_estimate():
    gt = np.array([1.0, 2.0, 3.0])
    est = np.array([[1.5, 2.0, 3.0], [0.0, 0.0, 0.0]])
    segs = geometry.error_segments(gt, est)
    assert segs.shape == (4, 3)
    np.testing.assert_array_equal(segs[0::2], [gt, gt])
    np.testing.assert_array_equal(segs[1::2], est)
    assert geometry.error_segments(gt, np.zeros((0, 3))).shape == (0, 3)


def test_framing_distance_holds_the_box_in_view():
    lo, hi = np.array([-1.0, -2.0, 0.0]), np.array([3.0, 1.0, 0.5])
    fov = 60.0
    d = geometry.framing_distance(lo, hi, fov)
    center = (lo + hi) / 2
    corners = np.array(np.meshgrid(*zip(lo, hi, strict=True))).reshape(3, -1).T
    for direction in np.eye(3):  # from any side, every corner is inside the view cone
        eye = center + d * direction
        to_corner = corners - eye
        cos = (to_corner @ -direction) / np.linalg.norm(to_corner, axis=1)
        assert (np.degrees(np.arccos(np.clip(cos, -1, 1))) < fov / 2).all()


def test_visible_depth_keeps_a_minimum_share_of_the_view():
    near = geometry.visible_depth(0.1, view_distance=1.0, fov_deg=60.0, fraction=0.05)
    far = geometry.visible_depth(0.1, view_distance=100.0, fov_deg=60.0, fraction=0.05)
    assert near == 0.1
    assert far == pytest.approx(0.05 * 2 * 100.0 * np.tan(np.radians(30.0)))
