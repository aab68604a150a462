"""Starting the workbench: the QApplication, the window, and the screenshot mode."""

from __future__ import annotations

import logging
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6 import QtCore, QtWidgets

import locgui
from locgui.core.errors import LocguiError
from locgui.qt import style
from locgui.qt.main_window import MainWindow
from locgui.qt.workers import Task, TaskState

log = logging.getLogger(__name__)


def make_app() -> QtWidgets.QApplication:
    """The process's QApplication (created once, with the app icon), themed."""
    app = QtWidgets.QApplication.instance()
    if app is None:
        QtWidgets.QApplication.setApplicationName("locgui")
        QtWidgets.QApplication.setOrganizationName("locgui")
        QtWidgets.QApplication.setApplicationVersion(locgui.__version__)
        # Wayland and the task bars match windows to packaging/locgui.desktop by this name.
        QtWidgets.QApplication.setDesktopFileName("locgui")
        share_gl_contexts()
        app = QtWidgets.QApplication(sys.argv[:1])
    assert isinstance(app, QtWidgets.QApplication)  # not a widget-less QCoreApplication
    app.setWindowIcon(style.app_icon())
    style.apply_theme(app)
    return app


def share_gl_contexts() -> None:
    """Let every GL widget share resources: pyqtgraph caches its shader programs per class,
    so a second 3D view (or a recreated one) needs its context to share with the first.
    Must be called before the QApplication exists."""
    QtCore.QCoreApplication.setAttribute(QtCore.Qt.ApplicationAttribute.AA_ShareOpenGLContexts)


def wait_until(predicate: Callable[[], bool], timeout_s: float) -> bool:
    """Run the event loop until ``predicate()`` holds or the timeout passes."""
    if predicate():
        return True
    deadline = time.monotonic() + timeout_s
    loop = QtCore.QEventLoop()
    check = QtCore.QTimer(interval=5)

    def on_check() -> None:
        if predicate() or time.monotonic() > deadline:
            loop.quit()

    check.timeout.connect(on_check)
    check.start()
    loop.exec()
    check.stop()
    return bool(predicate())


def wait_for(task: Task, timeout_s: float) -> Task:
    """Block (running the event loop) until a task is done; raises LocguiError on timeout."""
    if not wait_until(lambda: task.state.done, timeout_s):
        task.cancel()
        raise LocguiError(f"{task.label} did not finish within {timeout_s:.0f} s")
    return task


def run_gui(args: Any) -> int:
    """``locgui [SCENE] [--screenshot OUT --query Q --method M]``."""
    app = make_app()
    settings = None
    if args.screenshot:  # reproducible: default layout, nothing read from or saved to the user's
        tmp = tempfile.mkdtemp(prefix="locgui-shot-")
        settings = QtCore.QSettings(
            str(Path(tmp) / "settings.ini"), QtCore.QSettings.Format.IniFormat
        )
    window = MainWindow(settings=settings)
    if args.size:
        w, h = (int(v) for v in args.size.lower().split("x"))
        window.resize(w, h)
    if args.device:
        window.state.settings.set("device", args.device)
    window.show()
    if args.screenshot:
        try:
            return screenshot(window, args)
        finally:
            window.close()
    if getattr(args, "demo", False):
        from locgui.qt.demo import open_demo

        QtCore.QTimer.singleShot(0, lambda: open_demo(window))
    elif args.scene:
        window.open_any(args.scene)
    elif window.recent_scenes():
        window.bench.open_path(window.recent_scenes()[0])
    else:
        from locgui.qt.demo import offer_demo

        QtCore.QTimer.singleShot(200, lambda: offer_demo(window))
    return int(app.exec())


def screenshot(window: MainWindow, args: Any, timeout_s: float = 600.0) -> int:
    """Open ``args.scene``, optionally localize ``args.query`` with ``args.method``, save a PNG."""
    bench, state = window.bench, window.state
    if getattr(args, "demo", False) and not args.scene:
        from locgui.qt.demo import open_demo

        demo = wait_for(open_demo(window), 3 * timeout_s)
        if demo.state is not TaskState.FINISHED:
            raise LocguiError(f"could not prepare the demo scene: {demo.error}")
        args.scene = str(demo.value)
    if not args.scene:
        raise LocguiError("--screenshot needs a SCENE to open (or --demo)")
    task = wait_for(bench.open_path(args.scene), timeout_s)
    if task.state is not TaskState.FINISHED:
        raise LocguiError(f"could not open {args.scene}: {task.error}")
    if args.query:
        select_query(window, args.query)
    if args.method:
        methods = [m for arg in args.method for m in arg.split(",") if m]
        state.settings.set("methods", methods)
        loc = bench.localize(methods)
        if loc is None:
            raise LocguiError("; ".join(n.message for n in state.notifications.items[-1:]))
        wait_for(loc, timeout_s)
    # Let image loads and thumbnails land, and the GL view draw its full-density frame.
    wait_until(lambda: not bench.bridge.tasks(), 60)
    wait_until(lambda: False, 0.5)
    from locgui.qt.export import save_screenshot

    out = save_screenshot(window, Path(args.screenshot))
    errors = state.notifications.errors()
    for note in errors:
        print(f"warning: {note.message}", file=sys.stderr)
    print(out)
    return 0


def select_query(window: MainWindow, query: str) -> None:
    """Make ``query`` current: a name from the query list, or an image file to add."""
    state = window.state
    if query in state.queries:
        state.select_query(query, source="cli")
        return
    path = Path(query)
    if path.is_file():
        window.queries.add_files([path])
        return
    names = ", ".join(list(state.queries)[:5])
    raise LocguiError(f"no query {query!r} in this scene (e.g. {names}) and no such image file")
