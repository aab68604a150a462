"""The application state: scene, queries, results, selection, settings, notifications, the
3D view's camera and the live run.

Pure Python with change events (napari style). Qt views subscribe to the signals and redraw
from the state; they never own data. Only the main thread mutates the state: worker results
are posted to it and applied there.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from locgui.core.camera import Camera
from locgui.core.metrics import pose_error
from locgui.core.pose import Rigid3
from locgui.core.results import LocalizationResult
from locgui.core.scene import SceneMap
from locgui.io.queries import QueryRef, split_refs
from locgui.model import linking
from locgui.model.events import Signal
from locgui.model.live import LiveState
from locgui.model.notifications import Notifications
from locgui.model.selection import SelectionModel
from locgui.model.settings import Settings
from locgui.model.timeline import Timeline

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ViewCamera:
    """The 3D view's camera as an OpenCV pinhole camera.

    Attributes:
        camera: PINHOLE intrinsics of the view, in widget pixels (COLMAP pixel convention).
        cam_from_world: its pose (world frame, map units; OpenCV camera axes).
    """

    camera: Camera
    cam_from_world: Rigid3


class AppState:
    """Everything the workbench shows.

    Signals:
        scene_changed(): a scene (and maybe a bundle) was opened or closed.
        queries_changed(): the query list changed.
        results_changed(query, method): a result was stored or removed (method None: all).
        partial_changed(query, method, kind): partial output (e.g. matches) arrived.
        configs_changed(method): a method's parameters changed.
        view_camera_changed(view_camera): the 3D view's camera moved (throttled by the view).

    Attributes:
        view_camera: the 3D view's ``ViewCamera`` (None until the view reports it).
        live: the live run (``LiveState``, with its own signals).
        timeline: the track the timeline shows and the position in it (``Timeline``).
    """

    def __init__(self, settings: Settings | None = None) -> None:
        self.scene_changed = Signal("scene_changed")
        self.queries_changed = Signal("queries_changed")
        self.results_changed = Signal("results_changed")
        self.partial_changed = Signal("partial_changed")
        self.configs_changed = Signal("configs_changed")
        self.view_camera_changed = Signal("view_camera_changed")
        self.selection = SelectionModel()
        self.settings = settings or Settings()
        self.notifications = Notifications()
        self.scene: SceneMap | None = None
        self.bundle: Any = None
        self.scene_path: Path | None = None
        self.queries: dict[str, QueryRef] = {}
        self.results: dict[str, dict[str, LocalizationResult]] = {}
        self.partials: dict[tuple[str, str], LocalizationResult] = {}
        self.configs: dict[str, Any] = {}
        self.view_camera: ViewCamera | None = None
        self.live = LiveState()
        self.timeline = Timeline(self)
        self.live.run_added.connect(self.timeline.run_started)
        self.live.frame_changed.connect(lambda update: self.timeline.frames_added())
        self.results_changed.connect(lambda query, method: self.timeline.results_changed())
        self.scene_changed.connect(self.timeline.reset)
        self.selection.changed.connect(lambda new, old: self.timeline.query_selected(new.query))

    # ------------------------------------------------------------------ scene
    def set_scene(
        self,
        scene: SceneMap | None,
        bundle: Any = None,
        path: Path | None = None,
        queries: list[QueryRef] | tuple[QueryRef, ...] | None = None,
    ) -> None:
        """Show a scene (``bundle.scene`` when only a bundle is given); clears results.

        ``queries`` default to the scene's "test" split.
        """
        self.scene = bundle.scene if bundle is not None and scene is None else scene
        self.bundle = bundle
        self.scene_path = path
        self.results.clear()
        self.partials.clear()
        if queries is None:
            queries = split_refs(self.scene) if self.scene is not None else []
        self.queries = {q.name: q for q in queries}
        self.selection.reset()
        self._post_scene_warnings()
        self.scene_changed.emit()
        self.queries_changed.emit()
        self.results_changed.emit(None, None)
        if self.queries:
            self.select_query(next(iter(self.queries)), source="scene")

    def _post_scene_warnings(self) -> None:
        """What the readers noticed about the scene (missing image files, a folder that looks
        like a failed attempt at another layout), as notifications, not only log lines."""
        scene = self.scene
        if scene is None:
            return
        missing = list(scene.missing_images)
        if missing:
            more = f" and {len(missing) - 5} more" if len(missing) > 5 else ""
            names = ", ".join(missing[:5]) + more
            self.notifications.warning(
                f"{len(missing)} of {len(scene.images)} images of the scene have no file",
                detail=names, source="scene",
            )  # fmt: skip
        for note in scene.meta.get("layout_notes", []) or []:
            self.notifications.warning(f"{scene.source_path}: {note}", source="scene")

    @property
    def capabilities(self) -> set[str]:
        return set(getattr(self.bundle, "capabilities", ()) or ())

    # ------------------------------------------------------------------ queries
    def add_query(self, query: QueryRef, select: bool = True) -> QueryRef:
        self.queries[query.name] = query
        self.queries_changed.emit()
        if select:
            self.select_query(query.name, source="queries")
        return query

    def select_query(self, name: str | None, source: str = "") -> None:
        if name is not None and name not in self.queries:
            raise KeyError(f"no query named {name!r}")
        method = self.selection.current.method
        results = self.results.get(name or "", {})
        if method not in results:
            method = next(iter(results), method)
        self.selection.update(
            source, query=name, method=method, match_index=None, point3D_id=None, pixel=None
        )

    @property
    def current_query(self) -> QueryRef | None:
        name = self.selection.current.query
        return self.queries.get(name) if name else None

    # ------------------------------------------------------------------ results
    def set_result(self, result: LocalizationResult) -> None:
        self.results.setdefault(result.query_name, {})[result.method] = result
        self.partials.pop((result.query_name, result.method), None)
        self.results_changed.emit(result.query_name, result.method)
        sel = self.selection.current
        if sel.query == result.query_name and (sel.method is None or sel.method == result.method):
            self.selection.update("results", method=result.method, match_index=None)

    def set_partial(self, query: str, method: str, kind: str, payload: Any) -> None:
        """Partial output before the pose: ``kind`` is the ``LocalizationResult`` field it fills
        (``locgui.core.results.PARTIAL_KINDS``: scene coordinates, 2D-2D or 2D-3D matches,
        the shortlist) or "extras:NAME"; the views read it like a finished result."""
        part = self.partials.get((query, method)) or LocalizationResult(method, query, False)
        part.apply_partial(kind, payload)
        self.partials[(query, method)] = part
        sel = self.selection.current
        if sel.query == query and (
            sel.method is None or sel.method not in self.results.get(query, {})
        ):
            self.selection.update("partial", method=method)
        self.partial_changed.emit(query, method, kind)

    def clear_results(self, query: str | None = None) -> None:
        if query is None:
            self.results.clear()
        else:
            self.results.pop(query, None)
        self.results_changed.emit(query, None)

    def result(
        self, query: str | None = None, method: str | None = None
    ) -> LocalizationResult | None:
        """A stored result (defaults: the selected query and method), or the partial one."""
        sel = self.selection.current
        query = query or sel.query
        method = method or sel.method
        if query is None or method is None:
            return None
        found = self.results.get(query, {}).get(method)
        return found if found is not None else self.partials.get((query, method))

    def query_results(self, query: str | None = None) -> dict[str, LocalizationResult]:
        return dict(self.results.get(query or self.selection.current.query or "", {}))

    def errors(self, result: LocalizationResult) -> tuple[float, float] | None:
        """(translation in map units, rotation in degrees) against ground truth, if known."""
        query = self.queries.get(result.query_name)
        gt = query.gt_cam_from_world if query is not None else None
        if gt is None or result.cam_from_world is None or not result.success:
            return None
        return pose_error(result.cam_from_world, gt)

    def session_poses(self, method: str) -> list[tuple[str, Rigid3]]:
        """(query name, estimated cam_from_world) of every successful result of ``method``."""
        out = []
        for name, per_method in self.results.items():
            r = per_method.get(method)
            if r is not None and r.success and r.cam_from_world is not None:
                out.append((name, r.cam_from_world))
        return out

    # ------------------------------------------------------------------ configs
    def set_config(self, method: str, config: Any) -> None:
        self.configs[method] = config
        self.configs_changed.emit(method)

    # ------------------------------------------------------------------ views
    def set_view_camera(self, camera: Camera, cam_from_world: Rigid3) -> None:
        """The 3D view's camera (emits only when it changed)."""
        new = ViewCamera(camera, cam_from_world)
        if new != self.view_camera:
            self.view_camera = new
            self.view_camera_changed.emit(new)

    # ------------------------------------------------------------------ linking
    def select_match(self, index: int | None, source: str = "") -> None:
        """Select a 2D-3D match of the focused result; its map point follows."""
        result = self.result()
        pid = None
        if index is not None and result is not None and result.matches_2d3d is not None:
            if not 0 <= index < len(result.matches_2d3d):
                raise IndexError(f"match {index} out of range ({len(result.matches_2d3d)})")
            pid = int(result.matches_2d3d.point3D_ids[index])
        image_id = self.selection.current.image_id
        if index is not None and result is not None and result.matches_2d3d is not None:
            src = int(result.matches_2d3d.source_image_ids[index])
            image_id = src if src >= 0 else image_id
        self.selection.update(
            source,
            match_index=index,
            point3D_id=pid if pid is None or pid >= 0 else None,
            image_id=image_id,
        )

    def select_point(self, point3D_id: int | None, source: str = "") -> None:
        """Select a map point; the focused result's match using it (if any) follows."""
        result = self.result()
        index = None
        if point3D_id is not None and result is not None:
            index = linking.match_index_of_point(result, point3D_id)
        changes: dict[str, Any] = {"point3D_id": point3D_id, "match_index": index}
        if index is not None and result is not None and result.matches_2d3d is not None:
            src = int(result.matches_2d3d.source_image_ids[index])
            if src >= 0:
                changes["image_id"] = src
        self.selection.update(source, **changes)

    def select_image(self, image_id: int | None, source: str = "") -> None:
        self.selection.update(source, image_id=image_id)

    def select_method(self, method: str | None, source: str = "") -> None:
        self.selection.update(source, method=method, match_index=None, point3D_id=None)
