"""Colours and the application look (one dark theme, consistent across the views)."""

from __future__ import annotations

import numpy as np
from PySide6 import QtGui, QtWidgets

RGBA = tuple[float, float, float, float]

DB_CAMERA = "#7d8fa3"
GROUND_TRUTH = "#3ddc84"
SELECTION = "#ffe14d"
OBSERVATION = "#4dd0ff"
INLIER = "#3ddc84"
OUTLIER = "#ff5c5c"
NO_3D = "#8a8f98"
SELECTED_IMAGE = "#ffffff"

METHOD_PALETTE = (
    "#ff9f1c",  # orange
    "#e84393",  # pink
    "#00b4d8",  # cyan
    "#b388ff",  # violet
    "#ffd166",  # sand
    "#ef476f",  # red
    "#06d6a0",  # teal
    "#8ecae6",  # light blue
)

_method_order: list[str] = []


def method_color(name: str) -> str:
    """A stable colour per method: registry order first, then first come first served."""
    if not _method_order:
        try:
            from locgui.methods.registry import all_methods

            _method_order.extend(s.name for s in all_methods())
        except Exception:  # noqa: BLE001  (colours must never fail)
            pass
    if name not in _method_order:
        _method_order.append(name)
    return METHOD_PALETTE[_method_order.index(name) % len(METHOD_PALETTE)]


def rgba(color: str, alpha: float = 1.0) -> RGBA:
    """'#rrggbb' -> (r, g, b, a) floats in [0, 1]."""
    c = QtGui.QColor(color)
    return (c.redF(), c.greenF(), c.blueF(), float(alpha))


def error_colormap(errors: np.ndarray, max_error: float) -> np.ndarray:
    """(N,) reprojection errors in pixels -> (N, 4) uint8 RGBA: green (0) -> yellow -> red.

    NaN (unknown) is grey.
    """
    t = np.clip(np.nan_to_num(errors, nan=0.0) / max(max_error, 1e-9), 0, 1)
    stops = np.array([[61, 220, 132], [255, 209, 102], [255, 92, 92]], float)
    seg = np.minimum((t * 2).astype(int), 1)
    local = t * 2 - seg
    rgb = stops[seg] * (1 - local[:, None]) + stops[seg + 1] * local[:, None]
    out = np.full((len(t), 4), 255, np.uint8)
    out[:, :3] = rgb.astype(np.uint8)
    out[np.isnan(errors), :3] = (138, 143, 152)
    return out


ERROR_BINS = 16
_brush_cache: list = []


def error_brushes(errors: np.ndarray, max_error: float) -> list:
    """One shared QBrush per error bin (pyqtgraph renders one symbol per distinct brush)."""
    import pyqtgraph as pg

    if not _brush_cache:
        centres = (np.arange(ERROR_BINS) + 0.5) / ERROR_BINS
        colors = error_colormap(np.append(centres, np.nan), 1.0)
        _brush_cache.extend(pg.mkBrush(*c) for c in colors)
    t = np.nan_to_num(np.asarray(errors, float) / max(max_error, 1e-9), nan=-1.0)
    idx = np.where(t < 0, ERROR_BINS, np.clip((t * ERROR_BINS).astype(int), 0, ERROR_BINS - 1))
    return [_brush_cache[i] for i in idx]


STYLESHEET = """
QMainWindow, QDockWidget, QWidget { background: #1e2227; color: #d7dae0; }
QDockWidget::title { background: #262b31; padding: 4px 8px; font-weight: 600; }
QToolBar { background: #262b31; border: none; spacing: 4px; padding: 2px; }
QPushButton, QToolButton { background: #2f353d; border: 1px solid #3b424b; border-radius: 4px;
    padding: 4px 10px; }
QPushButton:hover, QToolButton:hover { background: #39414a; }
QPushButton:disabled { color: #6b717a; }
QPushButton#primary { background: #2e6fdb; border-color: #2e6fdb; color: white; font-weight: 600; }
QPushButton#primary:hover { background: #3b7cf0; }
QToolButton:checked { background: #2e6fdb; border-color: #2e6fdb; color: white; }
QListWidget, QTableWidget, QTreeWidget, QPlainTextEdit, QTextEdit {
    background: #181b1f; border: 1px solid #30363d; alternate-background-color: #1c2024; }
QHeaderView::section { background: #262b31; color: #aab0b8; border: none; padding: 4px; }
QTableWidget { gridline-color: #2a2f35; }
QItemView::item:selected, QListWidget::item:selected, QTableWidget::item:selected {
    background: #2e4a73; color: white; }
QLineEdit, QSpinBox, QDoubleSpinBox, QComboBox { background: #181b1f; border: 1px solid #3b424b;
    border-radius: 3px; padding: 2px 4px; }
QProgressBar { background: #181b1f; border: 1px solid #3b424b; border-radius: 3px;
    text-align: center; height: 14px; }
QProgressBar::chunk { background: #2e6fdb; }
QStatusBar { background: #262b31; }
QLabel#muted { color: #8a9099; }
QLabel#heading { font-weight: 600; color: #e8eaed; }
QScrollArea { border: none; }
QSplitter::handle { background: #2a2f35; }
QMenu { background: #262b31; border: 1px solid #3b424b; }
QMenu::item:selected { background: #2e4a73; }
QMenuBar { background: #262b31; }
QMenuBar::item:selected { background: #2e4a73; }
"""


def apply_theme(app: QtWidgets.QApplication) -> None:
    app.setStyle("Fusion")
    app.setStyleSheet(STYLESHEET)


def swatch_html(color: str, text: str) -> str:
    return f'<span style="color:{color}; font-size:14px">&#9632;</span>&nbsp;{text}'


def styled_label(text: str = "", *, role: str) -> QtWidgets.QLabel:
    """A label styled by the theme's ``QLabel#<role>`` rule ("muted" or "heading")."""
    widget = QtWidgets.QLabel(text)
    widget.setObjectName(role)
    return widget


def shrinkable(label: QtWidgets.QLabel) -> QtWidgets.QLabel:
    """Let a label be narrower than its text (docks must not force a huge window)."""
    policy = label.sizePolicy()
    policy.setHorizontalPolicy(QtWidgets.QSizePolicy.Policy.Ignored)
    label.setSizePolicy(policy)
    label.setMinimumWidth(20)
    return label
