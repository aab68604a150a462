"""What every kind of worker (this process, a local worker process, a Ray actor) runs: it
opens each map and creates each localizer once, then localizes items one by one.

A query whose method raises is recorded as failed with the exception as its reason; a map or
settings the method cannot work with fail every item of that group with the same message.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable
from typing import Any

from locgui.methods.batch.plan import Settings, WorkItem

THREAD_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")


def limit_threads(threads: int) -> None:
    """Use ``threads`` CPU threads for torch, OpenCV and BLAS in this process (call before
    the first heavy import where possible: the variables are read at import)."""
    for var in THREAD_VARS:
        os.environ[var] = str(threads)
    import cv2
    import torch

    torch.set_num_threads(threads)
    cv2.setNumThreads(threads)


def create_localizer(bundle: Any, settings: Settings, device: str) -> tuple[Any, Any]:
    """(the validated localizer of ``settings`` on ``bundle``, the intrinsics its queries are
    loaded with): ``locgui localize``'s rules, preset, then overrides, then a field-of-view
    guess (which the method's config takes and the queries do not)."""
    from locgui.io.calibration import parse_intrinsics
    from locgui.methods.localize.configs import fov_guess_overrides
    from locgui.methods.registry import get_method

    spec = get_method(settings.method)
    overrides = dict(settings.overrides)
    intrinsics = parse_intrinsics(settings.intrinsics)  # a file is read once per group
    if intrinsics.fov_deg is not None:
        overrides.update(fov_guess_overrides(spec.config_class(), intrinsics.fov_deg))
    config = spec.make_config(settings.preset, **overrides)
    query_intrinsics = intrinsics if intrinsics.kind == "file" else None
    return spec.create(bundle, config, device), query_intrinsics


def result_row(item: WorkItem, result: Any, wall_s: float, worker: str,
               rss_mb: float | None = None) -> dict[str, Any]:  # fmt: skip
    """The stored row of ``item``'s ``LocalizationResult``: errors against its ground truth
    (``row_for``) and what identifies the item and where it ran."""
    from locgui.methods.localize.evaluation import row_for

    s = item.settings
    row = row_for(item.ref, result, wall_s, item.align).to_dict()
    row.update({
        "key": item.key, "index": item.index, "map": item.map_label, "method": s.method,
        "preset": s.label, "settings": s.digest(), "uncertainty":
        result.extras.get("uncertainty"), "wall_ms": round(wall_s * 1000, 2), "worker": worker,
    })  # fmt: skip
    if rss_mb is not None:
        row["rss_mb"] = round(rss_mb, 1)
    return row


class BatchWorker:
    """Localizes work items, holding one bundle per map and one localizer per group.

    Args:
        threads: CPU threads for this worker (None: leave the process's setting).
        resolve_map: maps a bundle path to a local folder (Ray's shipped maps), or None.
        max_maps: maps held at once; the least recently used one is dropped with its
            localizers (items come map by map, so a sweep over many maps stays bounded).
    """

    def __init__(self, threads: int | None = None,
                 resolve_map: Callable[[str], str] | None = None,
                 max_maps: int = 2) -> None:  # fmt: skip
        if threads:
            limit_threads(threads)
        self.max_maps = max(1, max_maps)
        self._resolve = resolve_map or (lambda p: p)
        self._bundles: dict[str, Any] = {}
        self._localizers: dict[tuple[str, Settings, str], Any] = {}
        self.name = f"{socket.gethostname()}:{os.getpid()}"

    def localizer(self, item: WorkItem) -> Any:
        """(the item's localizer, its query intrinsics), or the exception that creating them
        raised (kept, so a group that cannot run fails fast for each of its items)."""
        key = (item.map_path, item.settings, item.device)
        if item.map_path in self._bundles:  # most recently used last
            self._bundles[item.map_path] = self._bundles.pop(item.map_path)
        if key not in self._localizers:
            try:
                if item.map_path not in self._bundles:
                    from locgui.io.bundle import open_bundle

                    self._evict(self.max_maps - 1)
                    self._bundles[item.map_path] = open_bundle(self._resolve(item.map_path))
                bundle = self._bundles[item.map_path]
                from locgui.runtime.context import resolve_device

                device = resolve_device(item.device)  # "auto": this worker's GPU, if any
                self._localizers[key] = create_localizer(bundle, item.settings, device)
            except Exception as exc:  # noqa: BLE001  (recorded as every item's reason)
                self._localizers[key] = exc
        return self._localizers[key]

    def _evict(self, keep: int) -> None:
        """Drop the least recently used maps (and their localizers) down to ``keep``."""
        if len(self._bundles) <= keep:
            return
        while len(self._bundles) > keep:
            path = next(iter(self._bundles))
            del self._bundles[path]
            for key in [k for k in self._localizers if k[0] == path]:
                del self._localizers[key]
        from locgui.runtime.memory import release_free_memory

        release_free_memory()

    @property
    def maps_held(self) -> list[str]:
        return list(self._bundles)

    def run(self, item: WorkItem) -> dict[str, Any]:
        """The result row of one item (never raises for a failing query or method)."""
        from locgui.core.results import LocalizationResult
        from locgui.io.queries import iter_queries
        from locgui.runtime.context import RunContext
        from locgui.runtime.memory import resident_mb

        s = item.settings
        start = time.perf_counter()
        result = LocalizationResult(s.method, item.ref.name, False)
        group = self.localizer(item)
        if isinstance(group, Exception):
            result.reason = f"{s.method} cannot run on {item.map_label}: {group}"
        else:
            loc, intrinsics = group
            try:
                _, query, error = next(iter_queries([item.ref], intrinsics))
                if query is None:
                    result.reason = error
                else:
                    result = loc.localize(query, RunContext())
            except Exception as exc:  # noqa: BLE001  (a query that crashes a method)
                result = LocalizationResult(s.method, item.ref.name, False)
                result.reason = f"{s.method} raised {type(exc).__name__}: {exc}"
        return result_row(item, result, time.perf_counter() - start, self.name, resident_mb())
