"""``locgui train NAME SCENE``: every registered trainer, with the same flags.

Generated from the trainer specs (``locgui.methods.registry.TrainerSpec``): the shared
options (``--device``, ``--resume``, ``--tiny``, ``--json``, ``--out``) and one option per field
of the trainer's config dataclass (help, choices and defaults from its metadata). Ctrl-C stops
after the current step (resumable trainers keep it: ``--resume`` continues); a second Ctrl-C
aborts at once.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import signal
import sys
import time
from pathlib import Path
from typing import Any

from locgui.cli.progress import end_progress_line, write_progress
from locgui.core.errors import Cancelled, LocguiError


def add_config_arguments(parser: argparse.ArgumentParser, config_cls: type) -> None:
    """One ``--name`` option per field of a config dataclass (help from its metadata)."""
    group = parser.add_argument_group("training parameters")
    for f in dataclasses.fields(config_cls):
        flag = "--" + f.name.replace("_", "-")
        help_text = f"{f.metadata.get('help', '')} (default: {f.default})"
        if f.type in ("bool", bool):
            group.add_argument(
                flag, dest=f.name, action=argparse.BooleanOptionalAction, default=None,
                help=help_text,
            )  # fmt: skip
            continue
        kind = {"int": int, "float": float}.get(str(f.type), str)
        group.add_argument(flag, dest=f.name, type=kind, choices=f.metadata.get("choices"),
                           help=help_text)  # fmt: skip


def add_arguments(parser: argparse.ArgumentParser, trainer: Any) -> None:
    parser.add_argument("scene", help="a map bundle (SCENE.locmap), or a scene with --out")
    parser.add_argument("--out", default=None,
                        help="checkpoints folder when SCENE is not a map bundle")  # fmt: skip
    parser.add_argument("--device", default="auto", help="cpu, cuda or auto (default)")
    resume = "continue the stored run" if trainer.resumable else "(not supported by this trainer)"
    parser.add_argument("--resume", action="store_true", help=resume)
    parser.add_argument("--tiny", action="store_true", help="a seconds-long run (for checks)")
    parser.add_argument("--json", action="store_true", help="print the metrics as JSON")
    add_config_arguments(parser, trainer.config_class())
    parser.set_defaults(_trainer=trainer.name)


def given_values(args: argparse.Namespace, config_cls: type) -> dict[str, Any]:
    """The config fields given on the command line."""
    return {f.name: getattr(args, f.name) for f in dataclasses.fields(config_cls)
            if getattr(args, f.name, None) is not None}  # fmt: skip


def run(args: argparse.Namespace) -> int:
    import torch

    from locgui.io.bundle import MANIFEST, open_bundle
    from locgui.methods.registry import get_trainer
    from locgui.runtime.context import RunContext

    trainer = get_trainer(args._trainer)
    source_path = Path(args.scene)
    if not source_path.exists():
        raise LocguiError(f"{source_path}: no such map bundle or scene")
    source: Any = open_bundle(source_path) if (source_path / MANIFEST).is_file() else source_path
    if not hasattr(source, "capabilities") and args.out is None:
        raise LocguiError(f"{source_path}: not a map bundle; give --out for the checkpoint")
    cls = trainer.config_class()
    values = given_values(args, cls)
    if args.resume and hasattr(source, "checkpoints"):  # the stored run's settings first
        stored = source.checkpoints().get(trainer.name, {}).get("config", {}).get("train")
        names = {f.name for f in dataclasses.fields(cls)}
        if isinstance(stored, dict):
            values = {**{k: v for k, v in stored.items() if k in names}, **values}
    config = trainer.make_config(tiny=args.tiny, **values)
    # Two OpenMP threads is what a shared desktop affords; more only spin (stack-notes).
    torch.set_num_threads(min(2, torch.get_num_threads()))
    ctx = RunContext(on_progress=Printer(quiet=args.json), device=args.device)
    previous = signal.signal(signal.SIGINT, cancel_handler(ctx))
    start, started_at = time.perf_counter(), time.time()
    try:
        metrics = trainer.run(source, config, ctx, out=args.out, device=args.device,
                              resume=args.resume)  # fmt: skip
    except Cancelled:
        note = ""
        if trainer.resumable:
            stored = stored_since(work_folder(source, args.out, trainer.name), started_at)
            note = " (its last step is stored: --resume continues it)" if stored else ""
            note = note or " (before any step: nothing was stored)"
        end_progress_line()
        print(f"{trainer.name} training cancelled{note}", file=sys.stderr)
        return 130
    finally:
        signal.signal(signal.SIGINT, previous)
    metrics["total_seconds"] = round(time.perf_counter() - start, 2)
    print_summary(trainer, metrics, args.json)
    return 0


def work_folder(source: Any, out: str | None, name: str) -> Path | None:
    """Where trainer ``name`` keeps its unfinished run (``locgui.methods.checkpoint.work_dir``)."""
    base = getattr(source, "path", None) or out
    return Path(base) / ".train" / name if base is not None else None


def stored_since(folder: Path | None, since: float) -> bool:
    """Whether a file under ``folder`` was written at or after ``since`` (epoch seconds)."""
    if folder is None or not folder.is_dir():
        return False
    return any(p.is_file() and p.stat().st_mtime >= since for p in folder.rglob("*"))


def cancel_handler(ctx: Any) -> Any:
    def handler(signum: int, frame: Any) -> None:
        if ctx.cancelled:
            raise KeyboardInterrupt
        ctx.cancel()
        print("\ncancelling after this step (Ctrl-C again aborts now)", file=sys.stderr)

    return handler


class Printer:
    """Progress on stderr, about once a second, each report on its own line."""

    def __init__(self, quiet: bool) -> None:
        self.quiet = quiet
        self.start = time.monotonic()
        self.last = -1.0

    def __call__(self, stage: str, fraction: float, message: str) -> None:
        now = time.monotonic()
        if self.quiet or (now - self.last < 1.0 and fraction < 1.0):
            return
        self.last = now
        pct = f"{100 * fraction:5.1f}%" if fraction >= 0 else "     "
        end_progress_line()
        write_progress(f"[{now - self.start:7.1f}s] {stage} {pct} {message}\n", open_line=False)


def print_summary(trainer: Any, metrics: dict[str, Any], as_json: bool) -> None:
    if as_json:
        print(json.dumps(metrics, indent=2, default=str))
        return
    for key in (*trainer.summary, "total_seconds", "checkpoint"):
        if key in metrics:
            print(f"{key:>25}: {metrics[key]}")
