"""``locgui train nerf SCENE``: train the scene's NeRF (a map bundle gains capability "nerf")."""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
from pathlib import Path
from typing import Any

from locgui.core.errors import LocguiError

log = logging.getLogger(__name__)


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
        choices = f.metadata.get("choices")
        group.add_argument(flag, dest=f.name, type=kind, choices=choices, help=help_text)


def config_overrides(args: argparse.Namespace, config_cls: type) -> dict[str, Any]:
    """The config fields given on the command line."""
    return {
        f.name: getattr(args, f.name)
        for f in dataclasses.fields(config_cls)
        if getattr(args, f.name, None) is not None
    }


def cli_context(device: str) -> Any:
    """A RunContext that logs progress about once per second."""
    import time

    from locgui.runtime.context import RunContext

    last = [0.0]

    def on_progress(stage: str, fraction: float, message: str) -> None:
        now = time.monotonic()
        if now - last[0] >= 1.0 or fraction >= 1.0:
            last[0] = now
            log.info("%s %5.1f%% %s", stage, 100 * max(fraction, 0.0), message)

    return RunContext(on_progress=on_progress, device=device)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from locgui.methods.nerf.config import NerfConfig

    parser.add_argument("scene", help="a map bundle (SCENE.locmap) or a scene folder")
    parser.add_argument(
        "--out", help="checkpoint folder (needed when SCENE is not a map bundle)", default=None
    )
    parser.add_argument("--device", default="auto", help="cpu, cuda or auto (default)")
    parser.add_argument("--resume", action="store_true", help="continue an interrupted run")
    parser.add_argument("--tiny", action="store_true", help="a seconds-long run (for checks)")
    parser.add_argument("--json", action="store_true", help="print the metrics as JSON")
    add_config_arguments(parser, NerfConfig)


def run(args: argparse.Namespace) -> int:
    from locgui.methods.nerf.config import TINY_NERF, NerfConfig
    from locgui.methods.nerf.train import train_nerf

    values = dict(TINY_NERF) if args.tiny else {}
    values.update(config_overrides(args, NerfConfig))
    try:
        config = NerfConfig(**values)
    except TypeError as exc:
        raise LocguiError(f"bad NeRF parameters: {exc}") from exc
    source = Path(args.scene)
    if not source.exists():
        raise LocguiError(f"{source}: no such scene or map bundle")
    result = train_nerf(
        source, config, cli_context(args.device), out=args.out, device=args.device,
        resume=args.resume,
    )  # fmt: skip
    m = result.metrics
    if args.json:
        print(json.dumps({k: v for k, v in m.items() if k != "history"}, indent=2))
    else:
        print(
            f"NeRF: {m['steps']} steps in {m['train_seconds']:.1f} s on {m['device']}, "
            f"held-out PSNR {m['psnr_heldout']:.2f} dB -> {result.folder}"
        )
    return 0
