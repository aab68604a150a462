"""The real main window on the synthetic scene: opening, results in 3D, linking, errors.

Runs offscreen: GL items are checked through their vertex data (what would be uploaded);
pixel checks of the GL view are in test_qt_gl.py (under Xvfb).
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

pytest.importorskip("PySide6")

from PySide6 import QtCore  # noqa: E402

from locgui.core.pose import Rigid3, axis_angle_to_rotmat  # noqa: E402
from locgui.methods import registry  # noqa: E402
from locgui.methods.registry import MethodSpec  # noqa: E402
from locgui.model import geometry, linking  # noqa: E402
from locgui.qt import view3d  # noqa: E402
from tests.plugins.qt import exact_result  # noqa: E402

WAIT_MS = 20_000


def _open(window, qtbot, path: Path):
    task = window.bench.open_path(path)
    qtbot.waitUntil(lambda: task.state.done, timeout=WAIT_MS)
    assert task.error is None, task.error
    return task


def _show(window, qtbot, scene, result=None):
    """Put a scene (and a result) into the window without the engine."""
    window.state.set_scene(scene, path=Path("tiny"))
    if result is not None:
        window.state.select_query(result.query_name)
        window.state.set_result(result)
    qtbot.waitUntil(lambda: not window.bench.bridge.tasks(), timeout=WAIT_MS)


def _moved(pose: Rigid3, shift: np.ndarray, deg: float) -> Rigid3:
    R = axis_angle_to_rotmat(np.radians([0, 0, deg])) @ pose.rotation
    return Rigid3(R, -R @ (pose.center + shift))


def test_window_opens_the_synthetic_scene(main_window, qtbot, tiny_scene_dir, tiny_scene):
    _open(main_window, qtbot, tiny_scene_dir)
    state, gl = main_window.state, main_window.view3d.gl
    tests = [tiny_scene.images[i].name for i in tiny_scene.split_ids("test")]
    assert list(state.queries) == tests
    assert main_window.queries.list.count() == len(tests)
    # The cloud holds every map point (stored shuffled for level of detail), in display frame.
    expected = gl.to_display(tiny_scene.points.xyz)
    np.testing.assert_allclose(np.sort(gl.cloud.pos, axis=0), np.sort(expected, axis=0))
    # One frustum per database image.
    db = tiny_scene.split_ids("train")
    segs = geometry.frustums_segments(
        [tiny_scene.camera_of(i) for i in db],
        [tiny_scene.images[i].cam_from_world for i in db],
        main_window.view3d.frustum_depth,
    )
    np.testing.assert_allclose(gl.item("db_cameras").pos, gl.to_display(segs), atol=1e-5)
    # No bundle: the user is told how to get one; the scene is remembered.
    assert "no map bundle" in state.notifications.items[-1].message
    assert main_window.recent_scenes()[0] == str(Path(tiny_scene_dir).absolute())


def test_estimated_frustum_is_drawn_at_the_result_pose(main_window, qtbot, tiny_scene):
    qid, db = tiny_scene.split_ids("test")[0], tiny_scene.split_ids("train")[0]
    result = exact_result(tiny_scene, qid, db)
    result.cam_from_world = _moved(result.cam_from_world, np.array([0.1, 0.0, 0.0]), 2.0)
    _show(main_window, qtbot, tiny_scene, result)
    gl, view = main_window.view3d.gl, main_window.view3d
    verts = geometry.frustum_vertices(result.camera, result.cam_from_world, view.query_depth)
    drawn = gl.item("est_current:sfm").pos
    np.testing.assert_allclose(drawn, gl.to_display(geometry.frustum_segments(verts)), atol=1e-5)
    # The drawn apex, back in world coordinates, is the estimated camera centre.
    apex = gl.frame.inverse().apply(drawn[0].astype(float))
    np.testing.assert_allclose(apex, result.cam_from_world.center, atol=1e-5)
    # Ground truth is drawn separately, at the GT pose.
    gt = tiny_scene.images[qid].cam_from_world
    gt_verts = geometry.frustum_vertices(result.camera, gt, view.query_depth * view3d.GT_SCALE)
    np.testing.assert_allclose(
        gl.item("gt_current").pos, gl.to_display(geometry.frustum_segments(gt_verts)), atol=1e-5
    )
    # The results row: errors against ground truth.
    table = main_window.results
    assert table.rowCount() == 1 and table.methods == ["sfm"]
    assert table.item(0, 3).text() == "0.100 m" and table.item(0, 4).text() == "2.00°"


def test_clicking_a_match_highlights_its_3d_point(main_window, qtbot, tiny_scene):
    qid, db = tiny_scene.split_ids("test")[1], tiny_scene.split_ids("train")[1]
    result = exact_result(tiny_scene, qid, db)
    _show(main_window, qtbot, tiny_scene, result)
    mv = main_window.matches
    qtbot.waitUntil(lambda: mv.query_rgb is not None and mv.db_rgb is not None, timeout=WAIT_MS)
    assert mv.db_image_id == db
    row = 10  # an inlier (the first three are the outliers)
    x, y = mv.visible.query_xy[row]
    pos = mv.canvas.from_canvas(float(x), float(y))
    qtbot.mouseClick(mv.canvas.viewport(), QtCore.Qt.MouseButton.LeftButton, pos=pos)
    sel = main_window.state.selection.current
    index = int(mv.visible.m3d_index[row])
    pid = int(result.matches_2d3d.point3D_ids[index])
    assert (sel.match_index, sel.point3D_id, sel.image_id) == (index, pid, db)
    gl = main_window.view3d.gl
    xyz = linking.point_xyz(tiny_scene, pid)
    np.testing.assert_allclose(gl.item("sel_point").pos, gl.to_display(xyz), atol=1e-5)
    ray = gl.item("sel_ray").pos
    np.testing.assert_allclose(
        ray, gl.to_display(np.stack([result.cam_from_world.center, xyz])), atol=1e-5
    )
    n_obs = len(linking.observations(tiny_scene, pid))
    assert main_window.point.list.topLevelItemCount() == n_obs >= 2
    assert len(gl.item("sel_obs").pos) == 2 * n_obs
    # The match view draws the selected match between its two ends.
    line_x, _ = mv.sel_line.getData()
    assert line_x[0] == pytest.approx(x)
    # Hovering another match links it too (throttled).
    other = 20
    hx, hy = mv.visible.query_xy[other]
    qtbot.mouseMove(mv.canvas.viewport(), mv.canvas.from_canvas(float(hx), float(hy)))
    expected = int(mv.visible.m3d_index[other])
    qtbot.waitUntil(
        lambda: main_window.state.selection.current.match_index == expected, timeout=2000
    )
    hovered_pid = int(result.matches_2d3d.point3D_ids[expected])
    np.testing.assert_allclose(
        gl.item("sel_point").pos,
        gl.to_display(linking.point_xyz(tiny_scene, hovered_pid)),
        atol=1e-5,
    )


def test_picking_in_3d_selects_the_point_and_its_match(main_window, qtbot, tiny_scene):
    qid, db = tiny_scene.split_ids("test")[0], tiny_scene.split_ids("train")[0]
    result = exact_result(tiny_scene, qid, db)
    _show(main_window, qtbot, tiny_scene, result)
    gl = main_window.view3d.gl
    index = 7
    xyz = result.matches_2d3d.xyz[index]
    xy, visible = gl.screen_positions(xyz.reshape(1, 3))
    if not visible[0]:
        pytest.skip("the point is outside the fitted view")
    gl.pick(float(xy[0, 0]), float(xy[0, 1]), radius=0.5)
    sel = main_window.state.selection.current
    assert sel.point3D_id == int(result.matches_2d3d.point3D_ids[index])
    assert sel.match_index == index
    # Clicking a database camera centre shows that image.
    centre = tiny_scene.images[db].cam_from_world.center
    cxy, _ = gl.screen_positions(centre.reshape(1, 3))
    gl.pick(float(cxy[0, 0]), float(cxy[0, 1]), radius=0.5)
    assert main_window.state.selection.current.image_id == db
    qtbot.waitUntil(lambda: main_window.database.rgb is not None, timeout=WAIT_MS)
    assert main_window.database.image_id == db


@pytest.fixture
def test_methods(monkeypatch):
    methods = dict(registry.METHODS)
    mod = "tests.test_model_jobs"
    for name, cls in (("echo", "EchoLocalizer"), ("crash", "CrashingLocalizer")):
        methods[name] = MethodSpec(name, name, "test", f"{mod}:EchoConfig", f"{mod}:{cls}")
    monkeypatch.setattr(registry, "METHODS", methods)


def test_a_crashing_method_reaches_the_notification_area(
    main_window, qtbot, tiny_scene, test_methods
):
    state = main_window.state
    _show(main_window, qtbot, tiny_scene)
    state.bundle = SimpleNamespace(scene=tiny_scene, capabilities=set())
    state.settings.set("methods", ["crash", "echo"])
    main_window.activateWindow()
    qtbot.keyClick(main_window.view3d.gl, QtCore.Qt.Key.Key_Return)  # Enter localizes
    query = state.selection.current.query
    qtbot.waitUntil(lambda: len(state.results.get(query, {})) == 2, timeout=WAIT_MS)
    assert set(state.results[query]) == {"crash", "echo"}
    assert state.results[query]["echo"].success  # the crash did not stop the next method
    errors = state.notifications.errors()
    assert len(errors) == 1 and "crash crashed on" in errors[0].message
    assert "ZeroDivisionError" in errors[0].detail
    panel = main_window.notifications
    assert panel.list.topLevelItemCount() >= 1
    assert "crash crashed" in panel.list.topLevelItem(panel.list.topLevelItemCount() - 1).text(2)
    rows = {main_window.results.item(r, 0).text(): r for r in range(main_window.results.rowCount())}
    assert main_window.results.item(rows["■ crash"], 1).text() == "✗ failed"
    # A worker job that raises also lands there, and the window lives on.
    failing = main_window.bench.submit(lambda ctx: 1 / 0, "misc", "a broken job")
    qtbot.waitUntil(lambda: failing.state.done, timeout=WAIT_MS)
    assert "a broken job failed: ZeroDivisionError" in state.notifications.errors()[-1].message
    assert main_window.isVisible()


def test_queries_from_files_drops_and_held_out_images(
    main_window, qtbot, tiny_scene, tiny_scene_dir
):
    _show(main_window, qtbot, tiny_scene)
    state = main_window.state
    img = Path(tiny_scene_dir) / "images" / tiny_scene.images[tiny_scene.split_ids("train")[2]].name
    main_window.handle_drop([img])
    q = state.current_query
    assert q.name == img.name and q.path == img and q.camera is None and not q.held_out
    db = tiny_scene.split_ids("train")[4]
    state.select_image(db)
    held = main_window.queries.hold_out_current()
    assert held.held_out and held.image_id == db and state.current_query is held
    assert held.gt_cam_from_world == tiny_scene.images[db].cam_from_world
    assert main_window.queries.list.count() == 4 + 2


def test_layout_settings_and_recent_scenes_persist(qtbot, qsettings, tiny_scene_dir):
    from locgui.qt.main_window import MainWindow

    first = MainWindow(settings=qsettings)
    qtbot.addWidget(first)
    first.show()
    first.docks["point"].hide()
    first.state.settings.set("point_size", 5.5)
    first._remember_scene(Path(tiny_scene_dir))
    first.close()
    second = MainWindow(settings=qsettings)
    qtbot.addWidget(second)
    second.show()
    assert second.state.settings["point_size"] == 5.5
    assert second.view3d.point_size.value() == 5.5
    assert second.recent_scenes() == [str(tiny_scene_dir)]
    assert not second.docks["point"].isVisible() and second.docks["matches"].isVisible()
    second.close()


@pytest.mark.slow
def test_localize_a_query_through_the_ui(main_window, qtbot, tiny_bundle_dir, tiny_scene):
    """Open the tiny map bundle, press Localize with sfm: the estimated frustum is at the pose."""
    _open(main_window, qtbot, tiny_bundle_dir)
    state = main_window.state
    query = state.selection.current.query
    assert query == tiny_scene.images[tiny_scene.split_ids("test")[0]].name
    state.settings.set("methods", ["sfm"])
    order: list[str] = []
    state.partial_changed.connect(lambda q, m, k: order.append(f"partial:{k}"))
    state.results_changed.connect(lambda q, m: order.append("result") if m else None)
    qtbot.mouseClick(main_window.methods.localize_button, QtCore.Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "sfm" in state.results.get(query, {}), timeout=120_000)
    result = state.results[query]["sfm"]
    assert result.success, result.reason
    assert order.index("partial:matches_2d2d") < order.index("result")  # matches before the pose
    dt, dr = state.errors(result)
    assert dt < 0.05 and dr < 1.0  # the synthetic scene's exact GT
    gl, view = main_window.view3d.gl, main_window.view3d
    verts = geometry.frustum_vertices(result.camera, result.cam_from_world, view.query_depth)
    np.testing.assert_allclose(
        gl.item("est_current:sfm").pos, gl.to_display(geometry.frustum_segments(verts)), atol=1e-5
    )
    assert main_window.results.item(0, 1).text() == "✓ success"
    assert main_window.matches.shortlist.rowCount() >= 2  # "all" + the retrieved images


def test_exports_result_json_and_session_poses(main_window, qtbot, tiny_scene, tmp_path):
    import json

    from locgui.io.poses import read_poses
    from locgui.qt import export

    results = []
    for k in range(2):
        qid, db = tiny_scene.split_ids("test")[k], tiny_scene.split_ids("train")[k]
        results.append(exact_result(tiny_scene, qid, db))
    _show(main_window, qtbot, tiny_scene, results[0])
    main_window.state.set_result(results[1])
    doc_path = export.save_result_json(
        main_window.state, tmp_path / "r.json", results[0].query_name
    )
    doc = json.loads(doc_path.read_text())
    assert doc["query"] == results[0].query_name and len(doc["results"]) == 1
    entry = doc["results"][0]
    assert entry["method"] == "sfm" and entry["num_inliers"] == results[0].num_inliers
    assert entry["error_translation"] == pytest.approx(0.0, abs=1e-9)
    np.testing.assert_allclose(
        entry["cam_from_world"]["rotation"], results[0].cam_from_world.rotation
    )
    for fmt in ("tum", "colmap"):
        n = export.save_session_poses(main_window.state, "sfm", tmp_path / f"p.{fmt}", fmt)
        names, poses = read_poses(tmp_path / f"p.{fmt}", fmt)
        assert n == 2 and names == [r.query_name for r in results]
        for pose, r in zip(poses, results, strict=True):
            assert pose.allclose(r.cam_from_world, atol=1e-9)
    # The whole window and one view as PNG (offscreen: the GL view itself is blank here).
    out = export.save_screenshot(main_window.results, tmp_path / "results.png")
    from PySide6 import QtGui

    img = QtGui.QImage(str(out))
    assert (img.width(), img.height()) == (
        main_window.results.width(),
        main_window.results.height(),
    )


def test_keyboard_shortcuts(main_window):
    shortcuts = {
        a.text().replace("&", ""): {s.toString() for s in a.shortcuts()}
        for a in main_window.actions()
    }
    assert {"Return", "Enter"} <= shortcuts["Localize current query"]
    assert shortcuts["Cancel"] == {"Esc"}
    assert shortcuts["Fit scene"] == {"F"}
    assert shortcuts["Open scene…"] == {"Ctrl+O"}
    assert shortcuts["Screenshot of the window…"] == {"Ctrl+S"}
    assert shortcuts["Frame query"] == {"Q"}
    # No key does two things, and the user guide's table lists every one.
    keys = [k for a in main_window.actions() for k in (s.toString() for s in a.shortcuts())]
    assert len(keys) == len(set(keys)), sorted(keys)
    guide = (Path(__file__).parents[1] / "docs" / "user-guide.md").read_text()
    table = guide.split("## Keyboard shortcuts", 1)[1].split("\n## ", 1)[0]
    for key in keys:
        assert f"`{key.replace('Return', 'Enter')}`" in table, key


def test_q_frames_the_current_query(main_window, qtbot, tiny_scene):
    qid, db = tiny_scene.split_ids("test")[1], tiny_scene.split_ids("train")[1]
    result = exact_result(tiny_scene, qid, db)
    result.cam_from_world = _moved(result.cam_from_world, np.array([0.0, 0.2, 0.0]), 4.0)
    _show(main_window, qtbot, tiny_scene, result)
    view, gl = main_window.view3d, main_window.view3d.gl
    view.fit()
    fitted = gl.view_distance
    main_window.activateWindow()
    qtbot.keyClick(gl, QtCore.Qt.Key.Key_Q)
    assert gl.view_distance < 0.5 * fitted
    box = view.query_box()
    centre = gl.to_display(((box[0] + box[1]) / 2).reshape(1, 3))[0]
    center = gl.opts["center"]
    np.testing.assert_allclose([center.x(), center.y(), center.z()], centre, atol=1e-4)
    pts = np.concatenate([gl.item(n).pos for n in ("gt_current", "est_current:sfm")])
    _, inside = gl.screen_positions(gl.frame.inverse().apply(pts.astype(float)))
    assert inside.all()


def test_scene_coordinate_overlay(main_window, qtbot, tiny_scene):
    from locgui.core.results import SceneCoordinates

    qid, db = tiny_scene.split_ids("test")[2], tiny_scene.split_ids("train")[2]
    result = exact_result(tiny_scene, qid, db, method="scrlike")
    step = 8
    ys, xs = np.mgrid[0:240:step, 0:320:step] + step / 2  # prediction centres, COLMAP pixels
    xy = np.stack([xs, ys], axis=-1).astype(float)
    conf = xs / 320.0  # confidence grows to the right
    gt = np.zeros(xy.shape[:2] + (3,))
    pred = gt.copy()
    pred[..., 0] = ys / 240.0  # coordinate error grows downwards (map units)
    result.scene_coordinates = SceneCoordinates(xy, pred, conf, gt)
    _show(main_window, qtbot, tiny_scene, result)
    qtbot.waitUntil(lambda: not main_window.matches._refresh_timer.isActive(), timeout=WAIT_MS)
    ov = main_window.matches.overlay
    assert ov.combo.isEnabled() and ov.combo.currentText() == "confidence"
    np.testing.assert_allclose(ov.values, conf)
    rect = ov.item.mapRectToParent(ov.item.boundingRect())
    assert (rect.x(), rect.y(), rect.width(), rect.height()) == pytest.approx((0, 0, 320, 240))
    ov.combo.setCurrentText("coordinate error")
    np.testing.assert_allclose(ov.values, ys / 240.0)
    assert ov.legend.text().startswith("error (map units)")
    # Coordinates as colours: x (here growing downwards) drives the red channel only.
    ov.combo.setCurrentText("coordinates")
    rgb = ov.item.image
    assert rgb.shape == (*xy.shape[:2], 3) and rgb.dtype == np.uint8
    assert (np.diff(rgb[:, 0, 0].astype(int)) >= 0).all() and rgb[-1, 0, 0] > rgb[0, 0, 0]
    assert (rgb[..., 1:] == 0).all() and "x 0.0" in ov.legend.text()
    # The readout names the prediction under the cursor (cell row 5: x = 44 / 240).
    text = ov.value_at(100.0, 44.0)
    assert f"predicted ({44 / 240:.3f}, 0.000, 0.000)" in text and f"error {44 / 240:.3f}" in text
    # The 3D view shows every predicted point.
    gl = main_window.view3d.gl
    np.testing.assert_allclose(gl.item("predicted").pos, gl.to_display(pred.reshape(-1, 3)))
    # A result without dense predictions hides it.
    main_window.state.set_result(exact_result(tiny_scene, qid, db, method="scrlike"))
    qtbot.waitUntil(lambda: not main_window.matches._refresh_timer.isActive(), timeout=WAIT_MS)
    assert ov.values is None and not ov.item.isVisible() and not ov.combo.isEnabled()


def test_opening_a_bad_folder_is_reported_not_fatal(main_window, qtbot, tmp_path):
    (tmp_path / "notes.txt").write_text("not a scene")
    task = main_window.bench.open_path(tmp_path)
    qtbot.waitUntil(lambda: task.state.done, timeout=WAIT_MS)
    errors = main_window.state.notifications.errors()
    assert len(errors) == 1 and errors[0].message.startswith(f"open {tmp_path.name}: ")
    assert main_window.state.scene is None and main_window.isVisible()


def test_localization_does_not_wait_for_a_map_build(
    main_window, qtbot, tiny_bundle_dir, monkeypatch, tmp_path
):
    """A map build in flight (here one that blocks until released) does not queue the
    localizations behind it, and the progress line follows the build."""
    import threading

    from locgui.model import building

    release = threading.Event()

    def blocking_build(source, out, config, ctx):  # type: ignore[no-untyped-def]
        ctx.progress("match", 0.5, "12/24 pairs")  # half of matching: 58 % of the build
        assert release.wait(60)
        return out

    monkeypatch.setattr(building, "build_map_subprocess", blocking_build)
    _open(main_window, qtbot, tiny_bundle_dir)
    state = main_window.state
    query = state.selection.current.query
    build = main_window.bench.build_map(tmp_path / "src", tmp_path / "x.locmap", None, False)
    qtbot.waitUntil(lambda: main_window.methods.progress.value() == 580, timeout=WAIT_MS)
    assert main_window.methods.progress.text() == "build map x.locmap: match: 12/24 pairs"
    state.settings.set("methods", ["sfm"])
    main_window.bench.localize(["sfm"])
    qtbot.waitUntil(lambda: "sfm" in state.results.get(query, {}), timeout=120_000)
    assert not build.state.done
    release.set()
    qtbot.waitUntil(lambda: build.state.done, timeout=WAIT_MS)
    assert build.error is None


@pytest.mark.slow
def test_train_action_trains_into_the_open_bundle(main_window, qtbot, tiny_bundle_dir, tmp_path):
    """The Methods panel's Train menu comes from the trainer specs; training runs in the
    background and the reopened bundle gains the capability, so the method becomes usable."""
    import shutil

    from locgui.methods.registry import get_trainer

    bundle = tmp_path / "train.locmap"
    shutil.copytree(tiny_bundle_dir, bundle)
    _open(main_window, qtbot, bundle)
    panel, state = main_window.methods, main_window.state
    rows = {panel.list.item(r).data(QtCore.Qt.ItemDataRole.UserRole): r
            for r in range(panel.list.count())}  # fmt: skip
    panel.list.setCurrentRow(rows["scr"])
    actions = [a.text() for a in panel.train_menu.actions()]
    assert panel.train_button.isEnabled() and actions[0].startswith("Train scr")
    assert "needs scr" in panel.list.item(rows["scr"]).text()
    task = main_window.bench.train("scr", config=get_trainer("scr").make_config(tiny=True))
    assert task is not None
    qtbot.waitUntil(lambda: "scr" in state.capabilities, timeout=180_000)
    assert (bundle / "checkpoints" / "scr" / "weights.pt").is_file()
    assert panel.list.item(rows["scr"]).text().startswith("scr  —  Scene coordinate")
    assert [a.text() for a in panel.train_menu.actions()][0].startswith("Retrain scr")
    assert any("scr trained in" in n.message for n in state.notifications.items)
