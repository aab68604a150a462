"""The NeRF optimization loop on in-memory posed views (no files): rays, steps, evaluation.

``train.train_nerf`` wraps it with scene loading, checkpoints and resuming.
Imports torch at module level: import it only where torch is needed.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from locgui.methods.nerf.data import PosedView, image_histogram
from locgui.methods.nerf.model import NerfModel
from locgui.methods.nerf.rays import camera_rays
from locgui.methods.nerf.render import RayBatch, render_rays
from locgui.runtime.context import RunContext

log = logging.getLogger(__name__)


@dataclass
class RayPool:
    """Every training ray, flattened over images.

    Attributes:
        origins, dirs: (R, 3) float32 world rays (dirs with camera z = 1).
        rgb: (R, 3) float32 in [0, 1].
        depth: (R,) float32 z-depth, NaN where unknown.
        image: (R,) int64 index of the image each ray comes from.
        histograms: (I, B) float32 luminance histogram per image.
    """

    origins: torch.Tensor
    dirs: torch.Tensor
    rgb: torch.Tensor
    depth: torch.Tensor
    image: torch.Tensor
    histograms: torch.Tensor

    def __len__(self) -> int:
        return len(self.origins)


def make_ray_pool(views: list[PosedView], hist_bins: int, device: torch.device) -> RayPool:
    """All rays of ``views`` on ``device``."""
    o, d, c, z, idx = [], [], [], [], []
    for i, v in enumerate(views):
        oi, di = camera_rays(v.camera, v.cam_from_world)
        o.append(oi)
        d.append(di)
        c.append(v.rgb.reshape(-1, 3).astype(np.float32) / 255.0)
        depth = v.depth if v.depth is not None else np.full(v.rgb.shape[:2], np.nan)
        z.append(np.where(depth > 0, depth, np.nan).reshape(-1).astype(np.float32))
        idx.append(np.full(len(oi), i, np.int64))
    hists = np.stack([image_histogram(v.rgb, hist_bins) for v in views])

    def t(a: list[np.ndarray], dtype: type = np.float32) -> torch.Tensor:
        return torch.from_numpy(np.concatenate(a).astype(dtype)).to(device)

    return RayPool(t(o), t(d), t(c), t(z), t(idx, np.int64), torch.from_numpy(hists).to(device))


def psnr(mse: float) -> float:
    return -10.0 * math.log10(max(mse, 1e-10))


class NerfFitter:
    """Adam on the field with an exponential learning-rate decay to lr / 10.

    Losses: colour MSE, optional L1 on z-depth (divided by the box diagonal so the weight is
    unit-free) where the pool has depth, and tri-plane total variation.
    """

    def __init__(self, model: NerfModel, pool: RayPool, seed: int = 0) -> None:
        self.model = model
        self.pool = pool
        cfg = model.config
        self.optimizer = torch.optim.Adam(
            model.field.parameters(), lr=cfg.lr, eps=1e-15, fused=True
        )
        self.step_count = 0
        self.generator = torch.Generator(device="cpu").manual_seed(seed)
        box = torch.tensor(model.meta.box_max) - torch.tensor(model.meta.box_min)
        self.scale = float(box.norm())
        self.use_depth = (
            cfg.use_depth and cfg.depth_weight > 0 and bool(torch.isfinite(pool.depth).any())
        )

    def _lr(self) -> float:
        cfg = self.model.config
        return cfg.lr * 0.1 ** min(1.0, self.step_count / max(cfg.steps, 1))

    def _appearance(self, image: torch.Tensor) -> torch.Tensor | None:
        mode = self.model.config.appearance
        if mode == "histogram":
            return self.pool.histograms[image]
        if mode == "embedding":
            return image
        return None

    def step(self) -> dict[str, float]:
        """One optimization step on a random ray batch; returns loss and PSNR of the batch."""
        cfg = self.model.config
        field = self.model.field
        field.train()
        idx = torch.randint(len(self.pool), (cfg.batch_rays,), generator=self.generator)
        idx = idx.to(self.pool.origins.device)
        rays = RayBatch(
            self.pool.origins[idx], self.pool.dirs[idx], self._appearance(self.pool.image[idx])
        )
        background = torch.rand(len(idx), 3, generator=self.generator).to(idx.device)
        out = render_rays(
            field, rays, self.model.meta.near_min, cfg.coarse_samples, cfg.fine_samples, True,
            background=background,
        )  # fmt: skip
        mse = (out.rgb - self.pool.rgb[idx]).pow(2).mean()
        loss = mse
        if self.use_depth:
            gt = self.pool.depth[idx]
            ok = torch.isfinite(gt)
            if bool(ok.any()):
                depth_l1 = (out.depth[ok] - gt[ok]).abs().mean() / self.scale
                loss = loss + cfg.depth_weight * depth_l1
        if cfg.tv_weight > 0 and self.step_count % 4 == 0:  # every 4th step: it is dense
            loss = loss + 4 * cfg.tv_weight * field.tv_loss()
        for group in self.optimizer.param_groups:
            group["lr"] = self._lr()
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        self.step_count += 1
        m = float(mse.detach())
        return {"loss": float(loss.detach()), "mse": m, "psnr": psnr(m)}

    def state_dict(self) -> dict:
        return {
            "field": self.model.field.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "step": self.step_count,
            "generator": self.generator.get_state(),
        }

    def load_state_dict(self, state: dict) -> None:
        self.model.field.load_state_dict(state["field"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.step_count = int(state["step"])
        self.generator.set_state(state["generator"])


def evaluate(
    model: NerfModel, views: list[PosedView], ctx: RunContext | None = None
) -> dict[str, float]:
    """Mean PSNR (dB) over ``views`` rendered at their own resolution and, where they have
    depth, the median absolute z-depth error (map units) over pixels with valid depth.
    The appearance histogram is the view's own (as at localization time, DFNet)."""
    psnrs, depth_errs = [], []
    for v in views:
        out = model.render_view(v.camera, v.cam_from_world, appearance_rgb=v.rgb, ctx=ctx)
        diff = out.rgb.astype(np.float64) - v.rgb.astype(np.float64)
        psnrs.append(psnr(float(np.mean((diff / 255.0) ** 2))))
        if v.depth is not None:
            ok = np.isfinite(v.depth) & (v.depth > 0) & np.isfinite(out.depth)
            if ok.any():
                depth_errs.append(np.abs(out.depth[ok] - v.depth[ok]))
    metrics = {"psnr": float(np.mean(psnrs)) if psnrs else float("nan")}
    if depth_errs:
        metrics["depth_median_abs_error"] = float(np.median(np.concatenate(depth_errs)))
    return metrics


