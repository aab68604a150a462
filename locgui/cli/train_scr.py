"""``locgui train scr SCENE.locmap``: train the scene coordinate regression head.

Ctrl-C stops after the current step and stores the run (resume it with ``--resume``); a
second Ctrl-C aborts at once.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("bundle", help="map bundle folder (SCENE.locmap)")
    parser.add_argument("--epochs", type=float, default=None, help="passes over the buffer (4)")
    parser.add_argument("--device", default="auto", help="torch device (auto: CUDA if present)")
    parser.add_argument("--resume", action="store_true", help="continue the stored checkpoint")
    parser.add_argument("--encoding", choices=("cosine", "xyz"), default=None, help="(cosine)")
    parser.add_argument("--frequencies", type=int, choices=(4, 6, 8), default=None, help="F (6)")
    parser.add_argument("--batch-size", type=int, default=None, help="cells per step (1024)")
    parser.add_argument("--lr", type=float, default=None, help="peak learning rate (1e-2)")
    parser.add_argument("--max-side", type=int, default=None, help="image size limit, px (640)")
    parser.add_argument("--width", type=int, default=None, help="head channels (256)")
    parser.add_argument("--augmentations", type=int, default=None, help="copies per image (2)")
    parser.add_argument("--seed", type=int, default=None, help="random seed (0)")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")


OPTION_FIELDS = {
    "epochs": "epochs",
    "encoding": "encoding",
    "frequencies": "frequencies",
    "batch_size": "batch_size",
    "lr": "learning_rate",
    "max_side": "max_side",
    "width": "head_width",
    "augmentations": "augmentations",
    "seed": "seed",
}


def run(args: argparse.Namespace) -> int:
    import torch

    from locgui.core.errors import Cancelled
    from locgui.io.bundle import open_bundle
    from locgui.methods.scr.config import ScrTrainConfig
    from locgui.methods.scr.train import train_scr
    from locgui.runtime.context import RunContext

    torch.set_num_threads(min(2, torch.get_num_threads()))
    bundle = open_bundle(args.bundle)
    given = {f: getattr(args, a) for a, f in OPTION_FIELDS.items() if getattr(args, a) is not None}
    config = ScrTrainConfig(**given)
    if args.resume:  # the stored run's settings, with what was given on this command line
        stored = bundle.checkpoints().get("scr", {}).get("config", {}).get("train", {})
        config = replace(ScrTrainConfig.from_dict(stored), **given)
    ctx = RunContext(on_progress=_Printer(quiet=args.json))
    previous = signal.signal(signal.SIGINT, _cancel_handler(ctx))
    start = time.perf_counter()
    try:
        folder = train_scr(bundle, config, ctx, device=args.device, resume=args.resume)
    except Cancelled:
        kept = bundle.path / "checkpoints" / "scr"
        where = f"; the last step is stored in {kept} (--resume continues)" if kept.is_dir() else ""
        print(f"\ntraining cancelled{where}", file=sys.stderr)
        return 130
    finally:
        signal.signal(signal.SIGINT, previous)
    _summary(folder, time.perf_counter() - start, args.json)
    return 0


def _cancel_handler(ctx: Any) -> Any:
    def handler(signum: int, frame: Any) -> None:
        if ctx.cancelled:
            raise KeyboardInterrupt
        ctx.cancel()
        print("\ncancelling after this step (Ctrl-C again aborts now)", file=sys.stderr)

    return handler


class _Printer:
    """Training progress: one line per report; buffer encoding rewrites a single line."""

    def __init__(self, quiet: bool) -> None:
        self.quiet = quiet
        self.start = time.monotonic()
        self.stage = ""

    def __call__(self, stage: str, fraction: float, message: str) -> None:
        if self.quiet:
            return
        elapsed = time.monotonic() - self.start
        if stage == "scr training":
            if self.stage != stage:
                sys.stderr.write("\n")
            sys.stderr.write(f"[{elapsed:7.1f}s] {message}\n")
        else:
            sys.stderr.write(f"\r[{elapsed:7.1f}s] {stage}: {message:<50}")
        self.stage = stage
        sys.stderr.flush()


def _summary(folder: Path, seconds: float, as_json: bool) -> None:
    metrics = json.loads((folder / "metrics.json").read_text())
    config = json.loads((folder / "config.json").read_text())
    size = sum(p.stat().st_size for p in folder.iterdir() if p.is_file())
    weights = (folder / "weights.pt").stat().st_size
    curve = metrics.get("loss_curve") or [[0, float("nan"), float("nan")]]
    info = {
        "checkpoint": str(folder),
        "encoding": config["model"]["encoding"],
        "frequencies": config["model"]["frequencies"],
        "steps": metrics["step"],
        "cells": metrics["cells"],
        "images": metrics["images"],
        "supervision": metrics["supervision"],
        "device": metrics["device"],
        "final_loss": curve[-1][1],
        "train_median_error": metrics["train_median_error"],
        "train_median_error_top50": metrics["train_median_error_top50"],
        "buffer_seconds": metrics.get("buffer_seconds"),
        "train_seconds": metrics["train_seconds"],
        "total_seconds": round(seconds, 2),
        "weights_kb": round(weights / 1024, 1),
        "checkpoint_kb": round(size / 1024, 1),
    }
    if as_json:
        print(json.dumps(info, indent=2))
        return
    print(file=sys.stderr)
    for key, value in info.items():
        print(f"{key:>25}: {value}")
