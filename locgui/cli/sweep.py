"""The batch side of ``locgui eval`` and ``locgui localize``: plan the work items, run them on
the chosen executor with results streamed into ``--out``, print the summary table."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from locgui.cli.batch_args import executor_of, settings_of
from locgui.cli.progress import end_progress_line


def _context(quiet: bool) -> Any:
    from locgui.cli.map_build import ProgressPrinter
    from locgui.runtime.context import RunContext

    return RunContext(on_progress=None if quiet else ProgressPrinter())


def _announce(plan: Any, executor: Any, out: str | None) -> None:
    where = (f"Ray ({executor.ray}), {executor.workers} actor(s)" if executor.ray
             else f"{executor.workers} worker process(es)" if executor.workers > 1
             else "this process")  # fmt: skip
    print(f"{len(plan.items)} items: {len(plan.maps)} map(s) x {len(plan.settings)} setting(s) "
          f"x their queries, on {where}" + (f"; results in {out}" if out else ""),
          file=sys.stderr, flush=True)  # fmt: skip


def run_sweep(args: argparse.Namespace) -> int:
    """``locgui eval`` over every (map, method, preset)."""
    from locgui.cli.localize import fov_of
    from locgui.core.errors import MethodError
    from locgui.methods.batch.plan import Plan, eval_map_plan, map_labels
    from locgui.methods.batch.runner import run_batch
    from locgui.methods.batch.summary import (
        finite,
        markdown_table,
        summarize,
        table_rows,
        write_summary,
    )
    if args.sweep and not args.out:
        raise MethodError("--sweep writes its table and plots into --out FOLDER: give one")
    executor = executor_of(args)
    settings = settings_of(args)
    fov = fov_of(args.intrinsics)
    maps = [eval_map_plan(path, label, args.queries, args.limit, drop_cameras=fov is not None)
            for path, label in zip(args.bundle, map_labels(args.bundle), strict=True)]  # fmt: skip
    plan = Plan(maps, settings, device=args.device)  # "auto" is resolved per worker
    _announce(plan, executor, args.out)
    result = run_batch(plan, executor, args.out, _context(args.json))
    end_progress_line()
    summaries = summarize(plan, result.rows)
    written = write_summary(args.out, plan, result.rows, result.figures) if args.out else []
    if args.json:
        print(json.dumps(finite({"run": result.figures, "summaries": summaries,
                                 "rows": result.rows}), indent=2, allow_nan=False))  # fmt: skip
    else:
        print(markdown_table(table_rows(summaries)))
        print(_figures_line(result.figures))
        for path in written:
            print(f"wrote {path}", file=sys.stderr)
    return 0


def _figures_line(f: dict[str, Any]) -> str:
    parts = [f"{f.get('computed', 0)} computed", f"{f.get('skipped_stored', 0)} already stored"]
    if f.get("items_per_s"):
        parts.append(f"{f['items_per_s']:.2f} items/s over {f['wall_s']:.1f} s "
                     f"({f.get('executor')}, {f.get('workers')} worker(s))")  # fmt: skip
    return "run: " + ", ".join(parts)


def run_localize_batch(args: argparse.Namespace) -> int:
    """``locgui localize`` over files with the batch engine; one block per query as it ends."""
    from locgui.io.queries import expand_paths, refs_from_files
    from locgui.methods.batch.plan import Plan, file_map_plan, map_labels
    from locgui.methods.batch.runner import run_batch
    from locgui.methods.batch.summary import finite

    executor = executor_of(args)
    settings = settings_of(args)
    refs = refs_from_files(expand_paths(args.queries))
    from locgui.io.bundle import open_bundle

    open_bundle(args.bundle)  # a bad map fails here, once, with its message
    plan = Plan([file_map_plan(args.bundle, map_labels([args.bundle])[0], refs)], settings,
                device=args.device)  # fmt: skip
    _announce(plan, executor, args.out)

    stdout = sys.stdout  # Ray sends its own messages to stderr while it runs

    def show(row: dict[str, Any]) -> None:
        if not args.json:
            end_progress_line()
            print(format_row(row), file=stdout, flush=True)

    result = run_batch(plan, executor, args.out, _context(True), on_row=show)
    if args.json:
        print(json.dumps(finite(result.rows), indent=2, allow_nan=False))
    rows = result.rows
    return 0 if rows and all(r["success"] for r in rows) else 1


def format_row(row: dict[str, Any]) -> str:
    """One block per stored row (``locgui localize``'s format)."""
    head = f"{row['query']} [{row['method']}]"
    if not row["success"]:
        return f"{head}: FAILED - {row['reason']}"
    from locgui.cli.localize import pose_and_timings

    pose, timings = pose_and_timings(row)
    return (
        f"{head}: OK - {row['reason']}\n  {pose}\n"
        f"  timings (ms): {timings} (total {row['total_ms']:.0f}) on {row['worker']}"
    )
