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


def _metrics_with_folder(name: str, ref: str) -> Any:
    """A registry trainer around ``module:function(source, config, ctx, out=, device=)``,
    which returns the metrics; adds the checkpoint folder ``name``. Not resumable."""

    def train(
        source: Any, config: Any, ctx: RunContext, *, out: Any = None, device: str = "auto",
        resume: bool = False,
    ) -> dict[str, Any]:  # fmt: skip
        import importlib

        from locgui.methods.checkpoint import checkpoint_folder

        module, _, func = ref.partition(":")
        metrics = getattr(importlib.import_module(module), func)(
            source, config, ctx, out=out, device=device
        )
        return {**metrics, "checkpoint": str(checkpoint_folder(out or source, name))}

    return train


# NeRFMatch-Mini's heads (capability "nerfmatch"; the NeRF must exist).
train_match_heads = _metrics_with_folder(
    "nerfmatch", "locgui.methods.nerf.train_match:train_nerfmatch"
)
# The DFNet-style pose regressor (capability "apr").
train_regressor = _metrics_with_folder("apr", "locgui.methods.nerf.apr_train:train_apr")


def field_renderer(bundle: Any, device: str) -> Any:
    """The bundle's NeRF, shared through its resource cache (``render_view``)."""
    from locgui.methods.nerf.checkpoint import bundle_nerf

    return bundle_nerf(bundle, device)
