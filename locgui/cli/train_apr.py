"""``locgui train apr SCENE.locmap``: train the absolute pose regressor (DFNet-style)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from locgui.cli.train_nerf import add_config_arguments, cli_context, config_overrides
from locgui.core.errors import LocguiError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from locgui.methods.nerf.config import AprTrainConfig

    parser.add_argument("scene", help="a map bundle (SCENE.locmap)")
    parser.add_argument("--out", default=None, help="checkpoints folder (when not a bundle)")
    parser.add_argument("--device", default="auto", help="cpu, cuda or auto (default)")
    parser.add_argument("--tiny", action="store_true", help="a seconds-long run (for checks)")
    parser.add_argument("--json", action="store_true", help="print the metrics as JSON")
    add_config_arguments(parser, AprTrainConfig)


def run(args: argparse.Namespace) -> int:
    from locgui.methods.nerf.apr_train import train_apr
    from locgui.methods.nerf.config import TINY_APR, AprTrainConfig

    values = dict(TINY_APR) if args.tiny else {}
    values.update(config_overrides(args, AprTrainConfig))
    config = AprTrainConfig(**values)
    if not Path(args.scene).exists():
        raise LocguiError(f"{args.scene}: no such map bundle")
    metrics = train_apr(
        Path(args.scene), config, cli_context(args.device), out=args.out, device=args.device
    )
    if args.json:
        print(json.dumps(metrics, indent=2))
    else:
        print(
            f"APR: trained in {metrics['train_seconds']:.1f} s on {metrics['train_images']} "
            f"images + {metrics['synthetic_views']} synthetic views; training error "
            f"{metrics['train_centre_error']:.3f} x radius, "
            f"{metrics['train_rotation_error_deg']:.2f} deg"
        )
    return 0
