"""The NeRF view on the tiny map with a trained NeRF: renderings at the estimate, the ground
truth and the 3D view's camera (read from the model), composed with the query; the renderer
found through the trainer specs (a fake trainer with a renderer); the 3D view's camera model
and its publication to the state."""

from __future__ import annotations

import types
from typing import Any

import numpy as np
import pytest

pytest.importorskip("PySide6")

from locgui.core.camera import Camera  # noqa: E402
from locgui.core.pose import Rigid3, axis_angle_to_rotmat  # noqa: E402
from locgui.core.results import LocalizationResult  # noqa: E402
from locgui.methods import registry  # noqa: E402
from locgui.model import nerf_render  # noqa: E402
from locgui.model.state import AppState, ViewCamera  # noqa: E402

WAIT_MS = 60_000
SIDE = 64  # the tiny NeRF was trained at 64 px


def _open(window, qtbot, path) -> None:
    task = window.bench.open_path(path)
    qtbot.waitUntil(lambda: task.state.done, timeout=WAIT_MS)
    assert task.error is None, task.error


def _result(query, pose: Rigid3, method: str = "sfm") -> LocalizationResult:
    return LocalizationResult(
        method=method, query_name=query.name, success=True, cam_from_world=pose,
        camera=query.camera, reason="", num_inliers=100,
    )  # fmt: skip


def _rendered(view, qtbot) -> None:
    qtbot.waitUntil(lambda: view.task is not None and view.task.state.done, timeout=WAIT_MS)
    assert view.task.error is None, view.task.error
    assert view.rendering is not None


def _moved(pose: Rigid3) -> Rigid3:
    """The pose moved 0.3 m sideways and turned 8 degrees."""
    world_from_cam = pose.inverse()
    rot = world_from_cam.rotation @ axis_angle_to_rotmat(np.radians([0.0, 8.0, 0.0]))
    centre = world_from_cam.translation + world_from_cam.rotation @ np.array([0.3, 0.0, 0.0])
    return Rigid3(rot, centre).inverse()


@pytest.mark.slow
def test_nerf_view_renders_at_the_estimate_and_composes(main_window, qtbot, nerf_bundle_dir):
    from locgui.io.bundle import open_bundle
    from locgui.methods.nerf.checkpoint import load_nerf

    _open(main_window, qtbot, nerf_bundle_dir)
    view, state = main_window.nerf, main_window.state
    main_window.docks["nerf"].show()
    main_window.docks["nerf"].raise_()
    view.side.setValue(SIDE)
    query = state.current_query
    assert query is not None and query.gt_cam_from_world is not None
    gt = query.gt_cam_from_world

    state.set_result(_result(query, gt))
    view.request()
    _rendered(view, qtbot)
    assert "sfm estimate" in view.status.text()
    # The same pixels as rendering directly at that pose, size and exposure.
    bundle = open_bundle(nerf_bundle_dir)
    model = load_nerf(bundle, "cpu", scene=bundle.scene)
    direct = model.render_view(
        query.camera, gt, max_side=SIDE, appearance_rgb=view.query_rgb
    )  # fmt: skip
    np.testing.assert_array_equal(view.rendering.rgb, direct.rgb)
    h, w = direct.rgb.shape[:2]
    assert max(h, w) == SIDE

    # Blend: 0 is the query (at the rendering's size), 100 the rendering.
    view.display.setCurrentText("blend")
    view.alpha.setValue(0)
    np.testing.assert_array_equal(view.shown, nerf_render.fit_to(view.query_rgb, w, h))
    view.alpha.setValue(100)
    np.testing.assert_array_equal(view.shown, direct.rgb)
    view.display.setCurrentText("depth")
    assert view.shown.shape == (h, w, 3) and "depth" in view.status.text()

    # The photometric residual is smaller at the true pose than at a wrong one.
    # So is NeRFMatch's feature residual.
    view.display.setCurrentText("difference")
    _, at_truth = nerf_render.difference(view.query_rgb, view.rendering.rgb)
    view.display.setCurrentText("feature residual")
    assert view.residual is not None and view.shown.shape == (h, w, 3)
    feat_truth = float(np.nanmean(view.residual))
    state.set_result(_result(query, _moved(gt)))
    view.request()
    _rendered(view, qtbot)
    _, at_wrong = nerf_render.difference(view.query_rgb, view.rendering.rgb)
    assert at_truth < 0.75 * at_wrong, (at_truth, at_wrong)
    feat_wrong = float(np.nanmean(view.residual))
    assert feat_truth < 0.9 * feat_wrong, (feat_truth, feat_wrong)
    print("RESIDUALS", at_truth, at_wrong, feat_truth, feat_wrong)

    # Ground truth source: the wrong estimate does not matter.
    view.source.setCurrentText("ground truth")
    view.request()
    _rendered(view, qtbot)
    np.testing.assert_array_equal(view.rendering.rgb, direct.rgb)
    assert "ground truth" in view.status.text()

    # 3D view source: the rendering has the view's camera (which the 3D view put in the
    # model), shrunk to the chosen size.
    gl = main_window.view3d.gl
    qtbot.waitUntil(lambda: state.view_camera == ViewCamera(*gl.view_camera()), timeout=WAIT_MS)
    view.source.setCurrentText("3D view")
    view.request()
    _rendered(view, qtbot)
    camera, _ = gl.view_camera(SIDE)
    assert view.rendering.rgb.shape[:2] == (camera.height, camera.width)
    assert "nerf at the 3D view" in view.status.text()
    # Whatever camera the model holds is the one rendered: here the query's at the truth.
    state.set_view_camera(query.camera, gt)
    view.request()
    _rendered(view, qtbot)
    free = model.render_view(query.camera, gt, max_side=SIDE)  # no query exposure to match
    np.testing.assert_array_equal(view.rendering.rgb, free.rgb)


