"""Run work items in this process or in local worker processes.

Worker processes are spawned (never forked: torch and Qt threads do not survive a fork),
each limited to ``threads`` CPU threads, and each keeps its maps and localizers between
items. At most one item per worker is in flight, so when a worker process dies (a crash in
native code, the OOM killer) the items in flight are known: each is retried alone in a fresh
process, and one that kills that process too is recorded as failed with the reason.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from locgui.methods.batch.plan import WorkItem
from locgui.methods.batch.worker import BatchWorker, limit_threads, result_row
from locgui.runtime.context import RunContext

log = logging.getLogger(__name__)

OnRow = Callable[[dict[str, Any]], None]

_worker: BatchWorker | None = None


def run_serial(items: Iterable[WorkItem], on_row: OnRow, ctx: RunContext,
               threads: int | None = None) -> None:  # fmt: skip
    """Every item in this process, in order."""
    worker = BatchWorker(threads)
    for item in items:
        ctx.check_cancelled()
        on_row(worker.run(item))


def _init_process(threads: int) -> None:
    global _worker
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the driver stops the workers
    threading.Thread(target=_exit_with_parent, args=(os.getppid(),), daemon=True).start()
    limit_threads(threads)
    _worker = BatchWorker(threads)


def _exit_with_parent(parent: int) -> None:
    """End this worker when the driver is gone (killed without a chance to stop us)."""
    while os.getppid() == parent:
        time.sleep(1.0)
    os._exit(1)


def _run_item(item: WorkItem) -> dict[str, Any]:
    assert _worker is not None, "worker process not initialized"
    return _worker.run(item)


def died_row(item: WorkItem, worker: str) -> dict[str, Any]:
    """The row of an item whose worker died on it twice."""
    from locgui.core.results import LocalizationResult

    reason = f"the {worker} died while localizing this query, also when retried alone"
    failed = LocalizationResult(item.settings.method, item.ref.name, False, reason=reason)
    return result_row(item, failed, 0.0, worker)


def run_processes(items: Iterable[WorkItem], on_row: OnRow, ctx: RunContext, workers: int,
                  threads: int = 1) -> None:  # fmt: skip
    """Every item in ``workers`` spawned processes; rows reach ``on_row`` as they finish."""
    pending = list(items)
    while pending:
        broken = _run_pool(pending, on_row, ctx, workers, threads)
        for item in broken.in_flight:
            log.warning("a worker process died while localizing %s; retrying it alone", item.key)
            if _run_pool([item], on_row, ctx, 1, threads).in_flight:
                on_row(died_row(item, "worker process"))
        pending = [it for it in pending if it.key in broken.pending]


class _Broken:
    """What was left when a pool broke: the items in flight and the keys not yet started."""

    def __init__(self) -> None:
        self.in_flight: list[WorkItem] = []
        self.pending: set[str] = set()


def _run_pool(items: list[WorkItem], on_row: OnRow, ctx: RunContext, workers: int,
              threads: int) -> _Broken:  # fmt: skip
    import multiprocessing

    left = _Broken()
    queue = list(reversed(items))
    pool = ProcessPoolExecutor(workers, multiprocessing.get_context("spawn"), _init_process,
                               (threads,))  # fmt: skip
    running: dict[Future[dict[str, Any]], WorkItem] = {}
    try:
        while queue or running:
            while queue and len(running) < workers:
                item = queue.pop()
                running[pool.submit(_run_item, item)] = item
            done, _ = wait(list(running), timeout=0.5, return_when=FIRST_COMPLETED)
            ctx.check_cancelled()
            dead = []
            for fut in done:
                item = running.pop(fut)
                try:
                    row = fut.result()
                except BrokenProcessPool:
                    dead.append(item)
                    continue
                on_row(row)
            if dead:  # every future still running fails the same way: all were in flight
                left.in_flight = [*dead, *running.values()]
                left.pending = {it.key for it in queue}
                running.clear()
                return left
        return left
    finally:
        _stop(pool, bool(running))


def _stop(pool: ProcessPoolExecutor, kill: bool) -> None:
    """Shut the pool down; ``kill``: terminate workers still busy (cancel or interrupt)."""
    if kill:
        for proc in list(getattr(pool, "_processes", {}).values()):
            proc.terminate()
    pool.shutdown(wait=True, cancel_futures=True)
