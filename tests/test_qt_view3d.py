"""The 3D view's readability: the current query highlighted and framed, error segments,
visible estimate frustums, point colourings, the legend.

Runs offscreen: GL items are checked through their vertex data and colours (what would be
uploaded) and through the view's projection.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("PySide6")

from locgui.core.pose import Rigid3, axis_angle_to_rotmat  # noqa: E402
from locgui.model import colours, geometry  # noqa: E402
from locgui.model.state import AppState  # noqa: E402
from tests.plugins.qt import exact_result  # noqa: E402


def _moved(pose: Rigid3, shift: np.ndarray, deg: float) -> Rigid3:
    R = axis_angle_to_rotmat(np.radians([0, 0, deg])) @ pose.rotation
    return Rigid3(R, -R @ (pose.center + shift))


@pytest.fixture
def panel(qtbot, tiny_scene):
    """The 3D panel on the tiny scene, 800 x 600, with results of two methods for every
    query (sfm 0.2 off, rpr 0.3 off the ground truth); the first query is current."""
    from locgui.qt.view3d import Scene3DPanel

    state = AppState()
    view = Scene3DPanel(state)
    qtbot.addWidget(view)
    view.resize(800, 600)
    view.show()
    state.set_scene(tiny_scene, path=Path("tiny"))
    db = tiny_scene.split_ids("train")[0]
    for qid in tiny_scene.split_ids("test"):
        for method, shift in (("sfm", [0.2, 0, 0]), ("rpr", [0, 0.3, 0])):
            r = exact_result(tiny_scene, qid, db, method=method)
            r.cam_from_world = _moved(r.cam_from_world, np.array(shift), 3.0)
            state.set_result(r)
    state.select_query(tiny_scene.images[tiny_scene.split_ids("test")[0]].name)
    return view


def _world(view, item_name: str) -> np.ndarray:
    return view.gl.frame.inverse().apply(view.gl.item(item_name).pos.astype(float))


def test_error_segments_join_ground_truth_and_estimate_centres(panel, tiny_scene):
    state = panel.state
    query = state.current_query
    for method in ("sfm", "rpr"):
        est = state.results[query.name][method].cam_from_world.center
        segs = _world(panel, f"err_current:{method}")
        assert segs.shape == (2, 3)
        np.testing.assert_allclose(segs[0], query.gt_cam_from_world.center, atol=1e-5)
        np.testing.assert_allclose(segs[1], est, atol=1e-5)
        # One segment for each other query, in the dimmer item.
        assert len(panel.gl.item(f"err:{method}").pos) == 2 * (len(state.queries) - 1)
        # The estimate's centre is marked with a dot in the method's colour.
        np.testing.assert_allclose(_world(panel, f"est_centre:{method}")[0], est, atol=1e-5)
    np.testing.assert_allclose(
        _world(panel, "gt_centre")[0], query.gt_cam_from_world.center, atol=1e-5
    )


def test_the_current_query_is_bigger_and_brighter_than_the_others(panel):
    gl = panel.gl
    assert panel.query_depth >= 1.5 * panel.frustum_depth
    for current, others in (("gt_current", "gt_all"), ("est_current:sfm", "est:sfm")):
        cur_item, other_item = gl.item(current), gl.item(others)
        cur_size = np.ptp(cur_item.pos[:20], axis=0).max()
        other_size = np.ptp(other_item.pos[:20], axis=0).max()
        assert cur_size > 1.4 * other_size, current
        assert cur_item.width > other_item.width
        # Brighter: further from the background (dim colours are mixed into it).
        bg = np.asarray(gl.opts["bgcolor"])[:3]
        cur_c, other_c = np.asarray(cur_item.color)[:3], np.asarray(other_item.color)[:3]
        assert np.linalg.norm(cur_c - bg) > 1.5 * np.linalg.norm(other_c - bg)
    # The focused method's frustum is the thickest.
    assert gl.item("est_current:sfm").width > gl.item("est_current:rpr").width


def test_query_frustums_keep_a_visible_size_when_zoomed_out(panel, qtbot):
    from locgui.qt import view3d

    before = panel.query_depth
    panel.gl.setCameraPosition(distance=panel.gl.view_distance * 20)
    fov = np.radians(panel.gl.opts["fov"])
    view_height = 2 * panel.gl.view_distance * np.tan(fov / 2)
    assert panel.query_depth > before
    assert panel.query_depth >= 0.95 * view3d.MIN_SCREEN_FRACTION * view_height
    np.testing.assert_allclose(
        panel.gl.item("est_current:sfm").pos,
        panel.gl.to_display(
            geometry.frustum_segments(
                panel.estimated_frustum_vertices(panel.state.result(method="sfm"))
            )
        ),
        atol=1e-4,
    )


def test_frame_query_puts_the_query_frustums_in_view(panel, qtbot):
    gl = panel.gl
    names = ["gt_current", "est_current:sfm", "est_current:rpr"]

    def span_and_inside() -> tuple[float, bool]:
        pts = np.concatenate([_world(panel, n) for n in names])
        xy, inside = gl.screen_positions(pts)
        return float(np.ptp(xy, axis=0).max() / max(gl.width(), gl.height())), bool(inside.all())

    panel.fit()  # the whole scene: the query is a small part of it
    span_fit, _ = span_and_inside()
    assert panel.frame_query()
    span, inside = span_and_inside()
    assert inside, "a query frustum vertex is outside the view"
    assert span > 0.25 and span > 1.5 * span_fit
    # Looking along the same direction as before.
    assert gl.opts["elevation"] == 28 and gl.opts["azimuth"] == -60
    # No query: nothing to frame, the camera stays.
    panel.state.select_query(None)
    distance = gl.view_distance
    assert not panel.frame_query() and gl.view_distance == distance


def test_point_colourings_change_the_cloud_and_the_legend(panel, tiny_scene):
    gl, settings = panel.gl, panel.state.settings
    assert settings["point_colouring"] == "neutral"
    neutral = colours.hex_rgb(colours.MEANINGS["points"]) / 255.0
    assert np.allclose(gl.cloud.color[:, :3], neutral, atol=1e-6)
    settings.set("point_colouring", "track")
    assert panel.colouring.currentData() == "track"
    lengths = tiny_scene.points.track_lengths()[gl._cloud_order]
    brightness = gl.cloud.color[:, :3].sum(axis=1)
    assert brightness[lengths == lengths.max()].min() > brightness[lengths == lengths.min()].max()
    assert "observations per point" in panel.legend.text().replace("&nbsp;", " ")
    panel.colouring.setCurrentIndex(panel.colouring.findData("error"))  # the combo box
    assert settings["point_colouring"] == "error"
    assert "reprojection error" in panel.legend.text().replace("&nbsp;", " ")
    panel.colouring.setCurrentIndex(panel.colouring.findData("image"))
    np.testing.assert_allclose(
        gl.cloud.color[:, :3], tiny_scene.points.rgb[gl._cloud_order] / 255.0, atol=1e-6
    )


def _live_update(scene):
    """A live frame localized at a query's ground truth, with a 3-frame trajectory."""
    from locgui.methods.live.results import TRACKED, LiveFrameResult
    from locgui.model.live import LiveUpdate

    qid = scene.split_ids("test")[0]
    pose, cam = scene.images[qid].cam_from_world, scene.camera_of(qid)
    r = LiveFrameResult(2, 0.2, "f2", TRACKED, "", cam_from_world=pose, camera=cam)
    centers = pose.center + np.array([[0.0, 0, 0], [0.1, 0, 0], [0.2, 0, 0]])
    rgb = np.zeros((cam.height, cam.width, 3), np.uint8)
    return LiveUpdate(rgb, r, centers, centers + 0.01, 10.0, 0, "test")


