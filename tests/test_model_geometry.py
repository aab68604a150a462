"""Frustums, the display frame, projection and picking; the match table of the match view."""

from __future__ import annotations

import numpy as np
import pytest

from locgui.core.camera import Camera
from locgui.core.pose import look_at
from locgui.model import geometry, linking
from tests.plugins.qt import exact_result


def test_frustum_corners_project_to_the_image_corners():
    cam = Camera.pinhole(300.0, 310.0, 160.0, 120.0, 320, 240)
    pose = look_at(np.array([1.0, 2.0, 0.5]), np.array([3.0, 0.0, 0.2]))
    verts = geometry.frustum_vertices(cam, pose, depth=0.7)
    np.testing.assert_allclose(verts[0], pose.center, atol=1e-12)
    in_cam = pose.apply(verts[1:5])
    np.testing.assert_allclose(in_cam[:, 2], 0.7, atol=1e-12)
    np.testing.assert_allclose(
        cam.project(in_cam), [[0, 0], [320, 0], [320, 240], [0, 240]], atol=1e-9
    )
    # The "up" tip is above the top edge (smaller image y).
    assert cam.project(pose.apply(verts[5:6]))[0, 1] < 0
    segs = geometry.frustum_segments(verts)
    assert segs.shape == (2 * geometry.SEGMENTS_PER_FRUSTUM, 3)


def test_display_frame_puts_scene_up_on_z_and_centre_at_origin(tiny_scene):
    frame = geometry.display_frame(tiny_scene)
    up = geometry.scene_up(tiny_scene)
    np.testing.assert_allclose(frame.rotation @ up, [0, 0, 1], atol=1e-12)
    world = np.concatenate([tiny_scene.points.xyz, tiny_scene.camera_centers()])
    np.testing.assert_allclose(frame.apply(np.median(world, axis=0)), 0, atol=1e-9)
    # Image "down" of every camera points (mostly) down in the display frame.
    downs = [frame.rotation @ tiny_scene.images[i].cam_from_world.rotation[1]
             for i in tiny_scene.posed_ids()]  # fmt: skip
    assert np.mean([d[2] for d in downs]) < -0.5


def test_rotation_between_handles_opposite_directions():
    for a, b in (
        ([0, 0, 1.0], [0, 0, -1.0]),
        ([1.0, 0, 0], [0, 1.0, 0]),
        ([0, 0, 1.0], [0, 0, 1.0]),
    ):
        R = geometry.rotation_between(np.array(a), np.array(b))
        np.testing.assert_allclose(R @ a, b, atol=1e-12)
        np.testing.assert_allclose(R @ R.T, np.eye(3), atol=1e-12)


def test_project_to_screen_and_pick():
    # An orthographic-like mvp: x, y in [-1, 1] map to the widget, w = 1.
    mvp = np.eye(4)
    pts = np.array([[0.0, 0.0, 0.0], [0.5, 0.5, 0.0], [-1.0, 1.0, 0.0], [3.0, 0, 0]])
    xy, inside = geometry.project_to_screen(pts, mvp, 200, 100)
    np.testing.assert_allclose(xy[:3], [[100, 50], [150, 25], [0, 0]])
    assert inside.tolist() == [True, True, True, False]
    assert geometry.pick_nearest(xy, inside, (148, 27), radius=5) == 1
    assert geometry.pick_nearest(xy, inside, (120, 80), radius=5) is None
    # Behind the camera (w < 0) is never visible.
    mvp2 = np.eye(4)
    mvp2[3] = [0, 0, 1, 0]  # w = z
    _, vis = geometry.project_to_screen(np.array([[0, 0, -1.0], [0, 0, 1.0]]), mvp2, 10, 10)
    assert vis.tolist() == [False, True]


