"""Long-running builds in the workbench: the map build (in a child process) and the demo
scene (generated and mapped on first use into the cache)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from locgui.core.errors import Cancelled, LocguiError, MethodError
from locgui.model.jobs import is_bundle
from locgui.runtime.context import RunContext


def demo_root() -> Path:
    """Where the demo scene and its map are cached: ``$XDG_CACHE_HOME/locgui/demo``."""
    import os

    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "locgui" / "demo"


def prepare_demo(root: Path, ctx: RunContext, preset: str = "demo") -> Path:
    """Generate the synthetic demo scene and build its map on first use; returns the bundle.

    Both steps write atomically, so an interrupted first run is resumed (or redone) on the
    next one and never leaves a half-written scene or map that looks complete.
    """
    root = Path(root)
    scene_dir, bundle_dir = root / "scene", root / "scene.locmap"
    if is_bundle(bundle_dir):
        return bundle_dir
    if not (scene_dir / "locgui_scene.json").is_file():
        from locgui.io.synth import generate

        ctx.progress("generate", -1, "rendering the synthetic room (about a minute)")
        root.mkdir(parents=True, exist_ok=True)
        generate(scene_dir, preset=preset)
    ctx.check_cancelled()
    ctx.progress("map", -1, "building the map (features, matching, triangulation)")
    return build_map_subprocess(scene_dir, bundle_dir, None, ctx)


def build_map_subprocess(source: Path, out: Path, config: Any, ctx: RunContext) -> Path:
    """``build_map`` in a child process: its long native calls (pycolmap, numpy) never hold
    the UI process's GIL. Progress comes back through a queue; cancelling terminates the child
    like Ctrl-C (the bundle is written atomically and its staging folder removed).
    """
    import multiprocessing as mp
    import queue as queue_mod

    spawn = mp.get_context("spawn")
    messages = spawn.Queue()
    child = spawn.Process(
        target=_build_child, args=(str(source), str(out), config, messages), daemon=True
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
                    raise MethodError(f"map build of {source} stopped (exit code {code})") from None
                continue
            if kind == "progress":
                ctx.progress(*payload)
            elif kind == "done":
                finished = True
                return Path(payload[0])
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


def _build_child(source: str, out: str, config: Any, messages: Any) -> None:
    """Runs in the child process (``import locgui`` first: the zlib/pycolmap order)."""
    import locgui  # noqa: F401
    from locgui.methods.mapping.pipeline import build_map

    def progress(stage: str, fraction: float, message: str) -> None:
        messages.put(("progress", stage, fraction, message))

    try:
        report = build_map(Path(source), Path(out), config, RunContext(on_progress=progress))
        messages.put(("done", str(report.path)))
    except KeyboardInterrupt:  # the parent cancelled: build_map has cleaned up
        return
    except LocguiError as exc:
        messages.put(("error", type(exc).__name__, str(exc)))
    except Exception as exc:  # noqa: BLE001  (reported to the parent, which raises it)
        messages.put(("error", "MethodError", f"map build crashed: {type(exc).__name__}: {exc}"))


def _error_types() -> dict[str, type[LocguiError]]:
    from locgui.core import errors

    return {
        name: cls
        for name, cls in vars(errors).items()
        if isinstance(cls, type) and issubclass(cls, LocguiError)
    }


_ERRORS = _error_types()
