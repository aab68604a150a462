"""The live dock on a tiny synthetic clip: the session runs as a task on the worker bridge's
"live" executor, its state lives in ``AppState.live`` (the dock and the 3D view draw it), the
frame view shows keypoints coloured by inlier status, poses and the trajectory arrive, pause /
step / stop reach the session, errors are shown, and no thread is left behind."""

from __future__ import annotations

import threading
import types
from pathlib import Path

import numpy as np
import pytest

from locgui.io.bundle import MapBundle
from locgui.qt import style

pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from locgui.model.live import PAUSED, RUNNING, STARTING, STOPPED, LiveUpdate  # noqa: E402
from locgui.qt.controller import Workbench  # noqa: E402
from locgui.qt.live_dock import LiveDock  # noqa: E402
from locgui.qt.live_draw import draw_live  # noqa: E402

WAIT_MS = 300_000


def live_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith("locgui-capture")]


@pytest.fixture
def bench(qtbot):
    b = Workbench()
    yield b
    assert b.shutdown()


def _dock(qtbot, bench: Workbench, bundle: MapBundle | None, clip: Path | None) -> LiveDock:
    if bundle is not None:
        bench.state.set_scene(None, bundle)
    dock = LiveDock(bench)
    qtbot.addWidget(dock)
    if clip is not None:
        dock.path.setText(str(clip))
    dock.lockstep.setChecked(True)
    return dock


def test_dock_runs_a_clip_through_the_bridge_and_the_state_gets_poses(
    qtbot, bench: Workbench, tiny_bundle: MapBundle, live_clip: Path
) -> None:
    dock = _dock(qtbot, bench, tiny_bundle, live_clip)
    live = bench.state.live
    dock.max_frames = 5
    updates: list[LiveUpdate] = []
    live.frame_changed.connect(lambda u: updates.append(u) if u is not None else None)
    statuses: list[str] = []
    live.status_changed.connect(statuses.append)
    dock.start()
    assert [t.kind for t in bench.bridge.tasks()] == ["live"]
    assert not dock.start_btn.isEnabled() and dock.stop_btn.isEnabled()
    qtbot.waitUntil(lambda: live.summary is not None, timeout=WAIT_MS)
    summary = live.summary
    assert summary.frames == 5 and summary.stopped_by == "max_frames"
    assert statuses[:2] == [STARTING, RUNNING] and live.status == STOPPED
    last = updates[-1]
    r, centers, gt = last.result, last.centers, last.gt_centers
    assert live.latest is last and live.source == str(live_clip) and live.method == "sfm"
    assert r.index == 4 and r.localized, r.line()
    assert len(centers) == summary.localized and len(gt) == 5
    np.testing.assert_allclose(centers[-1], r.cam_from_world.center)
    assert np.linalg.norm(centers[-1] - gt[-1]) < 0.1  # metres, as in test_live_tracking
    brushes = dock.keypoints.data["brush"]
    n_kp, n_inl = len(r.keypoints), int(np.count_nonzero(r.inliers))
    assert len(brushes) == n_kp + len(r.matched_xy)
    inlier = [b.color().name() for b in brushes].count(style.INLIER.lower())
    assert inlier == n_inl > 0
    assert dock.gauge.value() == round(100 * r.confidence) > 0
    assert r.status.upper() in dock.hud.text() and "frames/s" in dock.hud.text()
    assert "stopped by max_frames" in dock.status.text()
    # Every frame is in the run's record, for the timeline (also frames never drawn).
    log = live.runs[-1]
    assert len(log) == 5 and bench.state.timeline.track.key == f"live:{log.number}"
    np.testing.assert_allclose(log.frame(4).cam_from_world.matrix(), r.cam_from_world.matrix())
    assert log.frame(4).num_inliers == r.num_inliers and log.frame(4).thumbnail
    qtbot.waitUntil(lambda: not bench.bridge.tasks(), timeout=WAIT_MS)
    assert dock.start_btn.isEnabled() and not live_threads()


