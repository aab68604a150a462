"""The worker bridge: event order, cancel, supersede, failures, shutdown with work in flight."""

from __future__ import annotations

import os
import sys
import threading
import time

import pytest

pytest.importorskip("PySide6")

from locgui.qt.workers import TaskState, WorkerBridge  # noqa: E402
from locgui.runtime.priority import BACKGROUND_NICENESS  # noqa: E402


@pytest.fixture
def bridge(qtbot):
    b = WorkerBridge()
    yield b
    b.shutdown(timeout_s=10)


def _record(task, events):
    task.started.connect(lambda: events.append(("started",)))
    task.progress.connect(lambda s, f, m: events.append(("progress", s, f, m)))
    task.partial.connect(lambda k, p: events.append(("partial", k, p)))
    task.finished.connect(lambda v: events.append(("finished", v)))
    task.failed.connect(lambda e, tb: events.append(("failed", type(e).__name__, str(e))))
    task.cancelled.connect(lambda: events.append(("cancelled",)))


def test_events_arrive_in_order_on_the_main_thread(bridge, qtbot):
    main = threading.get_ident()
    seen_threads = []

    def job(ctx):
        seen_threads.append(threading.get_ident())
        ctx.progress("stage", 0.5, "half")
        ctx.partial("matches", [1, 2])
        return 42

    events: list = []
    task = bridge.submit(job, "localize", "job")
    _record(task, events)
    task.progress.connect(lambda *a: seen_threads.append(("slot", threading.get_ident())))
    with qtbot.waitSignal(task.done, timeout=5000):
        pass
    assert events == [
        ("started",),
        ("progress", "stage", 0.5, "half"),
        ("partial", "matches", [1, 2]),
        ("finished", 42),
    ]
    assert seen_threads[0] != main  # the job ran in a worker
    assert seen_threads[1] == ("slot", main)  # its progress arrived on the main thread
    assert task.state is TaskState.FINISHED and task.value == 42
    assert bridge.tasks() == []


def test_cancel_stops_a_running_job(bridge, qtbot):
    running = threading.Event()
    stopped = threading.Event()

    def job(ctx):
        running.set()
        try:
            while True:
                ctx.check_cancelled()
                time.sleep(0.005)
        finally:
            stopped.set()

    events: list = []
    task = bridge.submit(job, "localize")
    _record(task, events)
    assert running.wait(5)
    with qtbot.waitSignal(task.cancelled, timeout=5000):
        bridge.cancel(task)
    assert stopped.is_set()
    assert task.state is TaskState.CANCELLED
    assert events == [("started",), ("cancelled",)]


def test_newer_request_supersedes_a_pending_one(bridge, qtbot):
    gate = threading.Event()
    ran: list[str] = []
    blocker = bridge.submit(lambda ctx: gate.wait(5), "build")
    first = bridge.submit(lambda ctx: ran.append("first"), "localize")
    second = bridge.submit(lambda ctx: ran.append("second") or "B", "localize")
    # The first was still queued behind the blocker: it is cancelled without ever starting.
    assert first.state is TaskState.CANCELLED
    assert "started" not in first.times
    assert second.state is TaskState.PENDING
    with qtbot.waitSignal(second.done, timeout=5000):
        gate.set()
    assert ran == ["second"]
    assert second.value == "B" and blocker.state is TaskState.FINISHED


def test_supersede_all_also_cancels_the_running_one(bridge, qtbot):
    running = threading.Event()

    def slow(ctx):
        running.set()
        while True:
            ctx.check_cancelled()
            time.sleep(0.005)

    old = bridge.submit(slow, "localize")
    assert running.wait(5)
    with qtbot.waitSignal(old.cancelled, timeout=5000):
        new = bridge.submit(lambda ctx: 7, "localize", supersede="all")
    qtbot.waitUntil(lambda: new.state is TaskState.FINISHED, timeout=5000)
    assert new.value == 7


def test_failure_is_delivered_with_its_traceback(bridge, qtbot):
    def job(ctx):
        raise ValueError("boom in the worker")

    task = bridge.submit(job, "localize")
    with qtbot.waitSignal(task.failed, timeout=5000) as blocker:
        pass
    exc, tb = blocker.args
    assert isinstance(exc, ValueError) and str(exc) == "boom in the worker"
    assert "job" in tb and "ValueError" in tb
    assert task.state is TaskState.FAILED
    # The executor survives a failing job.
    nxt = bridge.submit(lambda ctx: "still alive", "localize")
    qtbot.waitUntil(lambda: nxt.state is TaskState.FINISHED, timeout=5000)
    assert nxt.value == "still alive"


def test_shutdown_with_work_in_flight_cancels_and_joins(qtbot):
    bridge = WorkerBridge()
    running = threading.Event()
    stopped = threading.Event()

    def job(ctx):
        running.set()
        try:
            while True:
                ctx.check_cancelled()
                time.sleep(0.005)
        finally:
            stopped.set()

    bridge.submit(job, "build", executor="cpu")
    queued = bridge.submit(lambda ctx: 1, "localize", executor="cpu")
    bridge.submit(lambda ctx: time.sleep(0.01), "thumbs", executor="io")
    assert running.wait(5)
    assert set(bridge.running_threads()) == {"locgui-executor-cpu", "locgui-executor-io"}
    assert bridge.shutdown(timeout_s=10)
    assert stopped.is_set()
    assert bridge.running_threads() == []
    assert queued.is_cancel_requested
    with pytest.raises(RuntimeError, match="shut down"):
        bridge.submit(lambda ctx: 1, "localize")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="per-thread nice is Linux's")
def test_jobs_run_at_a_lower_priority_than_the_ui_thread(bridge, qtbot):
    def job(ctx):
        return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())

    task = bridge.submit(job, "localize", "job")
    with qtbot.waitSignal(task.done, timeout=5000):
        pass
    ui = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    assert task.state is TaskState.FINISHED
    assert task.value == min(19, ui + BACKGROUND_NICENESS)
