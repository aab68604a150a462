"""Match debugging: the query beside a retrieved image, matches by fate, error filter, links.

Lines are green for PnP inliers, red for outliers, grey for 2D-2D matches without a 3D point.
Query keypoints are coloured by reprojection error. Clicking (or hovering) a match selects
it in the ``AppState``; the 3D view and the point panel follow from the selection.
"""

from __future__ import annotations

import functools

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtGui, QtWidgets

from locgui.core.results import LocalizationResult
from locgui.model.linking import MatchTable, match_table
from locgui.model.match_filter import MatchFilter, describe, fates
from locgui.model.selection import Selection
from locgui.qt import style
from locgui.qt.controller import Workbench
from locgui.qt.image_view import ImageCanvas, pixel_readout
from locgui.qt.match_side import ErrorHistogram, Shortlist
from locgui.qt.overlays import SceneCoordinateOverlay

GAP = 12.0  # canvas units between the query and the database image
LINE_BUDGETS = (0, 2000, 500, 200, 100)
"""Choices of the most lines drawn (0: all)."""
COLOUR_ERROR_PX = 12.0
"""Keypoints are coloured by error up to this many pixels when the range has no upper end."""


class MatchView(QtWidgets.QWidget):
    """Query | database image with matches, filters, the shortlist and the error histogram."""

    def __init__(self, bench: Workbench, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.bench = bench
        self.state = bench.state
        self.query_rgb: np.ndarray | None = None
        self.db_rgb: np.ndarray | None = None
        self.db_image_id: int | None = None
        self.table = MatchTable.empty()
        self.visible = MatchTable.empty()
        self._loaded_query: str | None = None
        self.side_by_side = False  # True: never stack the images (the large window)
        self._popped: list[QtWidgets.QMainWindow] = []  # large windows opened from this view
        self._build_ui()
        self._hover = QtCore.QTimer(self, singleShot=True, interval=40)
        self._hover.timeout.connect(self._apply_hover)
        self._hover_xy: tuple[float, float] | None = None
        self.state.selection.changed.connect(self._on_selection)
        # Several model changes in one pass (a result, then the method it focuses) redraw once.
        self._refresh_timer = QtCore.QTimer(self, singleShot=True, interval=0)
        self._refresh_timer.timeout.connect(self.refresh)
        self.state.results_changed.connect(self._on_results)
        self.state.partial_changed.connect(lambda q, m, k: self._on_results(q, m))
        self.state.scene_changed.connect(self._on_scene)

    # ------------------------------------------------------------------ layout
    def _build_ui(self) -> None:
        self.canvas = ImageCanvas(self)
        self.db_item = pg.ImageItem(axisOrder="row-major")
        self.canvas.view.addItem(self.db_item)
        self.lines = {
            k: pg.PlotCurveItem(
                connect="pairs", pen=pg.mkPen(QtGui.QColor(c), width=1.0), antialias=True
            )
            for k, c in (
                ("no3d", style.NO_3D),
                ("outlier", style.OUTLIER),
                ("inlier", style.INLIER),
            )
        }
        for item in self.lines.values():
            item.setOpacity(0.55)  # the images stay readable under hundreds of lines
            self.canvas.view.addItem(item)
        self.labels = [
            pg.TextItem(anchor=(0, 0), color="#e8eaed", fill=pg.mkBrush(0, 0, 0, 150))
            for _ in range(2)
        ]
        for label in self.labels:
            self.canvas.view.addItem(label)
        # One scatter item per error colour: a single item with a brush per point spends
        # ~25 ms per 5000 points building brushes on every filter change.
        self.keypoint_bins = [pg.ScatterPlotItem(size=5, pen=None, brush=b)
                              for b in style.error_bin_brushes()]  # fmt: skip
        for item in self.keypoint_bins:
            self.canvas.view.addItem(item)
        self.sel_line = pg.PlotCurveItem(pen=pg.mkPen(style.SELECTION, width=3))
        self.sel_marks = pg.ScatterPlotItem(
            size=16, pen=pg.mkPen(style.SELECTION, width=2), brush=None
        )
        self.canvas.view.addItem(self.sel_line)
        self.canvas.view.addItem(self.sel_marks)
        self.canvas.hovered.connect(self._on_hover)
        self.canvas.clicked.connect(self._on_click)

        self.title = style.styled_label("Localize a query to see its matches", role="heading")
        self.min_err = self._error_box("Hide matches with a smaller reprojection error (px)")
        self.max_err = self._error_box(
            "Hide matches with a larger reprojection error (px); 'any': no limit. Matches "
            "without an error (no 3D point) always show when their box is ticked."
        )
        self.max_err.setSpecialValueText("any")
        self.max_err.setValue(float(self.state.settings["max_reproj_error"]))
        self.min_err.valueChanged.connect(lambda _: self._on_error_range())
        self.max_err.valueChanged.connect(lambda _: self._on_error_range())
        self.budget = QtWidgets.QComboBox()
        for n in LINE_BUDGETS:
            self.budget.addItem("all lines" if n == 0 else f"≤ {n} lines", n)
        self.budget.setToolTip("Draw at most this many lines, evenly subsampled")
        self.budget.setMaximumWidth(104)
        self.budget.currentIndexChanged.connect(lambda _: self._apply_filter())
        self.fate_boxes: dict[str, QtWidgets.QCheckBox] = {}
        style.shrinkable(self.title)
        controls = QtWidgets.QHBoxLayout()
        for key, text in (("inlier", "inliers"), ("outlier", "outliers"), ("no3d", "no 3D")):
            box = QtWidgets.QCheckBox(text)
            box.setChecked(True)
            box.toggled.connect(lambda _: self._apply_filter())
            controls.addWidget(box)
            self.fate_boxes[key] = box
        self.overlay = SceneCoordinateOverlay(self.canvas.view, self)
        controls.addStretch(1)
        self.pop_button = QtWidgets.QToolButton()
        self.pop_button.setText("⤢")
        self.pop_button.setToolTip("Open the match debugger in a large window (Ctrl+M)")
        self.pop_button.clicked.connect(self.pop_out)
        controls.addWidget(self.pop_button)
        ranges = QtWidgets.QHBoxLayout()  # a second row: a narrow dock keeps the 3D view wide
        ranges.addWidget(QtWidgets.QLabel("error"))
        ranges.addWidget(self.min_err)
        ranges.addWidget(QtWidgets.QLabel("–"))
        ranges.addWidget(self.max_err)
        ranges.addWidget(self.budget)
        ranges.addStretch(1)
        self.readout = style.shrinkable(style.styled_label(role="muted"))
        left = QtWidgets.QWidget()
        ll = QtWidgets.QVBoxLayout(left)
        ll.setContentsMargins(4, 4, 4, 4)
        head = QtWidgets.QHBoxLayout()
        head.addWidget(self.title, 1)
        head.addWidget(self.overlay.combo)
        ll.addLayout(head)
        ll.addLayout(controls)
        ll.addLayout(ranges)
        ll.addWidget(style.shrinkable(self.overlay.legend))
        ll.addWidget(self.canvas, 1)
        ll.addWidget(self.readout)
        self.shortlist = Shortlist()
        self.shortlist.image_chosen.connect(self._on_image_chosen)
        self.histogram = ErrorHistogram()
        right = QtWidgets.QSplitter(QtCore.Qt.Orientation.Vertical)
        right.setMinimumWidth(170)
        right.addWidget(self.shortlist)
        right.addWidget(self.histogram)
        split = QtWidgets.QSplitter(QtCore.Qt.Orientation.Horizontal)
        split.addWidget(left)
        split.addWidget(right)
        split.setStretchFactor(0, 2)
        split.setStretchFactor(1, 1)
        self.split = split
        self._split_moved = False
        split.splitterMoved.connect(lambda *_: setattr(self, "_split_moved", True))
        lay = QtWidgets.QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(split)
        self._on_error_range()

    def _error_box(self, tip: str) -> QtWidgets.QDoubleSpinBox:
        box = QtWidgets.QDoubleSpinBox()
        box.setRange(0.0, 10000.0)
        box.setDecimals(1)
        box.setSingleStep(1.0)
        box.setSuffix(" px")
        box.setToolTip(tip)
        box.setKeyboardTracking(False)
        box.setMaximumWidth(84)  # the dock's minimum width must leave the 3D view its room
        return box

    def match_filter(self) -> MatchFilter:
        hi = self.max_err.value()
        return MatchFilter(
            show=frozenset(k for k, box in self.fate_boxes.items() if box.isChecked()),
            min_error=self.min_err.value(),
            max_error=hi if hi > 0 else float("inf"),
            max_lines=int(self.budget.currentData() or 0),
        )

    def pop_out(self) -> None:
        """The match debugger in its own large window (a second view of the same state)."""
        window = MatchWindow(self.bench, self.window())
        window.show()
        self._popped = [w for w in self._popped if w.isVisible()] + [window]

    # ------------------------------------------------------------------ model -> view
    def _on_scene(self) -> None:
        self.query_rgb, self.db_rgb, self._loaded_query = None, None, None
        self.canvas.set_image(None)
        self.db_item.clear()
        self.refresh()

    def _on_selection(self, new: Selection, old: Selection) -> None:
        if new.query != old.query:
            self._load_query()
        if (new.query, new.method) != (old.query, old.method):
            self._refresh_timer.start()
        elif new.image_id != old.image_id and new.source != "matches":
            self._show_db(new.image_id if self._has_matches_for(new.image_id) else self.db_image_id)
        self._draw_selection()

    def _on_results(self, query: str | None, method: str | None) -> None:
        sel = self.state.selection.current
        if query is None or (query == sel.query and method in (None, sel.method)):
            self._refresh_timer.start()

    def result(self) -> LocalizationResult | None:
        return self.state.result()

    def refresh(self) -> None:
        """Redraw for the focused result (query + method from the selection)."""
        result = self.result()
        sel = self.state.selection.current
        self.overlay.show_result(result)
        if result is None:
            self.title.setText(f"{sel.query or 'No query'}: localize it to see matches")
            self.shortlist.set_result(None, None)
            self.histogram.set_errors(np.zeros(0), np.zeros(0, bool))
            self._set_table(MatchTable.empty())
            return
        status = "" if result.success or result.cam_from_world else "  (running or failed)"
        self.title.setText(
            f"<span style='color:{style.method_color(result.method)}'>&#9632;</span> "
            f"{result.method} on {result.query_name}{status}"
        )
        scene = self.state.scene
        names = {i: im.name for i, im in scene.images.items()} if scene else {}
        self.shortlist.set_result(result, names)
        m3d = result.matches_2d3d
        if m3d is not None and len(m3d):
            self.histogram.set_errors(m3d.reproj_error, m3d.inliers)
        else:
            self.histogram.set_errors(np.zeros(0), np.zeros(0, bool))
        target = sel.image_id if self._has_matches_for(sel.image_id) else self.shortlist.first_id()
        self._show_db(target)
        if target is not None and target != sel.image_id:
            self.state.select_image(target, source="matches")

    def _has_matches_for(self, image_id: int | None) -> bool:
        result = self.result()
        if result is None or image_id is None:
            return False
        if any(m.image_id == image_id for m in result.matches_2d2d):
            return True
        m3d = result.matches_2d3d
        return m3d is not None and bool(np.any(m3d.source_image_ids == image_id))

    def _load_query(self) -> None:
        query = self.state.current_query
        self.query_rgb = None
        if query is None:
            return
        self._loaded_query = query.name
        if query.pixels is not None:
            self._on_query_loaded(query.name, (query.pixels, None))
        elif query.path is not None:
            self.bench.load_image(
                query.path,
                "image:query",
                functools.partial(self._on_query_loaded, query.name),
            )

    def _on_query_loaded(self, name: str, loaded: tuple[np.ndarray, object]) -> None:
        if name != self._loaded_query:
            return
        self.query_rgb = loaded[0]
        self.canvas.set_image(self.query_rgb, autorange=False)
        self._place_db()
        self.canvas.view.autoRange(padding=0.01)

    def _show_db(self, image_id: int | None) -> None:
        self.db_image_id = image_id
        self.shortlist.mark(image_id)
        result, scene = self.result(), self.state.scene
        self._set_table(
            match_table(result, image_id, scene) if result is not None else MatchTable.empty()
        )
        self.db_rgb = None
        self.db_item.clear()
        self._place_labels()
        if image_id is not None and scene is not None and scene.image_dir is not None:
            self.bench.load_image(
                scene.image_path(image_id),
                "image:match-db",
                functools.partial(self._on_db_loaded, image_id),
            )

    def _on_db_loaded(self, image_id: int, loaded: tuple[np.ndarray, object]) -> None:
        if image_id != self.db_image_id:
            return
        self.db_rgb = loaded[0]
        self.db_item.setImage(self.db_rgb, autoLevels=False, levels=(0, 255))
        self._place_db()
        self._apply_filter()
        self.canvas.view.autoRange(padding=0.01)

    def _place_db(self) -> None:
        if self.db_rgb is not None:
            h, w = self.db_rgb.shape[:2]
            dx, dy = self.db_offset()
            self.db_item.setRect(QtCore.QRectF(dx, dy, w, h))
        self._place_labels()

    def _place_labels(self) -> None:
        scene, query = self.state.scene, self.state.current_query
        dx, dy = self.db_offset()
        db_name = ""
        if scene is not None and self.db_image_id in scene.images:
            db_name = scene.images[self.db_image_id].name
        self.labels[0].setText(
            f"query · {query.name}" if query and self.query_rgb is not None else ""
        )
        self.labels[0].setPos(0, 0)
        self.labels[1].setText(f"database · {db_name}" if self.db_rgb is not None else "")
        # At the database image's bottom-left: never on the query's label, beside or below.
        h = self.db_rgb.shape[0] if self.db_rgb is not None else 0
        self.labels[1].setAnchor((0, 1))
        self.labels[1].setPos(dx, dy + h)

    def db_offset(self) -> np.ndarray:
        """(2,) canvas offset of the database image: beside the query, or below it when the
        canvas is tall enough that stacking shows both images larger (never in the large
        window, ``side_by_side``)."""
        if self.query_rgb is None:
            return np.array([GAP, 0.0])
        h, w = self.query_rgb.shape[:2]
        if self.side_by_side:
            return np.array([w + GAP, 0.0])
        cw, ch = max(self.canvas.width(), 1), max(self.canvas.height(), 1)
        side = min(cw / (2 * w + GAP), ch / h)
        stacked = min(cw / w, ch / (2 * h + GAP))
        return np.array([0.0, h + GAP]) if stacked > side else np.array([w + GAP, 0.0])

    def resizeEvent(self, event: QtGui.QResizeEvent) -> None:  # noqa: N802
        super().resizeEvent(event)
        if not self._split_moved:  # keep 58:42 until the user drags the handle
            total = max(self.split.width(), 300)
            self.split.setSizes([int(total * 0.58), int(total * 0.42)])
        shift = tuple(self.db_offset())
        if shift != getattr(self, "_last_shift", None):
            self._last_shift = shift
            self._place_db()
            self._apply_filter()
            self.canvas.view.autoRange(padding=0.01)

    # ------------------------------------------------------------------ drawing
    def _set_table(self, table: MatchTable) -> None:
        self.table = table
        self._apply_filter()

    def _on_error_range(self) -> None:
        self.state.settings.set("max_reproj_error", float(self.max_err.value()))
        f = self.match_filter()
        self.histogram.set_range(f.min_error, f.max_error)
        self._apply_filter()

    def _apply_filter(self) -> None:
        t = self.table
        f = self.match_filter()
        keep, hidden = f.apply(t)
        self.visible = t.subset(keep)
        v = self.visible
        vcats = fates(v)
        off = self.db_offset()
        for key, item in self.lines.items():
            m = vcats[key] & np.isfinite(v.db_xy[:, 0])
            xs = np.stack([v.query_xy[m, 0], v.db_xy[m, 0] + off[0]], axis=1).ravel()
            ys = np.stack([v.query_xy[m, 1], v.db_xy[m, 1] + off[1]], axis=1).ravel()
            item.setData(xs, ys)
        colour_limit = f.max_error if np.isfinite(f.max_error) else COLOUR_ERROR_PX
        bins = style.error_bins(v.error, colour_limit)
        for k, item in enumerate(self.keypoint_bins):
            item.setData(pos=v.query_xy[bins == k])
        self.footer = describe(t, keep, hidden)
        self.readout.setText(self.footer + " · click a match to find its 3D point")
        self._draw_selection()

    def _draw_selection(self) -> None:
        sel = self.state.selection.current
        rows: np.ndarray | list[int] = (
            np.flatnonzero(self.table.m3d_index == sel.match_index)
            if sel.match_index is not None
            else []
        )
        if len(rows) == 0:
            self.sel_line.setData([], [])
            self.sel_marks.setData(pos=np.zeros((0, 2)))
            return
        r = int(rows[0])
        q, d = self.table.query_xy[r], self.table.db_xy[r] + self.db_offset()
        pts = np.array([q, d]) if np.isfinite(d[0]) else q.reshape(1, 2)
        self.sel_line.setData(pts[:, 0], pts[:, 1])
        self.sel_marks.setData(pos=pts)

    # ------------------------------------------------------------------ interaction
    def nearest_match(self, x: float, y: float, radius_px: float = 8.0) -> int | None:
        """Row of ``visible`` whose query or database end is nearest to canvas (x, y)."""
        v = self.visible
        if len(v) == 0:
            return None
        px = max(self.canvas.view.viewPixelSize())
        ends = np.concatenate([v.query_xy, v.db_xy + self.db_offset()])
        d = np.linalg.norm(ends - [x, y], axis=1)
        d = np.where(np.isfinite(d), d, np.inf)
        k = int(np.argmin(d))
        return k % len(v) if d[k] <= radius_px * px else None

    def _on_click(self, x: float, y: float) -> None:
        row = self.nearest_match(x, y)
        if row is not None and self.visible.m3d_index[row] >= 0:
            self.state.select_match(int(self.visible.m3d_index[row]), source="matches")

    def _on_hover(self, x: float, y: float) -> None:
        self._update_readout(x, y)
        if self.state.settings["link_on_hover"] and np.isfinite(x):
            self._hover_xy = (x, y)
            if not self._hover.isActive():
                self._hover.start()

    def _apply_hover(self) -> None:
        if self._hover_xy is None:
            return
        row = self.nearest_match(*self._hover_xy, radius_px=5.0)
        if row is not None and self.visible.m3d_index[row] >= 0:
            index = int(self.visible.m3d_index[row])
            if index != self.state.selection.current.match_index:
                self.state.select_match(index, source="matches")

    def _update_readout(self, x: float, y: float) -> None:
        row = self.nearest_match(x, y) if np.isfinite(x) else None
        if row is not None:
            v = self.visible
            fate = (
                "inlier"
                if v.inlier[row]
                else ("outlier" if v.m3d_index[row] >= 0 else "no 3D point")
            )
            err = f"{v.error[row]:.2f} px" if np.isfinite(v.error[row]) else "—"
            match, point = int(v.m3d_index[row]), int(v.point3D_id[row])
            self.readout.setText(f"match {match} · point {point} · {fate} · error {err}")
            return
        dx, dy = self.db_offset()
        if np.isfinite(x) and x >= dx and y >= dy and self.db_rgb is not None:
            self.readout.setText("database  " + pixel_readout(x - dx, y - dy, self.db_rgb))
        else:
            dense = self.overlay.value_at(x, y)
            text = "query  " + pixel_readout(x, y, self.query_rgb)
            self.readout.setText(f"{text} · {dense}" if dense else text)

    def _on_image_chosen(self, image_id: object) -> None:
        image = image_id if isinstance(image_id, int) else None
        self._show_db(image)
        if image is not None:
            self.state.select_image(image, source="matches")


class MatchWindow(QtWidgets.QMainWindow):
    """The match debugger in a window of its own, sized to most of the screen: the query and
    the database image side by side, the shortlist and histogram beside them. It follows the
    same selection as the docked view."""

    def __init__(self, bench: Workbench, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Match debugger")
        self.view = MatchView(bench, self)
        self.view.pop_button.hide()
        self.view.side_by_side = True
        self.view._split_moved = True  # the images get most of the width
        self.view.split.setSizes([780, 220])
        self.setCentralWidget(self.view)
        self.setAttribute(QtCore.Qt.WidgetAttribute.WA_DeleteOnClose)
        QtGui.QShortcut(QtGui.QKeySequence("Esc"), self, self.close)
        screen = parent.screen() if parent is not None else QtGui.QGuiApplication.primaryScreen()
        area = screen.availableGeometry() if screen is not None else QtCore.QRect(0, 0, 1280, 800)
        self.resize(int(area.width() * 0.9), int(area.height() * 0.85))
        self.view._on_selection(self.view.state.selection.current, Selection())  # catch up