def test_pause_step_and_stop_reach_the_session(
    qtbot, bench: Workbench, tiny_bundle: MapBundle, live_clip: Path
) -> None:
    dock = _dock(qtbot, bench, tiny_bundle, live_clip)
    live = bench.state.live
    seen: list[int] = []
    live.frame_changed.connect(lambda u: seen.append(u.result.index) if u is not None else None)
    dock.start()
    qtbot.waitUntil(lambda: len(seen) >= 1, timeout=WAIT_MS)
    dock.pause_btn.click()
    assert live.status == PAUSED and dock.pause_btn.isChecked()
    qtbot.wait(1500)  # a frame already read may still come through
    paused_at = len(seen)
    qtbot.wait(700)
    assert len(seen) == paused_at  # paused: no new frames
    dock.step_btn.click()
    qtbot.waitUntil(lambda: len(seen) == paused_at + 1, timeout=WAIT_MS)
    qtbot.wait(700)
    assert len(seen) == paused_at + 1 and live.status == PAUSED
    dock.stop_btn.click()
    qtbot.waitUntil(lambda: live.status == STOPPED and not bench.bridge.tasks(), timeout=WAIT_MS)
    assert live.summary.stopped_by == "user" and live.summary.frames == paused_at + 1
    assert seen == sorted(seen) and seen[-1] < 14  # the clip has 15 frames
    assert not dock.pause_btn.isChecked() and dock.start_btn.isEnabled() and not live_threads()


def test_escape_cancels_other_work_but_not_the_live_run(
    qtbot, bench: Workbench, tiny_bundle: MapBundle, live_clip: Path
) -> None:
    dock = _dock(qtbot, bench, tiny_bundle, live_clip)
    live = bench.state.live
    dock.start()
    qtbot.waitUntil(lambda: live.latest is not None, timeout=WAIT_MS)
    bench.pause_live(True)
    bench.cancel()
    qtbot.wait(300)
    assert live.status == PAUSED and [t.kind for t in bench.bridge.tasks()] == ["live"]
    bench.stop_live()
    qtbot.waitUntil(lambda: not bench.bridge.tasks(), timeout=WAIT_MS)
    assert live.status == STOPPED and live.summary.stopped_by == "user"


def test_dock_reports_a_missing_source_and_a_missing_map(
    qtbot, bench: Workbench, tiny_bundle: MapBundle, tmp_path: Path
) -> None:
    dock = _dock(qtbot, bench, None, tmp_path / "none.mp4")
    dock.start()
    assert "open a scene with a map bundle first" in dock.status.text()
    assert not bench.bridge.tasks() and bench.state.live.error
    bench.state.set_scene(None, tiny_bundle)
    dock.start()
    qtbot.waitUntil(lambda: not bench.bridge.tasks(), timeout=60_000)
    assert "no such video file or image folder" in dock.status.text()
    assert bench.state.live.status == STOPPED and bench.state.live.error
    assert dock.start_btn.isEnabled() and not live_threads()


def _update(index: int = 3) -> LiveUpdate:
    from locgui.core.camera import Camera
    from locgui.core.pose import Rigid3
    from locgui.methods.live.results import TRACKED, LiveFrameResult

    cam = Camera.pinhole(100, 100, 50, 40, 100, 80)
    pose = Rigid3(np.eye(3), [0.0, 0.0, 1.0])
    r = LiveFrameResult(
        index, 0.1 * index, f"f{index}", TRACKED, "40 inliers", cam_from_world=pose,
        camera=cam, num_inliers=40, confidence=0.62,
        keypoints=np.array([[5.5, 5.5], [9.5, 7.5], [30.5, 20.5]], np.float32),
        matched_xy=np.array([[5.5, 5.5], [9.5, 7.5]]), inliers=np.array([True, False]),
    )  # fmt: skip
    rgb = np.full((80, 100, 3), 90, np.uint8)
    centers = np.array([[0.0, 0, -0.8], [0, 0, -0.9], [0, 0, -1.0]])
    return LiveUpdate(rgb, r, centers, centers[:2], 12.5, 1, "camera.json beside the clip")


