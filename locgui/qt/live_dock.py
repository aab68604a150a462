"""The live relocalization dock: pick a source (webcam, video file, image folder + rate),
intrinsics and a method; Start / Pause / Step / Stop / Record; see the live frame with its
keypoints coloured by inlier status and a HUD (frames/s, per-stage latency, inliers, a
pose-confidence gauge).

The dock only asks the workbench (``start_live``, ``pause_live``, ``step_live``,
``stop_live``) and draws ``AppState.live``: the session runs as a task on the worker
bridge's "live" executor, and only the newest frame reaches the state (no backlog). The 3D
view draws the live camera and trajectory from the same state.
"""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtWidgets

from locgui.methods.live.config import TrackerConfig
from locgui.methods.live.results import LiveFrameResult
from locgui.methods.live.session import SessionOptions
from locgui.model.live import PAUSED, LiveUpdate
from locgui.qt import style
from locgui.qt.controller import Workbench
from locgui.qt.image_view import ImageCanvas
from locgui.qt.live_draw import hud_html
from locgui.qt.param_panel import ParamPanel
from locgui.qt.progress_line import ProgressLine

log = logging.getLogger(__name__)


class LiveDock(QtWidgets.QDockWidget):
    """The live relocalization dock.

    Args:
        bench: the workbench: runs the session, and its state's ``live`` is what is shown
            (the method's parameters are the workbench's edited ones).

    Attributes:
        max_frames: stop a run after so many frames (None: at the source's end or Stop).
    """

    def __init__(self, bench: Workbench, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__("Live relocalization", parent)
        self.setObjectName("dock.live")
        self.bench = bench
        self.live = bench.state.live
        self.record_path: Path | None = None
        self.max_frames: int | None = None
        self._build()
        self.live.status_changed.connect(self._on_status)
        self.live.frame_changed.connect(self._on_frame)
        self.live.message_changed.connect(self._show_status)
        self._on_status(self.live.status)

    # ------------------------------------------------------------------ layout
    def _build(self) -> None:
        body = QtWidgets.QWidget()
        lay = QtWidgets.QVBoxLayout(body)
        lay.setContentsMargins(4, 4, 4, 4)
        form = QtWidgets.QFormLayout()
        self.kind = QtWidgets.QComboBox()
        self.kind.addItems(["Video file", "Image folder", "Webcam"])
        self.webcam = QtWidgets.QSpinBox(minimum=0, maximum=16)
        self.path = QtWidgets.QLineEdit(placeholderText="video file or image folder")
        self.browse = browse = QtWidgets.QPushButton("…")
        browse.setMaximumWidth(28)
        browse.clicked.connect(self._browse_source)
        row = QtWidgets.QHBoxLayout()
        w: QtWidgets.QWidget
        for w in (self.kind, self.webcam, self.path):
            row.addWidget(w)
        row.addWidget(browse)
        form.addRow("Source", row)
        self.rate = QtWidgets.QDoubleSpinBox(minimum=0.0, maximum=240.0, value=0.0, suffix=" fps")
        self.rate.setSpecialValueText("own rate")
        self.lockstep = QtWidgets.QCheckBox("every frame (no drops)")
        row = QtWidgets.QHBoxLayout()
        row.addWidget(self.rate)
        row.addWidget(self.lockstep)
        form.addRow("Rate", row)
        self.intrinsics = QtWidgets.QComboBox()
        self.intrinsics.addItems(["Auto (file beside the source, else the map's)",
                                  "Calibration file", "Field-of-view guess"])  # fmt: skip
        self.calib = QtWidgets.QLineEdit(placeholderText="OpenCV YAML, cameras.txt or .json")
        self.fov = QtWidgets.QDoubleSpinBox(minimum=10, maximum=170, value=60, suffix=" deg")
        row = QtWidgets.QHBoxLayout()
        for w in (self.intrinsics, self.calib, self.fov):
            row.addWidget(w)
        form.addRow("Intrinsics", row)
        self.method = QtWidgets.QComboBox()
        from locgui.methods.registry import all_methods

        self.method.addItems([s.name for s in all_methods()])
        self.method.setCurrentText("sfm")
        form.addRow("Method", self.method)
        lay.addLayout(form)
        self.tracking = ParamPanel(TrackerConfig())
        box = QtWidgets.QGroupBox("Tracking settings", checkable=True, checked=False)
        box.toggled.connect(self.tracking.setVisible)
        QtWidgets.QVBoxLayout(box).addWidget(self.tracking)
        self.tracking.setVisible(False)
        lay.addWidget(box)
        lay.addLayout(self._buttons())
        self.canvas = ImageCanvas()
        self.canvas.setMinimumHeight(120)
        self.keypoints = pg.ScatterPlotItem(size=4, pen=None, pxMode=True)
        self.canvas.view.addItem(self.keypoints)
        lay.addWidget(self.canvas, 1)
        self.gauge = ProgressLine(0, 100, "confidence %p%")
        self.hud = QtWidgets.QLabel(textFormat=QtCore.Qt.TextFormat.RichText, wordWrap=True)
        self.status = style.shrinkable(style.styled_label(role="muted"))
        self.status.setWordWrap(True)
        for w in (self.gauge, self.hud, self.status):
            lay.addWidget(w)
        # In a scroll area: the dock's minimum height (472 px unscrolled) must not make the
        # window taller than a 800 px screen.
        scroll = QtWidgets.QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setHorizontalScrollBarPolicy(QtCore.Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setFrameShape(QtWidgets.QFrame.Shape.NoFrame)
        body.setMinimumHeight(body.minimumSizeHint().height())
        scroll.setWidget(body)
        scroll.setMinimumHeight(160)
        self.setWidget(scroll)
        self.kind.currentIndexChanged.connect(self._sync_fields)
        self.intrinsics.currentIndexChanged.connect(self._sync_fields)
        self._sync_fields()

    def _sync_fields(self) -> None:
        """Show only the fields the chosen source and intrinsics kinds use."""
        webcam = self.kind.currentText() == "Webcam"
        self.webcam.setVisible(webcam)
        self.path.setVisible(not webcam)
        self.browse.setVisible(not webcam)
        self.calib.setVisible(self.intrinsics.currentIndex() == 1)
        self.fov.setVisible(self.intrinsics.currentIndex() == 2)

    def _buttons(self) -> QtWidgets.QHBoxLayout:
        row = QtWidgets.QHBoxLayout()
        self.start_btn = QtWidgets.QPushButton("Start")
        self.pause_btn = QtWidgets.QPushButton("Pause")
        self.pause_btn.setCheckable(True)
        self.step_btn = QtWidgets.QPushButton("Step")
        self.stop_btn = QtWidgets.QPushButton("Stop")
        self.record_btn = QtWidgets.QPushButton("Record…")
        self.record_btn.setCheckable(True)
        self.record_btn.setToolTip("write the trajectory (TUM) and an annotated video beside it")
        self.start_btn.clicked.connect(self.start)
        self.pause_btn.toggled.connect(self.set_paused)
        self.step_btn.clicked.connect(self.step)
        self.stop_btn.clicked.connect(self.stop)
        self.record_btn.toggled.connect(self._on_record)
        for b in (self.start_btn, self.pause_btn, self.step_btn, self.stop_btn, self.record_btn):
            row.addWidget(b)
        return row

    def _browse_source(self) -> None:
        if self.kind.currentText() == "Image folder":
            path = QtWidgets.QFileDialog.getExistingDirectory(self, "Image folder")
        else:
            path, _ = QtWidgets.QFileDialog.getOpenFileName(self, "Video file")
        if path:
            self.path.setText(path)

    def _on_record(self, on: bool) -> None:
        if on and self.record_path is None:
            path, _ = QtWidgets.QFileDialog.getSaveFileName(
                self, "Record the trajectory (TUM)", "live_trajectory.txt"
            )
            self.record_path = Path(path) if path else None
            if self.record_path is None:
                self.record_btn.setChecked(False)
        elif not on:
            self.record_path = None

    # ------------------------------------------------------------------ control
    def source_spec(self) -> str:
        if self.kind.currentText() == "Webcam":
            return str(self.webcam.value())
        return self.path.text().strip()

    def session_options(self) -> SessionOptions:
        """The options the controls describe (read on the UI thread, then frozen)."""
        intrinsics = None
        if self.intrinsics.currentIndex() == 1:
            intrinsics = self.calib.text().strip() or None
        elif self.intrinsics.currentIndex() == 2:
            intrinsics = f"fov:{self.fov.value():g}"
        method = self.method.currentText()
        overrides = dataclasses.asdict(self.bench.method_config(method))
        record = self.record_path
        return SessionOptions(
            method=method,
            method_overrides=overrides,
            intrinsics=intrinsics,
            rate=self.rate.value() or None,
            lockstep=self.lockstep.isChecked(),
            tracker=self.tracking.config(),
            device="auto",
            tum_path=record,
            video_path=record.with_suffix(".mp4") if record is not None else None,
        )

    def start(self) -> None:
        self.bench.start_live(self.source_spec(), self.session_options(), self.max_frames)

    def set_paused(self, paused: bool) -> None:
        self.bench.pause_live(paused)

    def step(self) -> None:
        self.bench.step_live()

    def stop(self) -> None:
        self.bench.stop_live()

    def _set_running(self, running: bool) -> None:
        self.start_btn.setEnabled(not running)
        for button in (self.pause_btn, self.step_btn, self.stop_btn):
            button.setEnabled(running)
        for w in (self.kind, self.webcam, self.path, self.rate, self.lockstep, self.intrinsics,
                  self.calib, self.fov, self.method, self.tracking, self.record_btn):  # fmt: skip
            w.setEnabled(not running)

    # ------------------------------------------------------------------ model -> view
    def _on_status(self, status: str) -> None:
        self._set_running(self.live.active)
        with QtCore.QSignalBlocker(self.pause_btn):
            self.pause_btn.setChecked(status == PAUSED)

    def _on_frame(self, update: LiveUpdate | None) -> None:
        if update is None:
            return
        r = update.result
        self.canvas.set_image(update.rgb, autorange=self.canvas.image.image is None)
        self._draw_keypoints(r)
        self.gauge.setValue(round(100 * r.confidence))
        self.hud.setText(hud_html(update))

    def _draw_keypoints(self, r: LiveFrameResult) -> None:
        inl = np.asarray(r.inliers, bool)
        xy = np.asarray(r.matched_xy, float).reshape(-1, 2)
        if len(inl) != len(xy):
            inl = np.zeros(len(xy), bool)
        kp = np.asarray(r.keypoints, float).reshape(-1, 2)
        pos = np.concatenate([kp, xy[~inl], xy[inl]])
        colors = [style.NO_3D] * len(kp) + [style.OUTLIER] * int((~inl).sum())
        colors += [style.INLIER] * int(inl.sum())
        brushes = [pg.mkBrush(c) for c in colors]
        self.keypoints.setData(pos=pos, brush=brushes, size=[3] * len(kp) + [6] * len(xy))

    def _show_status(self, text: str, error: bool = False) -> None:
        self.status.setText(text)
        self.status.setStyleSheet(f"color: {style.OUTLIER}" if error else "")
