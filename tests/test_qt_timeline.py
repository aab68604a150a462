"""The scene tree and the timeline docks in the real main window (offscreen): ticking hides
layers and methods in the 3D view, clicking selects, the tree follows the selection; the
timeline scrubs a 3000-frame live run (3D camera at the cursor, thumbnail, info line,
slider, plot) and a method's results over the queries."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("PySide6")

from PySide6 import QtCore  # noqa: E402

from locgui.methods.live.results import LOST, TRACKED, LiveFrameResult  # noqa: E402
from locgui.model import geometry  # noqa: E402
from locgui.model.match_filter import inlier_counts  # noqa: E402
from tests.plugins.qt import exact_result  # noqa: E402

WAIT_MS = 20_000
FRAMES = 3000


def _show(window, qtbot, scene, results=()):
    window.state.set_scene(scene, path=Path("tiny"))
    for r in results:
        window.state.set_result(r)
    qtbot.waitUntil(lambda: not window.bench.bridge.tasks(), timeout=WAIT_MS)
    window.tree.rebuild()


def _check(window, key: str, on: bool) -> None:
    state = QtCore.Qt.CheckState.Checked if on else QtCore.Qt.CheckState.Unchecked
    window.tree.items[key].setCheckState(0, state)


def test_tree_ticks_hide_layers_and_methods_and_clicks_select(main_window, qtbot, tiny_scene):
    qids, db = tiny_scene.split_ids("test"), tiny_scene.split_ids("train")
    sfm = exact_result(tiny_scene, qids[0], db[0])
    rpr = exact_result(tiny_scene, qids[0], db[1], method="rpr")
    _show(main_window, qtbot, tiny_scene, [sfm, rpr])
    tree, gl, state = main_window.tree, main_window.view3d.gl, main_window.state
    assert tree.items["points"].checkState(0) == QtCore.Qt.CheckState.Checked
    _check(main_window, "points", False)
    assert not state.settings.layer_visible("points") and not gl.cloud.visible()
    _check(main_window, "points", True)
    assert gl.cloud.visible()
    # One method's estimates hidden; the other's stay drawn.
    assert len(gl.item("est_current:rpr").pos)
    _check(main_window, "method:rpr", False)
    assert gl.item("est_current:rpr") is None and len(gl.item("est_current:sfm").pos)
    assert "method:rpr" not in dict(main_window.view3d.legend_entries())
    _check(main_window, "method:rpr", True)
    assert len(gl.item("est_current:rpr").pos)
    # The result node shows the one inlier count every view shows.
    inl, n = inlier_counts(sfm)
    assert f"{inl}/{n} inliers" in tree.items[f"result:{sfm.query_name}|sfm"].text(1)
    # Clicking a database image and a result selects them.
    tree.tree.setCurrentItem(tree.items[f"image:{db[2]}"])
    assert state.selection.current.image_id == db[2]
    tree.tree.setCurrentItem(tree.items[f"result:{rpr.query_name}|rpr"])
    assert state.selection.current.method == "rpr"
    # The tree follows a selection made elsewhere.
    other = next(n for n in state.queries if n != sfm.query_name)
    state.select_query(other, source="queries")
    assert tree.tree.currentItem() is tree.items[f"query:{other}"]
    # A new result keeps the other items (and what the user expanded or collapsed).
    query_item = tree.items[f"query:{sfm.query_name}"]
    query_item.setExpanded(True)
    tree.items["scene"].setExpanded(False)
    state.set_result(exact_result(tiny_scene, qids[1], db[0]))
    tree.rebuild()
    assert tree.items[f"query:{sfm.query_name}"] is query_item and query_item.isExpanded()
    assert not tree.items["scene"].isExpanded()
    assert f"result:{tiny_scene.images[qids[1]].name}|sfm" in tree.items
    # The Layers menu is gone: the tree is where layers are toggled.
    assert not any(
        getattr(w, "text", lambda: "")().startswith("Layers")
        for w in main_window.view3d.findChildren(QtCore.QObject)
    )


def _run(scene, n: int):
    """A synthetic live run of ``n`` frames moving between the scene's query poses."""
    qid = scene.split_ids("test")[0]
    pose, cam = scene.images[qid].cam_from_world, scene.camera_of(qid)
    rgb = np.zeros((cam.height, cam.width, 3), np.uint8)
    frames = []
    for i in range(n):
        shifted = type(pose)(pose.rotation, pose.translation + np.array([0.0005 * i, 0, 0]))
        lost = i % 100 == 50
        r = LiveFrameResult(
            i, 0.05 * i, f"frame{i:05d}", LOST if lost else TRACKED, "r",
            cam_from_world=None if lost else shifted, camera=cam, num_inliers=50 + i % 30,
            num_matches=90, timings={"total": 0.04}, gt_cam_from_world=shifted,
        )  # fmt: skip
        frames.append(r)
    return frames, rgb


