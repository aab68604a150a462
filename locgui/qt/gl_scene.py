"""The OpenGL scene widget: named items in layers, level of detail, projection and picking.

Everything is drawn in the display frame (``locgui.model.geometry.display_frame``): scene up
is +z, the scene centre is the origin. Callers pass world coordinates.

Level of detail: points are stored in a random order, so the first k of them are a uniform
sample. While the camera moves only the first ``budget`` are drawn; ~150 ms after it stops
the view refines (4x more points per frame) up to the full cloud. The budget adapts to the
measured frame rate while moving.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import numpy as np
import pyqtgraph.opengl as gl
from OpenGL import GL
from PySide6 import QtCore, QtGui

from locgui.core.camera import Camera
from locgui.core.pose import Rigid3, project_to_rotation
from locgui.model.geometry import framing_distance, pick_nearest, project_to_screen

log = logging.getLogger(__name__)

ON_TOP = {
    GL.GL_DEPTH_TEST: False,
    GL.GL_BLEND: True,
    GL.GL_CULL_FACE: False,
    "glBlendFunc": (GL.GL_SRC_ALPHA, GL.GL_ONE_MINUS_SRC_ALPHA),
}
"""GL options of highlights: drawn over everything, alpha-blended."""

SETTLE_MS = 150
TARGET_FPS = 30.0
MIN_BUDGET, MAX_BUDGET = 20_000, 2_000_000


class LodScatterItem(gl.GLScatterPlotItem):
    """A point cloud that can draw only its first ``draw_count`` points (one vertex buffer)."""

    pos: np.ndarray | None  # set by GLScatterPlotItem.setData: (N, 3) float32, or None

    def __init__(self, **kwds: object) -> None:
        super().__init__(glOptions="opaque", **kwds)
        self.draw_count: int | None = None

    def paint(self) -> None:
        full = self.pos
        uploading = bool(self.dirty_bits)
        if full is None or self.draw_count is None or self.draw_count >= len(full) or uploading:
            super().paint()
            return
        self.pos = full[: self.draw_count]
        try:
            super().paint()
        finally:
            self.pos = full


class SceneGLWidget(gl.GLViewWidget):
    """GL view with layered items, LOD for the point cloud and click picking.

    Signals:
        point_picked(point3D_id), camera_picked(image_id), nothing_picked(),
        camera_moved().
    """

    point_picked = QtCore.Signal(int)
    camera_picked = QtCore.Signal(int)
    nothing_picked = QtCore.Signal()
    camera_moved = QtCore.Signal()

    def __init__(self, parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self.setBackgroundColor((21, 24, 28))
        self.frame = Rigid3.identity()
        self._items: dict[str, tuple[gl.GLGraphicsItem, str]] = {}
        self._hidden_layers: set[str] = set()
        self.cloud = LodScatterItem(pos=np.zeros((0, 3)), size=2.0)
        self.addItem(self.cloud)
        self._cloud_world = np.zeros((0, 3))
        self._cloud_ids = np.zeros(0, np.int64)
        self._cloud_order = np.zeros(0, np.int64)
        self._cameras: tuple[np.ndarray, np.ndarray] = (np.zeros(0, np.int64), np.zeros((0, 3)))
        self.lod_enabled = True
        self.lod_budget = 40_000
        self.moving = False
        self._settle = QtCore.QTimer(self, singleShot=True, interval=SETTLE_MS)
        self._settle.timeout.connect(self._on_settled)
        self._frame_times: list[float] = []
        self.frameSwapped.connect(self._on_frame)
        self._press: QtCore.QPointF | None = None
        self._screen_cache: tuple[bytes, np.ndarray, np.ndarray] | None = None

    # ------------------------------------------------------------------ content
    def set_frame(self, display_from_world: Rigid3) -> None:
        self.frame = display_from_world

    def to_display(self, world: np.ndarray) -> np.ndarray:
        """(N, 3) world -> (N, 3) float32 display coordinates."""
        return self.frame.apply(np.asarray(world, float).reshape(-1, 3)).astype(np.float32)

    def set_points(self, xyz: np.ndarray, rgb: np.ndarray, ids: np.ndarray, seed: int = 0) -> None:
        """The map's point cloud: (N, 3) world xyz, (N, 3) uint8 colours, (N,) point ids."""
        order = np.random.default_rng(seed).permutation(len(xyz))
        self._cloud_order = order
        self._cloud_world = np.asarray(xyz, float)[order]
        self._cloud_ids = np.asarray(ids, np.int64)[order]
        colors = np.ones((len(xyz), 4), np.float32)
        colors[:, :3] = np.asarray(rgb, np.float32)[order] / 255.0
        self.cloud.setData(pos=self.to_display(self._cloud_world), color=colors)
        self._screen_cache = None

    def set_point_colors(self, rgb: np.ndarray) -> None:
        """New (N, 3) uint8 colours for the cloud, in the order given to ``set_points``."""
        order = self._cloud_order
        if len(rgb) != len(order):
            raise ValueError(f"{len(rgb)} colours for {len(order)} points")
        colors = np.ones((len(order), 4), np.float32)
        colors[:, :3] = np.asarray(rgb, np.float32)[order] / 255.0
        self.cloud.setData(color=colors)

    def set_point_size(self, size: float) -> None:
        self.cloud.setData(size=float(size))

    def set_pickable_cameras(self, image_ids: list[int], centers: np.ndarray) -> None:
        self._cameras = (np.asarray(image_ids, np.int64), np.asarray(centers, float).reshape(-1, 3))

    def set_lines(
        self,
        name: str,
        segments: np.ndarray,
        color: tuple[float, float, float, float] | np.ndarray,
        width: float = 1.0,
        layer: str = "",
        mode: str = "lines",
        on_top: bool = False,
        display: bool = False,
    ) -> gl.GLLinePlotItem:
        """Create or update a line item; ``segments`` are world points (pairs for "lines"),
        or display-frame points with ``display=True``."""
        item = self._item(name, layer, lambda: gl.GLLinePlotItem(glOptions="opaque"))
        item.setGLOptions(ON_TOP if on_top else "opaque")
        pos = np.zeros((0, 3), np.float32)
        if len(segments):
            pos = np.asarray(segments, np.float32) if display else self.to_display(segments)
        item.setData(pos=pos, color=self.opaque(color), width=width, mode=mode, antialias=False)
        item.setVisible(len(pos) > 0 and layer not in self._hidden_layers)
        return item

    def set_markers(
        self,
        name: str,
        xyz: np.ndarray,
        color: tuple[float, float, float, float] | np.ndarray,
        size: float,
        layer: str = "",
        on_top: bool = True,
    ) -> gl.GLScatterPlotItem:
        """Create or update a small set of big points (highlights)."""
        item = self._item(name, layer, lambda: gl.GLScatterPlotItem(glOptions="opaque"))
        item.setGLOptions(ON_TOP if on_top else "opaque")
        pos = self.to_display(xyz) if len(xyz) else np.zeros((0, 3), np.float32)
        item.setData(pos=pos, color=self.opaque(color), size=float(size), pxMode=True)
        item.setVisible(len(pos) > 0 and layer not in self._hidden_layers)
        return item

    def opaque(
        self, color: tuple[float, float, float, float] | np.ndarray
    ) -> tuple[float, float, float, float] | np.ndarray:
        """A colour (RGBA floats, or (N, 4)) mixed over the background by its alpha, with alpha
        1: how it looks, without leaving alpha < 1 in the framebuffer (a widget grab, as in
        screenshots, composites that alpha and shifted dim colours: green lines came out
        teal)."""
        bg = np.asarray(self.opts["bgcolor"], float)[:3]  # RGBA floats (Qt's getRgbF)
        c = np.asarray(color, float)
        rgb = c[..., :3] * c[..., 3:4] + bg * (1 - c[..., 3:4])
        out = np.concatenate([rgb, np.ones_like(c[..., 3:4])], axis=-1)
        if out.ndim == 1:
            return (float(out[0]), float(out[1]), float(out[2]), 1.0)
        return out.astype(np.float32)

    def item(self, name: str) -> gl.GLGraphicsItem | None:
        entry = self._items.get(name)
        return entry[0] if entry else None

    def remove(self, name: str) -> None:
        entry = self._items.pop(name, None)
        if entry is not None:
            self.removeItem(entry[0])

    def names(self, prefix: str = "") -> list[str]:
        return [n for n in self._items if n.startswith(prefix)]

    def set_layer_visible(self, layer: str, visible: bool) -> None:
        (self._hidden_layers.discard if visible else self._hidden_layers.add)(layer)
        if layer == "points":
            self.cloud.setVisible(visible)
        for item, item_layer in self._items.values():
            if item_layer == layer:
                has_data = item.pos is not None and len(item.pos) > 0
                item.setVisible(visible and has_data)

    def _item(
        self, name: str, layer: str, make: Callable[[], gl.GLGraphicsItem]
    ) -> gl.GLGraphicsItem:
        if name not in self._items:
            item = make()
            self.addItem(item)
            self._items[name] = (item, layer)
        return self._items[name][0]

    # ------------------------------------------------------------------ camera
    def fit(self, lo: np.ndarray, hi: np.ndarray) -> None:
        """Frame the display-frame box [lo, hi] from a three-quarter view."""
        center = (np.asarray(lo) + np.asarray(hi)) / 2
        extent = float(np.linalg.norm(np.asarray(hi) - np.asarray(lo)))
        distance = max(extent, 1e-3) / (2 * np.tan(np.radians(self.opts["fov"]) / 2)) * 0.9
        self.setCameraPosition(
            pos=QtGui.QVector3D(*center.astype(float)),
            distance=distance,
            elevation=28,
            azimuth=-60,
        )

    def look_at_box(self, lo: np.ndarray, hi: np.ndarray) -> None:
        """Centre the display-frame box [lo, hi] and move in or out until it fills about half
        of the view; the viewing direction (azimuth, elevation) stays."""
        center = (np.asarray(lo, float) + np.asarray(hi, float)) / 2
        distance = framing_distance(lo, hi, float(self.opts["fov"]), margin=1.8)
        self.setCameraPosition(pos=QtGui.QVector3D(*center), distance=distance)

    @property
    def view_distance(self) -> float:
        """Distance from the eye to the orbit centre (display units = map units)."""
        return float(self.opts["distance"])

    def mvp(self) -> np.ndarray:
        """(4, 4) projection @ view of the current camera (column-vector convention)."""
        vp = (0, 0, self.width(), self.height())
        m = self.projectionMatrix(vp, vp) * self.viewMatrix()
        return np.array(m.data(), float).reshape(4, 4).T

    def view_camera(self, max_side: int | None = None) -> tuple[Camera, Rigid3]:
        """The current view as an OpenCV pinhole camera (widget pixels, or shrunk so the
        longer side is ``max_side``) and its ``cam_from_world`` (world frame, map units)."""
        w, h = max(1, self.width()), max(1, self.height())
        vp = (0, 0, w, h)
        proj = np.array(self.projectionMatrix(vp, vp).data(), float).reshape(4, 4).T
        view = np.array(self.viewMatrix().data(), float).reshape(4, 4).T
        flip = np.diag([1.0, -1.0, -1.0])  # OpenGL eye (y up, looking down -z) -> OpenCV
        cam_from_display = Rigid3(project_to_rotation(flip @ view[:3, :3]), flip @ view[:3, 3])
        scale = 1.0 if not max_side else min(1.0, max_side / max(w, h))
        sw, sh = max(1, round(w * scale)), max(1, round(h * scale))
        fx, fy = proj[0, 0] * sw / 2, proj[1, 1] * sh / 2
        camera = Camera("PINHOLE", sw, sh, (fx, fy, sw / 2, sh / 2))
        return camera, cam_from_display * self.frame

    def screen_positions(self, world: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(N, 2) widget pixels (logical, y down) and (N,) visibility of world points."""
        return project_to_screen(self.to_display(world), self.mvp(), self.width(), self.height())

    def orbit(self, azim: float, elev: float) -> None:
        super().orbit(azim, elev)
        self._camera_changed()

    def pan(self, dx: float, dy: float, dz: float, relative: str = "global") -> None:
        super().pan(dx, dy, dz, relative)
        self._camera_changed()

    def setCameraPosition(self, **kwds: object) -> None:  # noqa: N802  (Qt naming)
        super().setCameraPosition(**kwds)
        self._camera_changed()

    def wheelEvent(self, ev: QtGui.QWheelEvent) -> None:  # noqa: N802
        super().wheelEvent(ev)
        self._camera_changed()

    # ------------------------------------------------------------------ level of detail
    def _camera_changed(self) -> None:
        self._screen_cache = None
        if not hasattr(self, "_settle"):
            return  # called from the base class constructor
        self.camera_moved.emit()
        if self.lod_enabled and len(self._cloud_world) > self.lod_budget:
            if not self.moving:
                self._frame_times.clear()
            self.moving = True
            self.cloud.draw_count = self.lod_budget
            self._settle.start()
        else:
            self.moving = False
            self.cloud.draw_count = None

    def _on_settled(self) -> None:
        """The camera stopped: refine towards full density, 4x more points per frame, so a
        slow full frame comes last and a new move interrupts the refinement."""
        self.moving = False
        self._refine()

    def _refine(self) -> None:
        count = self.cloud.draw_count
        n = len(self._cloud_world)
        self.cloud.draw_count = None if count is None or count * 4 >= n else count * 4
        self.update()

    @property
    def refining(self) -> bool:
        return not self.moving and self.cloud.draw_count is not None

    def _refine_if_still(self) -> None:
        if self.refining:
            self._refine()

    def _on_frame(self) -> None:
        if self.refining:
            QtCore.QTimer.singleShot(0, self._refine_if_still)
            return
        if not self.moving:
            return
        now = time.perf_counter()
        self._frame_times.append(now)
        if len(self._frame_times) >= 6:
            fps = (len(self._frame_times) - 1) / (now - self._frame_times[0])
            if fps < TARGET_FPS * 0.8:
                self.lod_budget = max(MIN_BUDGET, int(self.lod_budget * 0.7))
            elif fps > TARGET_FPS * 1.5:
                self.lod_budget = min(MAX_BUDGET, int(self.lod_budget * 1.3))
            self._frame_times = self._frame_times[-1:]
            if self.cloud.draw_count is not None:
                self.cloud.draw_count = self.lod_budget

    # ------------------------------------------------------------------ picking
    def mousePressEvent(self, ev: QtGui.QMouseEvent) -> None:  # noqa: N802
        self._press = ev.position()
        super().mousePressEvent(ev)

    def mouseReleaseEvent(self, ev: QtGui.QMouseEvent) -> None:  # noqa: N802
        press, self._press = self._press, None
        if press is not None and (ev.position() - press).manhattanLength() <= 4:
            self.pick(ev.position().x(), ev.position().y())
        super().mouseReleaseEvent(ev)

    def pick(self, x: float, y: float, radius: float = 7.0) -> None:
        """Select what is drawn nearest to widget pixel (x, y): a camera, else a map point."""
        ids, centers = self._cameras
        if len(ids) and "cameras" not in self._hidden_layers:
            xy, valid = self.screen_positions(centers)
            hit = pick_nearest(xy, valid, (x, y), radius + 3)
            if hit is not None:
                self.camera_picked.emit(int(ids[hit]))
                return
        if len(self._cloud_ids) and self.cloud.visible():
            xy, valid = self._cloud_screen()
            hit = pick_nearest(xy, valid, (x, y), radius)
            if hit is not None:
                self.point_picked.emit(int(self._cloud_ids[hit]))
                return
        self.nothing_picked.emit()

    def _cloud_screen(self) -> tuple[np.ndarray, np.ndarray]:
        key = self.mvp().tobytes() + bytes(str((self.width(), self.height())), "ascii")
        if self._screen_cache is None or self._screen_cache[0] != key:
            xy, valid = self.screen_positions(self._cloud_world)
            self._screen_cache = (key, xy, valid)
        return self._screen_cache[1], self._screen_cache[2]
