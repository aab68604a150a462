"""The methods picker: every registered method, its generated parameters, Localize / Cancel,
and Train for the per-scene models a method needs.

Methods come from ``locgui.methods.registry.all_methods()``; a method whose map
capabilities are missing is shown disabled with the trainer that provides them, and the Train
menu (from the same specs) trains or resumes it in the background.
"""

from __future__ import annotations

import functools
import logging

from PySide6 import QtCore, QtGui, QtWidgets

from locgui.core.errors import LocguiError
from locgui.methods.registry import MethodSpec, all_methods
from locgui.qt import style
from locgui.qt.controller import Workbench
from locgui.qt.param_panel import ParamPanel
from locgui.qt.progress_line import ProgressLine
from locgui.runtime.context import available_devices

log = logging.getLogger(__name__)


class MethodsPanel(QtWidgets.QWidget):
    """Check the methods to run; the highlighted one's parameters are editable below."""

    def __init__(self, bench: Workbench, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.bench = bench
        self.state = bench.state
        self.specs: dict[str, MethodSpec] = {}
        self.panels: dict[str, QtWidgets.QWidget] = {}
        self.list = QtWidgets.QListWidget()
        self.list.setMaximumHeight(96)
        self.list.setHorizontalScrollBarPolicy(QtCore.Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.list.setTextElideMode(QtCore.Qt.TextElideMode.ElideRight)
        self.list.itemChanged.connect(self._on_checked)
        self.list.currentItemChanged.connect(self._on_current)
        self.params_title = style.shrinkable(style.styled_label("", role="heading"))
        self.presets = QtWidgets.QComboBox()
        self.presets.activated.connect(self._on_preset)
        reset = QtWidgets.QPushButton("Defaults")
        reset.setToolTip("Reset this method's parameters to their defaults")
        reset.clicked.connect(self._on_reset)
        self.stack = QtWidgets.QStackedWidget()
        scroll = QtWidgets.QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setHorizontalScrollBarPolicy(QtCore.Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setWidget(self.stack)
        self.localize_button = QtWidgets.QPushButton("Localize")
        self.localize_button.setObjectName("primary")
        self.localize_button.setToolTip(
            "Localize the current query with the checked methods (Enter)"
        )
        self.localize_button.clicked.connect(lambda: bench.localize())
        self.cancel_button = QtWidgets.QPushButton("Cancel")
        self.cancel_button.setToolTip("Cancel the work in flight (Esc)")
        self.cancel_button.clicked.connect(bench.cancel)
        self.train_button = QtWidgets.QToolButton()
        self.train_button.setText("Train")
        self.train_button.setToolTip(
            "Train (or resume) the per-scene models the highlighted method needs, into the "
            "open map bundle; progress below, Cancel stops after the current step"
        )
        self.train_button.setPopupMode(QtWidgets.QToolButton.ToolButtonPopupMode.InstantPopup)
        self.train_menu = QtWidgets.QMenu(self.train_button)
        self.train_button.setMenu(self.train_menu)
        self.device = QtWidgets.QComboBox()
        devices = available_devices()  # only what this machine has (no cuda without a GPU)
        self.device.addItems(devices)
        saved = str(self.state.settings["device"])
        if saved not in devices:  # e.g. settings from a machine with a GPU
            self.state.settings.set("device", devices[0])
        self.device.setCurrentText(str(self.state.settings["device"]))
        self.device.currentTextChanged.connect(lambda d: self.state.settings.set("device", d))
        self.device.setToolTip("Where the methods run (one worker per device)")
        self.progress = ProgressLine(0, 1000, "idle")

        head = QtWidgets.QHBoxLayout()
        head.addStretch(1)
        head.addWidget(self.presets)
        head.addWidget(reset)
        head.addWidget(self.train_button)
        buttons = QtWidgets.QHBoxLayout()
        buttons.addWidget(self.device)
        buttons.addWidget(self.cancel_button)
        buttons.addWidget(self.localize_button, 1)
        lay = QtWidgets.QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addWidget(self.list)
        lay.addWidget(self.params_title)  # a line of its own: the buttons never cut it
        lay.addLayout(head)
        lay.addWidget(scroll, 1)
        lay.addWidget(self.progress)
        lay.addLayout(buttons)
        bench.progress.connect(self._on_progress)
        bench.busy_changed.connect(self._on_busy)
        self.state.scene_changed.connect(self._update_availability)
        self.state.settings.changed.connect(self._on_setting)
        self._populate()

    # ------------------------------------------------------------------ building
    def _populate(self) -> None:
        chosen = set(self.state.settings["methods"])
        with QtCore.QSignalBlocker(self.list):
            for spec in all_methods():
                self.specs[spec.name] = spec
                item = QtWidgets.QListWidgetItem(f"{spec.name}  —  {spec.title}")
                item.setData(QtCore.Qt.ItemDataRole.UserRole, spec.name)
                item.setFlags(item.flags() | QtCore.Qt.ItemFlag.ItemIsUserCheckable)
                item.setCheckState(
                    QtCore.Qt.CheckState.Checked
                    if spec.name in chosen
                    else QtCore.Qt.CheckState.Unchecked
                )
                item.setForeground(_qcolor(style.method_color(spec.name)))
                item.setToolTip(f"{spec.family}\n{spec.paper}".strip())
                self.list.addItem(item)
                self.panels[spec.name] = self._make_panel(spec)
                self.stack.addWidget(self.panels[spec.name])
        if self.list.count():
            self.list.setCurrentRow(0)
        if not self.specs:
            self.params_title.setText("No methods registered in this build")
        self._update_availability()

    def _make_panel(self, spec: MethodSpec) -> QtWidgets.QWidget:
        try:
            panel = ParamPanel(self.bench.method_config(spec.name))
        except (LocguiError, ImportError, TypeError) as exc:
            log.warning("no parameter panel for %s: %s", spec.name, exc)
            label = QtWidgets.QLabel(f"parameters unavailable: {exc}")
            label.setWordWrap(True)
            return label
        panel.changed.connect(lambda cfg, n=spec.name: self.state.set_config(n, cfg))
        return panel

    def _update_availability(self) -> None:
        self._update_train_menu()
        caps = self.state.capabilities
        has_bundle = self.state.bundle is not None
        for row in range(self.list.count()):
            item = self.list.item(row)
            spec = self.specs[item.data(QtCore.Qt.ItemDataRole.UserRole)]
            missing = spec.missing_capabilities(caps) if has_bundle else []
            tip = f"{spec.family}\n{spec.paper}".strip()
            if missing:
                tip += f"\nunavailable: the map lacks {', '.join(missing)}"
            item.setToolTip(tip)
            checkable = QtCore.Qt.ItemFlag.ItemIsUserCheckable
            with QtCore.QSignalBlocker(self.list):
                if missing:
                    item.setFlags(item.flags() & ~checkable)
                    item.setCheckState(QtCore.Qt.CheckState.Unchecked)
                    item.setForeground(_qcolor("#6b717a"))
                    item.setText(f"{spec.name}  —  needs {', '.join(missing)}")
                else:
                    item.setFlags(item.flags() | checkable)
                    item.setForeground(_qcolor(style.method_color(spec.name)))
                    item.setText(f"{spec.name}  —  {spec.title}")

    # ------------------------------------------------------------------ events
    def _on_checked(self, item: QtWidgets.QListWidgetItem) -> None:
        methods = [
            self.list.item(r).data(QtCore.Qt.ItemDataRole.UserRole)
            for r in range(self.list.count())
            if self.list.item(r).checkState() == QtCore.Qt.CheckState.Checked
        ]
        self.state.settings.set("methods", methods)
        self._update_title()

    def _on_current(self, item: QtWidgets.QListWidgetItem | None, _prev: object) -> None:
        if item is None:
            return
        name = item.data(QtCore.Qt.ItemDataRole.UserRole)
        spec = self.specs[name]
        self.stack.setCurrentWidget(self.panels[name])
        self._update_title()
        self.presets.clear()
        self.presets.addItem("preset…", None)
        for preset in spec.presets:
            self.presets.addItem(preset, preset)
        self.presets.setEnabled(bool(spec.presets))
        self._update_train_menu()

    def _update_title(self) -> None:
        """The parameters' heading says whether the highlighted method runs: the highlighted
        row (whose parameters show) and the ticked rows (which run) are not the same thing."""
        item = self.list.currentItem()
        if item is None:
            return
        name = item.data(QtCore.Qt.ItemDataRole.UserRole)
        ticked = item.checkState() == QtCore.Qt.CheckState.Checked
        text = f"{name} · runs" if ticked else f"{name} · skipped"
        self.params_title.setText(text)
        self.params_title.setToolTip(
            f"{text}: the parameters of {self.specs[name].title}; "
            + ("ticked, so Localize runs it" if ticked else "not ticked, so Localize skips it")
        )

    def _update_train_menu(self) -> None:
        """Train / resume actions for the trainers the highlighted method needs."""
        self.train_menu.clear()
        name = self.current_method()
        trainers = self.specs[name].trainers() if name in self.specs else []
        has_bundle = self.state.bundle is not None and hasattr(self.state.bundle, "path")
        caps = self.state.capabilities
        for trainer in trainers:
            done = all(c in caps for c in trainer.provides)
            act = self.train_menu.addAction(
                f"{'Retrain' if done else 'Train'} {trainer.name}: {trainer.title}"
            )
            act.setData(trainer.name)
            act.triggered.connect(functools.partial(self.bench.train, trainer.name, False))
            if trainer.resumable and done:
                again = self.train_menu.addAction(f"Resume {trainer.name} (train further)")
                again.triggered.connect(functools.partial(self.bench.train, trainer.name, True))
        self.train_button.setEnabled(bool(trainers) and has_bundle)

    def current_method(self) -> str | None:
        item = self.list.currentItem()
        return item.data(QtCore.Qt.ItemDataRole.UserRole) if item else None

    def _on_preset(self, index: int) -> None:
        name, preset = self.current_method(), self.presets.itemData(index)
        if name is None or preset is None:
            return
        self._set_config(name, self.specs[name].make_config(preset))

    def _on_reset(self) -> None:
        name = self.current_method()
        if name is not None:
            self._set_config(name, self.specs[name].make_config())

    def _set_config(self, name: str, config: object) -> None:
        panel = self.panels[name]
        if isinstance(panel, ParamPanel):
            panel.set_config(config)
        self.state.set_config(name, config)

    def _on_setting(self, key: str, value: object) -> None:
        if key == "methods":
            chosen = set(value)  # type: ignore[call-overload]
            with QtCore.QSignalBlocker(self.list):
                for r in range(self.list.count()):
                    item = self.list.item(r)
                    on = item.data(QtCore.Qt.ItemDataRole.UserRole) in chosen
                    item.setCheckState(
                        QtCore.Qt.CheckState.Checked if on else QtCore.Qt.CheckState.Unchecked
                    )
            self._update_title()

    def _on_progress(self, label: str, fraction: float, message: str) -> None:
        # No "busy" animation for unknown fractions: it repaints the window (GL view included)
        # continuously and steals the UI thread's time.
        if fraction >= 0:
            self.progress.setValue(int(fraction * 1000))
        self.progress.setFormat(f"{label}: {message}" if message else label)

    def _on_busy(self, labels: list[str]) -> None:
        if not labels:
            self.progress.setRange(0, 1000)
            self.progress.setValue(0)
            self.progress.setFormat("idle")
        self.cancel_button.setEnabled(bool(labels))


def _qcolor(color: str) -> QtGui.QColor:
    return QtGui.QColor(color)
