"""The timeline dock: scrub a live run or a method's results over the queries (Rerun-style).

A track picker, play / step buttons and "follow" (stay on a running live run's newest
frame), a plot of inliers per frame over a strip of status colours (tracked, relocalized,
lost) with a draggable cursor, a slider, the frame's thumbnail and a line with its time,
status, inliers, latency and error. It draws ``AppState.timeline`` and asks it to seek; the
3D view draws the camera at the cursor and a query track selects its query everywhere.
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtGui, QtWidgets

from locgui.model.entities import length_text
from locgui.model.run_log import STATUS_CODES, TimePoint, decode_thumbnail
from locgui.model.state import AppState
from locgui.model.timeline import LiveTrack, Track
from locgui.qt import style
from locgui.qt.live_draw import STATUS_COLORS

STATUS_COLOURS = {STATUS_CODES[s]: colour for s, colour in STATUS_COLORS.items()}
"""The status strip's colours by ``RunLog`` status code (the live HUD's colours)."""
REPLOT_MS = 250  # a growing live run is replotted at most this often
PLAY_MS = 33
THUMB_SIZE = QtCore.QSize(176, 132)


class TimelinePlot(pg.PlotWidget):
    """Inliers per frame, a status strip under them and a draggable cursor."""

    seek_requested = QtCore.Signal(int)

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent, background="#181b1f")
        self.setMinimumHeight(70)
        self.setMouseEnabled(x=True, y=False)
        self.hideButtons()
        self.getPlotItem().setMenuEnabled(False)
        self.setLabel("left", "inliers")
        self.curve = self.plot([], [], pen=pg.mkPen("#d0d4da", width=1))
        self.strips = {
            code: self.plot([], [], pen=None, symbol="s", symbolSize=5, symbolPen=None,
                            symbolBrush=pg.mkBrush(colour))  # fmt: skip
            for code, colour in STATUS_COLOURS.items()
        }
        self.cursor = pg.InfiniteLine(angle=90, movable=True,
                                      pen=pg.mkPen(style.LIVE, width=2))  # fmt: skip
        self.cursor.setZValue(10)
        self.addItem(self.cursor)
        self._moving = False
        self.cursor.sigPositionChanged.connect(self._on_cursor)
        self.scene().sigMouseClicked.connect(self._on_click)

    def set_series(self, inliers: np.ndarray, status: np.ndarray, unit: str) -> None:
        n = len(inliers)
        x = np.arange(n, dtype=float)
        self.curve.setData(x, inliers.astype(float))
        low = -0.06 * max(float(inliers.max()) if n else 1.0, 1.0)
        for code, item in self.strips.items():
            mask = status == code
            item.setData(x[mask], np.full(int(mask.sum()), low))
        self.setLabel("bottom", unit)
        self.setXRange(-0.5, max(n - 0.5, 0.5), padding=0.01)
        self.setYRange(2 * low, max(float(inliers.max()) if n else 1.0, 1.0), padding=0.05)

    def set_position(self, index: int) -> None:
        self._moving = True
        try:
            self.cursor.setValue(float(index))
        finally:
            self._moving = False

    def _on_cursor(self) -> None:
        if not self._moving:
            self.seek_requested.emit(round(self.cursor.value()))

    def _on_click(self, event: object) -> None:
        pos = event.scenePos()  # type: ignore[attr-defined]
        if self.getPlotItem().sceneBoundingRect().contains(pos):
            x = self.getPlotItem().vb.mapSceneToView(pos).x()
            self.seek_requested.emit(round(x))


class TimelineView(QtWidgets.QWidget):
    """The timeline, bound to an ``AppState``."""

    def __init__(self, state: AppState, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.timeline = state.timeline
        self._plotted: tuple[str, int] | None = None  # (track key, frames) plotted
        self._thumb_key: tuple[str, int] | None = None
        self._build()
        self._replot = QtCore.QTimer(self, singleShot=True, interval=REPLOT_MS)
        self._replot.timeout.connect(self._plot)
        self._play = QtCore.QTimer(self, interval=PLAY_MS)
        self._play.timeout.connect(self._play_step)
        self.timeline.tracks_changed.connect(self._fill_tracks)
        self.timeline.position_changed.connect(self._on_position)
        self._fill_tracks()
        self._on_position(self.timeline.track, self.timeline.index)

    # ------------------------------------------------------------------ layout
    def _build(self) -> None:
        self.tracks = QtWidgets.QComboBox()
        self.tracks.setToolTip("What to scrub: a live run, or a method's results over the queries")
        self.tracks.setSizeAdjustPolicy(
            QtWidgets.QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        self.tracks.setMinimumContentsLength(16)
        self.tracks.activated.connect(self._on_track_picked)
        self.buttons: dict[str, QtWidgets.QToolButton] = {}
        top = QtWidgets.QHBoxLayout()
        top.setContentsMargins(4, 2, 4, 0)
        top.addWidget(self.tracks)
        icon = QtWidgets.QStyle.StandardPixmap
        for key, pixmap, tip, slot in (
            ("first", icon.SP_MediaSkipBackward, "First frame", lambda: self.timeline.seek(0)),
            ("back", icon.SP_MediaSeekBackward, "Previous frame ([)",
             lambda: self.timeline.step(-1)),
            ("play", icon.SP_MediaPlay, "Play from here / pause (Ctrl+Shift+P)",
             self.toggle_play),
            ("next", icon.SP_MediaSeekForward, "Next frame (])", lambda: self.timeline.step(1)),
            ("last", icon.SP_MediaSkipForward, "Last frame (follows a running live run)",
             lambda: self.timeline.seek(len(self.timeline.track or ()) - 1)),
        ):  # fmt: skip
            b = QtWidgets.QToolButton()
            b.setIcon(self.style().standardIcon(pixmap))
            b.setToolTip(tip)
            b.clicked.connect(lambda *_, f=slot: f())
            top.addWidget(b)
            self.buttons[key] = b
        self.buttons["play"].setCheckable(True)
        self.follow = QtWidgets.QCheckBox("Follow")
        self.follow.setToolTip("Stay on the newest frame of a running live run")
        self.follow.toggled.connect(self._on_follow)
        top.addWidget(self.follow)
        self.info = style.shrinkable(style.styled_label(role="muted"))
        top.addWidget(self.info, 1)
        self.plot = TimelinePlot(self)
        self.plot.seek_requested.connect(lambda i: self.timeline.seek(i))
        self.thumb = QtWidgets.QLabel()
        self.thumb.setFixedSize(THUMB_SIZE)
        self.thumb.setAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
        self.thumb.setToolTip("The frame at the cursor")
        mid = QtWidgets.QHBoxLayout()
        mid.setContentsMargins(4, 0, 4, 0)
        mid.addWidget(self.plot, 1)
        mid.addWidget(self.thumb)
        self.slider = QtWidgets.QSlider(QtCore.Qt.Orientation.Horizontal)
        self.slider.setToolTip("Scrub: drag, or Left/Right, PgUp/PgDn, Home/End")
        self.slider.valueChanged.connect(lambda v: self.timeline.seek(v))
        lay = QtWidgets.QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 2)
        lay.setSpacing(2)
        lay.addLayout(top)
        lay.addLayout(mid, 1)
        lay.addWidget(self.slider)
        self.setMinimumHeight(150)

    # ------------------------------------------------------------------ model -> view
    def _fill_tracks(self) -> None:
        current = self.timeline.track.key if self.timeline.track is not None else None
        keys = [(t.key, t.title) for t in self.timeline.tracks()]
        if keys != [(self.tracks.itemData(i), self.tracks.itemText(i))
                    for i in range(self.tracks.count())]:  # fmt: skip
            with QtCore.QSignalBlocker(self.tracks):
                self.tracks.clear()
                for key, title in keys:
                    self.tracks.addItem(title, key)
        with QtCore.QSignalBlocker(self.tracks):
            self.tracks.setCurrentIndex(max(self.tracks.findData(current), 0) if current else -1)
        if not keys:
            self.info.setText("nothing to scrub · run live relocalization (Ctrl+L) or localize "
                              "queries (Ctrl+Shift+Return)")  # fmt: skip
        if self.timeline.track is None or self._plotted is None:
            return
        self._replot.start()  # a query track's results changed

    def _on_track_picked(self, row: int) -> None:
        track = self.timeline.track_by_key(str(self.tracks.itemData(row)))
        self.timeline.show(track)

    def _on_position(self, track: Track | None, index: int) -> None:
        n = len(track) if track is not None else 0
        with QtCore.QSignalBlocker(self.slider):
            self.slider.setRange(0, max(n - 1, 0))
            self.slider.setValue(index)
        with QtCore.QSignalBlocker(self.follow):
            self.follow.setChecked(self.timeline.follow and isinstance(track, LiveTrack))
        self.follow.setEnabled(isinstance(track, LiveTrack))
        key = track.key if track is not None else None
        if key is not None and self.tracks.currentData() != key:
            self._fill_tracks()
        plotted = (key, n) if key is not None else None
        if plotted != self._plotted:
            if self._plotted is None or self._plotted[0] != key:
                self._plot()  # a new track: now
            elif not self._replot.isActive():
                self._replot.start()  # the same track grew: soon
        self.plot.set_position(index)
        point = self.timeline.point()
        self.info.setText(self.describe(track, point))
        self._show_thumbnail(track, point)

    def _plot(self) -> None:
        track = self.timeline.track
        if track is None:
            self._plotted = None
            self.plot.set_series(np.zeros(0), np.zeros(0, np.int8), "")
            return
        unit = "frame" if isinstance(track, LiveTrack) else "query (name order)"
        self.plot.set_series(track.column("inliers"), track.column("status"), unit)
        self._plotted = (track.key, len(track))
        self.plot.set_position(self.timeline.index)

    def _show_thumbnail(self, track: Track | None, point: TimePoint | None) -> None:
        key = (track.key, point.index) if track is not None and point is not None else None
        if key == self._thumb_key:
            return
        self._thumb_key = key
        rgb = decode_thumbnail(point.thumbnail) if point is not None and point.thumbnail else None
        if rgb is None:
            self.thumb.clear()
            return
        h, w = rgb.shape[:2]
        image = QtGui.QImage(rgb.data, w, h, 3 * w, QtGui.QImage.Format.Format_RGB888).copy()
        pix = QtGui.QPixmap.fromImage(image).scaled(
            THUMB_SIZE, QtCore.Qt.AspectRatioMode.KeepAspectRatio,
            QtCore.Qt.TransformationMode.SmoothTransformation,
        )  # fmt: skip
        self.thumb.setPixmap(pix)

    def describe(self, track: Track | None, p: TimePoint | None) -> str:
        """The line under the buttons: where the cursor is and what happened there."""
        if track is None or p is None:
            return "" if track is None else f"{track.title} · no frames yet"
        n = len(track)
        if isinstance(track, LiveTrack):
            where = f"frame {p.index + 1:,} / {n:,} · {p.time:.2f} s"
        else:
            where = f"{p.name} ({p.index + 1} / {n})"
        colour = STATUS_COLORS.get(p.status, style.OUTLIER)  # "missing": as lost
        status = p.status if isinstance(track, LiveTrack) or p.status == "missing" else (
            "localized" if p.localized else "failed")  # fmt: skip
        parts = [where, f'<b style="color:{colour}">{status}</b>']
        if p.num_matches:
            parts.append(f"{p.num_inliers} / {p.num_matches} inliers")
        elif p.num_inliers:
            parts.append(f"{p.num_inliers} inliers")
        if math.isfinite(p.latency) and p.latency > 0:
            parts.append(f"{1000 * p.latency:.0f} ms")
        if math.isfinite(p.error_t):
            parts.append(f"error {length_text(p.error_t, self.state)} / {p.error_r:.2f}°")
        return " · ".join(parts)

    # ------------------------------------------------------------------ actions
    def _on_follow(self, on: bool) -> None:
        track = self.timeline.track
        if on and track is not None:
            self.timeline.seek(len(track) - 1)
        else:
            self.timeline.follow = False

    def toggle_play(self) -> None:
        """Play from the cursor at ~30 frames/s; again: pause."""
        if self._play.isActive():
            self._play.stop()
        elif self.timeline.track is not None and len(self.timeline.track):
            if self.timeline.index >= len(self.timeline.track) - 1:
                self.timeline.seek(0)
            self._play.start()
        self.buttons["play"].setChecked(self._play.isActive())

    def _play_step(self) -> None:
        track = self.timeline.track
        if track is None or self.timeline.index >= len(track) - 1:
            self._play.stop()
            self.buttons["play"].setChecked(False)
            return
        self.timeline.step(1)
