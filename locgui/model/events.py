"""A tiny synchronous signal: the change events of the application state (no Qt).

Views subscribe with ``signal.connect(callback)``; the model calls ``signal.emit(...)`` after
every change. Bound methods are held weakly, so a deleted view drops out by itself (napari's
EventEmitter does the same). Emission happens on the thread that changes the model, which in
the workbench is always the Qt main thread.
"""

from __future__ import annotations

import logging
import weakref
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import MethodType
from typing import Any

log = logging.getLogger(__name__)

SlotErrorHook = Callable[[BaseException, Callable[..., Any]], None]


def _log_slot_error(exc: BaseException, slot: Callable[..., Any]) -> None:
    log.error("a view failed while handling a change (%s)", slot, exc_info=exc)


_slot_error_hook: SlotErrorHook = _log_slot_error


def set_slot_error_hook(hook: SlotErrorHook | None) -> SlotErrorHook:
    """Replace what happens when a callback raises (None: log it). Returns the previous hook.

    Tests install a hook that re-raises so a broken view fails the test.
    """
    global _slot_error_hook
    previous = _slot_error_hook
    _slot_error_hook = hook or _log_slot_error
    return previous


class Signal:
    """A list of callbacks called in connection order with the emitted arguments.

    A callback that raises is reported to the slot-error hook (logging by default; tests make
    it re-raise) and does not stop the others: one broken view never breaks the model.
    """

    def __init__(self, name: str = "") -> None:
        self.name = name
        self._slots: list[Callable[[], Callable[..., Any] | None]] = []
        self._blocked = 0
        self._emitting = False
        self._pending: deque[tuple[Any, ...]] = deque()

    def connect(self, slot: Callable[..., Any]) -> Callable[..., Any]:
        """Subscribe ``slot``; returns it so this can decorate a function."""
        if isinstance(slot, MethodType):
            ref: Callable[[], Callable[..., Any] | None] = weakref.WeakMethod(slot)
        else:

            def ref(slot: Callable[..., Any] = slot) -> Callable[..., Any]:
                return slot

        if slot not in self.slots():
            self._slots.append(ref)
        return slot

    def disconnect(self, slot: Callable[..., Any]) -> None:
        self._slots = [r for r in self._slots if r() is not None and r() != slot]

    def slots(self) -> list[Callable[..., Any]]:
        """The live callbacks, in connection order."""
        live = [r() for r in self._slots]
        return [s for s in live if s is not None]

    def emit(self, *args: Any) -> None:
        """Call every slot with ``args``.

        An emission from inside a slot (a view reacting to a change by changing the model
        again) is queued until every slot has seen the current one, so all slots see the
        changes in the same order.
        """
        if self._blocked:
            return
        self._pending.append(args)
        if self._emitting:
            return
        self._emitting = True
        try:
            while self._pending:
                self._deliver(self._pending.popleft())
        finally:
            self._emitting = False
            self._pending.clear()

    def _deliver(self, args: tuple[Any, ...]) -> None:
        self._slots = [r for r in self._slots if r() is not None]
        for slot in self.slots():
            try:
                slot(*args)
            except Exception as exc:  # noqa: BLE001  (reported, then the next view runs)
                _slot_error_hook(exc, slot)

    @contextmanager
    def blocked(self) -> Iterator[None]:
        """Suppress emission inside the block (e.g. while applying several changes)."""
        self._blocked += 1
        try:
            yield
        finally:
            self._blocked -= 1

    def __repr__(self) -> str:
        return f"Signal({self.name!r}, {len(self._slots)} slots)"
