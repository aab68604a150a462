"""Side panels of the match view: the retrieval shortlist and the reprojection-error histogram."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtGui, QtWidgets

from locgui.core.results import LocalizationResult
from locgui.model.linking import match_counts
from locgui.qt import style

ALL_MATCHES = "all"


class Shortlist(QtWidgets.QTableWidget):
    """Retrieved images with score, matches and inliers; the first row shows every 2D-3D match.

    Signals:
        image_chosen(image_id or "all").
    """

    image_chosen = QtCore.Signal(object)

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(0, 3, parent)
        self.setHorizontalHeaderLabels(["retrieved", "score", "inl/m"])
        inliers_header = self.horizontalHeaderItem(2)
        assert inliers_header is not None  # made by setHorizontalHeaderLabels
        inliers_header.setToolTip("inliers / 2D-3D matches through the image (the first row: "
                                  "all of them, as in the Results dock)")
        self.setTextElideMode(QtCore.Qt.TextElideMode.ElideMiddle)
        self.verticalHeader().hide()
        self.setSelectionBehavior(QtWidgets.QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QtWidgets.QAbstractItemView.SelectionMode.SingleSelection)
        self.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setAlternatingRowColors(True)
        header = self.horizontalHeader()
        header.setSectionResizeMode(0, QtWidgets.QHeaderView.ResizeMode.Stretch)
        header.setMinimumSectionSize(30)
        for c, width in ((1, 44), (2, 82)):
            header.setSectionResizeMode(c, QtWidgets.QHeaderView.ResizeMode.Fixed)
            self.setColumnWidth(c, width)
        self.setToolTip("Retrieval shortlist: pick an image to see its matches")
        self._ids: list[object] = []
        self._matches: list[int] = []
        self._inliers: list[int] = []
        self.verticalHeader().setDefaultSectionSize(22)
        self.itemSelectionChanged.connect(self._on_pick)

    def set_result(self, result: LocalizationResult | None, names: dict[int, str] | None) -> None:
        with QtCore.QSignalBlocker(self):
            self.setRowCount(0)
            self._ids, self._matches, self._inliers = [], [], []
            if result is None:
                return
            counts = match_counts(result)
            matches = result.matches_2d3d
            total = len(matches) if matches is not None else 0
            n_inl = int(np.sum(matches.inliers)) if matches is not None and total else 0
            self._add_row("", "all matches", "", total, n_inl, ALL_MATCHES)
            listed = set()
            for rank, r in enumerate(result.retrieved, 1):
                m, i = counts.get(r.image_id, (0, 0))
                self._add_row(str(rank), r.name, f"{r.score:.2f}", m, i, r.image_id)
                listed.add(r.image_id)
            for img, (m, i) in sorted(counts.items()):
                if img >= 0 and img not in listed:  # matched through an image not retrieved
                    self._add_row("", (names or {}).get(img, str(img)), "", m, i, img)

    def _add_row(
        self, rank: str, name: str, score: str, matches: int, inliers: int, key: object
    ) -> None:
        row = self.rowCount()
        self.insertRow(row)
        short = name.rsplit(".", 1)[0] if "." in name[-5:] else name
        label = f"{rank}. {short}" if rank else short
        for col, text in enumerate((label, score, f"{inliers}/{matches}")):
            item = QtWidgets.QTableWidgetItem(text)
            if col != 0:
                item.setTextAlignment(
                    QtCore.Qt.AlignmentFlag.AlignRight | QtCore.Qt.AlignmentFlag.AlignVCenter
                )
            if col == 2 and inliers:
                item.setForeground(QtGui.QColor(style.INLIER))
            item.setToolTip(name)
            self.setItem(row, col, item)
        self._ids.append(key)
        self._matches.append(matches)
        self._inliers.append(inliers)

    def first_id(self) -> int | None:
        """The image with the most inliers (then matches, then rank), else None (query only)."""
        best, best_key = None, (0, 0)
        for row, key in enumerate(self._ids):
            if isinstance(key, int):
                score = (self._inliers[row], self._matches[row])
                if score > best_key:
                    best, best_key = key, score
        return best

    def mark(self, image_id: int | None) -> None:
        """Select the row of ``image_id`` (None: the "all matches" row) without emitting."""
        key: object = ALL_MATCHES if image_id is None else image_id
        with QtCore.QSignalBlocker(self):
            self.clearSelection()
            if key in self._ids:
                self.selectRow(self._ids.index(key))

    def ids(self) -> list[object]:
        return list(self._ids)

    def _on_pick(self) -> None:
        rows = self.selectionModel().selectedRows()
        if rows:
            self.image_chosen.emit(self._ids[rows[0].row()])


LOG_FLOOR_PX = 0.05
"""Errors below this many pixels share the histogram's first bin."""


