"""Long tasks the workbench runs in workers, as plain functions of an immutable request.

Each job takes a frozen request snapshot (made on the main thread) and a RunContext, and
returns plain values. Nothing here touches Qt; the worker bridge runs these off the UI thread.
"""

from __future__ import annotations

import dataclasses
import logging
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from locgui.core.errors import Cancelled, LocguiError, MethodError
from locgui.core.results import LocalizationResult, Query
from locgui.core.scene import SceneMap
from locgui.io.queries import QueryRef, split_refs
from locgui.runtime.context import RunContext, resolve_device

log = logging.getLogger(__name__)

EXTRA_EXCEPTION = "exception"
"""``LocalizationResult.extras`` key holding the traceback of a method that crashed."""
EXTRA_METHOD_ERROR = "method_error"
"""``extras`` key set when the map or config cannot serve the method (``MethodError``)."""


@dataclass(frozen=True)
class LocalizeRequest:
    """One click of Localize: a query and the methods (with their configs) to run on it.

    Attributes:
        query: where the query comes from (pixels are read in the worker).
        methods: (registry name, config instance) per method, run in this order.
        bundle: the open ``MapBundle``.
        device: "cpu" or "cuda".
    """

    query: QueryRef
    methods: tuple[tuple[str, Any], ...]
    bundle: Any
    device: str = "cpu"


class LocalizerCache:
    """Localizers kept between queries, keyed by (bundle, method, config, device).

    Used only from the executor thread of its device (building one may load weights).
    """

    def __init__(self, limit: int = 8) -> None:
        self._items: dict[tuple[int, str, str, str], Any] = {}
        self._limit = limit

    def get(self, bundle: Any, name: str, config: Any, device: str) -> Any:
        from locgui.methods.registry import get_method

        key = (id(bundle), name, repr(config), device)
        if key not in self._items:
            if len(self._items) >= self._limit:
                self._items.pop(next(iter(self._items)))
            self._items[key] = get_method(name).create(bundle, config, device)
        return self._items[key]

    def clear(self) -> None:
        self._items.clear()


def localize(
    request: LocalizeRequest, ctx: RunContext, cache: LocalizerCache
) -> list[LocalizationResult]:
    """Run every requested method on the query; a method that fails never stops the others.

    Partial output: ``("method", name)`` before each method (the partials that follow belong
    to it), the method's own partials (``PARTIAL_KINDS``, e.g. ``"matches_2d2d"``), then
    ``("result", result)``.
    """
    device = resolve_device(request.device)  # "cuda" on a machine without it runs on cpu
    query = request.query.load()
    results = []
    n = len(request.methods)
    for i, (name, config) in enumerate(request.methods):
        ctx.progress("localize", i / max(n, 1), f"{name} on {query.name}")
        ctx.partial("method", name)
        result = run_method(request.bundle, name, config, device, query, ctx, cache)
        ctx.partial("result", result)
        results.append(result)
    ctx.progress("localize", 1.0, "done")
    return results


def run_method(
    bundle: Any,
    name: str,
    config: Any,
    device: str,
    query: Query,
    ctx: RunContext,
    cache: LocalizerCache,
) -> LocalizationResult:
    """One method on one query. Errors become a failed result with the reason in words."""
    sub = ctx.child()
    try:
        localizer = cache.get(bundle, name, config, device)
        result = localizer.localize(query, sub)
    except Cancelled:
        raise
    except MethodError as exc:
        return _failed(name, query, str(exc), sub, {EXTRA_METHOD_ERROR: True})
    except LocguiError as exc:
        return _failed(name, query, str(exc), sub, {})
    except Exception as exc:  # noqa: BLE001  (a crashing method must not take the app down)
        log.exception("method %s crashed on %s", name, query.name)
        reason = f"{name} crashed: {type(exc).__name__}: {exc}"
        return _failed(name, query, reason, sub, {EXTRA_EXCEPTION: traceback.format_exc()})
    if not result.timings:
        result.timings = dict(sub.timings)
    return result


