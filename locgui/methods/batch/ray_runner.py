"""Run work items on Ray (optional extra: ``pip install 'locgui[ray]'``).

Ray Data streams the items through a pool of stateful actors (``map_batches`` with a callable
class): each actor is a ``BatchWorker`` that opens a map and creates a localizer once and then
localizes batches of queries; an actor declares ``threads`` CPUs and ``gpus`` GPUs. Rows come
back to the driver as blocks finish. Maps reach the actors as bundle paths (shared storage:
the default), or with ``ship_maps`` as tar archives in Ray's object store, unpacked once per
actor into a temporary folder (a cluster without shared storage).

Ray retries a task whose actor died; items still missing after the run are retried one per
batch, and an item that is still missing then is recorded as failed.
"""

from __future__ import annotations

import io
import json
import logging
import os
import pickle
import sys
import tarfile
import tempfile
import time
import warnings
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from locgui.core.errors import MethodError, MissingDependency
from locgui.methods.batch.local import died_row
from locgui.methods.batch.plan import WorkItem
from locgui.methods.batch.worker import BatchWorker
from locgui.runtime.context import RunContext

log = logging.getLogger(__name__)

OnRow = Callable[[dict[str, Any]], None]
INSTALL_HINT = "pip install 'locgui[ray]' (Ray Data); or use --workers N for local processes"


def import_ray() -> Any:
    """The ``ray`` module with Ray Data, or MissingDependency saying how to get it."""
    try:
        import ray
        import ray.data  # noqa: F401
    except ImportError as exc:
        raise MissingDependency(f"--ray needs Ray, which is not installed: {INSTALL_HINT}") from exc
    return ray


def quiet_ray_loggers() -> None:
    """Ray Data logs a traceback for each task whose actor died; the run retries and records
    those items itself, so only Ray's critical messages are shown."""
    logging.getLogger("ray").setLevel(logging.ERROR)
    logging.getLogger("ray.data").setLevel(logging.CRITICAL)


