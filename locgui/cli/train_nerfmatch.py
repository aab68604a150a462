"""``locgui train nerfmatch SCENE.locmap``: train the NeRFMatch-Mini heads (needs the NeRF)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from locgui.cli.train_nerf import add_config_arguments, cli_context, config_overrides
from locgui.core.errors import LocguiError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from locgui.methods.nerf.config import NerfMatchTrainConfig

    parser.add_argument("scene", help="a map bundle (SCENE.locmap) with a trained NeRF")
    parser.add_argument("--out", default=None, help="checkpoints folder (when not a bundle)")
    parser.add_argument("--device", default="auto", help="cpu, cuda or auto (default)")
    parser.add_argument("--tiny", action="store_true", help="a seconds-long run (for checks)")
    parser.add_argument("--json", action="store_true", help="print the metrics as JSON")
    add_config_arguments(parser, NerfMatchTrainConfig)


def run(args: argparse.Namespace) -> int:
    from locgui.methods.nerf.config import TINY_NERFMATCH, NerfMatchTrainConfig
    from locgui.methods.nerf.train_match import train_nerfmatch

    values = dict(TINY_NERFMATCH) if args.tiny else {}
    values.update(config_overrides(args, NerfMatchTrainConfig))
    config = NerfMatchTrainConfig(**values)
    if not Path(args.scene).exists():
        raise LocguiError(f"{args.scene}: no such map bundle")
    metrics = train_nerfmatch(
        Path(args.scene), config, cli_context(args.device), out=args.out, device=args.device
    )
    if args.json:
        print(json.dumps(metrics, indent=2))
    else:
        print(
            f"NeRFMatch: {metrics['steps']} steps in {metrics['train_seconds']:.1f} s, "
            f"patch accuracy {metrics['final_patch_accuracy']:.2f} on {metrics['pairs']} pairs"
        )
    return 0
