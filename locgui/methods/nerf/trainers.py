"""The NeRF area's trainers behind the registry's one signature
``train(source, config, ctx, out=, device=, resume=) -> metrics`` (see ``TrainerSpec``)."""

from __future__ import annotations

from typing import Any

from locgui.runtime.context import RunContext


def train_field(
    source: Any, config: Any, ctx: RunContext, *, out: Any = None, device: str = "auto",
    resume: bool = False,
) -> dict[str, Any]:  # fmt: skip
    """The scene's NeRF (capability "nerf")."""
    from locgui.methods.nerf.train import train_nerf

    result = train_nerf(source, config, ctx, out=out, device=device, resume=resume)
    metrics = {k: v for k, v in result.metrics.items() if k != "history"}
    return {**metrics, "checkpoint": str(result.folder)}


def train_match_heads(
    source: Any, config: Any, ctx: RunContext, *, out: Any = None, device: str = "auto",
    resume: bool = False,
) -> dict[str, Any]:  # fmt: skip
    """NeRFMatch-Mini's heads (capability "nerfmatch"; the NeRF must exist)."""
    from locgui.methods.nerf.train_match import train_nerfmatch

    return _with_folder("nerfmatch", train_nerfmatch(source, config, ctx, out=out, device=device),
                        out or source)  # fmt: skip


def train_regressor(
    source: Any, config: Any, ctx: RunContext, *, out: Any = None, device: str = "auto",
    resume: bool = False,
) -> dict[str, Any]:  # fmt: skip
    """The DFNet-style pose regressor (capability "apr")."""
    from locgui.methods.nerf.apr_train import train_apr

    return _with_folder("apr", train_apr(source, config, ctx, out=out, device=device),
                        out or source)  # fmt: skip


def _with_folder(name: str, metrics: dict[str, Any], target: Any) -> dict[str, Any]:
    from locgui.methods.checkpoint import checkpoint_folder

    return {**metrics, "checkpoint": str(checkpoint_folder(target, name))}


def field_renderer(bundle: Any, device: str) -> Any:
    """The bundle's NeRF, shared through its resource cache (``render_view``)."""
    from locgui.methods.nerf.checkpoint import bundle_nerf

    return bundle_nerf(bundle, device)
