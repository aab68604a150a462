"""A parameter form generated from a config dataclass (never written per method).

bool -> checkbox, int -> spin box, float -> double spin box, choices / Literal -> combo box,
str -> line edit. Bounds and tooltips come from the field metadata (``min``, ``max``,
``step``, ``help``); see ``locgui.model.config_fields``.
"""

from __future__ import annotations

import math
from typing import Any

from PySide6 import QtCore, QtWidgets

from locgui.model.config_fields import FieldSpec, config_fields, with_values

INT_LIMIT = 2**31 - 1


class ParamPanel(QtWidgets.QWidget):
    """Edits one config instance. ``config()`` returns a new instance with the edited values.

    Signals:
        changed(config): after any edit.
    """

    changed = QtCore.Signal(object)

    def __init__(self, config: Any, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self._base = config
        self.specs = config_fields(type(config))
        self.editors: dict[str, QtWidgets.QWidget] = {}
        form = QtWidgets.QFormLayout(self)
        form.setContentsMargins(4, 4, 4, 4)
        form.setLabelAlignment(QtCore.Qt.AlignmentFlag.AlignRight)
        # A narrow dock wraps a long row (label above its field) instead of scrolling sideways.
        form.setRowWrapPolicy(QtWidgets.QFormLayout.RowWrapPolicy.WrapLongRows)
        for spec in self.specs:
            editor = make_editor(spec)
            editor.setMinimumWidth(56)  # a spin box's own minimum fits its whole range
            editor.setToolTip(_tooltip(spec))
            self._connect(editor)
            label = QtWidgets.QLabel(spec.label)
            label.setToolTip(editor.toolTip())
            form.addRow(label, editor)
            self.editors[spec.name] = editor
        self.set_config(config)

    def set_config(self, config: Any) -> None:
        """Show ``config``'s values (no ``changed`` emitted)."""
        self._base = config
        for spec in self.specs:
            editor = self.editors[spec.name]
            with QtCore.QSignalBlocker(editor):
                set_value(editor, spec, getattr(config, spec.name))

    def values(self) -> dict[str, Any]:
        return {s.name: get_value(self.editors[s.name], s) for s in self.specs}

    def config(self) -> Any:
        return with_values(self._base, self.values())

    def _connect(self, editor: QtWidgets.QWidget) -> None:
        emit = lambda *_: self.changed.emit(self.config())  # noqa: E731
        if isinstance(editor, QtWidgets.QCheckBox):
            editor.toggled.connect(emit)
        elif isinstance(editor, QtWidgets.QSpinBox | QtWidgets.QDoubleSpinBox):
            editor.valueChanged.connect(emit)
        elif isinstance(editor, QtWidgets.QComboBox):
            editor.currentIndexChanged.connect(emit)
        elif isinstance(editor, QtWidgets.QLineEdit):
            editor.editingFinished.connect(emit)


def _tooltip(spec: FieldSpec) -> str:
    parts = [spec.help or spec.label]
    if spec.minimum is not None or spec.maximum is not None:
        lo = "-inf" if spec.minimum is None else f"{spec.minimum:g}"
        hi = "inf" if spec.maximum is None else f"{spec.maximum:g}"
        parts.append(f"range [{lo}, {hi}]")
    parts.append(f"default {spec.default!r}")
    return "\n".join(parts)


def make_editor(spec: FieldSpec) -> QtWidgets.QWidget:
    if spec.kind == "bool":
        return QtWidgets.QCheckBox()
    if spec.kind == "int":
        box = QtWidgets.QSpinBox()
        box.setRange(
            int(spec.minimum) if spec.minimum is not None else -INT_LIMIT,
            int(spec.maximum) if spec.maximum is not None else INT_LIMIT,
        )
        box.setSingleStep(int(spec.step or 1))
        box.setAccelerated(True)
        return box
    if spec.kind == "float":
        dbox = QtWidgets.QDoubleSpinBox()
        dbox.setDecimals(_decimals(spec))
        dbox.setRange(
            spec.minimum if spec.minimum is not None else -1e12,
            spec.maximum if spec.maximum is not None else 1e12,
        )
        dbox.setSingleStep(spec.step or _default_step(spec.default))
        return dbox
    if spec.kind == "choice":
        combo = QtWidgets.QComboBox()
        for choice in spec.choices:
            combo.addItem(str(choice), choice)
        return combo
    edit = QtWidgets.QLineEdit()
    if spec.optional:
        edit.setPlaceholderText("none")
    return edit


def _decimals(spec: FieldSpec) -> int:
    values = [
        abs(v) for v in (spec.default, spec.minimum, spec.step) if isinstance(v, int | float) and v
    ]
    smallest = min(values) if values else 1.0
    return int(min(8, max(2, 2 - math.floor(math.log10(smallest)) + 1)))


def _default_step(default: Any) -> float:
    if isinstance(default, int | float) and default:
        return float(10 ** math.floor(math.log10(abs(default))) / 10) or 0.1
    return 0.1


def set_value(editor: QtWidgets.QWidget, spec: FieldSpec, value: Any) -> None:
    if isinstance(editor, QtWidgets.QCheckBox):
        editor.setChecked(bool(value))
    elif isinstance(editor, QtWidgets.QSpinBox):
        editor.setValue(int(value))
    elif isinstance(editor, QtWidgets.QDoubleSpinBox):
        editor.setValue(float(value))
    elif isinstance(editor, QtWidgets.QComboBox):
        editor.setCurrentIndex(
            max(0, list(spec.choices).index(value) if value in spec.choices else 0)
        )
    elif isinstance(editor, QtWidgets.QLineEdit):
        editor.setText("" if value is None else str(value))


def get_value(editor: QtWidgets.QWidget, spec: FieldSpec) -> Any:
    if isinstance(editor, QtWidgets.QCheckBox):
        return editor.isChecked()
    if isinstance(editor, QtWidgets.QSpinBox):
        return editor.value()
    if isinstance(editor, QtWidgets.QDoubleSpinBox):
        return editor.value()
    if isinstance(editor, QtWidgets.QComboBox):
        return editor.currentData()
    if isinstance(editor, QtWidgets.QLineEdit):
        text = editor.text()
        return None if spec.optional and text == "" else text
    raise TypeError(f"no value for editor {editor!r}")
