"""The demo scene: offered on first start, generated and mapped once into the cache."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

from PySide6 import QtWidgets

from locgui.model import building
from locgui.qt.map_dialog import task_progress_dialog
from locgui.qt.workers import Task

if TYPE_CHECKING:
    from locgui.qt.main_window import MainWindow


def offer_demo(window: MainWindow) -> None:
    """Ask whether to open the demo scene (first start without a scene)."""
    ready = building.is_bundle(building.demo_root() / "scene.locmap")
    text = "No scene is open. Open the demo scene, a synthetic room with exact ground truth?" + (
        ""
        if ready
        else "\n\nIt is rendered and mapped on first use (a few minutes on a laptop CPU)."
    )
    answer = QtWidgets.QMessageBox.question(window, "Welcome to locgui", text)
    if answer == QtWidgets.QMessageBox.StandardButton.Yes:
        open_demo(window)


def open_demo(window: MainWindow) -> Task:
    """Prepare the demo (with a progress dialog and Cancel) and open it."""
    bench = window.bench
    root = building.demo_root()
    task = bench.submit(
        functools.partial(building.prepare_demo, root),
        "demo",
        "prepare the demo scene",
        executor="build",  # child processes: localizations need not wait for it
    )
    task_progress_dialog(window, "Demo scene", "Preparing the demo scene…", task)
    task.finished.connect(lambda bundle: bench.open_path(bundle))
    task.cancelled.connect(lambda: bench.state.notifications.info("demo preparation cancelled"))
    return task
