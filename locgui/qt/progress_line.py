"""A progress bar that repaints lazily.

``QProgressBar.setValue`` repaints synchronously; in a window with OpenGL views every such
repaint composes the whole window (measured: 8 ms a call under Xvfb's software GL, on the UI
thread). ``ProgressLine`` only schedules a repaint, so many updates cost one paint.
"""

from __future__ import annotations

from PySide6 import QtCore, QtGui, QtWidgets

BACKGROUND = "#181b1f"
BORDER = "#3b424b"
CHUNK = "#2e6fdb"


class ProgressLine(QtWidgets.QWidget):
    """A horizontal bar with text; ``format`` understands ``%p`` (percent), ``%v`` and ``%m``
    (value and maximum) like ``QProgressBar``."""

    def __init__(
        self,
        minimum: int = 0,
        maximum: int = 100,
        format: str = "%p%",  # noqa: A002  (QProgressBar's name)
        parent: QtWidgets.QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._min, self._max, self._value, self._format = minimum, maximum, minimum, format
        self.setSizePolicy(
            QtWidgets.QSizePolicy.Policy.Expanding, QtWidgets.QSizePolicy.Policy.Fixed
        )

    # ------------------------------------------------------------------ QProgressBar's API
    def setRange(self, minimum: int, maximum: int) -> None:  # noqa: N802
        self._min, self._max = minimum, max(minimum, maximum)
        self._value = min(max(self._value, self._min), self._max)
        self.update()

    def setValue(self, value: int) -> None:  # noqa: N802
        value = min(max(int(value), self._min), self._max)
        if value != self._value:
            self._value = value
            self.update()

    def value(self) -> int:
        return self._value

    def setFormat(self, text: str) -> None:  # noqa: N802
        if text != self._format:
            self._format = text
            self.update()

    def format(self) -> str:
        return self._format

    def fraction(self) -> float:
        span = self._max - self._min
        return (self._value - self._min) / span if span > 0 else 0.0

    def text(self) -> str:
        return (
            self._format.replace("%p", str(round(100 * self.fraction())))
            .replace("%v", str(self._value))
            .replace("%m", str(self._max))
        )

    # ------------------------------------------------------------------ drawing
    def sizeHint(self) -> QtCore.QSize:  # noqa: N802
        return QtCore.QSize(120, self.fontMetrics().height() + 8)

    def minimumSizeHint(self) -> QtCore.QSize:  # noqa: N802
        return QtCore.QSize(40, self.fontMetrics().height() + 4)

    def paintEvent(self, event: QtGui.QPaintEvent) -> None:  # noqa: N802
        painter = QtGui.QPainter(self)
        rect = self.rect().adjusted(0, 0, -1, -1)
        painter.setPen(QtGui.QColor(BORDER))
        painter.setBrush(QtGui.QColor(BACKGROUND))
        painter.drawRoundedRect(rect, 3, 3)
        width = round((rect.width() - 2) * self.fraction())
        if width > 0:
            chunk = QtCore.QRect(rect.x() + 1, rect.y() + 1, width, rect.height() - 1)
            painter.fillRect(chunk, QtGui.QColor(CHUNK))
        painter.setPen(self.palette().color(QtGui.QPalette.ColorRole.WindowText))
        text = self.fontMetrics().elidedText(
            self.text(), QtCore.Qt.TextElideMode.ElideRight, rect.width() - 8
        )
        painter.drawText(rect, QtCore.Qt.AlignmentFlag.AlignCenter, text)
        painter.end()
