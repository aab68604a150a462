"""The SCR head's trainer behind the registry's one signature (see ``TrainerSpec``)."""

from __future__ import annotations

import json
from typing import Any

from locgui.runtime.context import RunContext


def train(
    source: Any, config: Any, ctx: RunContext, *, out: Any = None, device: str = "auto",
    resume: bool = False,
) -> dict[str, Any]:  # fmt: skip
    """Train (or continue) the scene coordinate regression head (capability "scr")."""
    from locgui.methods.scr.train import train_scr

    folder = train_scr(source, config, ctx, device=device, resume=resume, out_dir=out)
    metrics = json.loads((folder / "metrics.json").read_text())
    metrics.pop("loss_curve", None)
    return {**metrics, "checkpoint": str(folder)}
