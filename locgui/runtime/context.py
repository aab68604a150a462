"""RunContext: how long work reports progress, partial results and checks for cancellation.

Methods, trainers and builders take a RunContext and never print or touch Qt. The CLI gives
them a context that logs progress; the UI's worker bridge gives one whose callbacks post to
the main thread.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from locgui.core.errors import Cancelled

ProgressFn = Callable[[str, float, str], None]
"""(stage, fraction in [0, 1] or -1 when unknown, message) -> None"""
PartialFn = Callable[[str, Any], None]
"""(kind, payload) -> None, e.g. ("matches_2d2d", [Matches2D2D, ...]); the kinds a method
sends are ``locgui.core.results.PARTIAL_KINDS``."""

FAULT_ENV = "LOCGUI_FAULT_AT"
"""Environment variable read when a context is made without ``fault_at`` (tests of a CLI)."""


class InjectedFault(KeyboardInterrupt):
    """Raised by a context's fault hook: a Ctrl-C at a stage boundary, for fault-injection
    tests. Never raised unless ``fault_at`` (or ``LOCGUI_FAULT_AT``) is set."""


class _Fault:
    """Raise ``InjectedFault`` at the n-th (1-based) boundary named ``stage``: ``"name[:n]"``."""

    def __init__(self, spec: str) -> None:
        name, sep, count = spec.rpartition(":")
        if not sep or not count.isdigit():
            name, count = spec, "1"
        self.stage, self.n, self.seen = name, int(count), 0

    def check(self, stage: str) -> None:
        if stage == self.stage:
            self.seen += 1
            if self.seen == self.n:
                raise InjectedFault(f"fault injected at {self.stage}:{self.n}")


class RunContext:
    """Progress, partial results, cancellation and stage timing for one task.

    Attributes:
        timings: stage name -> seconds, filled by ``stage()``.

    ``fault_at="name[:n]"`` (a test hook) raises ``InjectedFault`` at the n-th boundary named
    ``name``: entering ``stage(name)``, calling ``progress(name, ...)`` or ``boundary(name)``,
    counted together.
    """

    def __init__(
        self,
        on_progress: ProgressFn | None = None,
        on_partial: PartialFn | None = None,
        cancel_event: threading.Event | None = None,
        device: str | None = None,
        fault_at: str | None = None,
    ) -> None:
        self._on_progress = on_progress
        self._on_partial = on_partial
        self._cancel = cancel_event or threading.Event()
        self.device = device
        self.timings: dict[str, float] = {}
        spec = fault_at if fault_at is not None else os.environ.get(FAULT_ENV)
        self._fault = _Fault(spec) if spec else None

    # ------------------------------------------------------------------ cancellation
    def cancel(self) -> None:
        self._cancel.set()

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    @property
    def cancel_event(self) -> threading.Event:
        """The event set on cancellation, for loops that wait on one (a live session)."""
        return self._cancel

    def check_cancelled(self) -> None:
        """Raise ``Cancelled`` if the task was cancelled. Call it between steps."""
        if self._cancel.is_set():
            raise Cancelled("cancelled by the user")

    # ------------------------------------------------------------------ reporting
    def progress(self, stage: str, fraction: float = -1.0, message: str = "") -> None:
        self.check_cancelled()
        if self._fault is not None:
            self._fault.check(stage)
        if self._on_progress is not None:
            self._on_progress(stage, fraction, message)

    def boundary(self, name: str) -> None:
        """Mark a point where work may be killed but is not cancelled (e.g. just before a
        finished run is stored): only the fault hook looks at it."""
        if self._fault is not None:
            self._fault.check(name)

    def partial(self, kind: str, payload: Any) -> None:
        if self._on_partial is not None:
            self._on_partial(kind, payload)

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        """Time a stage (accumulating if repeated) and check cancellation on entry."""
        self.check_cancelled()
        if self._fault is not None:
            self._fault.check(name)
        start = time.perf_counter()
        try:
            yield
        finally:
            self.timings[name] = self.timings.get(name, 0.0) + time.perf_counter() - start

    def child(self) -> RunContext:
        """A context sharing callbacks, cancellation and the fault hook but with its own
        timings."""
        child = RunContext(self._on_progress, self._on_partial, self._cancel, self.device)
        child._fault = self._fault
        return child


def resolve_device(requested: str | None = None) -> str:
    """ "cuda" when asked for (or "auto") and available, else "cpu". Imports torch lazily."""
    if requested not in (None, "auto", "cuda"):
        return str(requested)
    try:
        import torch
    except ImportError:
        return "cpu"
    if torch.cuda.is_available():
        return "cuda"
    return "cpu"


def available_devices() -> list[str]:
    """The devices this machine can run methods on: "cpu", and "cuda" when torch sees a GPU."""
    return ["cpu", "cuda"] if resolve_device("cuda") == "cuda" else ["cpu"]
