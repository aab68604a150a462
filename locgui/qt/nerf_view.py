"""The NeRF view: the map's view-rendering model (its NeRF, or another trainer's model that
declares a ``renderer``) at the focused result's estimated pose, at the ground-truth pose,
or at the 3D view's camera (read from ``AppState.view_camera``), composed with the query
(blend slider, photometric difference, NeRFMatch's feature residual) or shown as depth.

The renderer is found from the open bundle's capabilities through the trainer specs (a
picker shows when several fit). Rendering runs in its own worker (a newer request cancels
the running one), small while the 3D view's camera moves and at the chosen size once it
rests; the UI only composes images of a few hundred pixels.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
from PySide6 import QtCore, QtWidgets

from locgui.model import nerf_render
from locgui.model.nerf_render import RenderRequest, ViewRenderer
from locgui.model.state import AppState, ViewCamera
from locgui.qt import style
from locgui.qt.controller import Workbench
from locgui.qt.image_view import ImageCanvas

SOURCES = ("estimate", "ground truth", "3D view")
DISPLAYS = ("blend", "difference", "feature residual", "depth", "rendering")
MOVING_SIDE = 64  # px: the rendering's longer side while the 3D view's camera moves


class NerfView(QtWidgets.QWidget):
    """The NeRF view dock's content.

    Args:
        state: the application state (its ``view_camera`` is the "3D view" pose).
        bench: the workbench (worker bridge).
    """

    def __init__(self, state: AppState, bench: Workbench, parent: Any = None) -> None:
        super().__init__(parent)
        self.state, self.bench = state, bench
        self.renderer = ViewRenderer()
        self.rendering: Any = None  # the last RenderOutput shown
        self.query_rgb: np.ndarray | None = None
        self.residual: np.ndarray | None = None  # NeRFMatch feature residual per patch
        self.shown: np.ndarray | None = None  # the composed image on the canvas
        self.task: Any = None
        self._build_ui()
        self._debounce = QtCore.QTimer(self, singleShot=True, interval=120)
        self._debounce.timeout.connect(lambda: self.request(moving=False))
        self._moving = QtCore.QTimer(self, singleShot=True, interval=40)
        self._moving.timeout.connect(lambda: self.request(moving=True))
        state.scene_changed.connect(self._on_scene)
        state.results_changed.connect(lambda q, m: self.schedule())
        state.selection.changed.connect(self._on_selection)
        state.view_camera_changed.connect(self._on_camera_moved)
        self._list_renderers()

    def _build_ui(self) -> None:
        self.source = QtWidgets.QComboBox()
        self.source.addItems(list(SOURCES))
        self.source.setToolTip("Pose to render: the focused result's estimate, the query's "
                               "ground truth, or the 3D view's camera (follows it)")  # fmt: skip
        self.display = QtWidgets.QComboBox()
        self.display.addItems(list(DISPLAYS))
        self.display.setToolTip("blend with the query, |query - rendering|, NeRFMatch's "
                                "feature residual, depth, or the rendering alone")  # fmt: skip
        self.alpha = QtWidgets.QSlider(QtCore.Qt.Orientation.Horizontal)
        self.alpha.setRange(0, 100)
        self.alpha.setValue(50)
        self.alpha.setToolTip("Blend: 0 = the query, 100 = the rendering")
        self.side = QtWidgets.QSpinBox(minimum=32, maximum=1024, singleStep=32, value=160)
        self.side.setSuffix(" px")
        self.side.setToolTip("Longer side of the rendering (CPU: about 2 s at 160 px)")
        self.model_box = QtWidgets.QComboBox()
        self.model_box.setToolTip("The map's model that renders the view (trainer name)")
        self.canvas = ImageCanvas()
        self.canvas.setMinimumHeight(120)
        self.status = style.shrinkable(style.styled_label(role="muted"))
        self.status.setWordWrap(True)
        row = QtWidgets.QHBoxLayout()
        for w in (self.model_box, self.source, self.display, QtWidgets.QLabel("query"),
                  self.alpha, QtWidgets.QLabel("rendering"), self.side):  # fmt: skip
            row.addWidget(w)
        lay = QtWidgets.QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addLayout(row)
        lay.addWidget(self.canvas, 1)
        lay.addWidget(self.status)
        self.source.currentTextChanged.connect(lambda _: self.schedule())
        self.model_box.currentTextChanged.connect(lambda _: self.schedule())
        self.side.valueChanged.connect(lambda _: self.schedule())
        self.display.currentTextChanged.connect(lambda _: self.compose())
        self.alpha.valueChanged.connect(lambda _: self.compose())

    # ------------------------------------------------------------------ requests
    def schedule(self) -> None:
        """Render again soon (requests in quick succession coalesce)."""
        if self.isVisible() or self.parent() is None:
            self._debounce.start()

    def _on_scene(self) -> None:
        self._list_renderers()
        self.schedule()

    def _list_renderers(self) -> None:
        """The renderers the open map offers (the picker shows only when several do)."""
        names = [t.name for t in nerf_render.view_renderers(self.state.capabilities)]
        with QtCore.QSignalBlocker(self.model_box):
            keep = self.model_box.currentText()
            self.model_box.clear()
            self.model_box.addItems(names)
            if keep in names:
                self.model_box.setCurrentText(keep)
        self.model_box.setVisible(len(names) > 1)

    def _on_selection(self, new: Any, old: Any) -> None:
        if (new.query, new.method) != (old.query, old.method):
            self.schedule()

    def _on_camera_moved(self, _camera: ViewCamera) -> None:
        if self.source.currentText() == "3D view" and self.isVisible():
            self._moving.start()
            self._debounce.start(400)  # full size once the camera rests

    def showEvent(self, event: Any) -> None:  # noqa: N802  (Qt naming)
        super().showEvent(event)
        self.schedule()

    def pose_request(self, moving: bool = False) -> RenderRequest | str:
        """What to render now, or why nothing can be."""
        state, source = self.state, self.source.currentText()
        renderer = self.model_box.currentText()
        if state.bundle is None or not renderer:
            return nerf_render.no_renderer_message()
        side = MOVING_SIDE if moving else self.side.value()
        if source == "3D view":
            view = state.view_camera
            if view is None:
                return "the 3D view has not reported its camera yet"
            return RenderRequest(view.camera, view.cam_from_world, side, None, "3D view", renderer)
        query = state.current_query
        result = state.result()
        if source == "estimate":
            if result is None or not result.success or result.cam_from_world is None:
                return "no estimated pose: localize the query first"
            camera = result.camera or (query.camera if query else None)
            pose, label = result.cam_from_world, f"{result.method} estimate"
        else:
            if query is None or query.gt_cam_from_world is None:
                return "the query has no ground-truth pose"
            camera = query.camera or (result.camera if result else None)
            pose, label = query.gt_cam_from_world, "ground truth"
        if camera is None:
            return "the query's intrinsics are unknown: localize it first"
        return RenderRequest(camera, pose, side, None, label, renderer)

    def request(self, moving: bool = False) -> None:
        if self.bench.bridge.closed:  # the window is closing
            return
        req = self.pose_request(moving)
        if isinstance(req, str):
            self.rendering = None
            self.canvas.set_image(None)
            self.status.setText(req)
            return
        query = self.state.current_query if req.label != "3D view" else None
        bundle, renderer = self.state.bundle, self.renderer
        device = str(self.state.settings["device"])

        def job(ctx: Any) -> tuple[Any, np.ndarray | None, np.ndarray | None]:
            from locgui.runtime.context import resolve_device

            rgb = _pixels(query)
            ctx.check_cancelled()
            asked = dataclasses.replace(req, appearance=rgb)  # match the query's exposure
            dev = resolve_device(device)
            out = renderer.render(bundle, asked, dev, ctx)
            return out, rgb, renderer.feature_residual(bundle, asked, dev, ctx)

        executor = "nerf" if device == "cpu" else device
        task = self.bench.submit(
            job, "nerf", f"render {req.renderer} ({req.label})", executor=executor,
            supersede="all",
        )  # fmt: skip
        task.finished.connect(lambda out, req=req, task=task: self._on_rendered(out, req, task))
        self.task = task
        self.status.setText(f"rendering at the {req.label} ({req.max_side} px)…")

    def _on_rendered(
        self, out: tuple[Any, np.ndarray | None, np.ndarray | None], req: RenderRequest, task: Any
    ) -> None:
        self.rendering, self.query_rgb, self.residual = out
        h, w = self.rendering.rgb.shape[:2]
        secs = task.times.get("done", 0) - task.times.get("started", 0)
        self.status.setText(f"{req.renderer} at the {req.label}: {w}x{h} in {secs:.1f} s")
        self.compose()

    # ------------------------------------------------------------------ composing
    def compose(self) -> None:
        """Draw the last rendering as the display mode asks."""
        if self.rendering is None:
            return
        mode, rgb, query = self.display.currentText(), self.rendering.rgb, self.query_rgb
        note = ""
        if mode == "depth":
            img, (near, far) = nerf_render.depth_image(self.rendering.depth)
            note = f"depth {near:.2f} (bright) … {far:.2f} (dark) map units"
        elif mode == "rendering" or query is None:
            img = rgb
        elif mode == "feature residual":
            if self.residual is None:
                img, note = rgb, "feature residual needs a trained NeRFMatch and a query"
            else:
                h, w = rgb.shape[:2]
                img, mean = nerf_render.residual_image(self.residual, w, h)
                note = f"1 − cos(query, NeRF features) per patch, mean {mean:.2f}"
        elif mode == "difference":
            img, mean = nerf_render.difference(query, rgb)
            note = f"|query − NeRF| ×4, mean {mean:.1f} grey levels"
        else:
            img = nerf_render.blend(query, rgb, self.alpha.value() / 100.0)
        self.shown = img
        self.canvas.set_image(img)
        self.canvas.setToolTip(note)
        base = self.status.text().split(" · ")[0]
        self.status.setText(f"{base} · {note}" if note else base)


def _pixels(query: Any) -> np.ndarray | None:
    """The query's (H, W, 3) uint8 RGB pixels (read in the worker), or None."""
    if query is None:
        return None
    image = np.asarray(query.load().image)
    if image.ndim == 2:
        image = np.repeat(image[:, :, None], 3, axis=2)
    return image[:, :, :3].astype(np.uint8) if image.dtype == np.uint8 else None
