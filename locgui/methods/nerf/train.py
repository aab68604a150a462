"""``train_nerf``: train the scene's NeRF from its posed images, with resume and checkpoints."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from locgui.core.errors import MethodError
from locgui.core.scene import SceneMap
from locgui.methods.checkpoint import (
    file_id,
    is_bundle,
    load_state,
    scene_fingerprint,
    work_dir,
    write_checkpoint,
)
from locgui.methods.nerf.config import NerfConfig
from locgui.methods.nerf.data import (
    PosedView,
    image_histogram,
    load_views,
    scene_box,
)
from locgui.runtime.context import RunContext, resolve_device

log = logging.getLogger(__name__)


@dataclass
class NerfTrainResult:
    """What ``train_nerf`` returns.

    Attributes:
        model: the trained ``NerfModel``.
        metrics: JSON-ready figures (held-out PSNR, timings, ...), also in metrics.json.
        folder: the checkpoint folder written.
    """

    model: Any
    metrics: dict[str, Any]
    folder: Path


def resolve_source(source: Any) -> tuple[SceneMap, Any]:
    """(scene, where checkpoints go) for a MapBundle, a bundle path or a SceneMap.

    A SceneMap or a scene folder has no bundle: the second item is None.
    """
    if is_bundle(source):
        return source.scene, source
    if isinstance(source, SceneMap):
        return source, None
    path = Path(source)
    if (path / "manifest.json").is_file():
        from locgui.io.bundle import open_bundle

        bundle = open_bundle(path)
        return bundle.scene, bundle
    from locgui.io import open_scene

    return open_scene(path), None


def split_views(scene: SceneMap, cfg: NerfConfig) -> tuple[list[int], list[int]]:
    """(training image ids, held-out image ids) among the posed images.

    The scene's test split is held out when it has posed images; else every
    ``holdout_every``-th training image (0: evaluate on training images).
    """
    posed = set(scene.posed_ids())
    train = [i for i in scene.split_ids("train") if i in posed]
    test = [i for i in scene.split_ids("test") if i in posed]
    if not train:
        train = sorted(posed - set(test))
    if len(train) < 2:
        raise MethodError(f"NeRF training needs at least 2 posed images, the map has {len(train)}")
    if not test and cfg.holdout_every > 1 and len(train) >= 2 * cfg.holdout_every:
        test = train[cfg.holdout_every // 2 :: cfg.holdout_every]
        train = [i for i in train if i not in set(test)]
    if not test:
        test = list(train)
    step = max(1, len(test) // cfg.eval_views)
    return train, test[::step][: cfg.eval_views]


def build_meta(scene: SceneMap, views: list[PosedView], cfg: NerfConfig) -> Any:
    from locgui.methods.nerf.model import NerfMeta

    lo, hi = scene_box(scene, views, cfg.box_margin)
    hists = np.stack([image_histogram(v.rgb, cfg.hist_bins) for v in views])
    return NerfMeta(
        config=cfg,
        box_min=lo.tolist(),
        box_max=hi.tolist(),
        near_min=float(cfg.near * np.linalg.norm(hi - lo)),
        num_images=len(views),
        mean_histogram=hists.mean(axis=0).tolist(),
        scene_fingerprint=scene_fingerprint(scene),
        image_names=[v.name for v in views],
    )


def train_nerf(
    source: Any,
    config: NerfConfig | None = None,
    ctx: RunContext | None = None,
    *,
    out: str | Path | None = None,
    device: str | None = None,
    resume: bool = False,
) -> NerfTrainResult:
    """Train a NeRF on a scene's posed training images.

    Args:
        source: an opened MapBundle, a bundle or scene path, or a SceneMap.
        config: training configuration (defaults: ``NerfConfig()``).
        ctx: progress, cancellation (checked every step).
        out: checkpoints folder when ``source`` is not a bundle (required then); the NeRF
            goes to its ``nerf`` sub-folder.
        device: "cpu", "cuda" or "auto" (default: ctx.device, else auto).
        resume: continue from the last resumable state if it matches this config and scene.
    Returns:
        The model, metrics and the checkpoint folder (``checkpoints/nerf`` in a bundle, which
        then gains capability "nerf").
    """
    import torch

    from locgui.methods.nerf.fit import NerfFitter, fit, make_ray_pool
    from locgui.methods.nerf.model import NerfModel

    cfg = config or NerfConfig()
    ctx = ctx or RunContext()
    scene, bundle = resolve_source(source)
    target: Any = bundle if bundle is not None else out
    if target is None:
        raise MethodError("train_nerf: give `out` (a folder) when the source is not a map bundle")
    dev = torch.device(resolve_device(device or ctx.device or "auto"))
    torch.manual_seed(cfg.seed)
    train_ids, eval_ids = split_views(scene, cfg)
    with_depth = cfg.use_depth  # depth maps, else the SfM points' depths
    with ctx.stage("load images"):
        ctx.progress("train nerf", 0.0, f"loading {len(train_ids)} images")
        views = load_views(scene, train_ids, cfg.max_side, with_depth)
        eval_views = load_views(scene, eval_ids, cfg.max_side, with_depth)
    meta = build_meta(scene, views, cfg)
    model = NerfModel(meta, dev)
    fitter = NerfFitter(model, make_ray_pool(views, cfg.hist_bins, dev), cfg.seed)
    state_path = work_dir(target, "nerf") / "state.pt"
    if resume:
        _resume(fitter, state_path, meta.to_dict(), dev)

    def save_state(f: NerfFitter) -> None:
        torch.save({"meta": meta.to_dict(), **f.state_dict()}, state_path)

    log.info(
        "training NeRF on %d images (%dx%d) on %s, %d steps",
        len(views), views[0].camera.width, views[0].camera.height, dev, cfg.steps,
    )  # fmt: skip
    start = time.perf_counter()
    with ctx.stage("train"):
        history = fit(fitter, ctx, eval_views, save_state)
    seconds = time.perf_counter() - start
    final = history[-1] if history else {}
    metrics = {
        "psnr_heldout": final.get("psnr"),
        "depth_median_abs_error": final.get("depth_median_abs_error"),
        "train_seconds": round(seconds, 2),
        "steps": fitter.step_count,
        "device": str(dev),
        "train_images": len(views),
        "eval_images": [v.name for v in eval_views],
        "resolution": [views[0].camera.width, views[0].camera.height],
        "history": history,
    }
    weights = state_path.with_name("nerf.pt")
    torch.save(model.field.state_dict(), weights)
    model.weights_id = file_id(weights)
    folder = write_checkpoint(target, "nerf", {"nerf.pt": weights}, meta.to_dict(), metrics)
    state_path.unlink(missing_ok=True)
    log.info("NeRF saved to %s (held-out PSNR %s dB)", folder, metrics["psnr_heldout"])
    return NerfTrainResult(model, metrics, folder)


def _resume(fitter: Any, state_path: Path, meta: dict[str, Any], device: Any) -> None:
    if not state_path.is_file():
        log.info("no resumable NeRF state at %s: starting from scratch", state_path)
        return
    state = load_state(state_path, device)
    if state.get("meta") != meta:
        log.warning("resumable state at %s is for another config or scene: ignored", state_path)
        return
    fitter.load_state_dict(state)
    log.info("resumed NeRF training at step %d", fitter.step_count)
