"""``train_apr``: train the per-scene pose regressor on the map images (plus NeRF-rendered
random views when the map has a NeRF: DFNet's random view synthesis, RVS)."""

from __future__ import annotations

import logging
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from locgui.core.errors import MethodError
from locgui.methods.nerf.config import AprTrainConfig
from locgui.runtime.context import RunContext

log = logging.getLogger(__name__)


def _has_nerf(target: Any) -> bool:
    from locgui.methods.checkpoint import is_bundle

    if is_bundle(target):
        return "nerf" in target.capabilities
    return (Path(target) / "nerf" / "config.json").is_file()


def train_apr(
    source: Any,
    config: AprTrainConfig | None = None,
    ctx: RunContext | None = None,
    *,
    out: Any = None,
    device: str | None = None,
) -> dict[str, Any]:
    """Train the absolute pose regressor.

    Args:
        source: an opened MapBundle or bundle path (or a scene with ``out``).
        config: training configuration.
        ctx: progress and cancellation.
        out: checkpoints folder when ``source`` is not a bundle (its ``nerf`` sub-folder, if
            any, gives the synthetic views; the regressor goes to ``apr``).
        device: "cpu", "cuda" or "auto".
    Returns:
        The metrics written to metrics.json (a bundle gains capability "apr").
    """
    import torch

    from locgui.methods.checkpoint import scene_fingerprint, write_checkpoint
    from locgui.methods.nerf.apr_model import PoseRegressor, fit_regressor
    from locgui.methods.nerf.backbone import get_backbone, image_tensor
    from locgui.methods.nerf.checkpoint import load_nerf
    from locgui.methods.nerf.train import resolve_source
    from locgui.methods.nerf.train_match import augment, encoder_views, jitter_pose
    from locgui.runtime.context import resolve_device

    cfg = config or AprTrainConfig()
    ctx = ctx or RunContext()
    scene, bundle = resolve_source(source)
    target = bundle if bundle is not None else out
    if target is None:
        raise MethodError("train_apr: give `out` when the source is not a map bundle")
    dev = torch.device(resolve_device(device or ctx.device or "auto"))
    torch.manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    ids = [i for i in scene.split_ids("train") if scene.images[i].cam_from_world is not None]
    ids = ids or scene.posed_ids()
    if len(ids) < 4:
        raise MethodError(f"pose regression needs at least 4 posed map images, got {len(ids)}")
    start = time.perf_counter()
    with ctx.stage("load images"):
        views = encoder_views(scene, ids, cfg.image_side)
    centres = np.array([v.pose.center for v in views])
    mean, radius = centres.mean(axis=0), scene.scene_radius()
    samples = [(v.rgb, v.pose) for v in views]
    nerf = (
        load_nerf(target, dev, scene=scene) if cfg.synthetic_views and _has_nerf(target) else None
    )
    if nerf is not None:
        with ctx.stage("synthetic views"):
            for k, v in enumerate(views):
                ctx.progress("train apr", 0.0, f"rendering synthetic views {k}/{len(views)}")
                for _ in range(cfg.synthetic_views):
                    pose = jitter_pose(v.pose, rng, cfg.jitter_deg, cfg.jitter_frac * radius)
                    samples.append((nerf.render_view(v.camera, pose, ctx=ctx).rgb, pose))
    backbone = get_backbone(dev)
    with ctx.stage("features"), torch.no_grad():
        feats = []
        for rgb, _ in samples:  # each image as is and with a random exposure change
            x = image_tensor(rgb, dev)
            feats += [backbone(x), backbone(augment(x, rng))]
        feats_t = torch.cat(feats)
    poses = [p for _, p in samples for _ in range(2)]
    c_t = torch.tensor(np.array([(p.center - mean) / radius for p in poses]), dtype=torch.float32)
    r_t = torch.tensor(np.array([p.rotation for p in poses]), dtype=torch.float32)
    model = PoseRegressor(cfg.hidden).to(dev)
    with ctx.stage("train"):
        stats = fit_regressor(
            model, feats_t, c_t.to(dev), r_t.to(dev), cfg.epochs, cfg.lr, cfg.batch,
            cfg.rotation_weight, ctx, cfg.seed,
        )  # fmt: skip
    metrics = {
        **stats,
        "train_images": len(views),
        "synthetic_views": len(samples) - len(views),
        "train_seconds": round(time.perf_counter() - start, 2),
        "stage_seconds": {k: round(v, 2) for k, v in ctx.timings.items()},
        "device": str(dev),
    }
    config_json = {
        "train": cfg.to_dict(),
        "scene_fingerprint": scene_fingerprint(scene),
        "centre_mean": mean.tolist(),
        "radius": radius,
        "image_side": cfg.image_side,
    }
    with tempfile.TemporaryDirectory() as tmp:
        weights = Path(tmp) / "apr.pt"
        torch.save(model.state_dict(), weights)
        folder = write_checkpoint(target, "apr", {"apr.pt": weights}, config_json, metrics)
    log.info("pose regressor saved to %s", folder)
    return metrics
