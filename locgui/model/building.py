"""Long-running builds in the workbench: the map build (in a child process) and the demo
scene (generated and mapped on first use into the cache)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from locgui.core.errors import Cancelled, LocguiError, MethodError
from locgui.model.jobs import is_bundle
from locgui.runtime.context import RunContext
from locgui.runtime.priority import lower_process_priority


def demo_root() -> Path:
    """Where the demo scene and its map are cached: ``$XDG_CACHE_HOME/locgui/demo``."""
    import os

    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "locgui" / "demo"


def prepare_demo(root: Path, ctx: RunContext, preset: str = "demo", config: Any = None) -> Path:
    """Generate the synthetic demo scene and build its map on first use; returns the bundle.

    Both steps write atomically, so an interrupted first run is resumed (or redone) on the
    next one and never leaves a half-written scene or map that looks complete. ``config``
    is the ``MapBuildConfig`` (None: the defaults).
    """
    root = Path(root)
    scene_dir, bundle_dir = root / "scene", root / "scene.locmap"
    if is_bundle(bundle_dir):
        return bundle_dir
    if not (scene_dir / "locgui_scene.json").is_file():
        root.mkdir(parents=True, exist_ok=True)
        generate_subprocess(scene_dir, preset, ctx)
    ctx.check_cancelled()
    ctx.progress("map", -1, "building the map (features, matching, triangulation)")
    return build_map_subprocess(scene_dir, bundle_dir, config, ctx)


def build_map_subprocess(source: Path, out: Path, config: Any, ctx: RunContext) -> Path:
    """``build_map`` in a child process: its long native calls (pycolmap, numpy) never hold
    the UI process's GIL. Cancelling interrupts the child like Ctrl-C (the bundle is written
    atomically and its staging folder removed)."""
    report = run_in_child(
        "locgui.methods.mapping.pipeline:build_map",
        (str(source), str(out), config),
        ctx,
        pass_context=True,
    )
    return Path(report.path)


def train_subprocess(
    trainer: str, bundle: Path, config: Any, resume: bool, device: str, ctx: RunContext
) -> dict[str, Any]:
    """A registered trainer on a map bundle in a child process (progress comes back; cancel
    stops it after the current step, and a resumable trainer keeps that step)."""
    metrics: dict[str, Any] = run_in_child(
        "locgui.model.building:train_in_child", (trainer, str(bundle), config, resume, device),
        ctx, pass_context=True,
    )  # fmt: skip
    return metrics


def train_in_child(
    trainer: str, bundle: str, config: Any, resume: bool, device: str, ctx: RunContext
) -> dict[str, Any]:
    """Runs in the child: the first SIGINT (the parent's cancel) stops after the step."""
    import signal

    from locgui.io.bundle import open_bundle
    from locgui.methods.registry import get_trainer

    signal.signal(signal.SIGINT, lambda *_: ctx.cancel())
    spec = get_trainer(trainer)
    return spec.run(open_bundle(bundle), config, ctx, device=device, resume=resume)


def generate_subprocess(out: Path, preset: str, ctx: RunContext) -> Path:
    """The synthetic scene rendered in a child process (a minute of numpy off the UI)."""
    ctx.progress("generate", 0.0, "rendering the synthetic room (about a minute)")
    return Path(run_in_child("locgui.io.synth:generate", (str(out),), ctx, {"preset": preset},
                             pass_context=True))  # fmt: skip


def run_in_child(
    ref: str,
    args: tuple[Any, ...],
    ctx: RunContext,
    kwargs: dict[str, Any] | None = None,
    pass_context: bool = False,
) -> Any:
    """Call ``module:function`` in a spawned child and return its (picklable) result.

    With ``pass_context`` the function gets a RunContext whose progress comes back here.
    A ``LocguiError`` in the child is raised here with its type; cancelling ``ctx`` stops it.
    """
    import multiprocessing as mp
    import queue as queue_mod

    spawn = mp.get_context("spawn")
    messages = spawn.Queue()
    child = spawn.Process(
        target=_child_main, args=(ref, args, kwargs or {}, pass_context, messages), daemon=True
    )
    child.start()
    finished = False
    try:
        while True:
            try:
                kind, *payload = messages.get(timeout=0.1)
            except queue_mod.Empty:
                if ctx.cancelled:
                    raise Cancelled("cancelled by the user") from None
                if not child.is_alive() and messages.empty():
                    code = child.exitcode
                    raise MethodError(f"{ref} stopped (exit code {code})") from None
                continue
            if kind == "progress":
                ctx.progress(*payload)
            elif kind == "done":
                finished = True
                return payload[0]
            elif kind == "error":
                error_type, message = payload
                raise _ERRORS.get(error_type, MethodError)(message)
    finally:
        _stop_child(child, finished)


def _stop_child(child: Any, finished: bool) -> None:
    """Let a finished child exit; interrupt a running one like Ctrl-C (build_map then removes
    its staging folder); terminate it if it does not exit within a few seconds."""
    import os
    import signal

    if finished:
        child.join(timeout=30)
    if child.is_alive():
        os.kill(child.pid, signal.SIGINT)
        child.join(timeout=5)
    if child.is_alive():
        child.terminate()
    child.join(timeout=10)


def _child_main(
    ref: str, args: tuple[Any, ...], kwargs: dict[str, Any], pass_context: bool, messages: Any
) -> None:
    """Runs in the child process (``import locgui`` first: the zlib/pycolmap order), at a
    lower CPU priority: background work yields the cores to the window when it needs them."""
    import importlib

    import locgui  # noqa: F401

    lower_process_priority()

    def progress(stage: str, fraction: float, message: str) -> None:
        messages.put(("progress", stage, fraction, message))

    module, _, name = ref.partition(":")
    try:
        fn = getattr(importlib.import_module(module), name)
        if pass_context:
            kwargs = {**kwargs, "ctx": RunContext(on_progress=progress)}
        messages.put(("done", fn(*args, **kwargs)))
    except KeyboardInterrupt:  # the parent cancelled: the function has cleaned up
        return
    except LocguiError as exc:
        messages.put(("error", type(exc).__name__, str(exc)))
    except Exception as exc:  # noqa: BLE001  (reported to the parent, which raises it)
        messages.put(("error", "MethodError", f"{ref} crashed: {type(exc).__name__}: {exc}"))


def _error_types() -> dict[str, type[LocguiError]]:
    from locgui.core import errors

    return {
        name: cls
        for name, cls in vars(errors).items()
        if isinstance(cls, type) and issubclass(cls, LocguiError)
    }


_ERRORS = _error_types()
