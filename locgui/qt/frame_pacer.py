"""Paces the repaints of a top-level window that holds an OpenGL view.

A window with a ``QOpenGLWidget`` inside recomposes all of itself through OpenGL whenever any
of its widgets repaints; with software GL on a busy 2-core machine that takes 20-70 ms. A
localization result reaches the window as a chain of queued events (the result, the images it
loads, the labels and panels that follow), each repainting something, and Qt delivers queued
events before timers: the window recomposed 6-8 times back to back while the 3D view's orbit,
hover and every other timer waited 300-450 ms (scripts/bench_ui.py).

After each repaint pass the pacer rests: a repaint request that comes before its rest timer
has fired is held, and the timer lets it through. The timer fires only once the queued events
have run (and at least ``rest_ms`` after the pass), so everything they changed is painted in
one pass and the other timers get their turn between passes.
"""

from __future__ import annotations

from PySide6 import QtCore, QtWidgets


class FramePacer(QtCore.QObject):
    """Event filter on ``window`` that merges its repaint requests while it rests."""

    def __init__(self, window: QtWidgets.QWidget, rest_ms: int = 15) -> None:
        super().__init__(window)
        self.window = window
        self.enabled = True  # off: every request paints at once (synchronous timings)
        self.passes = 0  # repaint passes let through (for benchmarks and tests)
        self.held = 0  # requests held back and merged into a later pass
        self._pending = False
        self._rest = QtCore.QTimer(self, singleShot=True, interval=rest_ms)
        self._rest.timeout.connect(self._rested)
        window.installEventFilter(self)

    def eventFilter(self, obj: QtCore.QObject, event: QtCore.QEvent) -> bool:  # noqa: N802
        if (
            not self.enabled
            or obj is not self.window
            or event.type() != QtCore.QEvent.Type.UpdateRequest
        ):
            return False
        if self._rest.isActive():
            # Qt posts no new request until this one is handled: _rested hands it over.
            self.held += 1
            self._pending = True
        else:
            self._paint(event)
        return True

    def _rested(self) -> None:
        if self._pending:
            self._pending = False
            self._paint(QtCore.QEvent(QtCore.QEvent.Type.UpdateRequest))

    def _paint(self, event: QtCore.QEvent) -> None:
        self.passes += 1
        try:
            self.window.event(event)  # paints every dirty widget and flushes the window
        finally:
            self._rest.start()