def actors_that_fit(resources: dict[str, float], workers: int, threads: int,
                    gpus: float) -> int:  # fmt: skip
    """How many of the ``workers`` actors (``threads`` CPUs and ``gpus`` GPUs each) the
    cluster's ``resources`` can hold at once. MethodError when not even one fits (Ray would
    wait for resources forever); a warning when fewer than asked fit."""
    cpus, gpu_total = float(resources.get("CPU", 0.0)), float(resources.get("GPU", 0.0))
    fit = int(cpus // threads) if threads else workers
    if gpus:
        fit = min(fit, int(gpu_total // gpus + 1e-9))
    if fit < 1:
        raise MethodError(
            f"the Ray cluster has {cpus:g} CPU(s) and {gpu_total:g} GPU(s); one actor needs "
            f"{threads} CPU(s)" + (f" and {gpus:g} GPU(s)" if gpus else "")
            + " (--threads, --gpus-per-worker)"
        )
    if fit < workers:
        log.warning("the Ray cluster holds %d of the %d actors asked for (%g CPUs, %g GPUs); "
                    "running %d", fit, workers, cpus, gpu_total, fit)  # fmt: skip
    return min(fit, workers)


def pack_bundle(path: str | Path) -> bytes:
    """A bundle folder as an uncompressed tar archive (names relative to the folder)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        tar.add(str(path), arcname=Path(path).name)
    return buf.getvalue()


def unpack_bundle(data: bytes, folder: Path) -> Path:
    """Extract a ``pack_bundle`` archive under ``folder``; returns the bundle folder. Only
    plain files and folders inside ``folder`` are written (tarfile's "data" filter)."""
    with tarfile.open(fileobj=io.BytesIO(data), mode="r") as tar:
        names = {m.name.split("/")[0] for m in tar.getmembers()}
        tar.extractall(folder, filter="data")
    if len(names) != 1:
        raise ValueError(f"a shipped map holds {len(names)} top-level entries, expected one")
    return folder / names.pop()


class RayBatchActor:
    """The callable class of ``map_batches``: one ``BatchWorker`` per actor."""

    def __init__(self, threads: int, shipped: dict[str, Any] | None = None) -> None:
        self._shipped = shipped or {}
        self._local: dict[str, str] = {}
        self._tmp = tempfile.TemporaryDirectory(prefix="locgui-ray-") if self._shipped else None
        resolve = self._local_map if self._shipped else None
        self.worker = BatchWorker(threads, resolve_map=resolve)
        import ray

        self.worker.name += f"@{ray.get_runtime_context().get_node_id()[:8]}"  # the Ray node

    def _local_map(self, path: str) -> str:
        if path not in self._shipped:
            return path
        if path not in self._local:
            import ray

            assert self._tmp is not None
            data = ray.get(self._shipped[path])
            target = Path(self._tmp.name) / str(len(self._local))
            target.mkdir()
            self._local[path] = str(unpack_bundle(data, target))
        return self._local[path]

    def __call__(self, batch: dict[str, Any]) -> dict[str, Any]:
        import numpy as np

        rows = [json.dumps(self.worker.run(pickle.loads(blob))) for blob in batch["item"]]
        return {"row": np.array(rows, dtype=object)}


def run_ray(items: Iterable[WorkItem], on_row: OnRow, ctx: RunContext, *,
            address: str | None = None, workers: int = 2, threads: int = 1, gpus: float = 0.0,
            ship_maps: bool = False, batch_size: int = 1) -> dict[str, Any]:  # fmt: skip
    """Localize ``items`` on Ray; returns figures of the run (actors, shipped bytes, ...).

    ``address``: None starts a local Ray for this run (``workers * threads`` CPUs); "auto" or
    "ray://host:port" joins a running cluster (and leaves it running)."""
    # Ray's C++ core logs an error line for every Ray Data actor (its constructor arguments
    # live in the object store); failures reach us as Python exceptions or missing rows.
    os.environ.setdefault("RAY_BACKEND_LOG_LEVEL", "fatal")
    ray = import_ray()
    items = list(items)
    # Ray prints worker and raylet messages on sys.stdout from its threads; they go to stderr
    # during the run so that stdout carries only our output (``--json``). ``on_row`` may
    # print to the stdout it captured before the run.
    real_stdout, sys.stdout = sys.stdout, sys.stderr
    started = False
    try:
        quiet_ray_loggers()
        if not ray.is_initialized():
            local = address in (None, "", "local")
            try:
                ray.init(address=None if local else address,
                         num_cpus=workers * threads if local else None, include_dashboard=False,
                         log_to_driver=False, logging_level=logging.ERROR)  # fmt: skip
            except (ConnectionError, RuntimeError, ValueError) as exc:
                hint = ("start one with `ray start --head`, or give --ray without an address "
                        "for a local Ray") if not local else "see Ray's message above"  # fmt: skip
                raise MethodError(f"no Ray cluster at {address or 'local'}: {exc}; {hint}") from exc
            started = True
            quiet_ray_loggers()  # ray.init configures its loggers again
        return _run(ray, items, on_row, ctx, address, workers, threads, gpus, ship_maps,
                    batch_size)  # fmt: skip
    finally:
        if started:
            ray.shutdown()
        sys.stdout = real_stdout


def _run(ray: Any, items: list[WorkItem], on_row: OnRow, ctx: RunContext, address: str | None,
         workers: int, threads: int, gpus: float, ship_maps: bool,
         batch_size: int) -> dict[str, Any]:  # fmt: skip
    workers = actors_that_fit(ray.cluster_resources(), workers, threads, gpus)
    stats: dict[str, Any] = {"executor": "ray", "ray_address": address or "local",
                             "actors": workers, "batch_size": batch_size}  # fmt: skip
    shipped: dict[str, Any] = {}
    if ship_maps:
        t0, size = time.perf_counter(), 0
        for path in sorted({it.map_path for it in items}):
            data = pack_bundle(path)
            size += len(data)
            shipped[path] = ray.put(data)
        stats["shipped_bytes"] = size
        stats["ship_s"] = round(time.perf_counter() - t0, 3)
    done: set[str] = set()

    def take(row: dict[str, Any]) -> None:
        done.add(row["key"])
        on_row(row)

    _ray_pass(ray, items, take, ctx, workers, threads, gpus, shipped, batch_size)
    missing = [it for it in items if it.key not in done]
    if missing:
        log.warning("%d items lost with their Ray workers; retrying them one by one",
                    len(missing))  # fmt: skip
        _ray_pass(ray, missing, take, ctx, workers, threads, gpus, shipped, 1, isolate=True)
        for item in missing:
            if item.key not in done:
                on_row(died_row(item, "Ray worker"))
    stats["retried"] = len(missing)
    return stats


def _ray_pass(ray: Any, items: list[WorkItem], on_row: OnRow, ctx: RunContext, workers: int,
              threads: int, gpus: float, shipped: dict[str, Any],
              batch_size: int, isolate: bool = False) -> None:  # fmt: skip
    data_ctx = ray.data.DataContext.get_current()
    data_ctx.enable_progress_bars = False
    data_ctx.max_errored_blocks = -1  # a block whose actor died: recorded, not fatal
    ds = ray.data.from_items([{"item": pickle.dumps(it)} for it in items],
                             override_num_blocks=max(1, len(items) // batch_size))  # fmt: skip
    # An actor that dies is restarted; its task is tried once more, then its block counts as
    # errored (not fatal: max_errored_blocks) and its items are retried or recorded.
    remote: dict[str, Any] = {"num_cpus": threads, "max_restarts": -1, "max_task_retries": 1}
    if gpus:
        remote["num_gpus"] = gpus
    with warnings.catch_warnings():  # retries have no named parameter yet (Ray 2.60)
        warnings.filterwarnings("ignore", message=".*ray_remote_args.*deprecated")
        ds = ds.map_batches(
            RayBatchActor, fn_constructor_kwargs={"threads": threads, "shipped": shipped},
            batch_size=batch_size, batch_format="numpy", **remote,
            # Retrying: one task in flight per actor, so an actor that dies takes only its
            # own item with it (queued items would be lost with it, and counted as failed).
            compute=ray.data.ActorPoolStrategy(size=min(workers, len(items)),
                                               max_tasks_in_flight_per_actor=1 if isolate
                                               else None),
        )  # fmt: skip
    for batch in ds.iter_batches(batch_size=None, batch_format="numpy", prefetch_batches=0):
        for text in batch["row"]:
            on_row(json.loads(text))
        ctx.check_cancelled()
