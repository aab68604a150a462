"""The live dock's worker thread and drawing helpers: the session runs on the worker; the UI
takes only the newest update (no backlog) and draws it."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from PySide6 import QtCore

from locgui.core.errors import LocguiError
from locgui.methods.live.results import LOST, RELOCALIZED, TRACKED, LiveFrameResult
from locgui.methods.live.session import LiveSession
from locgui.qt import style

log = logging.getLogger(__name__)

STATUS_COLORS = {TRACKED: style.INLIER, RELOCALIZED: "#ffb020", LOST: style.OUTLIER}
LIVE_COLOR = "#ff9f1c"
STAGES = ("extract", "select", "match", "pnp", "relocalize")


@dataclass
class LiveUpdate:
    """What the worker hands to the UI for one frame (the newest only).

    Attributes:
        rgb: (H, W, 3) uint8 frame. result: its outcome.
        centers: (N, 3) camera centres of the trajectory so far (world, map units).
        gt_centers: (M, 3) ground-truth centres so far (empty without ground truth).
        fps: localized frames/s over the last frames. dropped: frames the capture dropped.
        intrinsics: how the intrinsics were obtained.
    """

    rgb: np.ndarray
    result: LiveFrameResult
    centers: np.ndarray
    gt_centers: np.ndarray
    fps: float
    dropped: int
    intrinsics: str


class LiveWorker(QtCore.QThread):
    """Builds the session (``factory``) and runs it on this thread.

    Signals:
        updated(): a new ``LiveUpdate`` waits in ``take()`` (emitted once per take).
        ended(summary): the run stopped (source end, Stop, max frames, source failure).
        failed(message): the session could not be built or started.
    """

    updated = QtCore.Signal()
    ended = QtCore.Signal(object)
    failed = QtCore.Signal(str)

    def __init__(self, factory: Callable[[], LiveSession], max_frames: int | None = None) -> None:
        super().__init__()
        self.setObjectName("locgui-live-worker")
        self.factory = factory
        self.max_frames = max_frames
        self.session: LiveSession | None = None
        self.stop_event = threading.Event()
        self._lock = threading.Lock()
        self._latest: LiveUpdate | None = None
        self._centers: list[np.ndarray] = []
        self._gt: list[np.ndarray] = []

    def run(self) -> None:
        try:
            self.session = self.factory()
            summary = self.session.run(self.max_frames, self._on_frame, self.stop_event)
        except LocguiError as exc:
            self.failed.emit(str(exc))
            return
        except Exception as exc:  # noqa: BLE001  (shown to the user, never kills the app)
            log.exception("live session")
            self.failed.emit(f"unexpected error: {exc}")
            return
        self.ended.emit(summary)

    def _on_frame(self, result: LiveFrameResult) -> None:
        session = self.session
        if session is None or session.last_frame is None:
            return
        if result.cam_from_world is not None:
            self._centers.append(result.cam_from_world.center)
        if result.gt_cam_from_world is not None:
            self._gt.append(result.gt_cam_from_world.center)
        update = LiveUpdate(
            session.last_frame.rgb,
            result,
            np.array(self._centers).reshape(-1, 3),
            np.array(self._gt).reshape(-1, 3),
            session.stats.recent_fps(),
            session.capture.status().dropped,
            session.intrinsics_note,
        )
        with self._lock:
            waiting = self._latest is not None
            self._latest = update
        if not waiting:
            self.updated.emit()

    def take(self) -> LiveUpdate | None:
        """The newest update (None if it was taken already)."""
        with self._lock:
            update, self._latest = self._latest, None
        return update

    def stop(self) -> None:
        self.stop_event.set()


def draw_live(view3d: Any, r: LiveFrameResult, centers: np.ndarray, gt: np.ndarray) -> None:
    """Live items of the 3D view: the trajectory (line strip), the current camera frustum
    and the ground-truth trajectory."""
    from locgui.model import geometry

    gl = view3d.gl
    color = style.rgba(LIVE_COLOR)
    gl.set_lines("live:trajectory", centers if len(centers) > 1 else np.zeros((0, 3)), color,
                 2.0, "trajectories", mode="line_strip")  # fmt: skip
    gt_color = style.rgba(style.GROUND_TRUTH, 0.7)
    gl.set_lines("live:gt", gt if len(gt) > 1 else np.zeros((0, 3)), gt_color, 1.0,
                 "ground_truth", mode="line_strip")  # fmt: skip
    segs = np.zeros((0, 3))
    if r.cam_from_world is not None and r.camera is not None:
        verts = geometry.frustum_vertices(r.camera, r.cam_from_world, view3d.frustum_depth)
        segs = geometry.frustum_segments(verts)
    gl.set_lines("live:camera", segs, color, 3.0, "estimates")
    gl.update()


def hud_html(update: LiveUpdate) -> str:
    """The HUD: status, frames/s, per-stage latency, inliers, error, dropped, intrinsics."""
    r = update.result
    color = STATUS_COLORS.get(r.status, "#ffffff")
    stages = " · ".join(
        f"{s} {1000 * r.timings[s]:.0f}" for s in STAGES if s in r.timings
    )  # fmt: skip
    err = ""
    if np.isfinite(r.error_t):
        err = f" · error {r.error_t:.3f} / {r.error_r:.1f}°"
    return (
        f'<b style="color:{color}">{r.status.upper()}</b> · {update.fps:.1f} frames/s · '
        f"{1000 * r.latency:.0f} ms ({stages} ms) · {r.num_inliers} inliers{err} · "
        f"dropped {update.dropped}<br><span style='color:#8a9099'>{update.intrinsics}</span>"
    )
