"""The worker bridge: every long task (localize, open, map build, training) runs through it.

One executor thread per key ("cpu", "cuda", "io", and "build" for jobs that run in a child
process and only wait for it here), so CUDA work is serialized. A task
is a function of a RunContext built from an immutable request snapshot on the main thread.
The worker posts started / progress / partial / finished / failed / cancelled events to the
main thread through a queued connection; ``Task`` re-emits them there as Qt signals, so views
never see a worker thread. A newer task of the same kind supersedes a pending one; quitting
cancels everything and joins every thread.
"""

from __future__ import annotations

import atexit
import enum
import logging
import threading
import time
import traceback
import weakref
from collections import deque
from collections.abc import Callable
from typing import Any

from PySide6 import QtCore

from locgui.core.errors import Cancelled
from locgui.runtime.context import RunContext
from locgui.runtime.priority import lower_thread_priority

log = logging.getLogger(__name__)

JobFn = Callable[[RunContext], Any]
DEVICE_KEYS = ("cpu", "cuda")


class TaskState(enum.Enum):
    PENDING = "pending"
    RUNNING = "running"
    FINISHED = "finished"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def done(self) -> bool:
        return self in (TaskState.FINISHED, TaskState.FAILED, TaskState.CANCELLED)


class Task(QtCore.QObject):
    """A handle on one submitted job; lives on the main thread, its signals fire there.

    Signals:
        started(), progress(stage, fraction in [0, 1] or -1, message), partial(kind, payload),
        finished(value), failed(exception, traceback text), cancelled(), done() (after any
        of the last three).
    """

    started = QtCore.Signal()
    progress = QtCore.Signal(str, float, str)
    partial = QtCore.Signal(str, object)
    finished = QtCore.Signal(object)
    failed = QtCore.Signal(object, str)
    cancelled = QtCore.Signal()
    done = QtCore.Signal()

    def __init__(self, fn: JobFn, kind: str, label: str, executor: str) -> None:
        super().__init__()
        self.fn = fn
        self.kind = kind
        self.label = label or kind
        self.executor = executor
        self.state = TaskState.PENDING
        self.value: Any = None
        self.error: BaseException | None = None
        self.cancel_event = threading.Event()
        self.times: dict[str, float] = {"submitted": time.perf_counter()}

    def cancel(self) -> None:
        """Ask the job to stop at its next ``check_cancelled``; a pending job never starts."""
        self.cancel_event.set()

    @property
    def is_cancel_requested(self) -> bool:
        return self.cancel_event.is_set()

    def __repr__(self) -> str:
        return f"Task({self.kind!r}, {self.label!r}, {self.state.value})"


class _Executor(QtCore.QThread):
    """One thread running queued tasks in order. Events go out through ``task_event``.

    Progress is forwarded at most every ``progress_interval`` seconds (and always at 100%):
    each update repaints a widget, which in a window with a GL view recomposes the window.
    """

    task_event = QtCore.Signal(object, str, object)

    def __init__(self, key: str, progress_interval: float = 0.1) -> None:
        super().__init__()
        self.key = key
        self.setObjectName(f"locgui-executor-{key}")
        self._queue: deque[Task] = deque()
        self._cv = threading.Condition()
        self._stopping = False
        self._progress_interval = progress_interval
        self.current: Task | None = None

    def enqueue(self, task: Task) -> None:
        with self._cv:
            self._queue.append(task)
            self._cv.notify()

    def pending(self) -> list[Task]:
        with self._cv:
            return list(self._queue)

    def drop(self, task: Task) -> bool:
        """Remove a pending task; True if it was still queued."""
        with self._cv:
            if task in self._queue:
                self._queue.remove(task)
                return True
            return False

    def request_stop(self) -> None:
        with self._cv:
            self._stopping = True
            self._cv.notify()

    def run(self) -> None:
        lower_thread_priority()  # the UI thread gets the cores first when it needs them
        while True:
            with self._cv:
                while not self._queue and not self._stopping:
                    self._cv.wait()
                if self._stopping:
                    return
                task = self._queue.popleft()
                self.current = task
            try:
                self._run_task(task)
            finally:
                self.current = None

    def _run_task(self, task: Task) -> None:
        if task.is_cancel_requested:
            self.task_event.emit(task, "cancelled", None)
            return
        self.task_event.emit(task, "started", None)
        last = [0.0]

        def on_progress(stage: str, fraction: float, message: str) -> None:
            now = time.perf_counter()
            if now - last[0] >= self._progress_interval or fraction >= 1.0:
                last[0] = now
                self.task_event.emit(task, "progress", (stage, float(fraction), message))

        def on_partial(kind: str, payload: Any) -> None:
            self.task_event.emit(task, "partial", (kind, payload))

        device = self.key if self.key in DEVICE_KEYS else None
        ctx = RunContext(on_progress, on_partial, task.cancel_event, device)
        try:
            value = task.fn(ctx)
        except Cancelled:
            self.task_event.emit(task, "cancelled", None)
        except BaseException as exc:  # noqa: BLE001  (reported to the UI, never raised here)
            self.task_event.emit(task, "failed", (exc, traceback.format_exc()))
        else:
            if task.is_cancel_requested:
                self.task_event.emit(task, "cancelled", None)
            else:
                self.task_event.emit(task, "finished", value)


