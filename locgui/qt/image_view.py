"""Zoomable image canvases with a pixel readout, and the database-image panel.

Item coordinates of an ``ImageItem`` are exactly COLMAP pixel coordinates: pixel (col, row)
covers [col, col + 1] x [row, row + 1], so its centre is (col + 0.5, row + 0.5).
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtWidgets

from locgui.model import linking
from locgui.model.selection import Selection
from locgui.qt import style
from locgui.qt.controller import Workbench

if TYPE_CHECKING:
    from pyqtgraph.GraphicsScene.mouseEvents import MouseClickEvent


class ImageCanvas(pg.GraphicsLayoutWidget):
    """One or more images in a ViewBox (y down, aspect locked), zoom and pan with the mouse.

    Signals:
        hovered(x, y): mouse position in canvas coordinates (NaN when it leaves).
        clicked(x, y): a left click that did not drag.
    """

    hovered = QtCore.Signal(float, float)
    clicked = QtCore.Signal(float, float)

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setBackground("#181b1f")
        self.ci.setContentsMargins(0, 0, 0, 0)
        self.view = self.addViewBox(lockAspect=True, invertY=True, enableMenu=False)
        self.image = pg.ImageItem(axisOrder="row-major")
        self.view.addItem(self.image)
        self.scene().sigMouseMoved.connect(self._on_move)
        self.scene().sigMouseClicked.connect(self._on_click)

    def set_image(self, rgb: np.ndarray | None, autorange: bool = True) -> None:
        if rgb is None:
            self.image.clear()
            return
        self.image.setImage(rgb, autoLevels=False, levels=(0, 255))
        self.image.setRect(QtCore.QRectF(0, 0, rgb.shape[1], rgb.shape[0]))
        if autorange:
            self.view.autoRange(padding=0.01)

    def to_canvas(self, scene_pos: QtCore.QPointF) -> tuple[float, float]:
        p = self.view.mapSceneToView(scene_pos)
        return float(p.x()), float(p.y())

    def from_canvas(self, x: float, y: float) -> QtCore.QPoint:
        """Viewport pixel of a canvas point (for tests and scripts that click)."""
        scene_pt = self.view.mapViewToScene(QtCore.QPointF(x, y))
        return self.mapFromScene(scene_pt)

    def _on_move(self, pos: QtCore.QPointF) -> None:
        if self.view.sceneBoundingRect().contains(pos):
            self.hovered.emit(*self.to_canvas(pos))
        else:
            self.hovered.emit(float("nan"), float("nan"))

    def _on_click(self, ev: MouseClickEvent) -> None:
        if ev.button() == QtCore.Qt.MouseButton.LeftButton:
            self.clicked.emit(*self.to_canvas(ev.scenePos()))


def pixel_readout(
    x: float,
    y: float,
    rgb: np.ndarray | None,
    depth: np.ndarray | None = None,
    world: np.ndarray | None = None,
    units: str = "",
) -> str:
    """One line describing pixel (x, y) (COLMAP convention) of an image."""
    if rgb is None or not np.isfinite(x) or not (0 <= x < rgb.shape[1] and 0 <= y < rgb.shape[0]):
        return ""
    col, row = int(x), int(y)
    r, g, b = (int(v) for v in rgb[row, col][:3])
    text = f"x {x:.1f}  y {y:.1f}   RGB {r} {g} {b}"
    if depth is not None and depth.shape[:2] == rgb.shape[:2]:
        d = float(depth[row, col])
        text += f"   depth {d:.3f} {units}" if np.isfinite(d) else "   depth —"
        if world is not None and np.isfinite(d):
            text += "   xyz " + " ".join(f"{v:.3f}" for v in world)
    return text


class DatabaseImagePanel(QtWidgets.QWidget):
    """The database image picked in the 3D view or through a match, with its observations.

    Shows the image's keypoints that observe map points, the selected point's observation
    (highlighted), and a readout with depth and scene coordinate where the scene has depth.
    """

    def __init__(self, bench: Workbench, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.bench = bench
        self.state = bench.state
        self.canvas = ImageCanvas(self)
        self.title = style.styled_label("Click a database camera in the 3D view", role="heading")
        style.shrinkable(self.title)
        self.readout = style.shrinkable(style.styled_label(role="muted"))
        self.show_keypoints = QtWidgets.QCheckBox("keypoints")
        self.show_keypoints.setChecked(True)
        self.show_keypoints.toggled.connect(lambda _: self._draw_overlay())
        top = QtWidgets.QHBoxLayout()
        top.addWidget(self.title, 1)
        top.addWidget(self.show_keypoints)
        lay = QtWidgets.QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addLayout(top)
        lay.addWidget(self.canvas, 1)
        lay.addWidget(self.readout)
        self.keypoints = pg.ScatterPlotItem(size=4, pen=None, brush=pg.mkBrush(77, 208, 255, 150))
        self.marker = pg.ScatterPlotItem(
            size=16, pen=pg.mkPen(style.SELECTION, width=2), brush=None, symbol="o"
        )
        self.canvas.view.addItem(self.keypoints)
        self.canvas.view.addItem(self.marker)
        self.image_id: int | None = None
        self.rgb: np.ndarray | None = None
        self.depth_map: np.ndarray | None = None
        self.canvas.hovered.connect(self._on_hover)
        self.canvas.clicked.connect(self._on_click)
        self.state.selection.changed.connect(self._on_selection)
        self.state.scene_changed.connect(self._on_scene)

    def _on_scene(self) -> None:
        self.image_id, self.rgb, self.depth_map = None, None, None
        self.canvas.set_image(None)
        self.title.setText("Click a database camera in the 3D view")
        self._draw_overlay()

    def _on_selection(self, new: Selection, old: Selection) -> None:
        if new.image_id != self.image_id:
            self.show_image(new.image_id)
        else:
            self._draw_overlay()

    def show_image(self, image_id: int | None) -> None:
        scene = self.state.scene
        self.image_id = image_id
        if scene is None or image_id is None or image_id not in scene.images:
            return
        im = scene.images[image_id]
        self.title.setText(f"{im.name}   (id {image_id}, {im.split})")
        if scene.image_dir is None:
            self.readout.setText("this scene has no image files")
            return
        self.bench.load_image(
            scene.image_path(image_id),
            "image:database",
            functools.partial(self._on_loaded, image_id),
            depth=im.depth,
        )

    def _on_loaded(self, image_id: int, loaded: tuple[np.ndarray, np.ndarray | None]) -> None:
        if image_id != self.image_id:
            return
        self.rgb, self.depth_map = loaded
        self.canvas.set_image(self.rgb)
        self._draw_overlay()

    def _draw_overlay(self) -> None:
        scene, sel = self.state.scene, self.state.selection.current
        im = scene.images.get(self.image_id) if scene and self.image_id is not None else None
        kps = np.zeros((0, 2))
        if im is not None and im.keypoints is not None and self.show_keypoints.isChecked():
            seen = im.point3D_ids >= 0 if im.point3D_ids is not None else slice(None)
            kps = np.asarray(im.keypoints, float)[seen]
        self.keypoints.setData(pos=kps)
        mark = np.zeros((0, 2))
        if scene is not None and im is not None and sel.point3D_id is not None:
            xy = linking.keypoints_of_points(scene, im.image_id, np.array([sel.point3D_id]))
            mark = xy[np.isfinite(xy[:, 0])]
        self.marker.setData(pos=mark)

    def _world_of(self, x: float, y: float) -> np.ndarray | None:
        scene = self.state.scene
        if scene is None or self.image_id is None or self.depth_map is None:
            return None
        im = scene.images[self.image_id]
        if im.cam_from_world is None:
            return None
        d = float(self.depth_map[int(y), int(x)])
        if not np.isfinite(d):
            return None
        cam_pt = scene.camera_of(self.image_id).unproject(np.array([[x, y]]), d)[0]
        return im.cam_from_world.inverse().apply(cam_pt)

    def _on_hover(self, x: float, y: float) -> None:
        units = self.state.scene.units if self.state.scene else ""
        world = None
        if (
            self.rgb is not None
            and np.isfinite(x)
            and 0 <= x < self.rgb.shape[1]
            and 0 <= y < self.rgb.shape[0]
        ):
            world = self._world_of(x, y)
        self.readout.setText(pixel_readout(x, y, self.rgb, self.depth_map, world, units))

    def _on_click(self, x: float, y: float) -> None:
        if self.rgb is None or not (0 <= x < self.rgb.shape[1] and 0 <= y < self.rgb.shape[0]):
            return
        scene = self.state.scene
        im = scene.images.get(self.image_id) if scene and self.image_id is not None else None
        if im is not None and im.keypoints is not None and im.point3D_ids is not None:
            d = np.linalg.norm(np.asarray(im.keypoints, float) - [x, y], axis=1)
            d[im.point3D_ids < 0] = np.inf
            k = int(np.argmin(d)) if len(d) else -1
            if k >= 0 and d[k] < 6:
                self.state.select_point(int(im.point3D_ids[k]), source="image")
                return
        self.state.selection.update("image", pixel=(x, y))