def test_every_drawn_item_has_a_legend_entry(panel, qtbot, tiny_scene):
    from locgui.qt.legend3d import legend_key, unbreakable

    state = panel.state
    state.select_match(10)  # selected point, its ray, the observing cameras, inliers
    state.select_image(tiny_scene.split_ids("train")[2])
    state.live.set_frame(_live_update(tiny_scene))
    entries = dict(panel.legend_entries())
    drawn = [
        n
        for n in panel.gl.names()
        if panel.gl.item(n).pos is not None and len(panel.gl.item(n).pos)
    ]
    kinds = {legend_key(n) for n in drawn}
    assert None not in kinds, [n for n in drawn if legend_key(n) is None]
    expected = {
        "cameras", "ground_truth", "centres", "errors", "trajectories", "live",
        "selection", "observations", "selected_image", "inliers", "grid", "points",
    }  # fmt: skip
    assert expected <= kinds | {"points"}
    assert expected <= set(entries)
    assert {"method:sfm", "method:rpr"} <= set(entries)
    text = panel.legend.text()
    assert all(unbreakable(html) in text for html in entries.values())
    # A hidden layer leaves the legend.
    state.settings.set("layer.trajectories", False)
    assert "trajectories" not in dict(panel.legend_entries())


def test_meanings_have_one_colour_each_in_the_drawn_items(panel):
    from locgui.qt import style

    state = panel.state
    state.select_match(10)
    color = {n: tuple(np.round(np.asarray(panel.gl.item(n).color)[:3], 3)) for n in
             ("sel_obs", "gt_current", "sel_point", "db_cameras", "est_current:rpr",
              "est_current:sfm")}  # fmt: skip
    assert color["sel_obs"] != color["est_current:rpr"]  # cyan was both
    assert len(set(color.values()) - {color["sel_point"]}) == len(color) - 1
    assert style.rgba(style.LIVE)[:3] != style.rgba(style.method_color("sfm"))[:3]
