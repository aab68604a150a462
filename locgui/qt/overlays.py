"""Overlays on the query image for dense per-pixel outputs (scene coordinate regression).

``SceneCoordinates`` -> the predicted coordinates as colours (x, y, z -> red, green, blue
over their 2-98% ranges), a heatmap of the predicted confidence, or of the error of the
predicted coordinates against ground truth (map units) where the result carries it; a legend
states the ranges.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtWidgets

from locgui.core.results import LocalizationResult, SceneCoordinates
from locgui.qt import style

MODES = ("none", "coordinates", "confidence", "coordinate error")
AXIS_COLOURS = ("#ff4040", "#40ff40", "#4080ff")  # legend swatches of x, y, z


def grid_rect(xy: np.ndarray) -> QtCore.QRectF:
    """The pixel rectangle covered by a regular (H', W', 2) grid of prediction centres."""
    h, w = xy.shape[:2]
    sx = float(xy[0, 1, 0] - xy[0, 0, 0]) if w > 1 else 1.0
    sy = float(xy[1, 0, 1] - xy[0, 0, 1]) if h > 1 else 1.0
    x0, y0 = float(xy[0, 0, 0]) - sx / 2, float(xy[0, 0, 1]) - sy / 2
    return QtCore.QRectF(x0, y0, w * sx, h * sy)


def robust_range(values: np.ndarray) -> tuple[float, float]:
    """2nd and 98th percentiles of the finite values (a non-empty interval)."""
    finite = values[np.isfinite(values)]
    lo, hi = (float(v) for v in np.percentile(finite, [2, 98])) if len(finite) else (0.0, 1.0)
    return lo, max(hi, lo + 1e-9)


def coordinate_colours(xyz: np.ndarray) -> tuple[np.ndarray, list[tuple[float, float]]]:
    """(H', W', 3) uint8 RGB of predicted coordinates, each axis scaled over its robust range,
    and the three (low, high) ranges."""
    xyz = np.asarray(xyz, float)
    ranges = [robust_range(xyz[..., k]) for k in range(3)]
    lo = np.array([r[0] for r in ranges])
    span = np.array([r[1] - r[0] for r in ranges])
    rgb = np.clip((np.nan_to_num(xyz) - lo) / span, 0.0, 1.0)
    return (255 * rgb).round().astype(np.uint8), ranges


def overlay_values(sc: SceneCoordinates, mode: str) -> np.ndarray | None:
    """Values to draw: (H', W', 3) predicted coordinates, (H', W') confidence, or
    ||xyz - gt_xyz|| (NaN where unknown)."""
    if mode == "coordinates":
        return np.asarray(sc.xyz, float)
    if mode == "confidence":
        return np.asarray(sc.confidence, float)
    if mode == "coordinate error" and sc.gt_xyz is not None:
        return np.linalg.norm(np.asarray(sc.xyz, float) - np.asarray(sc.gt_xyz, float), axis=-1)
    return None


class SceneCoordinateOverlay(QtCore.QObject):
    """A translucent heatmap over the query, chosen in a combo box next to the match filters."""

    def __init__(self, view: pg.ViewBox, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.item = pg.ImageItem(axisOrder="row-major")
        self.item.setOpacity(0.6)
        self.item.setZValue(5)
        self.lut = pg.colormap.get("viridis").getLookupTable(nPts=256)
        self.item.setLookupTable(self.lut)
        view.addItem(self.item)
        self.combo = QtWidgets.QComboBox()
        self.combo.addItems(list(MODES))
        self.combo.setSizeAdjustPolicy(
            QtWidgets.QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        self.combo.setMinimumContentsLength(6)
        self.combo.setToolTip("Overlay of dense predictions (scene coordinate regression)")
        self.combo.currentTextChanged.connect(lambda _: self._draw())
        self.legend = style.styled_label(role="muted")
        self.legend.setTextFormat(QtCore.Qt.TextFormat.RichText)
        self.sc: SceneCoordinates | None = None
        self.values: np.ndarray | None = None
        self.show_result(None)

    def show_result(self, result: LocalizationResult | None) -> None:
        self.sc = result.scene_coordinates if result is not None else None
        self.combo.setEnabled(self.sc is not None)
        if self.sc is not None and self.combo.currentText() == "none":
            self.combo.setCurrentText("confidence")
        self._draw()

    def _draw(self) -> None:
        mode, sc = self.combo.currentText(), self.sc
        self.values = overlay_values(sc, mode) if sc is not None else None
        if sc is None or self.values is None:
            self.item.clear()
            self.item.setVisible(False)
            self.legend.setText("")
            return
        if self.values.ndim == 3:  # coordinates as colours
            rgb, ranges = coordinate_colours(self.values)
            self.item.setLookupTable(None)
            self.item.setImage(rgb, levels=(0, 255))
            self.legend.setText(
                " ".join(
                    f"<span style='color:{c}'>■</span> {a} {lo:.2f}…{hi:.2f}"
                    for c, a, (lo, hi) in zip(AXIS_COLOURS, "xyz", ranges, strict=True)
                )
            )
        else:
            lo, hi = robust_range(self.values)
            self.item.setLookupTable(self.lut)
            self.item.setImage(np.nan_to_num(self.values, nan=lo), levels=(lo, hi))
            what = "confidence" if mode == "confidence" else "error (map units)"
            self.legend.setText(f"{what} {lo:.3g}…{hi:.3g} (dark → bright)")
        self.item.setRect(grid_rect(np.asarray(sc.xy)))
        self.item.setVisible(True)

    def value_at(self, x: float, y: float) -> str:
        """Readout of the predictions at pixel (x, y): coordinates, confidence, error."""
        sc = self.sc
        if sc is None or not np.isfinite(x):
            return ""
        rect = grid_rect(np.asarray(sc.xy))
        h, w = np.asarray(sc.confidence).shape
        col = int((x - rect.x()) / rect.width() * w)
        row = int((y - rect.y()) / rect.height() * h)
        if not (0 <= row < h and 0 <= col < w):
            return ""
        p = np.asarray(sc.xyz, float)[row, col]
        text = f"predicted ({p[0]:.3f}, {p[1]:.3f}, {p[2]:.3f}) conf {sc.confidence[row, col]:.3g}"
        if sc.gt_xyz is not None:
            err = float(np.linalg.norm(p - np.asarray(sc.gt_xyz, float)[row, col]))
            text += f" · error {err:.3f}" if np.isfinite(err) else ""
        return text