class ErrorHistogram(pg.PlotWidget):
    """Stacked histogram of reprojection errors (inliers over outliers) on log-spaced bins
    from 0.05 px to the largest error, so sub-pixel inliers and outliers thousands of pixels
    off both show; the match view's error range is drawn as two lines."""

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent, background="#181b1f")
        self.setMinimumHeight(120)
        self.setLabel("bottom", "reprojection error (px, log scale)")
        self.setLabel("left", "matches")
        self.setMouseEnabled(x=False, y=False)
        self.hideButtons()
        self.getPlotItem().setMenuEnabled(False)
        self.outliers = pg.BarGraphItem(x0=[], x1=[], height=[], brush=style.OUTLIER, pen=None)
        self.inliers = pg.BarGraphItem(x0=[], x1=[], height=[], brush=style.INLIER, pen=None)
        self.addItem(self.outliers)
        self.addItem(self.inliers)
        dash = pg.mkPen(style.SELECTION, width=1.5, style=QtCore.Qt.PenStyle.DashLine)
        self.low = pg.InfiniteLine(angle=90, pen=dash)
        self.high = pg.InfiniteLine(angle=90, pen=dash)
        self.addItem(self.low)
        self.addItem(self.high)
        self.counts: tuple[np.ndarray, np.ndarray] = (np.zeros(0), np.zeros(0))
        self.edges = np.zeros(0)

    def set_errors(self, errors: np.ndarray, inliers: np.ndarray) -> None:
        """Bins: 40 log-spaced edges from 0.05 px to the largest error (at least 10 px)."""
        errors = np.asarray(errors, float)
        ok = np.isfinite(errors)
        inl = np.asarray(inliers, bool)[ok]
        e = np.maximum(errors[ok], LOG_FLOOR_PX)
        top = max(float(e.max()) if len(e) else 10.0, 10.0) * 1.0001
        self.edges = np.geomspace(LOG_FLOOR_PX, top, 41)
        n_in, _ = np.histogram(e[inl], self.edges)
        n_all, _ = np.histogram(e, self.edges)
        self.counts = (n_in, n_all - n_in)
        lx = np.log10(self.edges)
        self.inliers.setOpts(x0=lx[:-1], x1=lx[1:], height=n_in)
        self.outliers.setOpts(x0=lx[:-1], x1=lx[1:], height=n_all)
        decades = range(int(np.floor(lx[0])) + 1, int(np.ceil(lx[-1])) + 1)
        self.getAxis("bottom").setTicks([[(d, _px(10.0**d)) for d in decades]])
        self.setXRange(lx[0], lx[-1], padding=0.02)
        self.setYRange(0, max(1, int(n_all.max()) if len(n_all) else 1), padding=0.05)

    def set_range(self, low: float, high: float) -> None:
        """Mark the error range drawn (``low`` 0 / ``high`` inf: no line)."""
        self.low.setValue(float(np.log10(max(low, LOG_FLOOR_PX))))
        self.low.setVisible(low > 0)
        self.high.setValue(float(np.log10(high)) if np.isfinite(high) and high > 0 else 0.0)
        self.high.setVisible(bool(np.isfinite(high)))


def _px(v: float) -> str:
    return f"{v / 1000:g}k" if v >= 1000 else f"{v:g}"
