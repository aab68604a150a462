"""The frame pacer: a chain of queued model updates repaints the window once, not once per
update, the last state is always painted, and timers run between repaint passes."""

from __future__ import annotations

import pytest

pytest.importorskip("PySide6")

from PySide6 import QtCore, QtWidgets  # noqa: E402

from locgui.qt.frame_pacer import FramePacer  # noqa: E402


class _Label(QtWidgets.QLabel):
    """Records the text of every paint."""

    def __init__(self) -> None:
        super().__init__("start")
        self.painted: list[str] = []

    def paintEvent(self, event):  # noqa: N802
        self.painted.append(self.text())
        super().paintEvent(event)


class _Chain(QtCore.QObject):
    """``n`` queued steps, each setting the label's text (like a result's events)."""

    step = QtCore.Signal(int)

    def __init__(self, label: _Label, n: int) -> None:
        super().__init__()
        self.label, self.n = label, n
        self.step.connect(self._on_step, QtCore.Qt.ConnectionType.QueuedConnection)

    def _on_step(self, i: int) -> None:
        self.label.setText(f"step {i}")
        if i + 1 < self.n:
            self.step.emit(i + 1)


def _run_chain(qtbot, paced: bool, n: int = 12) -> tuple[_Label, FramePacer, list[int]]:
    window = QtWidgets.QWidget()
    label = _Label()
    QtWidgets.QVBoxLayout(window).addWidget(label)
    pacer = FramePacer(window, rest_ms=15)
    pacer.enabled = paced
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    qtbot.wait(50)
    label.painted.clear()
    ticks: list[int] = []
    timer = QtCore.QTimer(interval=1)
    timer.timeout.connect(lambda: ticks.append(len(label.painted)))
    timer.start()
    chain = _Chain(label, n)
    chain.step.emit(0)
    qtbot.waitUntil(
        lambda: bool(label.painted) and label.painted[-1] == f"step {n - 1}", timeout=5000
    )
    qtbot.wait(60)  # nothing held back is left unpainted
    timer.stop()
    return label, pacer, ticks


def test_a_chain_of_updates_is_painted_in_few_passes(qtbot):
    label, pacer, _ = _run_chain(qtbot, paced=True)
    unpaced, _, _ = _run_chain(qtbot, paced=False)
    assert len(label.painted) < len(unpaced.painted)
    assert len(label.painted) <= 3
    assert pacer.held >= 1
    assert label.painted[-1] == "step 11"


def test_held_requests_are_painted_and_timers_run_between_passes(qtbot):
    label, pacer, ticks = _run_chain(qtbot, paced=True)
    assert pacer.passes >= 2
    # The 1 ms timer ran between every two passes (unpaced, the chain starves it).
    assert set(range(1, len(label.painted))) <= set(ticks)
