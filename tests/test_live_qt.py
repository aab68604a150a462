"""The live dock on a tiny synthetic clip: the session runs off the UI thread, the frame view
shows keypoints coloured by inlier status, poses and the trajectory are emitted, errors are
shown, and no thread is left behind."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest

from locgui.io.bundle import MapBundle
from locgui.qt import style

pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from locgui.qt.live_dock import LiveDock  # noqa: E402
from locgui.qt.live_worker import draw_live  # noqa: E402


def live_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith("locgui-capture")]


def test_dock_runs_a_clip_and_emits_poses(qtbot, tiny_bundle: MapBundle, live_clip: Path) -> None:
    dock = LiveDock(lambda: tiny_bundle)
    qtbot.addWidget(dock)
    dock.path.setText(str(live_clip))
    dock.lockstep.setChecked(True)
    dock.max_frames = 5
    updates = []
    dock.pose_updated.connect(lambda r, c, g: updates.append((r, c, g)))
    with qtbot.waitSignal(dock.run_finished, timeout=300_000) as blocker:
        dock.start()
        assert not dock.start_btn.isEnabled() and dock.stop_btn.isEnabled()
    summary = blocker.args[0]
    assert summary.frames == 5 and summary.stopped_by == "max_frames"
    last, centers, gt = updates[-1]
    assert last.index == 4 and last.localized, last.line()
    assert len(centers) == summary.localized and len(gt) == 5
    np.testing.assert_allclose(centers[-1], last.cam_from_world.center)
    assert np.linalg.norm(centers[-1] - gt[-1]) < 0.1  # metres, as in test_live_tracking
    brushes = dock.keypoints.data["brush"]
    n_kp, n_inl = len(last.keypoints), int(np.count_nonzero(last.inliers))
    assert len(brushes) == n_kp + len(last.matched_xy)
    inlier = [b.color().name() for b in brushes].count(style.INLIER.lower())
    assert inlier == n_inl > 0
    assert dock.gauge.value() == round(100 * last.confidence) > 0
    assert last.status.upper() in dock.hud.text() and "frames/s" in dock.hud.text()
    assert dock.worker is None and dock.start_btn.isEnabled() and not live_threads()


def test_dock_reports_a_missing_source_and_a_missing_map(
    qtbot, tiny_bundle: MapBundle, tmp_path: Path
) -> None:
    dock = LiveDock(lambda: None)
    qtbot.addWidget(dock)
    dock.path.setText(str(tmp_path / "none.mp4"))
    dock.start()
    assert "open a scene with a map bundle first" in dock.status.text() and dock.worker is None
    dock.bundle_provider = lambda: tiny_bundle
    dock.start()
    qtbot.waitUntil(lambda: dock.worker is None, timeout=60_000)
    assert "no such video file or image folder" in dock.status.text()
    assert dock.start_btn.isEnabled() and not live_threads()


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