def test_live_dock_reflects_live_state_set_in_the_model(qtbot, bench: Workbench) -> None:
    dock = _dock(qtbot, bench, None, None)
    live = bench.state.live
    assert dock.start_btn.isEnabled() and not dock.stop_btn.isEnabled()
    live.begin("clip.mp4", "sfm")
    assert not dock.start_btn.isEnabled() and dock.stop_btn.isEnabled()
    assert not dock.path.isEnabled() and "starting clip.mp4 with sfm" in dock.status.text()
    update = _update()
    live.set_frame(update)
    assert live.status == RUNNING
    np.testing.assert_array_equal(dock.canvas.image.image, update.rgb)
    assert dock.gauge.value() == 62 and "TRACKED" in dock.hud.text()
    assert "12.5 frames/s" in dock.hud.text() and "dropped 1" in dock.hud.text()
    colours = [b.color().name() for b in dock.keypoints.data["brush"]]
    assert colours.count(style.INLIER.lower()) == 1 and colours.count(style.OUTLIER.lower()) == 1
    assert len(colours) == 5 and "f3: 40 inliers" in dock.status.text()
    live.set_paused(True)
    assert dock.pause_btn.isChecked()
    live.set_paused(False)
    assert not dock.pause_btn.isChecked()
    summary = types.SimpleNamespace(lines=lambda: ["4 frames", "all tracked"], stopped_by="user")
    live.finish(summary)
    assert dock.start_btn.isEnabled() and not dock.stop_btn.isEnabled()
    assert dock.status.text() == "4 frames; all tracked — stopped by user"
    live.fail("the webcam went away")
    assert dock.status.text() == "the webcam went away"
    assert dock.status.styleSheet() == f"color: {style.OUTLIER}"


def test_3d_view_draws_the_live_run_from_the_state(qtbot) -> None:
    from locgui.model.state import AppState
    from locgui.qt.view3d import Scene3DPanel

    state = AppState()
    panel = Scene3DPanel(state)
    qtbot.addWidget(panel)
    update = _update()
    state.live.set_frame(update)
    item = panel.gl.item("live:trajectory")
    assert item is not None
    np.testing.assert_allclose(item.pos, panel.gl.to_display(update.centers))
    assert panel.gl.item("live:camera") is not None and len(panel.gl.item("live:camera").pos)
    state.live.begin("clip.mp4", "sfm")  # a new run clears the last one
    assert panel.gl.names("live:") == []


class _RecordingGL:
    def __init__(self) -> None:
        self.lines: dict[str, np.ndarray] = {}

    def set_lines(self, name: str, segments: np.ndarray, *args: object, **kw: object) -> None:
        self.lines[name] = np.asarray(segments)

    def update(self) -> None:
        pass


class _View:
    frustum_depth = 0.5

    def __init__(self) -> None:
        self.gl = _RecordingGL()


def test_draw_live_puts_trajectory_camera_and_ground_truth_in_the_3d_view() -> None:
    from locgui.core.camera import Camera
    from locgui.core.pose import Rigid3
    from locgui.methods.live.results import TRACKED, LiveFrameResult
    from locgui.model import geometry

    cam = Camera.pinhole(100, 100, 50, 40, 100, 80)
    pose = Rigid3(np.eye(3), [0.0, 0.0, 1.0])
    r = LiveFrameResult(3, 0.3, "f3", TRACKED, "", cam_from_world=pose, camera=cam)
    centers = np.array([[0.0, 0, -0.8], [0, 0, -0.9], [0, 0, -1.0]])
    view = _View()
    draw_live(view, r, centers, centers[:2])
    lines = view.gl.lines
    np.testing.assert_array_equal(lines["live:trajectory"], centers)
    np.testing.assert_array_equal(lines["live:gt"], centers[:2])
    expected = geometry.frustum_segments(geometry.frustum_vertices(cam, pose, 0.5))
    np.testing.assert_allclose(lines["live:camera"], expected)
