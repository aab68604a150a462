"""Overlays on the query image for dense per-pixel outputs (scene coordinate regression).

``SceneCoordinates`` -> a heatmap of the predicted confidence, or of the error of the
predicted coordinates against ground truth (map units) where the result carries it.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtWidgets

from locgui.core.results import LocalizationResult, SceneCoordinates

MODES = ("none", "confidence", "coordinate error")


def grid_rect(xy: np.ndarray) -> QtCore.QRectF:
    """The pixel rectangle covered by a regular (H', W', 2) grid of prediction centres."""
    h, w = xy.shape[:2]
    sx = float(xy[0, 1, 0] - xy[0, 0, 0]) if w > 1 else 1.0
    sy = float(xy[1, 0, 1] - xy[0, 0, 1]) if h > 1 else 1.0
    x0, y0 = float(xy[0, 0, 0]) - sx / 2, float(xy[0, 0, 1]) - sy / 2
    return QtCore.QRectF(x0, y0, w * sx, h * sy)


def overlay_values(sc: SceneCoordinates, mode: str) -> np.ndarray | None:
    """(H', W') values to colour: confidence, or ||xyz - gt_xyz|| (NaN where unknown)."""
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
        self.item.setLookupTable(pg.colormap.get("viridis").getLookupTable(nPts=256))
        view.addItem(self.item)
        self.combo = QtWidgets.QComboBox()
        self.combo.addItems(list(MODES))
        self.combo.setSizeAdjustPolicy(
            QtWidgets.QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        self.combo.setMinimumContentsLength(6)
        self.combo.setToolTip("Overlay of dense predictions (scene coordinate regression)")
        self.combo.currentTextChanged.connect(lambda _: self._draw())
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
        mode = self.combo.currentText()
        self.values = overlay_values(self.sc, mode) if self.sc is not None else None
        if self.values is None:
            self.item.clear()
            self.item.setVisible(False)
            return
        finite = self.values[np.isfinite(self.values)]
        lo, hi = np.percentile(finite, [2, 98]) if len(finite) else (0.0, 1.0)
        self.item.setImage(np.nan_to_num(self.values, nan=lo), levels=(lo, max(hi, lo + 1e-9)))
        self.item.setRect(grid_rect(np.asarray(self.sc.xy)))  # type: ignore[union-attr]
        self.item.setVisible(True)
