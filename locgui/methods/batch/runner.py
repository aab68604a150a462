"""One batch run: skip what the store already holds, run the rest on the chosen executor,
stream each row into the store (and to the caller), then summarize."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from locgui.core.errors import MethodError
from locgui.methods.batch.plan import Plan
from locgui.methods.batch.store import ResultStore
from locgui.runtime.context import RunContext

RUN_NAME = "run.json"


@dataclass(frozen=True)
class Executor:
    """Where items run.

    Attributes:
        workers: local worker processes (1: this process), or Ray actors.
        threads: CPU threads per worker (None: 1 with several workers, else the default).
        ray: None (no Ray), "local" (start one for this run), "auto" or "ray://host:port".
        gpus: GPUs each Ray actor declares (``num_gpus``).
        ship_maps: send maps through Ray's object store instead of shared storage.
        batch_size: queries per Ray task.
    """

    workers: int = 1
    threads: int | None = None
    ray: str | None = None
    gpus: float = 0.0
    ship_maps: bool = False
    batch_size: int = 1

    def __post_init__(self) -> None:
        if self.workers < 1:
            raise MethodError(f"--workers must be at least 1, not {self.workers}")
        if self.ship_maps and self.ray is None:
            raise MethodError("--ship-maps needs --ray (local workers read the maps directly)")
        if self.gpus and self.ray is None:
            raise MethodError("--gpus-per-worker needs --ray")
        if self.batch_size < 1:
            raise MethodError(f"--batch-size must be at least 1, not {self.batch_size}")

    def thread_count(self) -> int | None:
        if self.threads:
            return self.threads
        return 1 if self.workers > 1 or self.ray is not None else None


@dataclass
class BatchRun:
    """What a run produced: every row of the plan that is stored (plan order) and figures."""

    rows: list[dict[str, Any]]
    figures: dict[str, Any] = field(default_factory=dict)


def run_batch(plan: Plan, executor: Executor, out: str | Path | None = None,
              ctx: RunContext | None = None,
              on_row: Callable[[dict[str, Any]], None] | None = None) -> BatchRun:  # fmt: skip
    """Localize every item of ``plan`` not yet in ``out``'s store (all of them without
    ``out``); ``on_row`` sees each new row as it arrives."""
    ctx = ctx or RunContext()
    rows: dict[str, dict[str, Any]] = {}
    planned = {it.key for it in plan.items}
    if out is None:
        figures = _execute(plan, executor, plan.items, rows, None, ctx, on_row)
        return BatchRun(_ordered(plan, rows), figures)
    with ResultStore(out) as store:
        rows.update({r["key"]: r for r in store.rows() if r["key"] in planned})
        todo = [it for it in plan.items if it.key not in rows]
        _write_run(Path(out), plan, executor, {"status": "running", "stored": len(rows)})
        figures = _execute(plan, executor, todo, rows, store, ctx, on_row)
        figures["skipped_stored"] = len(plan.items) - len(todo)
        figures["corrupt_lines"] = store.skipped_lines
        _write_run(Path(out), plan, executor, {"status": "finished", **figures})
    return BatchRun(_ordered(plan, rows), figures)


def _execute(plan: Plan, executor: Executor, todo: list[Any], rows: dict[str, dict[str, Any]],
             store: ResultStore | None, ctx: RunContext,
             on_row: Callable[[dict[str, Any]], None] | None) -> dict[str, Any]:  # fmt: skip
    total = len(plan.items)
    arrivals: list[float] = []

    def take(row: dict[str, Any]) -> None:
        arrivals.append(time.perf_counter())
        if store is not None:
            store.append(row)
        rows[row["key"]] = row
        done = len(rows)
        ctx.progress("localize", done / max(total, 1), f"{done}/{total} {row['query']}")
        if on_row is not None:
            on_row(row)

    start = time.perf_counter()
    threads = executor.thread_count()
    figures: dict[str, Any] = {"executor": "serial", "workers": executor.workers,
                               "threads_per_worker": threads}  # fmt: skip
    if not todo:
        pass
    elif executor.ray is not None:
        from locgui.methods.batch.ray_runner import run_ray

        figures.update(run_ray(
            todo, take, ctx, address=executor.ray, workers=executor.workers,
            threads=threads or 1, gpus=executor.gpus, ship_maps=executor.ship_maps,
            batch_size=executor.batch_size,
        ))  # fmt: skip
    elif executor.workers > 1:
        from locgui.methods.batch.local import run_processes

        figures["executor"] = "processes"
        run_processes(todo, take, ctx, executor.workers, threads or 1)
    else:
        from locgui.methods.batch.local import run_serial

        run_serial(todo, take, ctx, threads)
    wall = time.perf_counter() - start
    new = [rows[it.key] for it in todo if it.key in rows]
    busy = sum(r.get("wall_ms", 0.0) for r in new) / 1000
    figures.update({
        "computed": len(new), "wall_s": round(wall, 3),
        "items_per_s": round(len(new) / wall, 3) if wall > 0 and new else None,
        "item_wall_s_sum": round(busy, 3),
        # after the first row: workers started, maps and models loaded
        "steady_items_per_s": round((len(arrivals) - 1) / (arrivals[-1] - arrivals[0]), 3)
        if len(arrivals) > 2 and arrivals[-1] > arrivals[0] else None,
        # driver wall time per item beyond the item's own work, spread over the workers
        "overhead_ms_per_item": round(1000 * (wall * executor.workers - busy) / len(new), 1)
        if new else None,
    })  # fmt: skip
    return figures


def _ordered(plan: Plan, rows: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    return [rows[it.key] for it in plan.items if it.key in rows]


def _write_run(folder: Path, plan: Plan, executor: Executor, state: dict[str, Any]) -> None:
    """run.json: the plan, the executor and how far the run got (replaced whole)."""
    from locgui.methods.batch.summary import finite

    info = {"plan": plan.describe(), "options": asdict(executor), **state,
            "updated": time.strftime("%Y-%m-%dT%H:%M:%S")}  # fmt: skip
    tmp = folder / (RUN_NAME + ".tmp")
    tmp.write_text(json.dumps(finite(info), indent=2, allow_nan=False))
    os.replace(tmp, folder / RUN_NAME)