def test_match_table_joins_2d2d_to_2d3d(tiny_scene):
    qid, db = tiny_scene.split_ids("test")[0], tiny_scene.split_ids("train")[0]
    result = exact_result(tiny_scene, qid, db, n_outliers=3)
    n = len(result.matches_2d3d)
    table = linking.match_table(result, db, tiny_scene)
    assert len(table) == n + 2
    np.testing.assert_array_equal(table.m3d_index[:n], np.arange(n))
    assert table.m3d_index[n:].tolist() == [-1, -1]
    assert table.inlier[:3].tolist() == [False] * 3 and table.inlier[3:n].all()
    np.testing.assert_allclose(table.error[:3], 50.0)
    # Without 2D-2D matches, database pixels come from the image's keypoints.
    result.matches_2d2d = []
    table2 = linking.match_table(result, db, tiny_scene)
    np.testing.assert_allclose(table2.db_xy, table.db_xy[:n])
    # Query-only view: every 2D-3D match, no database side.
    table3 = linking.match_table(result, None, tiny_scene)
    assert len(table3) == n and np.isnan(table3.db_xy).all()
    assert linking.match_counts(result) == {db: (n, n - 3)}


def test_match_table_joins_refined_keypoints(tiny_scene):
    """sfm moves its query keypoints by sub-pixel alignment (and keeps only the aligned ones
    for PnP): the 2D-2D matches still find their 2D-3D rows, so the debugger shows their
    inlier flags instead of "no 3D"."""
    qid, db = tiny_scene.split_ids("test")[0], tiny_scene.split_ids("train")[0]
    result = exact_result(tiny_scene, qid, db, n_outliers=3)
    m3d = result.matches_2d3d
    n = len(m3d)
    rng = np.random.default_rng(0)
    m3d.query_xy = m3d.query_xy + rng.uniform(-0.7, 0.7, m3d.query_xy.shape)  # refined
    keep = np.arange(n) != 5  # one match not aligned: dropped from the 2D-3D matches
    result.matches_2d3d = type(m3d)(m3d.query_xy[keep], m3d.xyz[keep], m3d.point3D_ids[keep],
                                    m3d.source_image_ids[keep], m3d.inliers[keep],
                                    m3d.reproj_error[keep])  # fmt: skip
    table = linking.match_table(result, db, tiny_scene)
    expected = np.concatenate([np.arange(5), [-1], np.arange(5, n - 1), [-1, -1]])
    np.testing.assert_array_equal(table.m3d_index, expected)
    assert table.inlier[:3].tolist() == [False] * 3
    assert table.inlier[3:n].sum() == n - 4  # every inlier but the dropped one
    # A second 2D-2D match of the same point, a pixel further: the row stays with the nearer.
    m = result.matches_2d2d[0]
    extra = m.query_xy[7] + 1.0
    result.matches_2d2d = [type(m)(m.image_id, np.vstack([m.query_xy, extra]),
                                   np.vstack([m.db_xy, m.db_xy[7]]), np.append(m.scores, 1.0),
                                   np.append(m.point3D_ids, m.point3D_ids[7]))]  # fmt: skip
    table = linking.match_table(result, db, tiny_scene)
    assert table.m3d_index[7] == 6 and table.m3d_index[-1] == -1
    assert len(np.unique(table.m3d_index[table.m3d_index >= 0])) == n - 1


def test_observations_are_the_point_track(tiny_scene):
    row = int(np.argmax(tiny_scene.points.track_lengths()))
    pid = int(tiny_scene.points.ids[row])
    obs = linking.observations(tiny_scene, pid)
    assert len(obs) == tiny_scene.points.track_lengths()[row] >= 2
    for o in obs:
        im = tiny_scene.images[o.image_id]
        k = int(np.flatnonzero(im.point3D_ids == pid)[0])
        assert o.xy == pytest.approx(tuple(im.keypoints[k]))
        # The observation is where the point projects in that image (synthetic: exact poses).
        uv = tiny_scene.camera_of(o.image_id).project(
            im.cam_from_world.apply(tiny_scene.points.xyz[row])
        )
        assert np.linalg.norm(uv[0] - o.xy) < 2.0


def test_floor_grid_uses_a_round_step():
    assert geometry.nice_step(10.0) == 1.0 and geometry.nice_step(23.0) == 2.0
    assert geometry.nice_step(0.4) == pytest.approx(0.05)
    segs = geometry.floor_grid(np.array([-0.9, -0.4, -1.0]), np.array([0.9, 0.4, 2.0]), -1.0)
    np.testing.assert_allclose(segs[:, 2], -1.0)
    xs = np.unique(segs[0::2, 0][segs[0::2, 1] == segs[0::2, 1].min()])
    np.testing.assert_allclose(np.diff(xs), 0.2)  # span 1.8 -> step 0.2
    assert segs[:, 0].min() <= -0.9 and segs[:, 0].max() >= 0.9
