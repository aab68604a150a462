"""Small docks: the selected point's inspector and the notification area."""

from __future__ import annotations

import time

import numpy as np
from PySide6 import QtCore, QtGui, QtWidgets

from locgui.model import linking
from locgui.model.notifications import Notification
from locgui.model.selection import Selection
from locgui.model.state import AppState
from locgui.qt import style


class PointPanel(QtWidgets.QWidget):
    """The selected map point: position, colour, error, its match, and every observation.

    Double-clicking an observation shows that database image.
    """

    def __init__(self, state: AppState, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.summary = QtWidgets.QLabel("Click a match or a 3D point", wordWrap=True)
        self.summary.setTextFormat(QtCore.Qt.TextFormat.RichText)
        self.list = QtWidgets.QTreeWidget()
        self.list.setHeaderLabels(["observed in", "x", "y"])
        self.list.setRootIsDecorated(False)
        self.list.itemDoubleClicked.connect(self._on_double)
        lay = QtWidgets.QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addWidget(self.summary)
        lay.addWidget(self.list, 1)
        self.observations: list[linking.Observation] = []
        state.selection.changed.connect(self._on_selection)

    def _on_selection(self, new: Selection, old: Selection) -> None:
        if (new.point3D_id, new.match_index, new.method) != (
            old.point3D_id,
            old.match_index,
            old.method,
        ):
            self.refresh()

    def refresh(self) -> None:
        scene, sel = self.state.scene, self.state.selection.current
        self.list.clear()
        self.observations = []
        lines = []
        result = self.state.result()
        if result is not None and sel.match_index is not None and result.matches_2d3d is not None:
            m = result.matches_2d3d
            i = sel.match_index
            fate = "inlier" if m.inliers[i] else "outlier"
            err = m.reproj_error[i]
            err_s = f"{err:.2f} px" if np.isfinite(err) else "—"
            q = m.query_xy[i]
            lines.append(
                f"<b>match {i}</b> of {result.method}: {fate}, error {err_s}, "
                f"query pixel ({q[0]:.1f}, {q[1]:.1f})"
            )
        if scene is not None and sel.point3D_id is not None:
            xyz = linking.point_xyz(scene, sel.point3D_id)
            if xyz is not None:
                row = int(scene.points.index_of(np.array([sel.point3D_id]))[0])
                r, g, b = (int(v) for v in scene.points.rgb[row])
                err = scene.points.error[row] if len(scene.points.error) > row else np.nan
                lines.append(
                    f"<b>point {sel.point3D_id}</b> at ({xyz[0]:.3f}, {xyz[1]:.3f}, {xyz[2]:.3f}) "
                    f"{scene.units} <span style='color:rgb({r},{g},{b})'>&#9632;</span> "
                    + (f"mean error {err:.2f} px" if np.isfinite(err) else "")
                )
                self.observations = linking.observations(scene, sel.point3D_id)
                for obs in self.observations:
                    self.list.addTopLevelItem(
                        QtWidgets.QTreeWidgetItem(
                            [obs.name, f"{obs.xy[0]:.1f}", f"{obs.xy[1]:.1f}"]
                        )
                    )
                lines.append(f"{len(self.observations)} observations (double-click to view)")
        self.summary.setText("<br>".join(lines) or "Click a match or a 3D point")

    def _on_double(self, item: QtWidgets.QTreeWidgetItem, _col: int) -> None:
        row = self.list.indexOfTopLevelItem(item)
        if 0 <= row < len(self.observations):
            self.state.select_image(self.observations[row].image_id, source="points")


LEVEL_COLORS = {"info": "#8ecae6", "warning": "#ffd166", "error": style.OUTLIER}


class NotificationPanel(QtWidgets.QWidget):
    """Every message from every worker, newest last; details (tracebacks) on double-click."""

    def __init__(self, state: AppState, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.list = QtWidgets.QTreeWidget()
        self.list.setHeaderLabels(["time", "", "message"])
        self.list.setRootIsDecorated(False)
        self.list.setWordWrap(True)
        self.list.itemDoubleClicked.connect(self._show_detail)
        clear = QtWidgets.QPushButton("Clear")
        clear.clicked.connect(state.notifications.clear)
        top = QtWidgets.QHBoxLayout()
        self.counter = style.styled_label(role="muted")
        top.addWidget(self.counter, 1)
        top.addWidget(clear)
        lay = QtWidgets.QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addLayout(top)
        lay.addWidget(self.list, 1)
        self._details: list[str] = []
        state.notifications.posted.connect(self._on_posted)
        state.notifications.cleared.connect(self._on_cleared)
        self._on_cleared()

    def _on_posted(self, note: Notification) -> None:
        item = QtWidgets.QTreeWidgetItem(
            [time.strftime("%H:%M:%S", time.localtime(note.time)), note.level, note.message]
        )
        item.setForeground(1, QtGui.QColor(LEVEL_COLORS[note.level]))
        item.setToolTip(2, note.message + ("\n(double-click for details)" if note.detail else ""))
        self.list.addTopLevelItem(item)
        self._details.append(note.detail)
        self.list.scrollToItem(item)
        self._count()

    def _on_cleared(self) -> None:
        self.list.clear()
        self._details = []
        self._count()

    def _count(self) -> None:
        n_err = len(self.state.notifications.errors())
        n = self.list.topLevelItemCount()
        self.counter.setText(f"{n} message{'' if n == 1 else 's'} · "
                             f"{n_err} error{'' if n_err == 1 else 's'}")  # fmt: skip

    def _show_detail(self, item: QtWidgets.QTreeWidgetItem, _col: int) -> None:
        detail = self._details[self.list.indexOfTopLevelItem(item)]
        if detail:
            box = QtWidgets.QMessageBox(self)
            box.setWindowTitle("Details")
            box.setText(item.text(2))
            box.setDetailedText(detail)
            box.open()
