"""Fixtures for the model and Qt tests: the tiny scene as state, exact hand-built results,
isolated QSettings, the real main window."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from locgui.core.results import LocalizationResult, Matches2D2D, Matches2D3D, Retrieved
from locgui.core.scene import SceneMap
from locgui.model import events

try:  # before pytest-qt creates the QApplication: GL views share shader programs
    from PySide6 import QtCore

    QtCore.QCoreApplication.setAttribute(QtCore.Qt.ApplicationAttribute.AA_ShareOpenGLContexts)
except ImportError:  # a Qt-free test run
    pass

OUTLIER_SHIFT = np.array([30.0, -40.0])  # pixels: outliers are displaced by exactly 50 px


def exact_result(
    scene: SceneMap, query_id: int, db_id: int, method: str = "sfm", n_outliers: int = 3
) -> LocalizationResult:
    """A result with the ground-truth pose and exact 2D-3D matches through database image
    ``db_id``: the map points it observes, projected into the query with the GT pose. The
    first ``n_outliers`` query pixels are displaced by ``OUTLIER_SHIFT`` (error 50 px)."""
    q = scene.images[query_id]
    cam = scene.camera_of(query_id)
    d = scene.images[db_id]
    assert q.cam_from_world is not None and d.keypoints is not None and d.point3D_ids is not None
    seen = np.flatnonzero(d.point3D_ids >= 0)
    pids = d.point3D_ids[seen]
    rows = scene.points.index_of(pids)
    xyz = scene.points.xyz[rows]
    uv = cam.project(q.cam_from_world.apply(xyz))
    ok = np.isfinite(uv[:, 0]) & cam.in_image(uv, margin=2)
    pids, xyz, uv, db_xy = pids[ok], xyz[ok], uv[ok], d.keypoints[seen][ok]
    n = len(pids)
    err = np.zeros(n)
    inl = np.ones(n, bool)
    uv = uv.copy()
    uv[:n_outliers] += OUTLIER_SHIFT
    err[:n_outliers] = np.linalg.norm(OUTLIER_SHIFT)
    inl[:n_outliers] = False
    m3d = Matches2D3D(uv, xyz, pids.astype(np.int64), np.full(n, db_id), inl, err)
    # Two extra 2D-2D matches whose database keypoint observes no 3D point.
    extra_q = np.array([[10.5, 10.5], [20.5, 15.5]])
    m2d = Matches2D2D(
        db_id,
        np.vstack([uv, extra_q]),
        np.vstack([db_xy, extra_q]),
        np.ones(n + 2, np.float32),
        np.concatenate([pids, [-1, -1]]).astype(np.int64),
    )
    return LocalizationResult(
        method=method,
        query_name=q.name,
        success=True,
        cam_from_world=q.cam_from_world,
        camera=cam,
        reason="",
        num_inliers=int(inl.sum()),
        timings={"retrieval": 0.01, "matching": 0.05, "pnp": 0.002},
        retrieved=[Retrieved(db_id, d.name, 0.9)],
        matches_2d2d=[m2d],
        matches_2d3d=m3d,
    )


@pytest.fixture(autouse=True)
def strict_model_signals():
    """A view that raises while handling a model change fails the test (not just a log line)."""

    def reraise(exc: BaseException, slot: object) -> None:
        raise exc

    previous = events.set_slot_error_hook(reraise)
    yield
    events.set_slot_error_hook(previous)


@pytest.fixture(scope="session")
def tiny_scene(tiny_scene_dir: Path) -> SceneMap:
    from locgui.io import open_scene

    return open_scene(tiny_scene_dir)


@pytest.fixture
def qsettings(tmp_path: Path):
    """QSettings in a temporary ini file (never the developer's own settings)."""
    from PySide6 import QtCore

    return QtCore.QSettings(str(tmp_path / "locgui.ini"), QtCore.QSettings.Format.IniFormat)


@pytest.fixture
def main_window(qtbot, qsettings):
    """The real main window with isolated settings; closed (workers joined) afterwards."""
    from locgui.qt.main_window import MainWindow

    window = MainWindow(settings=qsettings)
    qtbot.addWidget(window)
    window.resize(1400, 900)
    window.show()
    yield window
    window.close()
    assert window.bench.bridge.running_threads() == []
