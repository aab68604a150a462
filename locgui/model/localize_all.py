"""Localize all: the ticked methods over every query of the open scene, in the background,
each result streamed to the window as it ends and stored as a batch-evaluation folder
(results.jsonl, summary table, plots) that the evaluation window shows.

The job runs in the localization worker with the window's localizer cache and configs, so
its results are the ones a click on Localize would give, and the folder is the one
``locgui eval --out`` writes (same rows, same summary, same plots).
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from locgui.core.errors import Cancelled, LocguiError
from locgui.core.results import LocalizationResult
from locgui.io.queries import QueryRef
from locgui.methods.batch.plan import MapPlan, Plan, Settings
from locgui.methods.batch.store import ResultStore
from locgui.methods.batch.summary import write_summary
from locgui.methods.batch.worker import result_row
from locgui.methods.localize.evaluation import evaluation_radius
from locgui.runtime.context import RunContext, resolve_device


@dataclass(frozen=True)
class LocalizeAllRequest:
    """What Localize all runs.

    Attributes:
        queries: the queries, in list order.
        methods: (registry name, config) per ticked method.
        bundle: the open ``MapBundle``.
        out: the evaluation folder to write.
        device: "cpu", "cuda" or "auto".
    """

    queries: tuple[QueryRef, ...]
    methods: tuple[tuple[str, Any], ...]
    bundle: Any
    out: Path
    device: str = "cpu"


def default_folder(scene_name: str, root: Path | None = None) -> Path:
    """A new folder for one Localize all run: ``~/.cache/locgui/evaluations/SCENE-STAMP``."""
    root = root or Path.home() / ".cache" / "locgui" / "evaluations"
    stamp = time.strftime("%Y%m%d-%H%M%S")
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in scene_name) or "scene"
    return root / f"{safe}-{stamp}"


def settings_of(name: str, config: Any) -> Settings:
    """The config as Settings: the fields that differ from the method's defaults."""
    from locgui.methods.registry import get_method

    default = get_method(name).make_config()
    changed = tuple(sorted((f.name, getattr(config, f.name)) for f in dataclasses.fields(config)
                           if getattr(config, f.name) != getattr(default, f.name)))  # fmt: skip
    return Settings(name, None, changed)


def plan_of(request: LocalizeAllRequest) -> Plan:
    bundle = request.bundle
    refs = list(request.queries)
    radius, n_cameras = evaluation_radius(bundle, bundle.scene, refs, aligned=False)
    label = Path(str(getattr(bundle, "path", "map"))).name.removesuffix(".locmap") or "map"
    path = str(Path(str(getattr(bundle, "path", "."))).resolve())
    maps = [MapPlan(label, path, bundle.scene.units, radius, n_cameras, None, tuple(refs))]
    return Plan(maps, [settings_of(n, c) for n, c in request.methods], device=request.device)


def localize_all(request: LocalizeAllRequest, ctx: RunContext, cache: Any) -> Path:
    """Run every method on every query; ``("result", LocalizationResult)`` partials as each
    ends. A cancel keeps what finished: the folder then summarizes the queries done."""
    from locgui.model.jobs import run_method

    plan = plan_of(request)
    device = resolve_device(request.device)
    by_query: dict[str, list[Any]] = {}
    for item in plan.items:
        by_query.setdefault(item.ref.name, []).append(item)
    configs = dict(request.methods)
    rows: list[dict[str, Any]] = []
    start = time.perf_counter()
    try:
        with ResultStore(request.out) as store:
            for k, ref in enumerate(request.queries):
                ctx.check_cancelled()
                ctx.progress("localize all", k / max(len(request.queries), 1), ref.name)
                error = ""
                try:
                    query = ref.load()
                except LocguiError as exc:
                    query, error = None, str(exc)
                for item in by_query[ref.name]:
                    name = item.settings.method
                    t0 = time.perf_counter()
                    if query is None:
                        result = LocalizationResult(name, ref.name, False, reason=error)
                    else:
                        result = run_method(request.bundle, name, configs[name], device, query,
                                            ctx, cache)  # fmt: skip
                    ctx.partial("result", result)
                    row = result_row(item, result, time.perf_counter() - t0, "workbench")
                    store.append(row)
                    rows.append(row)
            ctx.progress("localize all", 1.0, "done")
    except Cancelled:
        _summarize(request.out, plan, rows, start, "cancelled")
        raise
    _summarize(request.out, plan, rows, start, "finished")
    return request.out


def _summarize(out: Path, plan: Plan, rows: list[dict[str, Any]], start: float,
               status: str) -> None:  # fmt: skip
    wall = time.perf_counter() - start
    figures = {"executor": "workbench", "workers": 1, "status": status, "computed": len(rows),
               "wall_s": round(wall, 3)}  # fmt: skip
    figures["items_per_s"] = round(len(rows) / wall, 3) if rows and wall > 0 else None
    if rows:
        write_summary(out, plan, rows, figures)
