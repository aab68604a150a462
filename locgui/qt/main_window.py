"""The main window: docks around the 3D view, menus, shortcuts, drag-and-drop, persistence."""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Callable
from pathlib import Path

from PySide6 import QtCore, QtGui, QtWidgets

from locgui.model.live import STARTING
from locgui.model.selection import Selection
from locgui.qt import export, style
from locgui.qt.controller import Workbench
from locgui.qt.entity_tree import EntityTree
from locgui.qt.frame_pacer import FramePacer
from locgui.qt.image_view import DatabaseImagePanel
from locgui.qt.info_panels import NotificationPanel, PointPanel
from locgui.qt.live_dock import LiveDock
from locgui.qt.match_view import MatchView
from locgui.qt.methods_panel import MethodsPanel
from locgui.qt.nerf_view import NerfView
from locgui.qt.query_panel import IMAGE_SUFFIXES, QueryPanel
from locgui.qt.results_panel import ResultsPanel
from locgui.qt.timeline_view import TimelineView
from locgui.qt.view3d import Scene3DPanel

log = logging.getLogger(__name__)

STATE_VERSION = 2  # 2: the scene tree and timeline docks
MAX_RECENT = 10


class MainWindow(QtWidgets.QMainWindow):
    """The workbench window. ``settings`` persists layout, geometry, recent scenes, view options."""

    def __init__(
        self, bench: Workbench | None = None, settings: QtCore.QSettings | None = None
    ) -> None:
        super().__init__()
        self.bench = bench or Workbench(parent=self)
        self.eval_windows: list[QtWidgets.QMainWindow] = []  # open evaluation windows
        self.state = self.bench.state
        self.qsettings = settings or QtCore.QSettings("locgui", "locgui")
        self.setWindowTitle("locgui")
        self.setAcceptDrops(True)
        self.setDockOptions(
            QtWidgets.QMainWindow.DockOption.AnimatedDocks
            | QtWidgets.QMainWindow.DockOption.AllowTabbedDocks
        )
        self.view3d = Scene3DPanel(self.state)
        self.setCentralWidget(self.view3d)
        self.pacer = FramePacer(self)  # the 3D view makes every repaint recompose the window
        self.queries = QueryPanel(self.bench)
        self.methods = MethodsPanel(self.bench)
        self.results = ResultsPanel(self.state)
        self.matches = MatchView(self.bench)
        self.database = DatabaseImagePanel(self.bench)
        self.point = PointPanel(self.state)
        self.notifications = NotificationPanel(self.state)
        self.docks: dict[str, QtWidgets.QDockWidget] = {}
        self._build_docks()
        self._build_menus()
        self._status = style.styled_label(role="muted")
        self.statusBar().addPermanentWidget(self._status)
        self.bench.busy_changed.connect(self._on_busy)
        self.bench.scene_opened.connect(self._remember_scene)
        self.bench.evaluated.connect(self._on_evaluated)
        self.state.notifications.posted.connect(
            lambda n: self.statusBar().showMessage(n.message, 6000 if n.level != "error" else 12000)
        )
        self.state.notifications.posted.connect(self._raise_notifications)
        self.state.scene_changed.connect(self._on_scene)
        self.state.selection.changed.connect(self._on_selection)
        self.state.live.status_changed.connect(self._on_live_status)
        self.restore()

    # ------------------------------------------------------------------ layout
    def add_dock(
        self, key: str, title: str, widget: QtWidgets.QWidget, area: QtCore.Qt.DockWidgetArea
    ) -> QtWidgets.QDockWidget:
        """Put ``widget`` in a dock (other areas' views plug in here; the layout is saved by
        the dock's object name ``dock.<key>``, and View lists it)."""
        dock = QtWidgets.QDockWidget(title, self)
        dock.setObjectName(f"dock.{key}")
        dock.setWidget(widget)
        self.addDockWidget(area, dock)
        self.docks[key] = dock
        return dock

    def _build_docks(self) -> None:
        area = QtCore.Qt.DockWidgetArea
        self.add_dock("queries", "Queries", self.queries, area.LeftDockWidgetArea)
        self.add_dock("methods", "Methods", self.methods, area.LeftDockWidgetArea)
        self.add_dock("matches", "Matches", self.matches, area.RightDockWidgetArea)
        self.add_dock("database", "Database image", self.database, area.RightDockWidgetArea)
        self.add_dock("point", "Point", self.point, area.RightDockWidgetArea)
        self.add_dock("results", "Results", self.results, area.BottomDockWidgetArea)
        self.add_dock(
            "notifications", "Notifications", self.notifications, area.BottomDockWidgetArea
        )
        self.nerf = NerfView(self.state, self.bench)
        self.add_dock("nerf", "NeRF view", self.nerf, area.RightDockWidgetArea)
        self.tree = EntityTree(self.state)
        self.add_dock("tree", "Scene tree", self.tree, area.LeftDockWidgetArea)
        self.tabifyDockWidget(self.docks["queries"], self.docks["tree"])
        self.docks["queries"].raise_()
        self.timeline = TimelineView(self.state)
        self.add_dock("timeline", "Timeline", self.timeline, area.BottomDockWidgetArea)
        self.tabifyDockWidget(self.docks["database"], self.docks["point"])
        self.tabifyDockWidget(self.docks["point"], self.docks["nerf"])
        self.docks["database"].raise_()
        self.splitDockWidget(
            self.docks["results"], self.docks["notifications"], QtCore.Qt.Orientation.Horizontal
        )
        self.tabifyDockWidget(self.docks["results"], self.docks["timeline"])
        self.docks["results"].raise_()
        self.live = LiveDock(self.bench, self)
        self.addDockWidget(area.RightDockWidgetArea, self.live)
        self.docks["live"] = self.live
        self.live.hide()
        self._default_state = self.saveState(STATE_VERSION)
        self._sized = False

    def _build_menus(self) -> None:
        bar = self.menuBar()
        f = bar.addMenu("&File")
        self._action(f, "&Open scene…", self.open_dialog, QtGui.QKeySequence.StandardKey.Open)
        self._action(f, "Open scene &file…", self.open_file_dialog, "Ctrl+Alt+O")
        self._action(f, "Open &query image…", self.queries.open_dialog, "Ctrl+Shift+O")
        self._action(f, "Open evaluation &results…", self.open_eval_dialog, "Ctrl+Shift+R")
        self.recent_menu = f.addMenu("Recent scenes")
        self._action(f, "&Demo scene", self.open_demo)
        f.addSeparator()
        ex = f.addMenu("&Export")
        self._action(
            ex, "Screenshot of the window…", lambda: self.screenshot_dialog(self), "Ctrl+S"
        )
        self._action(ex, "Screenshot of the 3D view…", lambda: self.screenshot_dialog(self.view3d))
        self._action(
            ex, "Screenshot of the match view…", lambda: self.screenshot_dialog(self.matches)
        )
        ex.addSeparator()
        self._action(ex, "Current result as JSON…", self.export_result_dialog, "Ctrl+E")
        self._action(ex, "Session poses (TUM)…", lambda: self.export_poses_dialog("tum"))
        self._action(ex, "Session poses (COLMAP)…", lambda: self.export_poses_dialog("colmap"))
        f.addSeparator()
        self._action(f, "&Quit", self.close, QtGui.QKeySequence.StandardKey.Quit)
        map_menu = bar.addMenu("&Map")
        self._action(map_menu, "&Build map bundle…", self.build_map_dialog, "Ctrl+B")
        loc = bar.addMenu("&Localize")
        self.localize_action = self._action(
            loc, "&Localize current query", lambda: self.bench.localize()
        )
        self.localize_action.setShortcuts(
            [QtGui.QKeySequence("Return"), QtGui.QKeySequence("Enter")]
        )
        self._action(loc, "Localize &all queries", lambda: self.bench.localize_all(),
                     "Ctrl+Shift+Return")  # fmt: skip
        self._action(loc, "&Cancel", self.bench.cancel, "Esc")
        self._action(loc, "Li&ve relocalization…", self.show_live, "Ctrl+L")
        self._action(
            loc, "&Hold out database image as query", self.queries.hold_out_current, "Ctrl+H"
        )
        self._action(
            loc,
            "Clear results of this query",
            lambda: self.state.clear_results(self.state.selection.current.query),
        )
        view = bar.addMenu("&View")
        self._action(view, "&Fit scene", self.view3d.fit, "F")
        self._action(view, "Frame &query", self.view3d.frame_query, "Q")
        self._action(view, "&Match debugger window", self.matches.pop_out, "Ctrl+M")
        tl = self.state.timeline
        self._action(view, "Timeline: previous frame", lambda: tl.step(-1), "[")
        self._action(view, "Timeline: next frame", lambda: tl.step(1), "]")
        self._action(view, "Timeline: 10 frames back", lambda: tl.step(-10), "{")
        self._action(view, "Timeline: 10 frames on", lambda: tl.step(10), "}")
        self._action(view, "Timeline: play / pause", self.timeline.toggle_play, "Ctrl+Shift+P")
        view.addSeparator()
        for dock in self.docks.values():
            view.addAction(dock.toggleViewAction())
        view.addSeparator()
        self._action(
            view, "Reset layout", lambda: self.restoreState(self._default_state, STATE_VERSION)
        )
        help_menu = bar.addMenu("&Help")
        self._action(help_menu, "Keyboard shortcuts", self.show_shortcuts, "F1")

    def _action(
        self,
        menu: QtWidgets.QMenu,
        text: str,
        slot: Callable[[], object],
        shortcut: str | QtGui.QKeySequence.StandardKey | None = None,
    ) -> QtGui.QAction:
        act = menu.addAction(text)
        act.triggered.connect(lambda *_: slot())
        if shortcut is not None:
            act.setShortcut(QtGui.QKeySequence(shortcut))
            act.setShortcutContext(QtCore.Qt.ShortcutContext.WindowShortcut)
        self.addAction(act)
        return act

    def apply_default_sizes(self) -> None:
        """Dock sizes for a first start: the 3D view gets the middle ~45% of the width."""
        w, h = self.width(), self.height()
        orient = QtCore.Qt.Orientation
        self.resizeDocks(
            [self.docks["queries"], self.docks["matches"]],
            [int(w * 0.21), int(w * 0.34)],
            orient.Horizontal,
        )
        self.resizeDocks([self.docks["queries"]], [int(h * 0.3)], orient.Vertical)
        self.resizeDocks([self.docks["matches"]], [int(h * 0.45)], orient.Vertical)
        self.resizeDocks([self.docks["results"]], [int(h * 0.2)], orient.Vertical)
        self.resizeDocks(
            [self.docks["results"], self.docks["notifications"]],
            [int(w * 0.62), int(w * 0.38)],
            orient.Horizontal,
        )

    def showEvent(self, event: QtGui.QShowEvent) -> None:  # noqa: N802
        super().showEvent(event)
        if not self._sized:
            self._sized = True
            if self.qsettings.value("window/state") is None:
                self.apply_default_sizes()

    # ------------------------------------------------------------------ persistence
    def restore(self) -> None:
        geom = self.qsettings.value("window/geometry")
        if geom is not None:
            self.restoreGeometry(geom)
        else:
            self.resize(1600, 1000)
        state = self.qsettings.value("window/state")
        if state is not None:
            self.restoreState(state, STATE_VERSION)
        values = self.qsettings.value("view/settings")
        if values:
            try:
                for key, value in json.loads(str(values)).items():
                    if key in self.state.settings.as_dict():
                        self.state.settings.set(key, value)
            except (ValueError, TypeError) as exc:
                log.warning("ignoring saved view settings: %s", exc)
        self._fill_recent()

    def save(self) -> None:
        self.qsettings.setValue("window/geometry", self.saveGeometry())
        self.qsettings.setValue("window/state", self.saveState(STATE_VERSION))
        self.qsettings.setValue("view/settings", json.dumps(self.state.settings.as_dict()))
        self.qsettings.sync()

    def recent_scenes(self) -> list[str]:
        value = self.qsettings.value("recent/scenes") or []
        return [str(v) for v in (value if isinstance(value, list) else [value])]

    def _remember_scene(self, path: Path) -> None:
        recent = [str(path)] + [p for p in self.recent_scenes() if p != str(path)]
        self.qsettings.setValue("recent/scenes", recent[:MAX_RECENT])
        self._fill_recent()

    def _fill_recent(self) -> None:
        self.recent_menu.clear()
        for p in self.recent_scenes():
            self.recent_menu.addAction(p, functools.partial(self.bench.open_path, p))
        self.recent_menu.setEnabled(bool(self.recent_scenes()))

    def closeEvent(self, event: QtGui.QCloseEvent) -> None:  # noqa: N802
        self.save()
        self.bench.shutdown()  # stops a live run too
        super().closeEvent(event)

    # ------------------------------------------------------------------ actions
    def open_dialog(self) -> None:
        path = QtWidgets.QFileDialog.getExistingDirectory(
            self, "Open a scene folder or a map bundle"
        )
        if path:
            self.open_any(path)

    def open_file_dialog(self) -> None:
        """A scene given by a file: transforms.json, a PLY point cloud, an NVM model, ..."""
        path, _ = QtWidgets.QFileDialog.getOpenFileName(
            self, "Open a scene file", "",
            "Scene files (*.json *.ply *.nvm *.txt *.bin);;All files (*)",
        )  # fmt: skip
        if path:
            self.open_any(path)

    def open_any(self, path: str | Path) -> None:
        """A scene or map bundle in the workbench, an evaluation folder in its window."""
        from locgui.model.eval_results import is_eval_folder

        if is_eval_folder(path):
            self.open_eval(path)
        else:
            self.bench.open_path(path)

    def open_eval_dialog(self) -> None:
        path = QtWidgets.QFileDialog.getExistingDirectory(
            self, "Open an evaluation folder (locgui eval --sweep --out FOLDER)"
        )
        if path:
            self.open_eval(path)

    def open_eval(self, path: str | Path) -> None:
        """The results window of an evaluation folder (kept while it is open)."""
        from locgui.qt.eval_window import open_eval_window

        window = open_eval_window(self, path)
        if window is not None:
            self.eval_windows = [w for w in self.eval_windows if w.isVisible()] + [window]

    def _on_evaluated(self, folder: str) -> None:
        self.state.notifications.info(f"Localize all finished: {folder}", source="localize")
        self.open_eval(folder)

    def open_demo(self) -> None:
        from locgui.qt.demo import open_demo

        open_demo(self)

    def build_map_dialog(self) -> None:
        from locgui.qt.map_dialog import build_map_interactive

        build_map_interactive(self, self.bench)

    def screenshot_dialog(self, widget: QtWidgets.QWidget) -> None:
        path, _ = QtWidgets.QFileDialog.getSaveFileName(
            self, "Save screenshot", "locgui.png", "PNG (*.png)"
        )
        if path:
            export.save_screenshot(widget, Path(path))
            self.state.notifications.info(f"saved {path}")

    def export_result_dialog(self) -> None:
        path, _ = QtWidgets.QFileDialog.getSaveFileName(
            self, "Save result", "result.json", "JSON (*.json)"
        )
        if path:
            export.save_result_json(self.state, Path(path))
            self.state.notifications.info(f"saved {path}")

    def export_poses_dialog(self, fmt: str) -> None:
        method = self.state.selection.current.method
        if method is None:
            self.state.notifications.warning("localize some queries first")
            return
        suffix = "txt"
        path, _ = QtWidgets.QFileDialog.getSaveFileName(
            self, f"Save {method} poses ({fmt})", f"{method}_poses.{suffix}"
        )
        if path:
            try:
                n = export.save_session_poses(self.state, method, Path(path), fmt)
            except Exception as exc:  # noqa: BLE001  (reported, never fatal)
                self.state.notifications.error(f"export failed: {exc}")
                return
            self.state.notifications.info(f"saved {n} {method} poses to {path}")

    def reset_layout(self) -> None:
        self.restoreState(self._default_state, STATE_VERSION)
        for dock in self.docks.values():
            dock.show()
        self.apply_default_sizes()

    def show_live(self) -> None:
        """The live dock, as a tab beside the match view (stacked, the two docks' minimum
        heights grew the window past a 1000 px screen and squeezed the match view)."""
        if not self.live.isVisible() and not self.live.isFloating():
            self.tabifyDockWidget(self.docks["matches"], self.live)
        self.live.show()
        self.live.raise_()
        QtCore.QTimer.singleShot(0, self.keep_on_screen)

    def keep_on_screen(self) -> None:
        """Shrink the window back inside its screen's available area if a dock grew it."""
        screen = self.screen()
        if screen is None or self.isMaximized() or self.isFullScreen():
            return
        area = screen.availableGeometry()
        w, h = min(self.width(), area.width()), min(self.height(), area.height())
        if (w, h) != (self.width(), self.height()):
            self.resize(w, h)

    def show_shortcuts(self) -> None:
        lines = [
            f"{a.shortcut().toString()}\t{a.text().replace('&', '')}"
            for a in self.actions()
            if not a.shortcut().isEmpty()
        ]
        QtWidgets.QMessageBox.information(self, "Keyboard shortcuts", "\n".join(lines))

    # ------------------------------------------------------------------ model -> window
    def _on_scene(self) -> None:
        path = self.state.scene_path
        self.setWindowTitle(f"locgui — {path.name}" if path else "locgui")

    def _on_selection(self, new: Selection, old: Selection) -> None:
        if new.image_id != old.image_id and new.image_id is not None and new.source == "3d":
            self.docks["database"].raise_()
        if new.point3D_id != old.point3D_id and new.point3D_id is not None and new.source == "3d":
            self.docks["point"].raise_()

    def _on_live_status(self, status: str) -> None:
        if status == STARTING:
            self.docks["timeline"].show()
            self.docks["timeline"].raise_()

    def _on_busy(self, labels: list[str]) -> None:
        self._status.setText(" · ".join(labels[:3]) + (" …" if len(labels) > 3 else ""))

    def _raise_notifications(self, note: object) -> None:
        if getattr(note, "level", "") == "error":
            self.docks["notifications"].show()
            self.docks["notifications"].raise_()

    # ------------------------------------------------------------------ drag and drop
    def dragEnterEvent(self, event: QtGui.QDragEnterEvent) -> None:  # noqa: N802
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event: QtGui.QDropEvent) -> None:  # noqa: N802
        paths = [Path(u.toLocalFile()) for u in event.mimeData().urls() if u.isLocalFile()]
        event.acceptProposedAction()
        self.handle_drop(paths)

    def handle_drop(self, paths: list[Path]) -> None:
        """Images become queries (when a scene is open); anything else is opened as a scene."""
        images = [p for p in paths if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES]
        if images and self.state.scene is not None:
            self.queries.add_files(images)
        others = [p for p in paths if p not in images]
        if others:
            self.bench.open_path(others[0])
        elif images and self.state.scene is None:
            self.state.notifications.warning("open a scene before adding query images")