def test_timeline_scrubs_a_3000_frame_live_run(main_window, qtbot, tiny_scene):
    _show(main_window, qtbot, tiny_scene)
    state, view, timeline = main_window.state, main_window.view3d, main_window.timeline
    frames, rgb = _run(tiny_scene, FRAMES)
    state.live.begin("clip.mp4", "sfm")
    log = state.live.runs[-1]
    for i, r in enumerate(frames):
        img = rgb.copy()
        img[:, : 1 + i % rgb.shape[1]] = 200  # a thumbnail that differs per frame
        log.append(r, img)
    state.live.stopped()
    state.timeline.frames_added()
    assert state.timeline.index == FRAMES - 1 and timeline.follow.isChecked()
    assert timeline.slider.maximum() == FRAMES - 1
    qtbot.waitUntil(lambda: timeline.plot.curve.getData()[0] is not None, timeout=WAIT_MS)
    xs, ys = timeline.plot.curve.getData()  # a growing run is replotted a moment later
    assert len(xs) == FRAMES and ys[7] == 57
    lost_x, _ = timeline.plot.strips[2].getData()
    assert list(lost_x) == [float(i) for i in range(50, FRAMES, 100)]
    timeline.slider.setValue(1500)  # the user scrubs
    assert state.timeline.index == 1500 and not timeline.follow.isChecked()
    r = frames[1500]
    verts = geometry.frustum_vertices(r.camera, r.cam_from_world, 1.5 * view.frustum_depth)
    drawn = view.gl.item("timeline:camera").pos
    np.testing.assert_allclose(drawn, view.gl.to_display(geometry.frustum_segments(verts)),
                               atol=1e-5)  # fmt: skip
    assert "frame 1,501 / 3,000" in timeline.info.text() and "75.00 s" in timeline.info.text()
    assert "50 / 90 inliers" in timeline.info.text()  # 50 + 1500 % 30
    assert not timeline.thumb.pixmap().isNull()
    # The stopped run's whole trajectory is drawn (lost frames left out).
    assert len(view.gl.item("timeline:trajectory").pos) == FRAMES - FRAMES // 100
    # A lost frame: no camera at the cursor; "[" and "]" step.
    state.timeline.seek(50)
    assert len(view.gl.item("timeline:camera").pos) == 0 and "lost" in timeline.info.text()
    step = next(a for a in main_window.actions() if a.shortcut().toString() == "]")
    step.trigger()
    assert state.timeline.index == 51 and timeline.slider.value() == 51
    timeline.plot.seek_requested.emit(2999)  # a click at the end of the plot
    assert state.timeline.index == 2999 and timeline.follow.isChecked()
    assert "live run" in main_window.view3d.legend.text().replace("&nbsp;", " ")
    main_window.tree.rebuild()
    assert main_window.tree.items["live:1"].text(1) == "3,000 frames"


def test_timeline_scrubs_a_methods_results_over_the_queries(main_window, qtbot, tiny_scene):
    qids, db = tiny_scene.split_ids("test"), tiny_scene.split_ids("train")[0]
    results = [exact_result(tiny_scene, q, db) for q in qids]
    _show(main_window, qtbot, tiny_scene, results)
    state, timeline = main_window.state, main_window.timeline
    main_window.tree.tree.setCurrentItem(main_window.tree.items["method:sfm"])
    assert state.timeline.track.key == "queries:sfm"
    assert timeline.tracks.currentData() == "queries:sfm"
    names = sorted(state.queries)
    timeline.slider.setValue(2)
    assert state.selection.current.query == names[2]
    assert f"{names[2]} (3 / {len(names)})" in timeline.info.text()
