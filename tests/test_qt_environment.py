"""Guards against Qt binding builds that break the workbench."""

from __future__ import annotations

import sys

import pytest

pytest.importorskip("PySide6")

from PySide6 import QtCore  # noqa: E402


class _Emitter(QtCore.QObject):
    sig = QtCore.Signal(int)


def test_signal_emit_keeps_reference_counts():
    """PySide6 6.12.0's emit() dropped a reference to True per call: the app aborted
    ("deallocating True or False") after a few thousand emits. Pinned to a good build."""
    em = _Emitter()
    em.sig.connect(lambda v: None)
    before = sys.getrefcount(True)
    for _ in range(200):
        em.sig.emit(1)
    assert abs(sys.getrefcount(True) - before) < 20  # 6.12.0: -200
