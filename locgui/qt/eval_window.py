"""The evaluation results window: a folder written by ``locgui eval --sweep --out`` (or any
batch run with ``--out``) shown as its summary table and plots, per map: cumulative
translation and rotation error per method, recall at the standard thresholds and median
latency per stage. File > Open evaluation results (Ctrl+Shift+R), or ``locgui FOLDER``."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtGui, QtWidgets

from locgui.methods.batch.plots import PALETTE, cumulative
from locgui.methods.batch.summary import TABLE_COLUMNS, table_rows
from locgui.model.eval_results import EvalFolder, load_eval_folder
from locgui.qt import style


def _colour(groups: list[dict], k: int) -> str:
    """The method's colour in the workbench when each method shows once, else a palette."""
    methods = [g["method"] for g in groups]
    if len(set(methods)) == len(methods):
        return style.method_color(methods[k])
    return PALETTE[k % len(PALETTE)]


def _pen(groups: list[dict], k: int) -> QtGui.QPen:
    return pg.mkPen(_colour(groups, k), width=2)


class EvalWindow(QtWidgets.QMainWindow):
    """One evaluation folder; Reload (F5) reads it again (a run still writing it)."""

    def __init__(self, folder: EvalFolder, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.folder = folder
        self.setWindowTitle(f"Evaluation — {folder.path.name}")
        self.resize(1100, 760)
        central = QtWidgets.QWidget()
        layout = QtWidgets.QVBoxLayout(central)
        top = QtWidgets.QHBoxLayout()
        self.info = QtWidgets.QLabel()
        self.info.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
        self.map_box = QtWidgets.QComboBox()
        self.map_box.setToolTip("the map whose plots are shown")
        self.map_box.currentTextChanged.connect(self._draw_plots)
        reload_button = QtWidgets.QPushButton("Reload")
        reload_button.setToolTip("read the folder again (F5)")
        reload_button.clicked.connect(self.reload)
        QtGui.QShortcut(QtGui.QKeySequence("F5"), self, self.reload)
        top.addWidget(self.info, 1)
        top.addWidget(QtWidgets.QLabel("map:"))
        top.addWidget(self.map_box)
        top.addWidget(reload_button)
        export_button = QtWidgets.QPushButton("Export…")
        export_button.setToolTip("copy the table (CSV, Markdown) and the plots (SVG, PNG) to a "
                                 "folder")  # fmt: skip
        export_button.clicked.connect(self.export_dialog)
        top.addWidget(export_button)
        layout.addLayout(top)
        split = QtWidgets.QSplitter(QtCore.Qt.Orientation.Vertical)
        self.table = QtWidgets.QTableWidget()
        self.table.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSortingEnabled(True)
        self.table.verticalHeader().hide()
        split.addWidget(self.table)
        self.tabs = QtWidgets.QTabWidget()
        self.plots: dict[str, pg.PlotWidget] = {}
        for key, title in (("error_t", "Translation error"), ("error_r", "Rotation error"),
                           ("recall", "Recall"), ("latency", "Latency per stage")):  # fmt: skip
            plot = pg.PlotWidget(background="w")
            plot.showGrid(x=True, y=True, alpha=0.3)
            plot.addLegend(offset=(-10, 10), labelTextColor="k", brush=(255, 255, 255, 220))
            self.plots[key] = plot
            self.tabs.addTab(plot, title)
        split.addWidget(self.tabs)
        split.setSizes([260, 480])
        layout.addWidget(split, 1)
        self.setCentralWidget(central)
        self._fill()

    def reload(self) -> None:
        try:
            self.folder = load_eval_folder(self.folder.path)
        except Exception as exc:  # noqa: BLE001  (shown, the window keeps what it had)
            QtWidgets.QMessageBox.warning(self, "Evaluation", str(exc))
            return
        self._fill()

    def export_dialog(self) -> None:
        path = QtWidgets.QFileDialog.getExistingDirectory(self, "Export the table and plots to")
        if path:
            written = self.export(Path(path))
            QtWidgets.QMessageBox.information(self, "Export", f"wrote {len(written)} files "
                                              f"to {path}")  # fmt: skip

    def export(self, folder: Path) -> list[Path]:
        """summary.csv/.md, the SVG plots of every map, and a PNG of each plot shown."""
        import shutil

        folder.mkdir(parents=True, exist_ok=True)
        src = self.folder.path
        written = []
        for name in ("summary.csv", "summary.md"):
            if (src / name).is_file():
                written.append(Path(shutil.copy2(src / name, folder / name)))
        for svg in sorted((src / "plots").glob("*.svg")):
            written.append(Path(shutil.copy2(svg, folder / svg.name)))
        label = self.map_box.currentText() or "map"
        for key, plot in self.plots.items():
            out = folder / f"{label}_{key}.png"
            if plot.grab().save(str(out)):
                written.append(out)
        return written

    # ------------------------------------------------------------------ filling
    def _fill(self) -> None:
        f, run = self.folder, self.folder.run
        n_rows = len(f.rows)
        planned = sum(s.get("planned", 0) for s in f.summaries)
        speed = (f"{run['items_per_s']:.2f} items/s on {run.get('executor')} "
                 f"({run.get('workers')} worker(s))" if run.get("items_per_s") else "")  # fmt: skip
        self.info.setText(f"{f.path}  ·  {n_rows}/{planned} queries stored  ·  {speed}")
        self.info.setToolTip(str(f.path))
        rows = table_rows(f.summaries)
        cols = [c for c in TABLE_COLUMNS if any(r[c] for r in rows)]
        self.table.setSortingEnabled(False)
        self.table.clear()
        self.table.setColumnCount(len(cols))
        self.table.setRowCount(len(rows))
        self.table.setHorizontalHeaderLabels(cols)
        for i, row in enumerate(rows):
            for j, c in enumerate(cols):
                item = QtWidgets.QTableWidgetItem(row[c])
                item.setToolTip(row[c])
                self.table.setItem(i, j, item)
        self.table.resizeColumnsToContents()
        self.table.setSortingEnabled(True)
        current = self.map_box.currentText()
        self.map_box.blockSignals(True)
        self.map_box.clear()
        self.map_box.addItems(list(f.maps))
        if current in f.maps:
            self.map_box.setCurrentText(current)
        self.map_box.blockSignals(False)
        self._draw_plots()

    def _draw_plots(self, *_: object) -> None:
        label = self.map_box.currentText()
        groups = [s for s in self.folder.groups(label) if s.get("queries")]
        for plot in self.plots.values():
            plot.clear()
            plot.getPlotItem().legend.clear()
        t_plot, r_plot = self.plots["error_t"], self.plots["error_r"]
        for plot, unit in ((t_plot, "% of the scene radius"), (r_plot, "degrees")):
            plot.setLogMode(x=True, y=False)
            plot.setLabel("bottom", f"error ({unit})")
            plot.setLabel("left", "fraction of queries")
            plot.setYRange(0, 1.02)
        for k, s in enumerate(groups):
            name = self.folder.label(s)
            for plot, errors in zip((t_plot, r_plot), self.folder.errors(s), strict=True):
                xs, fs = cumulative(list(errors))
                xs = np.maximum(xs, 1e-6)
                if len(xs):
                    plot.plot(np.repeat(xs, 2)[1:], np.repeat(fs, 2)[:-1], pen=_pen(groups, k),
                              name=name)  # fmt: skip
        self._draw_recall(groups)
        self._draw_latency(groups)

    def _draw_recall(self, groups: list[dict]) -> None:
        plot = self.plots["recall"]
        plot.setLogMode(x=False, y=False)
        with_gt = [s for s in groups if s.get("has_ground_truth") and s.get("metric")]
        if not with_gt:
            return
        keys = list(with_gt[0]["metric"]["recall"])
        n = len(with_gt)
        for k, s in enumerate(with_gt):
            xs = np.arange(len(keys)) + (k - (n - 1) / 2) * 0.8 / n
            heights = [100 * s["metric"]["recall"][key] for key in keys]
            bars = pg.BarGraphItem(x=xs, height=heights, width=0.8 / n,
                                   brush=_colour(with_gt, k),
                                   name=self.folder.label(s))  # fmt: skip
            plot.addItem(bars)
        plot.getAxis("bottom").setTicks([list(enumerate(keys))])
        plot.setLabel("left", "recall (%)")
        plot.setLabel("bottom", "threshold")
        plot.setYRange(0, 125)  # room for the legend above the bars

    def _draw_latency(self, groups: list[dict]) -> None:
        plot = self.plots["latency"]
        plot.setLogMode(x=False, y=False)
        stages = sorted({k for s in groups for k in s.get("stage_latency_ms", {})})
        base = np.zeros(len(groups))
        for k, stage in enumerate(stages):
            values = np.array([s.get("stage_latency_ms", {}).get(stage, {}).get("median", 0.0)
                               for s in groups], float)  # fmt: skip
            values = np.where(np.isfinite(values), values, 0.0)
            plot.addItem(pg.BarGraphItem(x=np.arange(len(groups)), y0=base, height=values,
                                         width=0.6, brush=PALETTE[k % len(PALETTE)],
                                         name=stage))  # fmt: skip
            base = base + values
        plot.getAxis("bottom").setTicks([[(i, self.folder.label(s)) for i, s in
                                          enumerate(groups)]])  # fmt: skip
        plot.setLabel("left", "median ms")
        if len(base) and math.isfinite(float(base.max())):
            plot.setYRange(0, float(base.max()) * 1.3 + 1e-9)  # room for the legend


def open_eval_window(parent: QtWidgets.QWidget | None, path: str | Path) -> EvalWindow | None:
    """Show the folder's results window, or a message saying why it cannot be read."""
    try:
        folder = load_eval_folder(path)
    except Exception as exc:  # noqa: BLE001  (a message, not a crash)
        QtWidgets.QMessageBox.warning(parent, "Open evaluation results", str(exc))
        return None
    window = EvalWindow(folder, parent)
    window.setAttribute(QtCore.Qt.WidgetAttribute.WA_DeleteOnClose)
    window.show()
    return window
