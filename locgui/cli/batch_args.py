"""Command-line options of batch runs, shared by ``locgui eval`` and ``locgui localize``."""

from __future__ import annotations

import argparse
from typing import Any


def add_batch_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("batch runs (several processes or a Ray cluster)")
    group.add_argument(
        "--workers", type=int, default=1, metavar="N",
        help="local worker processes, or Ray actors with --ray (default 1: this process)",
    )  # fmt: skip
    group.add_argument(
        "--threads", type=int, default=None, metavar="N",
        help="CPU threads per worker (default: 1 with several workers or Ray)",
    )  # fmt: skip
    group.add_argument(
        "--ray", nargs="?", const="local", default=None, metavar="ADDRESS",
        help="run on Ray: 'auto' (a running cluster), 'ray://HOST:PORT', or no value to "
        "start a local Ray for this run (pip install 'locgui[ray]')",
    )  # fmt: skip
    group.add_argument("--gpus-per-worker", type=float, default=0.0, metavar="G",
                       help="GPUs each Ray actor declares (num_gpus)")  # fmt: skip
    group.add_argument(
        "--ship-maps", action="store_true",
        help="send maps to Ray workers through the object store (no shared storage)",
    )  # fmt: skip
    group.add_argument("--batch-size", type=int, default=1, metavar="N",
                       help="queries per Ray task (default 1)")  # fmt: skip


def executor_of(args: argparse.Namespace) -> Any:
    from locgui.methods.batch.runner import Executor

    return Executor(workers=args.workers, threads=args.threads, ray=args.ray,
                    gpus=args.gpus_per_worker, ship_maps=args.ship_maps,
                    batch_size=args.batch_size)  # fmt: skip


def wants_batch(args: argparse.Namespace) -> bool:
    """Whether the options ask for the batch engine (several workers, Ray)."""
    return bool(args.workers != 1 or args.ray is not None or args.ship_maps
                or args.gpus_per_worker or args.threads)  # fmt: skip


def settings_of(args: argparse.Namespace) -> list[Any]:
    """One ``Settings`` per (method, preset) of the comma lists --method / --preset."""
    from locgui.cli.localize import parse_overrides
    from locgui.core.errors import MethodError
    from locgui.methods.batch.plan import Settings
    from locgui.methods.registry import get_method

    methods = [m.strip() for m in args.method.split(",") if m.strip()]
    presets = [p.strip() for p in (args.preset or "default").split(",") if p.strip()]
    if not methods:
        raise MethodError("--method: name at least one method")
    out = []
    for method in methods:
        spec = get_method(method)
        overrides = parse_overrides(spec, args.set)
        for preset in presets:
            name = None if preset == "default" else preset
            spec.make_config(name, **overrides)  # a bad preset or value fails here, early
            out.append(Settings(method, name, tuple(sorted(overrides.items())), args.intrinsics))
    return out
