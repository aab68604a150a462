"""The 3D view panel: point cloud, cameras, ground truth and estimates, links, legend, toolbar.

It draws from ``AppState`` only: the scene, the results of every query (one colour per
method), the selection (highlighted point, its ray from the estimated camera, the cameras
that observe it, the selected database image) and the live run (its camera and trajectory).

The current query stands out: its ground truth and estimates are drawn bigger (at least
``MIN_SCREEN_FRACTION`` of the view's height, however far the camera is) and brighter than
the other queries', with a dot at each camera centre and an error segment from the ground
truth centre to each estimate's centre. Colours follow ``locgui.model.colours`` (one colour,
one meaning); the legend lists every kind of item drawn.
It publishes its own camera to ``AppState.view_camera`` (at most every
``CAMERA_PUBLISH_MS`` while it moves; the last position always arrives).
"""

from __future__ import annotations

import numpy as np
from PySide6 import QtCore, QtWidgets

from locgui.core.camera import Camera
from locgui.core.pose import Rigid3
from locgui.core.results import LocalizationResult
from locgui.model import colours, geometry, linking
from locgui.model.live import LiveUpdate
from locgui.model.selection import Selection
from locgui.model.settings import LAYERS
from locgui.model.state import AppState
from locgui.qt import legend3d, style
from locgui.qt.gl_scene import SceneGLWidget
from locgui.qt.live_draw import clear_live, draw_live, draw_timeline
from locgui.qt.overlays import coordinate_colours

CAMERA_PUBLISH_MS = 33  # the view's camera reaches the model at most ~30 times a second
QUERY_SCALE = 1.6  # the current query's frustums, x the other frustums' depth
MIN_SCREEN_FRACTION = 0.07  # ... and at least this fraction of the view's height
GT_SCALE = 1.25  # the current query's ground truth, x its estimates' depth (seen around them)
RESIZE_TOLERANCE = 0.15  # redraw them when the wanted depth changes by more than this

EMPTY_HINT = "no scene · File > Open scene (Ctrl+O), drop a folder here, or File > Demo scene"


