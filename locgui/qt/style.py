"""Colours and the application look (one dark theme, consistent across the views)."""

from __future__ import annotations

import numpy as np
from PySide6 import QtCore, QtGui, QtWidgets

from locgui import resources
from locgui.model.colours import MEANINGS, METHOD_PALETTE

RGBA = tuple[float, float, float, float]

# The 3D view's meanings (one colour each: locgui.model.colours).
DB_CAMERA = MEANINGS["database"]
GROUND_TRUTH = MEANINGS["ground_truth"]
SELECTION = MEANINGS["selection"]
OBSERVATION = MEANINGS["observations"]
SELECTED_IMAGE = MEANINGS["selected_image"]
LIVE = MEANINGS["live"]
# The match view's fates of a match.
INLIER = "#3ddc84"
OUTLIER = "#ff5c5c"
NO_3D = "#8a8f98"

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
    return [_brush_cache[i] for i in error_bins(errors, max_error)]


def error_bins(errors: np.ndarray, max_error: float) -> np.ndarray:
    """(N,) colour bin of each error: 0..ERROR_BINS-1 over [0, max_error], ERROR_BINS for an
    unknown (NaN) error."""
    t = np.nan_to_num(np.asarray(errors, float) / max(max_error, 1e-9), nan=-1.0)
    return np.where(t < 0, ERROR_BINS, np.clip((t * ERROR_BINS).astype(int), 0, ERROR_BINS - 1))


def error_bin_brushes() -> list:
    """The brush of each bin of ``error_bins`` (ERROR_BINS + 1 of them)."""
    error_brushes(np.zeros(0), 1.0)  # fills the cache
    return list(_brush_cache)


def apply_theme(app: QtWidgets.QApplication) -> None:
    """Fusion with the style sheet ``resources/style.qss`` (its images resolved)."""
    app.setStyle("Fusion")
    app.setStyleSheet(resources.stylesheet())


def app_icon() -> QtGui.QIcon:
    """The application icon, one pixmap per rendered size (``resources/icon``)."""
    icon = QtGui.QIcon()
    for path in resources.icon_files():
        icon.addFile(str(path))
    return icon


def swatch_html(color: str, text: str, glyph: str = "&#9632;") -> str:
    """A legend entry: ``glyph`` (default a square) in ``color``, then ``text``."""
    return f'<span style="color:{color}; font-size:14px">{glyph}</span>&nbsp;{text}'


def ramp_html(colors: list[str], text: str) -> str:
    """A legend entry for a colour ramp: one small square per colour, then ``text``."""
    cells = "".join(f'<span style="color:{c}; font-size:14px">&#9632;</span>' for c in colors)
    return f"{cells}&nbsp;{text}"


def styled_label(text: str = "", *, role: str) -> QtWidgets.QLabel:
    """A label styled by the theme's ``QLabel#<role>`` rule ("muted" or "heading")."""
    widget = QtWidgets.QLabel(text)
    widget.setObjectName(role)
    return widget


def shrinkable(label: QtWidgets.QLabel) -> QtWidgets.QLabel:
    """Let a label be narrower than its text (docks must not force a huge window): a plain
    text that does not fit is drawn elided ("…"), and the whole text is the tooltip while it
    is cut (unless the label has a tooltip of its own)."""
    policy = label.sizePolicy()
    policy.setHorizontalPolicy(QtWidgets.QSizePolicy.Policy.Ignored)
    label.setSizePolicy(policy)
    label.setMinimumWidth(20)
    label.installEventFilter(_ELIDER)
    return label


class _Elider(QtCore.QObject):
    """Paints shrinkable plain-text labels elided and keeps their tooltips up to date."""

    def eventFilter(self, obj: QtCore.QObject, event: QtCore.QEvent) -> bool:  # noqa: N802
        if event.type() != QtCore.QEvent.Type.Paint or not isinstance(obj, QtWidgets.QLabel):
            return False
        text = obj.text()
        rect = obj.contentsRect()
        metrics = obj.fontMetrics()
        rich = obj.textFormat() == QtCore.Qt.TextFormat.RichText or (
            obj.textFormat() == QtCore.Qt.TextFormat.AutoText and "<" in text and ">" in text
        )
        plain_width = metrics.horizontalAdvance(QtGui.QTextDocumentFragment.fromHtml(text)
                                                .toPlainText() if rich else text)  # fmt: skip
        cut = bool(text) and not obj.wordWrap() and plain_width > rect.width()
        own = obj.property("locgui_own_tooltip")
        if own is None:
            own = bool(obj.toolTip()) and obj.toolTip() != obj.property("locgui_auto_tooltip")
            obj.setProperty("locgui_own_tooltip", own)
        if not own:
            tip = text if cut else ""
            if obj.toolTip() != tip:
                obj.setToolTip(tip)
                obj.setProperty("locgui_auto_tooltip", tip)
        if not cut or rich:
            return False
        painter = QtGui.QPainter(obj)
        painter.setPen(obj.palette().color(obj.foregroundRole()))
        painter.setFont(obj.font())
        elided = metrics.elidedText(text, QtCore.Qt.TextElideMode.ElideRight, rect.width())
        painter.drawText(rect, int(obj.alignment()), elided)
        painter.end()
        return True


_ELIDER = _Elider()