def fit(
    fitter: NerfFitter,
    ctx: RunContext,
    eval_views: list[PosedView],
    on_checkpoint: Callable[[NerfFitter], None] | None = None,
) -> list[dict[str, float]]:
    """Run the remaining steps with progress, cancellation, periodic evaluation and
    resumable checkpoints. Returns the evaluation history (one dict per evaluation)."""
    cfg = fitter.model.config
    history: list[dict[str, float]] = []
    start = time.perf_counter()
    smooth: float | None = None
    while fitter.step_count < cfg.steps:
        ctx.check_cancelled()
        stats = fitter.step()
        smooth = stats["psnr"] if smooth is None else 0.95 * smooth + 0.05 * stats["psnr"]
        step = fitter.step_count
        if step % 25 == 0 or step == cfg.steps:
            ctx.progress(
                "train nerf",
                step / cfg.steps,
                f"step {step}/{cfg.steps} loss {stats['loss']:.4f} PSNR {smooth:.2f} dB",
            )
        if eval_views and cfg.eval_every and step % cfg.eval_every == 0 and step < cfg.steps:
            metrics = evaluate(fitter.model, eval_views, ctx)
            metrics.update(step=step, seconds=time.perf_counter() - start)
            history.append(metrics)
            log.info("step %d: held-out PSNR %.2f dB", step, metrics["psnr"])
        if on_checkpoint is not None and step % cfg.checkpoint_every == 0 and step < cfg.steps:
            on_checkpoint(fitter)
    if eval_views:
        metrics = evaluate(fitter.model, eval_views, ctx)
        metrics.update(step=fitter.step_count, seconds=time.perf_counter() - start)
        history.append(metrics)
    return history