def test_nerf_view_says_what_is_missing(main_window, qtbot, tiny_bundle_dir):
    _open(main_window, qtbot, tiny_bundle_dir)
    view = main_window.nerf
    view.request()
    assert "train one with `locgui train nerf SCENE.locmap`" in view.status.text()
    assert view.rendering is None and view.model_box.count() == 0


# ---------------------------------------------------------------------- renderer lookup
RENDERED: list[tuple[str, Camera, Rigid3, Any]] = []  # (trainer, camera, pose, appearance)


class _SketchModel:
    """A fake view renderer: a flat image whose grey level names its trainer."""

    def __init__(self, name: str, grey: int) -> None:
        self.name, self.grey = name, grey

    def render_view(
        self, camera: Camera, cam_from_world: Rigid3, appearance_rgb: Any = None, ctx: Any = None
    ) -> Any:
        RENDERED.append((self.name, camera, cam_from_world, appearance_rgb))
        rgb = np.full((camera.height, camera.width, 3), self.grey, np.uint8)
        depth = np.full((camera.height, camera.width), 2.0, np.float32)
        return types.SimpleNamespace(camera=camera, rgb=rgb, depth=depth)


def sketch_renderer(bundle: Any, device: str) -> _SketchModel:
    return _SketchModel("sketch", 40)


def paint_renderer(bundle: Any, device: str) -> _SketchModel:
    return _SketchModel("paint", 200)


def _trainer(name: str, provides: tuple[str, ...], renderer: str = "") -> registry.TrainerSpec:
    return registry.TrainerSpec(
        name=name, title=f"a {name}", config="locgui.methods.nerf.config:NerfConfig",
        train="locgui.methods.nerf.trainers:train_field", provides=provides,
        renderer=renderer and f"{__name__}:{renderer}",
    )  # fmt: skip


@pytest.fixture
def fake_trainers(monkeypatch):
    """Trainers "sketch" and "paint" whose models render views, and "notes" (no renderer)."""
    registry.all_trainers()  # the built-in ones are registered first
    fakes = {
        "notes": _trainer("notes", ("notes",)),
        "sketch": _trainer("sketch", ("sketch",), "sketch_renderer"),
        "paint": _trainer("paint", ("paint", "depth"), "paint_renderer"),
    }
    monkeypatch.setattr(registry, "TRAINERS", {**registry.TRAINERS, **fakes})
    RENDERED.clear()
    return fakes


def test_renderer_lookup_picks_trainers_whose_models_render(fake_trainers):
    names = [t.name for t in nerf_render.view_renderers({"sketch", "notes", "paint"})]
    assert names == ["sketch"]  # "paint" also needs "depth"; "notes" renders nothing
    names = [t.name for t in nerf_render.view_renderers({"nerf", "paint", "depth", "sketch"})]
    assert names == ["nerf", "sketch", "paint"]
    assert nerf_render.view_renderers({"notes", "sfm_points"}) == []
    message = nerf_render.no_renderer_message()
    for name in ("nerf", "sketch", "paint"):
        assert f"`locgui train {name} SCENE.locmap`" in message
    assert "notes" not in message


def _view(qtbot, bundle: Any) -> Any:
    from locgui.qt.controller import Workbench
    from locgui.qt.nerf_view import NerfView

    bench = Workbench()
    view = NerfView(bench.state, bench)
    qtbot.addWidget(view)
    view.side.setValue(SIDE)
    view.source.setCurrentText("3D view")
    bench.state.set_scene(bundle.scene, bundle)
    return view


