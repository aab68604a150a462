"""Geometry checks of a window's widgets: no two visible controls overlap, no text is cut."""

from __future__ import annotations

from PySide6 import QtCore, QtWidgets

CONTROLS = (QtWidgets.QLabel, QtWidgets.QAbstractButton, QtWidgets.QComboBox,
            QtWidgets.QAbstractSpinBox, QtWidgets.QLineEdit)  # fmt: skip


def _name(w: QtWidgets.QWidget) -> str:
    text = ""
    if isinstance(w, QtWidgets.QLabel | QtWidgets.QAbstractButton):
        text = w.text()[:30]
    return f"{type(w).__name__}({w.objectName() or text!r})"


def visible_rect(w: QtWidgets.QWidget, top: QtWidgets.QWidget) -> QtCore.QRect:
    """``w``'s rectangle in ``top``'s coordinates, clipped by every ancestor (a widget
    scrolled out of view or in a collapsed splitter has an empty one)."""
    rect = QtCore.QRect(w.mapTo(top, QtCore.QPoint(0, 0)), w.size())
    p = w.parentWidget()
    while p is not None and p is not top:
        rect = rect & QtCore.QRect(p.mapTo(top, QtCore.QPoint(0, 0)), p.size())
        p = p.parentWidget()
    return rect & top.rect()


def controls(top: QtWidgets.QWidget) -> list[QtWidgets.QWidget]:
    """Visible controls, not inside another control (a spin box's line edit, a combo's view)."""
    out = []
    for w in top.findChildren(QtWidgets.QWidget):
        if not isinstance(w, CONTROLS) or not w.isVisibleTo(top) or not w.isVisible():
            continue
        if w.window() is not top.window():  # a window of its own (a dialog, a pop-out)
            continue
        p, inside = w.parentWidget(), False
        while p is not None and p is not top:
            if isinstance(p, (*CONTROLS, QtWidgets.QAbstractItemView)):
                inside = True
                break
            p = p.parentWidget()
        if not inside and not visible_rect(w, top).isEmpty():
            out.append(w)
    return out


def overlaps(top: QtWidgets.QWidget, min_area: int = 4) -> list[str]:
    """Pairs of visible controls whose visible rectangles share more than ``min_area`` px."""
    items = [(w, visible_rect(w, top)) for w in controls(top)]
    found = []
    for i, (a, ra) in enumerate(items):
        for b, rb in items[i + 1:]:
            inter = ra & rb
            if inter.width() * inter.height() > min_area:
                found.append(f"{_name(a)} {ra.getRect()} overlaps {_name(b)} {rb.getRect()}")
    return found


def cut_texts(top: QtWidgets.QWidget) -> list[str]:
    """Controls whose text does not fit their width, unless the full text is in the tooltip
    (an elided label) or the label wraps."""
    found = []
    for w in controls(top):
        if isinstance(w, QtWidgets.QLabel):
            if w.wordWrap() or w.textFormat() == QtCore.Qt.TextFormat.RichText or not w.text():
                continue
            if "<" in w.text() and ">" in w.text():  # rich text given as plain str
                continue
            need = w.fontMetrics().horizontalAdvance(w.text()) + 2 * w.margin()
            have = w.contentsRect().width()
        elif isinstance(w, QtWidgets.QAbstractButton) and w.text():
            need = w.fontMetrics().horizontalAdvance(w.text().replace("&", ""))
            have = w.contentsRect().width()
            if isinstance(w, QtWidgets.QCheckBox | QtWidgets.QRadioButton):
                have -= 18  # the box
        else:
            continue
        if need > have + 1 and w.text().replace("&", "") not in w.toolTip():
            found.append(f"{_name(w)}: text needs {need} px, has {have}")
    return found