class Scene3DPanel(QtWidgets.QWidget):
    """Toolbar + GL view + legend, bound to an ``AppState``."""

    def __init__(self, state: AppState, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.gl = SceneGLWidget(self)
        self.base_frustum_depth = 1.0
        self.grid_step = 0.0  # spacing of the floor grid's lines (map units)
        self.query_depth = 1.0  # depth of the current query's drawn frustums (map units)
        self.point_colouring = colours.PointColours(np.zeros((0, 3), np.uint8), "neutral")
        self._errors: np.ndarray | None = None  # the scene's point reprojection errors (cache)
        self._timeline_drawn: tuple[str, int] | None = None  # (track, frames) drawn by it
        self._build_ui()
        self.gl.point_picked.connect(lambda pid: state.select_point(pid, source="3d"))
        self.gl.camera_picked.connect(self._on_camera_picked)
        self.gl.nothing_picked.connect(lambda: state.selection.clear_links(source="3d"))
        state.scene_changed.connect(self._on_scene)
        state.results_changed.connect(self._on_results)
        state.selection.changed.connect(self._on_selection)
        state.settings.changed.connect(self._on_setting)
        state.live.frame_changed.connect(self._on_live_frame)
        state.timeline.position_changed.connect(self._on_timeline)
        self._apply_settings()
        self._camera_dirty = False
        self._publish = QtCore.QTimer(self, singleShot=True, interval=CAMERA_PUBLISH_MS)
        self._publish.timeout.connect(self._publish_if_moved)
        self.gl.camera_moved.connect(self._on_camera_moved)
        self.gl.installEventFilter(self)  # a resize changes the view's intrinsics
        self.publish_camera()

    # ------------------------------------------------------------------ layout
    def _build_ui(self) -> None:
        bar = QtWidgets.QToolBar(self)
        bar.addAction("Fit", self.fit).setToolTip("Fit the scene in the view (F)")
        bar.addAction("Query", self.frame_query).setToolTip(
            "Frame the current query: its ground truth and estimates (Q)"
        )
        bar.addSeparator()
        bar.addWidget(QtWidgets.QLabel(" Points "))
        self.point_size = QtWidgets.QDoubleSpinBox(minimum=1.0, maximum=20.0, singleStep=0.5)
        self.point_size.setValue(float(self.state.settings["point_size"]))
        self.point_size.setToolTip("Point size in pixels")
        self.point_size.setFixedWidth(64)
        self.point_size.valueChanged.connect(lambda v: self.state.settings.set("point_size", v))
        bar.addWidget(self.point_size)
        self.colouring = QtWidgets.QComboBox()
        for key, title in colours.POINT_COLOURINGS.items():
            self.colouring.addItem(title, key)
        self.colouring.setToolTip(
            "Colour of the map points: one neutral grey, the image colour, the mean "
            "reprojection error or the track length (dark = low, bright = high)"
        )
        self.colouring.currentIndexChanged.connect(
            lambda i: self.state.settings.set("point_colouring", self.colouring.itemData(i))
        )
        bar.addWidget(self.colouring)
        bar.addWidget(QtWidgets.QLabel(" Cameras "))
        self.camera_size = QtWidgets.QDoubleSpinBox(minimum=0.1, maximum=10.0, singleStep=0.25)
        self.camera_size.setToolTip("Size of the camera frustums (x the automatic size)")
        self.camera_size.setFixedWidth(64)
        self.camera_size.valueChanged.connect(lambda v: self.state.settings.set("frustum_scale", v))
        bar.addWidget(self.camera_size)
        self.lod = QtWidgets.QCheckBox("LOD")
        self.lod.setToolTip(
            "Level of detail: draw a sample of the cloud while the camera moves, "
            "the full cloud once it stops"
        )
        self.lod.toggled.connect(lambda on: self.state.settings.set("lod", on))
        bar.addWidget(self.lod)
        self.legend = QtWidgets.QLabel()
        self.legend.setTextFormat(QtCore.Qt.TextFormat.RichText)
        self.legend.setWordWrap(True)
        style.shrinkable(self.legend)
        self.info = style.shrinkable(style.styled_label(role="muted"))
        self.info.setAlignment(
            QtCore.Qt.AlignmentFlag.AlignRight | QtCore.Qt.AlignmentFlag.AlignVCenter
        )
        bar.addWidget(self.info)
        self.info.setText(EMPTY_HINT)
        policy = self.info.sizePolicy()
        policy.setHorizontalStretch(1)
        self.info.setSizePolicy(policy)
        bottom = QtWidgets.QHBoxLayout()
        bottom.setContentsMargins(6, 2, 6, 2)
        bottom.addWidget(self.legend, 1)
        lay = QtWidgets.QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(0)
        lay.addWidget(bar)
        lay.addWidget(self.gl, 1)
        lay.addLayout(bottom)

    # ------------------------------------------------------------------ model -> view
    def _on_scene(self) -> None:
        scene = self.state.scene
        for name in self.gl.names():
            self.gl.remove(name)
        if scene is None:
            self.gl.set_points(np.zeros((0, 3)), np.zeros((0, 3), np.uint8), np.zeros(0, np.int64))
            self.info.setText(EMPTY_HINT)
            return
        self.gl.set_frame(geometry.display_frame(scene))
        self.base_frustum_depth = geometry.default_frustum_depth(scene)
        pts = scene.points
        self._errors = None
        self.point_colouring = self._point_colours()
        self.gl.set_points(pts.xyz, self.point_colouring.rgb, pts.ids)
        db = self._draw_cameras()
        self.gl.set_pickable_cameras(db, scene.camera_centers(db))
        self.info.setText(f"{len(pts):,} points · {len(db)} cameras · units: {scene.units}")
        self._draw_grid()
        self.fit()
        self.query_depth = self._wanted_query_depth()
        self._on_results(None, None)

    @property
    def frustum_depth(self) -> float:
        """Depth of drawn frustums in map units (automatic size x the "camera size" setting)."""
        return self.base_frustum_depth * float(self.state.settings["frustum_scale"])

    def _wanted_query_depth(self) -> float:
        """Depth for the current query's frustums: ``QUERY_SCALE`` x the others', and at least
        ``MIN_SCREEN_FRACTION`` of the view's height at the orbit centre."""
        return geometry.visible_depth(
            QUERY_SCALE * self.frustum_depth,
            self.gl.view_distance,
            float(self.gl.opts["fov"]),
            MIN_SCREEN_FRACTION,
        )

    def _point_colours(self) -> colours.PointColours:
        scene = self.state.scene
        assert scene is not None
        mode = str(self.state.settings["point_colouring"])
        if mode == "error" and self._errors is None:
            self._errors = colours.reprojection_errors(scene)
        return colours.point_colours(scene, mode, self._errors)

    def _draw_cameras(self) -> list[int]:
        scene = self.state.scene
        assert scene is not None
        poses = {
            i: pose
            for i in scene.split_ids("train")
            if (pose := scene.images[i].cam_from_world) is not None
        }
        db = list(poses)
        segs = geometry.frustums_segments(
            [scene.camera_of(i) for i in db], list(poses.values()), self.frustum_depth
        )
        self.gl.set_lines("db_cameras", segs, style.rgba(style.DB_CAMERA, 0.9), 1.0, "cameras")
        return db

    def _draw_grid(self) -> None:
        scene = self.state.scene
        if scene is None:
            return
        parts = [self.gl.to_display(scene.points.xyz)] if len(scene.points) else []
        if scene.posed_ids():
            parts.append(self.gl.to_display(scene.camera_centers()))
        if not parts:
            return
        pts = np.concatenate(parts)
        lo, hi = np.percentile(pts, 2, axis=0), np.percentile(pts, 98, axis=0)
        grid = geometry.floor_grid(lo, hi, float(lo[2]))
        self.gl.set_lines(
            "grid", grid, style.rgba(colours.MEANINGS["grid"]), 1.0, "grid", display=True
        )
        self.grid_step = geometry.nice_step(float(max(hi[0] - lo[0], hi[1] - lo[1])))
        unit = "m" if scene.units == "metres" else "units"
        self.info.setText(self.info.text() + f" · grid {self.grid_step:g} {unit}")

    def _on_results(self, query: str | None, method: str | None) -> None:
        if self.state.scene is None:
            return
        self._draw_query()
        self._draw_predictions()
        self._draw_links()

    def _on_selection(self, new: Selection, old: Selection) -> None:
        if new.query != old.query or new.method != old.method:
            self._draw_query()
            self._draw_predictions()
        self._draw_links()

    def _on_setting(self, key: str, value: object) -> None:
        if key == "frustum_scale" and self.state.scene is not None:
            self._draw_cameras()
            self.query_depth = self._wanted_query_depth()
            self._on_results(None, None)
        if key == "hidden_methods" and self.state.scene is not None:
            self._draw_estimates()
            self._update_legend()
        if key == "point_colouring" and self.state.scene is not None:
            self.point_colouring = self._point_colours()
            self.gl.set_point_colors(self.point_colouring.rgb)
        self._apply_settings()

    def _apply_settings(self) -> None:
        s = self.state.settings
        self.gl.set_point_size(float(s["point_size"]))
        self.gl.lod_enabled = bool(s["lod"])
        with (
            QtCore.QSignalBlocker(self.point_size),
            QtCore.QSignalBlocker(self.lod),
            QtCore.QSignalBlocker(self.camera_size),
            QtCore.QSignalBlocker(self.colouring),
        ):
            index = self.colouring.findData(s["point_colouring"])
            self.colouring.setCurrentIndex(max(index, 0))
            self.point_size.setValue(float(s["point_size"]))
            self.camera_size.setValue(float(s["frustum_scale"]))
            self.lod.setChecked(bool(s["lod"]))
        for layer in LAYERS:
            self.gl.set_layer_visible(layer, s.layer_visible(layer))
        self._update_legend()
        self.gl.update()

    # ------------------------------------------------------------------ drawing
    def _frustum(
        self, cam_from_world: Rigid3, camera: Camera, depth: float | None = None
    ) -> np.ndarray:
        """(20, 3) segment endpoints of a frustum ``depth`` deep (default ``frustum_depth``)."""
        depth = self.frustum_depth if depth is None else depth
        return geometry.frustum_segments(geometry.frustum_vertices(camera, cam_from_world, depth))

    def estimated_frustum_vertices(self, result: LocalizationResult) -> np.ndarray:
        """(6, 3) world vertices of the frustum drawn for a result of the current query (for
        tests and probes)."""
        assert result.camera is not None and result.cam_from_world is not None
        return geometry.frustum_vertices(result.camera, result.cam_from_world, self.query_depth)

    def _draw_query(self) -> None:
        self._draw_ground_truth()
        self._draw_estimates()
        self._update_legend()

    def _draw_ground_truth(self) -> None:
        current = self.state.current_query
        segs_all = []
        for q in self.state.queries.values():
            if q.gt_cam_from_world is not None and q.camera is not None and q is not current:
                segs_all.append(self._frustum(q.gt_cam_from_world, q.camera))
        self.gl.set_lines(
            "gt_all", _cat(segs_all), style.rgba(style.GROUND_TRUTH, 0.4), 1.0, "ground_truth"
        )
        segs, centre = [], np.zeros((0, 3))
        if current is not None and current.gt_cam_from_world is not None and current.camera:
            depth = GT_SCALE * self.query_depth
            segs.append(self._frustum(current.gt_cam_from_world, current.camera, depth))
            centre = current.gt_cam_from_world.center.reshape(1, 3)
        self.gl.set_lines(
            "gt_current", _cat(segs), style.rgba(style.GROUND_TRUTH), 3.0, "ground_truth"
        )
        self.gl.set_markers(
            "gt_centre", centre, style.rgba(style.GROUND_TRUTH), 11.0, "ground_truth"
        )

    def _draw_estimates(self) -> None:
        sel = self.state.selection.current
        by_method: dict[str, list[tuple[str, Rigid3, Camera]]] = {}  # (query, pose, camera)
        hidden = set(self.state.settings["hidden_methods"])
        for qname, per_method in self.state.results.items():
            for method, r in per_method.items():
                if method in hidden or not r.success:
                    continue
                if r.cam_from_world is not None and r.camera is not None:
                    by_method.setdefault(method, []).append((qname, r.cam_from_world, r.camera))
        for prefix in ("est", "traj:", "err"):
            for name in self.gl.names(prefix):
                if name.split(":", 1)[1] not in by_method:
                    self.gl.remove(name)
        for method, items in by_method.items():
            color = style.method_color(method)
            others = [self._frustum(pose, cam) for q, pose, cam in items if q != sel.query]
            self.gl.set_lines(
                f"est:{method}", _cat(others), style.rgba(color, 0.5), 1.0, "estimates"
            )
            cur = [(pose, cam) for q, pose, cam in items if q == sel.query]
            width = 3.5 if method == sel.method else 2.5
            self.gl.set_lines(
                f"est_current:{method}",
                _cat([self._frustum(pose, cam, self.query_depth) for pose, cam in cur]),
                style.rgba(color),
                width,
                "estimates",
            )
            self.gl.set_markers(
                f"est_centre:{method}",
                np.array([pose.center for pose, _ in cur]).reshape(-1, 3),
                style.rgba(color),
                9.0,
                "estimates",
            )
            err_all, err_cur = self._error_segments(method, sel.query)
            self.gl.set_lines(f"err:{method}", err_all, style.rgba(color, 0.5), 1.0, "estimates")
            self.gl.set_lines(
                f"err_current:{method}", err_cur, style.rgba(color), 2.5, "estimates", on_top=True
            )
            centers = np.array([pose.center for _, pose, _ in sorted(items, key=lambda t: t[0])])
            self.gl.set_lines(
                f"traj:{method}",
                centers if len(centers) > 1 else np.zeros((0, 3)),
                style.rgba(color, 0.8),
                1.5,
                "trajectories",
                mode="line_strip",
            )

    def _error_segments(self, method: str, current: str | None) -> tuple[np.ndarray, np.ndarray]:
        """Error segments (ground-truth centre -> estimated centre) of ``method``'s results:
        (2K, 3) world endpoints for the other queries and for the current one."""
        others: list[np.ndarray] = []
        cur: list[np.ndarray] = []
        for qname, per_method in self.state.results.items():
            r, q = per_method.get(method), self.state.queries.get(qname)
            if r is None or not r.success or r.cam_from_world is None:
                continue
            if q is None or q.gt_cam_from_world is None:
                continue
            seg = geometry.error_segments(q.gt_cam_from_world.center, r.cam_from_world.center)
            (cur if qname == current else others).append(seg)
        return _cat(others), _cat(cur)

    def _draw_links(self) -> None:
        scene, sel = self.state.scene, self.state.selection.current
        if scene is None:
            return
        result = self.state.result()
        xyz = None
        if sel.match_index is not None and result is not None:
            xyz = linking.match_xyz(result, sel.match_index)
        if xyz is None and sel.point3D_id is not None:
            xyz = linking.point_xyz(scene, sel.point3D_id)
        sel_pts = np.zeros((0, 3)) if xyz is None else xyz.reshape(1, 3)
        self.gl.set_markers("sel_point", sel_pts, style.rgba(style.SELECTION), 14.0, "links")
        ray = np.zeros((0, 3))
        if xyz is not None and result is not None and result.cam_from_world is not None:
            ray = np.stack([result.cam_from_world.center, xyz])
        self.gl.set_lines("sel_ray", ray, style.rgba(style.SELECTION), 2.0, "links", on_top=True)
        obs_segs = []
        if xyz is not None and sel.point3D_id is not None:
            for obs in linking.observations(scene, sel.point3D_id):
                pose = scene.images[obs.image_id].cam_from_world
                if pose is not None:
                    obs_segs.append(np.stack([pose.center, xyz]))
        self.gl.set_lines(
            "sel_obs", _cat(obs_segs), style.rgba(style.OBSERVATION, 0.8), 1.0, "links", on_top=True
        )
        img_segs = []
        if sel.image_id is not None and sel.image_id in scene.images:
            pose = scene.images[sel.image_id].cam_from_world
            if pose is not None:
                img_segs.append(self._frustum(pose, scene.camera_of(sel.image_id)))
        self.gl.set_lines(
            "sel_image", _cat(img_segs), style.rgba(style.SELECTED_IMAGE), 2.5, "links"
        )
        inl = np.zeros((0, 3))
        if result is not None and result.matches_2d3d is not None and len(result.matches_2d3d):
            inl = np.asarray(result.matches_2d3d.xyz)[np.asarray(result.matches_2d3d.inliers, bool)]
        color = style.rgba(style.method_color(result.method) if result else style.SELECTION)
        self.gl.set_markers("inliers", inl, color, 3.5, "links", on_top=False)
        self._update_legend()
        self.gl.update()

    def _draw_predictions(self) -> None:
        """The focused result's dense predicted points (they change with the result, not
        with the match or point selection)."""
        dense, dense_colour = predicted_points(self.state.result())
        self.gl.set_markers("predicted", dense, dense_colour, 2.5, "links", on_top=False)

    def _update_legend(self) -> None:
        text = legend3d.legend_html(self.legend_entries())
        if text != self.legend.text():
            self.legend.setText(text)

    def legend_entries(self) -> list[tuple[str, str]]:
        """(key, HTML) of every kind of item drawn now, in a fixed order (``legend3d``)."""
        return legend3d.legend_entries(self.gl, self.state, self.point_colouring, self.grid_step)

    def _on_live_frame(self, update: LiveUpdate | None) -> None:
        if update is None:
            clear_live(self)
        else:
            draw_live(self, update.result, update.centers, update.gt_centers)
        self._update_legend()

    def _on_timeline(self, track: object, index: int) -> None:
        draw_timeline(self, track, self.state.timeline.point())
        self._update_legend()

    # ------------------------------------------------------------------ view -> model
    def publish_camera(self) -> None:
        """Put the view's camera in the model now (OpenCV pinhole, widget pixels)."""
        self._camera_dirty = False
        camera, cam_from_world = self.gl.view_camera()
        self.state.set_view_camera(camera, cam_from_world)

    def _on_camera_moved(self) -> None:
        self._resize_query_frustums()
        if self._publish.isActive():
            self._camera_dirty = True  # published when the interval ends
            return
        self.publish_camera()
        self._publish.start()

    def _publish_if_moved(self) -> None:
        if self._camera_dirty:
            self.publish_camera()
            self._publish.start()

    def eventFilter(self, watched: QtCore.QObject, event: QtCore.QEvent) -> bool:  # noqa: N802
        if watched is self.gl and event.type() == QtCore.QEvent.Type.Resize:
            self._on_camera_moved()
        return super().eventFilter(watched, event)

    def _resize_query_frustums(self) -> None:
        """Keep the current query's frustums visible as the camera zooms (redrawn only when
        the wanted depth moved by more than ``RESIZE_TOLERANCE``)."""
        if self.state.scene is None:
            return
        wanted = self._wanted_query_depth()
        if abs(wanted - self.query_depth) > RESIZE_TOLERANCE * self.query_depth:
            self.query_depth = wanted
            self._draw_ground_truth()
            self._draw_estimates()

    # ------------------------------------------------------------------ actions
    def query_box(self) -> tuple[np.ndarray, np.ndarray] | None:
        """World-frame (min, max) corners of what the current query draws: its ground-truth
        and estimated frustums (at ``QUERY_SCALE`` x the camera depth), or None."""
        query, depth = self.state.current_query, QUERY_SCALE * self.frustum_depth
        verts = []
        if query is not None and query.gt_cam_from_world is not None and query.camera:
            gt_depth = GT_SCALE * depth
            verts.append(geometry.frustum_vertices(query.camera, query.gt_cam_from_world, gt_depth))
        for r in self.state.query_results().values():
            if r.success and r.cam_from_world is not None and r.camera is not None:
                verts.append(geometry.frustum_vertices(r.camera, r.cam_from_world, depth))
        if not verts:
            return None
        allv = np.concatenate(verts)
        return allv.min(axis=0), allv.max(axis=0)

    def frame_query(self) -> bool:
        """Centre the view on the current query and zoom until its frustums fill about half
        of it, keeping the viewing direction; False when the query has nothing to frame."""
        box = self.query_box()
        if box is None:
            if self.state.scene is not None:
                self.state.notifications.info(
                    "Frame query: the current query has no ground truth or estimate to frame"
                )
            return False
        corners = np.array(np.meshgrid(*zip(*box, strict=True))).reshape(3, -1).T
        display = self.gl.to_display(corners)
        self.gl.look_at_box(display.min(axis=0), display.max(axis=0))
        return True

    def fit(self) -> None:
        scene = self.state.scene
        if scene is None:
            return
        parts = []
        if len(scene.points):
            d = self.gl.to_display(scene.points.xyz)
            parts += [np.percentile(d, 2, axis=0), np.percentile(d, 98, axis=0)]
        if scene.posed_ids():
            parts.append(self.gl.to_display(scene.camera_centers()))
        if not parts:
            return
        allp = np.vstack(parts)
        self.gl.fit(allp.min(axis=0), allp.max(axis=0))

    def _on_camera_picked(self, image_id: int) -> None:
        self.state.select_image(image_id, source="3d")


def predicted_points(result: LocalizationResult | None) -> tuple[np.ndarray, np.ndarray]:
    """The dense scene coordinates of a result as (N, 3) points and (N, 4) RGBA colours (the
    match view's coordinate colours), or empty arrays."""
    sc = result.scene_coordinates if result is not None else None
    if sc is None:
        return np.zeros((0, 3)), np.zeros((0, 4))
    xyz = np.asarray(sc.xyz, float).reshape(-1, 3)
    xyz = xyz[np.isfinite(xyz).all(axis=1)]
    rgb, _ = coordinate_colours(xyz.reshape(-1, 1, 3))
    alpha = np.full((len(xyz), 1), 0.9)
    return xyz, np.concatenate([rgb.reshape(-1, 3) / 255.0, alpha], axis=1)


def _cat(segments: list[np.ndarray]) -> np.ndarray:
    return np.concatenate(segments) if segments else np.zeros((0, 3))