def _failed(
    name: str, query: Query, reason: str, ctx: RunContext, extras: dict[str, Any]
) -> LocalizationResult:
    return LocalizationResult(
        method=name,
        query_name=query.name,
        success=False,
        camera=query.camera,
        reason=reason,
        timings=dict(ctx.timings),
        extras=extras,
    )


@dataclass(frozen=True)
class OpenedScene:
    """What ``open_path`` returns.

    Attributes:
        scene: what the views show (for a bundle: its scene, with the source's image folder
            when the bundle holds no images).
        bundle: the ``MapBundle`` when one was opened, else None.
        path: what was opened.
        queries: the query list (the scene's "test" split, or a bundle source's queries).
    """

    scene: SceneMap
    bundle: Any
    path: Path
    queries: tuple[QueryRef, ...] = ()


def is_bundle(path: Path) -> bool:
    return (path / "manifest.json").is_file()


def open_path(path: Path, ctx: RunContext) -> OpenedScene:
    """Open a map bundle (a folder with ``manifest.json``) or any scene a reader knows.

    A scene folder with a sibling ``<name>.locmap`` bundle opens the bundle, so that its
    methods can run. A bundle's queries come from the scene it was built from, with ground
    truth when the map kept that scene's poses.
    """
    path = Path(path).expanduser().absolute()
    ctx.progress("open", -1, f"opening {path.name}")
    sibling = path.with_name(path.name + ".locmap")
    if not is_bundle(path) and is_bundle(sibling):
        path = sibling
    if not is_bundle(path):
        from locgui.io import open_scene

        scene = open_scene(path)
        return OpenedScene(scene, None, path, tuple(split_refs(scene)))
    from locgui.io.bundle import open_bundle

    bundle = open_bundle(path)
    ctx.check_cancelled()
    scene = bundle.scene
    queries: tuple[QueryRef, ...] = ()
    source = _bundle_source(bundle)
    if source is not None:
        if scene.image_dir is None and source.image_dir is not None:
            scene = dataclasses.replace(scene, image_dir=source.image_dir)
        queries = tuple(_source_queries(bundle, source))
    return OpenedScene(scene, bundle, path, queries)


def _bundle_source(bundle: Any) -> SceneMap | None:
    """The scene a bundle was built from, if it is still where the manifest says."""
    info = bundle.manifest.get("source") or {}
    src = info.get("path")
    if not src or not Path(src).exists():
        return None
    from locgui.io import open_scene

    try:
        return open_scene(Path(src))
    except LocguiError as exc:
        log.warning("cannot open the bundle's source scene %s: %s", src, exc)
        return None


def _source_queries(bundle: Any, source: SceneMap) -> list[QueryRef]:
    info = bundle.manifest.get("source") or {}
    names = info.get("queries") or []
    known_poses = str(info.get("poses", "")).startswith("known")
    ids = [im.image_id for n in names if (im := source.image_by_name(n)) is not None]
    if not ids:
        ids = source.split_ids("test")
    out = []
    for i in ids:
        q = QueryRef.from_scene(source, i)
        out.append(q if known_poses else dataclasses.replace(q, gt_cam_from_world=None))
    return out


def leave_a_core_for_the_ui() -> None:
    """The window's process policy, set once at start-up (not by a job, behind the back of
    other work): torch and its BLAS use every core but one, so the UI thread is never starved
    by a method. A thread count the user set in the environment wins."""
    import os
    import sys

    n = str(max(1, (os.cpu_count() or 1) - 1))
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, n)
    torch = sys.modules.get("torch")  # already imported: tell it directly
    if torch is not None and torch.get_num_threads() > int(os.environ["OMP_NUM_THREADS"]):
        torch.set_num_threads(int(os.environ["OMP_NUM_THREADS"]))
