"""Map > Build map bundle: the build settings (a generated panel) and the progress dialog."""

from __future__ import annotations

from pathlib import Path

from PySide6 import QtCore, QtWidgets

from locgui.model.progress import STAGES_OF_TASK, StagedProgress
from locgui.qt.controller import Workbench
from locgui.qt.param_panel import ParamPanel
from locgui.qt.workers import Task


class BuildMapDialog(QtWidgets.QDialog):
    """Choose where the bundle goes and how it is built (fields of ``MapBuildConfig``)."""

    def __init__(self, source: Path, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        from locgui.methods.mapping.config import MapBuildConfig

        self.setWindowTitle("Build map bundle")
        self.source = source
        self.out = QtWidgets.QLineEdit(str(source.with_name(source.name + ".locmap")))
        self.params = ParamPanel(MapBuildConfig())
        scroll = QtWidgets.QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(self.params)
        buttons = QtWidgets.QDialogButtonBox(
            QtWidgets.QDialogButtonBox.StandardButton.Ok
            | QtWidgets.QDialogButtonBox.StandardButton.Cancel
        )
        buttons.button(QtWidgets.QDialogButtonBox.StandardButton.Ok).setText("Build")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form = QtWidgets.QFormLayout()
        form.addRow("source", QtWidgets.QLabel(str(source)))
        form.addRow("bundle", self.out)
        lay = QtWidgets.QVBoxLayout(self)
        lay.addLayout(form)
        lay.addWidget(scroll, 1)
        lay.addWidget(buttons)
        self.resize(520, 640)


def build_map_interactive(parent: QtWidgets.QWidget, bench: Workbench) -> Task | None:
    """Ask for the settings, then build with a progress dialog (Cancel stops the worker)."""
    source = bench.state.scene_path
    if source is None or bench.state.bundle is not None:
        bench.state.notifications.warning("open a scene (not a map bundle) to build its map")
        return None
    dialog = BuildMapDialog(source, parent)
    if dialog.exec() != QtWidgets.QDialog.DialogCode.Accepted:
        return None
    task = bench.build_map(source, Path(dialog.out.text()), dialog.params.config())
    task_progress_dialog(parent, "Build map bundle", "Building the map…", task)
    return task


def task_progress_dialog(
    parent: QtWidgets.QWidget, title: str, text: str, task: Task
) -> QtWidgets.QProgressDialog:
    """A window-modal progress dialog following ``task``; its Cancel cancels the task."""
    dialog = QtWidgets.QProgressDialog(text, "Cancel", 0, 1000, parent)
    dialog.setWindowTitle(title)
    dialog.setWindowModality(QtCore.Qt.WindowModality.WindowModal)
    dialog.setMinimumDuration(300)
    dialog.canceled.connect(task.cancel)
    spans = STAGES_OF_TASK.get(task.kind)
    staged = StagedProgress(spans) if spans is not None else None

    def show(stage: str, f: float, msg: str) -> None:
        if staged is not None:
            f, text = staged(stage, f, msg)
            stage, msg = text, ""
        _progress(dialog, stage, f, msg)

    task.progress.connect(show)
    task.done.connect(dialog.reset)
    return dialog


def _progress(dialog: QtWidgets.QProgressDialog, stage: str, fraction: float, msg: str) -> None:
    # Unknown fractions keep the bar where it is: Qt's "busy" animation repaints the whole
    # window (and its GL view) ~25 times a second, stealing the UI thread's time.
    if fraction >= 0:
        dialog.setValue(int(fraction * 1000))
    dialog.setLabelText(f"{stage}: {msg}" if msg else stage)
