"""Results of the current query: a row per method, side by side, with errors against GT."""

from __future__ import annotations

import numpy as np
from PySide6 import QtCore, QtGui, QtWidgets

from locgui.core.results import LocalizationResult
from locgui.model.match_filter import inlier_counts
from locgui.model.selection import Selection
from locgui.model.state import AppState
from locgui.qt import style

COLUMNS = (
    "method", "status", "inliers", "Δt", "Δr", "±σ", "time", "stages", "position", "reason"
)


def _fmt_stages(timings: dict[str, float]) -> str:
    return " · ".join(f"{k} {v * 1000:.0f}" for k, v in timings.items())


def result_cells(state: AppState, r: LocalizationResult) -> list[str]:
    """The text of each column for a result (units in the header tooltips)."""
    inliers, n = inlier_counts(r)
    err = state.errors(r)
    unit = "m" if state.scene is not None and state.scene.units == "metres" else "u"
    pos = "—"
    sigma = r.extras.get("uncertainty") or {}
    spread = "—"
    if "position" in sigma:
        spread = f"{sigma['position']:.3g} {unit} / {sigma.get('rotation_deg', 0.0):.2g}°"
    if r.cam_from_world is not None:
        pos = " ".join(f"{v:.2f}" for v in r.cam_from_world.center)
    return [
        r.method,
        "✓ success" if r.success else "✗ failed",
        f"{inliers} / {n}",
        f"{err[0]:.3f} {unit}" if err else "—",
        f"{err[1]:.2f}°" if err else "—",
        spread,
        f"{r.total_time * 1000:.0f} ms",
        _fmt_stages(r.timings),
        pos,
        r.reason,
    ]


class ResultsPanel(QtWidgets.QTableWidget):
    """One row per method for the current query; selecting a row focuses that method."""

    def __init__(self, state: AppState, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(0, len(COLUMNS), parent)
        self.app_state = state
        self.setHorizontalHeaderLabels(list(COLUMNS))
        tips = {
            "inliers": "inliers / 2D-3D matches, as the match view counts them (rpr: the map "
            "points that fix its scale; its essential-matrix inliers are in the reason)",
            "Δt": "camera-centre error against ground truth (map units)",
            "Δr": "rotation error against ground truth (degrees)",
            "stages": "per-stage time in ms",
            "±σ": "1-sigma uncertainty of the pose from its inliers: position (map units) / "
            "rotation (degrees)",
            "position": "estimated camera centre (world, map units)",
        }
        for c, name in enumerate(COLUMNS):
            header_item = self.horizontalHeaderItem(c)
            assert header_item is not None  # made by setHorizontalHeaderLabels
            header_item.setToolTip(tips.get(name, ""))
        self.verticalHeader().hide()
        self.setSelectionBehavior(QtWidgets.QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QtWidgets.QAbstractItemView.SelectionMode.SingleSelection)
        self.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setWordWrap(False)
        header = self.horizontalHeader()
        header.setSectionResizeMode(QtWidgets.QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        self.methods: list[str] = []
        self.itemSelectionChanged.connect(self._on_pick)
        state.results_changed.connect(lambda q, m: self.refresh())
        state.partial_changed.connect(lambda q, m, k: self.refresh())
        state.selection.changed.connect(self._on_selection)

    def refresh(self) -> None:
        sel = self.app_state.selection.current
        results = self.app_state.query_results(sel.query)
        for (q, m), part in self.app_state.partials.items():
            if q == sel.query and m not in results:
                results[m] = part
        with QtCore.QSignalBlocker(self):
            self.setRowCount(0)
            self.methods = []
            for method, r in results.items():
                done = method in self.app_state.results.get(sel.query or "", {})
                running = [method, "… running"] + [""] * (len(COLUMNS) - 2)
                cells = result_cells(self.app_state, r) if done else running
                self._add_row(method, cells, r, done)
            if sel.method in self.methods:
                self.selectRow(self.methods.index(sel.method))

    def _add_row(self, method: str, cells: list[str], r: LocalizationResult, done: bool) -> None:
        row = self.rowCount()
        self.insertRow(row)
        for c, text in enumerate(cells):
            item = QtWidgets.QTableWidgetItem(text)
            if c == 0:
                item.setForeground(QtGui.QColor(style.method_color(method)))
                item.setText("■ " + text)
            if c == 1 and done:
                item.setForeground(QtGui.QColor(style.INLIER if r.success else style.OUTLIER))
            if c in (2, 3, 4, 5, 6):
                item.setTextAlignment(
                    QtCore.Qt.AlignmentFlag.AlignRight | QtCore.Qt.AlignmentFlag.AlignVCenter
                )
            if c == 8 and r.cam_from_world is not None:
                m = np.array2string(r.cam_from_world.matrix()[:3], precision=4, suppress_small=True)
                item.setToolTip(f"cam_from_world [R | t]:\n{m}")
            if c == 9:
                item.setToolTip(r.reason)
            self.setItem(row, c, item)
        self.methods.append(method)

    def _on_selection(self, new: Selection, old: Selection) -> None:
        if (new.query, new.method) != (old.query, old.method):
            self.refresh()

    def _on_pick(self) -> None:
        rows = self.selectionModel().selectedRows()
        if rows:
            self.app_state.select_method(self.methods[rows[0].row()], source="results")