def test_nerf_view_renders_the_3d_view_camera_from_the_model(qtbot, fake_trainers, tiny_scene):
    bundle = types.SimpleNamespace(scene=tiny_scene, capabilities={"sketch", "sfm_points"})
    view = _view(qtbot, bundle)
    state: AppState = view.state
    try:
        assert view.model_box.currentText() == "sketch" and view.model_box.isHidden()
        view.request()
        assert "3D view has not reported its camera" in view.status.text()
        camera = Camera.pinhole(300.0, 310.0, 200.0, 150.0, 400, 300)
        pose = Rigid3(axis_angle_to_rotmat(np.array([0.1, -0.3, 0.2])), [0.5, -1.0, 2.0])
        state.set_view_camera(camera, pose)
        view.request()
        _rendered(view, qtbot)
        name, rendered_cam, rendered_pose, appearance = RENDERED[-1]
        assert name == "sketch" and rendered_pose == pose and appearance is None
        assert rendered_cam == nerf_render.fit_camera(camera, SIDE)
        assert (rendered_cam.width, rendered_cam.height) == (SIDE, 48)
        assert view.rendering.rgb.shape == (48, SIDE, 3) and (view.rendering.rgb == 40).all()
        assert "sketch at the 3D view: 64x48" in view.status.text()
        # No feature residual without NeRFMatch (NeRF-specific, behind its capability).
        assert view.residual is None
    finally:
        view.bench.shutdown()


def test_nerf_view_offers_a_picker_when_several_models_render(qtbot, fake_trainers, tiny_scene):
    caps = {"sketch", "paint", "depth"}
    view = _view(qtbot, types.SimpleNamespace(scene=tiny_scene, capabilities=caps))
    try:
        assert [view.model_box.itemText(i) for i in range(view.model_box.count())] == [
            "sketch", "paint"
        ]  # fmt: skip
        assert not view.model_box.isHidden()
        view.state.set_view_camera(Camera.pinhole(100, 100, 80, 60, 160, 120), Rigid3.identity())
        view.model_box.setCurrentText("paint")
        view.request()
        _rendered(view, qtbot)
        assert RENDERED[-1][0] == "paint" and (view.rendering.rgb == 200).all()
    finally:
        view.bench.shutdown()


def test_3d_view_publishes_its_camera_to_the_model_throttled(qtbot):
    from locgui.qt import view3d as view3d_module
    from locgui.qt.view3d import Scene3DPanel

    state = AppState()
    published: list[ViewCamera] = []
    state.view_camera_changed.connect(published.append)
    panel = Scene3DPanel(state)
    qtbot.addWidget(panel)
    panel.resize(500, 400)
    panel.show()
    qtbot.wait(2 * view3d_module.CAMERA_PUBLISH_MS)
    published.clear()
    for azimuth in range(0, 100, 5):  # 20 moves in one go: one now, the last one later
        panel.gl.setCameraPosition(distance=5.0, elevation=20.0, azimuth=float(azimuth))
    assert len(published) == 1
    qtbot.waitUntil(lambda: len(published) == 2, timeout=2000)
    camera, pose = panel.gl.view_camera()
    assert published[-1] == ViewCamera(camera, pose) == state.view_camera
    assert (camera.width, camera.height) == (panel.gl.width(), panel.gl.height())
    qtbot.wait(3 * view3d_module.CAMERA_PUBLISH_MS)
    assert len(published) == 2  # nothing moved since


def test_view_camera_projects_like_the_gl_view(qtbot):
    from locgui.qt.gl_scene import SceneGLWidget

    gl = SceneGLWidget()
    qtbot.addWidget(gl)
    gl.resize(400, 300)
    gl.set_frame(Rigid3(axis_angle_to_rotmat(np.array([0.3, -0.2, 0.5])), [1.0, -2.0, 0.5]))
    gl.setCameraPosition(distance=6.0, elevation=25.0, azimuth=40.0)
    world = np.random.default_rng(0).uniform(-1.0, 1.0, (50, 3))
    world = gl.frame.inverse().apply(world)  # around the display origin the camera looks at
    screen, visible = gl.screen_positions(world)
    assert visible.sum() > 40
    camera, pose = gl.view_camera()
    assert (camera.width, camera.height) == (400, 300)
    uv = camera.project(pose.apply(world))
    np.testing.assert_allclose(uv[visible], screen[visible], atol=1e-6)
    small, pose_small = gl.view_camera(100)
    assert (small.width, small.height) == (100, 75) and pose_small.allclose(pose)
    np.testing.assert_allclose(small.project(pose.apply(world))[visible], screen[visible] / 4)