class WorkerBridge(QtCore.QObject):
    """Submits jobs to per-device executors and delivers their events on the main thread.

    Signals:
        task_added(task), task_done(task): for a status bar listing work in flight.
    """

    task_added = QtCore.Signal(object)
    task_done = QtCore.Signal(object)

    def __init__(self, parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self._executors: dict[str, _Executor] = {}
        self._active: list[Task] = []
        self._closed = False
        self._joined = False
        # No thread may outlive the interpreter: Qt aborts when a running QThread is destroyed
        # (e.g. a script that raises before closing its window).
        atexit.register(_shutdown_at_exit, weakref.ref(self))

    # ------------------------------------------------------------------ submitting
    def submit(
        self,
        fn: JobFn,
        kind: str,
        label: str = "",
        executor: str = "cpu",
        supersede: str = "pending",
    ) -> Task:
        """Queue ``fn(ctx)`` on ``executor``.

        Args:
            fn: the job; it must only read the immutable request it closes over.
            kind: tasks of one kind supersede each other ("localize", "open", ...).
            label: what the status bar shows.
            executor: "cpu", "cuda" or another key (e.g. "io" for file reading).
            supersede: "pending" cancels queued tasks of the same kind, "all" also asks the
                running one to stop, "none" keeps them.
        """
        if self._closed:
            raise RuntimeError("the worker bridge is shut down")
        if supersede in ("pending", "all"):
            for old in self.tasks(kind):
                if old.state is TaskState.PENDING:
                    self._cancel_pending(old)
                elif supersede == "all":
                    old.cancel()
        task = Task(fn, kind, label, executor)
        self._active.append(task)
        self._executor(executor).enqueue(task)
        self.task_added.emit(task)
        return task

    @property
    def closed(self) -> bool:
        """True after ``shutdown``: nothing more can be submitted."""
        return self._closed

    def tasks(self, kind: str | None = None) -> list[Task]:
        """Tasks not done yet (optionally of one kind), oldest first."""
        return [t for t in self._active if kind is None or t.kind == kind]

    def cancel(self, task: Task) -> None:
        if task.state is TaskState.PENDING:
            self._cancel_pending(task)
        else:
            task.cancel()

    def cancel_all(self, kind: str | None = None) -> None:
        for task in self.tasks(kind):
            self.cancel(task)

    def running_threads(self) -> list[str]:
        return [e.objectName() for e in self._executors.values() if e.isRunning()]

    # ------------------------------------------------------------------ shutdown
    def shutdown(self, timeout_s: float = 30.0) -> bool:
        """Cancel every task and join every executor thread. True if all stopped in time.

        A job stuck in a long native call is waited for (a QThread must not be destroyed
        while running); the wait is logged every few seconds.
        """
        if self._joined:
            return True
        self._closed = True
        self.cancel_all()
        for ex in self._executors.values():
            ex.request_stop()
        deadline = time.monotonic() + timeout_s
        for ex in self._executors.values():
            while not ex.wait(2000):
                log.warning("waiting for %s to stop", ex.current or ex.objectName())
                if time.monotonic() > deadline:
                    return False
        for ex in self._executors.values():
            ex.task_event.disconnect(self._dispatch)
        self._joined = True
        return True

    # ------------------------------------------------------------------ internals
    def _executor(self, key: str) -> _Executor:
        if key not in self._executors:
            ex = _Executor(key)
            ex.task_event.connect(self._dispatch, QtCore.Qt.ConnectionType.QueuedConnection)
            ex.start()
            self._executors[key] = ex
        return self._executors[key]

    def _cancel_pending(self, task: Task) -> None:
        task.cancel()
        if self._executor(task.executor).drop(task):
            self._dispatch(task, "cancelled", None)

    @QtCore.Slot(object, str, object)
    def _dispatch(self, task: Task, event: str, payload: Any) -> None:
        """Main thread: update the task and emit its signal."""
        if task.state.done:
            return
        if event == "started":
            task.state = TaskState.RUNNING
            task.times["started"] = time.perf_counter()
            task.started.emit()
        elif event == "progress":
            task.progress.emit(*payload)
        elif event == "partial":
            task.partial.emit(*payload)
        else:
            self._finish(task, event, payload)

    def _finish(self, task: Task, event: str, payload: Any) -> None:
        task.times["done"] = time.perf_counter()
        if event == "finished":
            task.state, task.value = TaskState.FINISHED, payload
            task.finished.emit(payload)
        elif event == "failed":
            task.state, task.error = TaskState.FAILED, payload[0]
            task.failed.emit(payload[0], payload[1])
        else:
            task.state = TaskState.CANCELLED
            task.cancelled.emit()
        if task in self._active:
            self._active.remove(task)
        task.done.emit()
        self.task_done.emit(task)


def _shutdown_at_exit(ref: weakref.ref[WorkerBridge]) -> None:
    bridge = ref()
    if bridge is not None:
        try:
            bridge.shutdown(timeout_s=30)
        except RuntimeError:  # its Qt object is already gone: its threads were joined then
            pass
