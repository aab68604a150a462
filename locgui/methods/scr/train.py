"""``train_scr``: fit the per-scene SCR head on a map's mapping images.

Loss (paper eq. 4-5): ``tau * |phi(v) - y_hat| - log(tau)`` per cell, where ``y_hat`` has its
(cos, sin) pairs L2-normalized and ``tau = 1 + exp(raw) > 1`` is the predicted confidence; with
``encoding="xyz"`` the L1 is on raw coordinates (the paper's d = 3 baseline). The head is trained
with Adam on random cells of the buffer, one-cycle learning rate (warm-up then cosine decay).

Progress goes through ``ctx.progress``; ``ctx.check_cancelled`` is honoured at every step. The
run in progress is stored every minute, and at its last completed step when cancelled
(``metrics.completed = false``), in the work folder ``.train/scr/`` so that ``resume=True``
continues it; the last complete checkpoint is replaced only when a run finishes.

Import this module only where torch is needed.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from locgui.core.errors import Cancelled, MethodError
from locgui.core.scene import SceneMap
from locgui.methods.scr import checkpoint as ckpt
from locgui.methods.scr.buffer import PixelBuffer, build_buffer
from locgui.methods.scr.config import ENCODINGS, ScrTrainConfig
from locgui.methods.scr.encoding import decode_points, encode_points_torch, frequency_set
from locgui.methods.scr.loss import reprojection_residual, threshold
from locgui.methods.scr.network import ScrHead, XFeatBackbone, confidence, input_dim, shape_output
from locgui.methods.scr.store import CheckpointStore, SavedRun, open_store
from locgui.runtime.context import RunContext, resolve_device

log = logging.getLogger(__name__)

CHECKPOINT_SECONDS = 60.0
SCHEDULE_FIELDS = ("epochs", "batch_size", "learning_rate", "log_every")
NORM_WEIGHT = 1e-3
# The automatic budget (epochs 0): cells seen per mapping image, and the least a requested
# budget should give before a warning. Demo scene, 63 training images, 2 CPU threads
# (scripts/bench_scr.py): 60k per image (~2.5 min) fits the training views to 13 cm but leaves
# the validation views at 0.9 m; 135k per image (xyz, reprojection) 7 cm vs 0.8 m. More steps
# fit the training views, not new viewpoints: no CPU budget here is known to be enough.
AUTO_CELLS_PER_IMAGE = 60_000
SHORT_CELLS_PER_IMAGE = 30_000


@dataclass
class TrainState:
    """Mutable state of one training run."""

    step: int
    total: int
    losses: list[tuple[int, float, float]] = field(default_factory=list)  # step, loss, L1
    seconds: float = 0.0


def train_scr(
    source: Any,
    config: ScrTrainConfig | None = None,
    ctx: RunContext | None = None,
    *,
    device: str = "auto",
    resume: bool = False,
    out_dir: str | Path | None = None,
) -> Path:
    """Train the SCR head and store it as checkpoint "scr".

    Args:
        source: a ``MapBundle`` (or its path): the checkpoint is added to it (capability
            "scr"); or a ``SceneMap`` with ``out_dir`` where the checkpoint files go.
        config: training settings. With ``resume``, the model and data settings come from the
            stored checkpoint and only the schedule (epochs, batch size, learning rate) from
            ``config`` when given.
        ctx: progress and cancellation.
        device: "auto", "cpu" or "cuda".
        resume: continue the stored checkpoint (an unfinished run finishes its schedule; a
            finished one trains ``epochs`` more).
    Returns:
        The checkpoint folder.
    """
    ctx = ctx or RunContext()
    store = open_store(source, out_dir)
    scene = store.scene
    dev = resolve_device(device)
    saved = store.load_for_resume(dev) if resume else None
    cfg = _effective_config(config, saved)
    _check_config(cfg)
    torch.manual_seed(cfg.seed)
    started = time.perf_counter()
    ids = ckpt.training_image_ids(scene)
    if not ids:
        raise MethodError("SCR training needs posed mapping images; this map has none")
    backbone = XFeatBackbone().to(dev)
    buffer = build_buffer(scene, ids, cfg, backbone, dev, ctx)
    buffer_seconds = time.perf_counter() - started
    meta = saved.meta if saved else _model_meta(cfg, buffer, scene)
    head = ScrHead(meta.in_dim, meta.out_dim, meta.width, meta.blocks).to(dev)
    optimizer = torch.optim.Adam(head.parameters(), lr=cfg.learning_rate)
    total = _steps(cfg, len(buffer.training_rows()), buffer.images)
    state = TrainState(0, total)
    head.set_input_statistics(buffer.inputs[torch.randperm(len(buffer))[:100_000].to(dev)])
    if saved is not None:
        state = _restore(saved, head, optimizer, total)
    runner = _Runner(head, optimizer, buffer, meta, cfg, dev, ctx, store, scene, state)
    runner.metrics_base = {"buffer_seconds": round(buffer_seconds, 2)}
    return runner.run()


# ---------------------------------------------------------------------------- setup
def _effective_config(config: ScrTrainConfig | None, saved: SavedRun | None) -> ScrTrainConfig:
    if saved is None:
        return config or ScrTrainConfig()
    if config is None:
        return saved.train
    return replace(saved.train, **{k: getattr(config, k) for k in SCHEDULE_FIELDS})


def _check_config(cfg: ScrTrainConfig) -> None:
    if cfg.encoding not in ENCODINGS:
        raise MethodError(f"scr: unknown encoding {cfg.encoding!r} (use {' or '.join(ENCODINGS)})")
    try:
        frequency_set(cfg.frequencies)
    except ValueError as exc:
        raise MethodError(f"scr: {exc}") from exc


def _model_meta(cfg: ScrTrainConfig, buffer: PixelBuffer, scene: SceneMap) -> ckpt.ModelMeta:
    pts = buffer.targets[buffer.labelled()].cpu().numpy()
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    fs = frequency_set(cfg.frequencies)
    return ckpt.ModelMeta(
        encoding=cfg.encoding,
        f1=fs.f1,
        gamma=fs.gamma,
        frequencies=fs.count,
        unit_scale=_unit_scale(cfg, pts, scene),
        centre=np.median(pts, axis=0).tolist(),
        search_lo=lo.tolist(),
        search_hi=hi.tolist(),
        in_dim=input_dim(cfg.colour),
        out_dim=fs.dim if cfg.encoding == "cosine" else 3,
        width=cfg.head_width,
        blocks=cfg.head_blocks,
        colour=cfg.colour,
        max_side=cfg.max_side,
    )


def _unit_scale(cfg: ScrTrainConfig, pts: np.ndarray, scene: SceneMap) -> float:
    """Metres per map unit: as configured; 1 for metric maps; else the scene spans ~10 m."""
    if cfg.unit_scale > 0:
        return float(cfg.unit_scale)
    if scene.units == "metres":
        return 1.0
    extent = float(np.max(np.percentile(pts, 98, axis=0) - np.percentile(pts, 2, axis=0)))
    return 10.0 / extent if extent > 0 else 1.0


def _steps(cfg: ScrTrainConfig, cells: int, images: int) -> int:
    """Training steps: ``epochs`` passes over ``cells``, or with epochs 0 the automatic budget
    (``AUTO_CELLS_PER_IMAGE`` per image); a budget under ``SHORT_CELLS_PER_IMAGE`` per image
    is logged as too short."""
    if cfg.epochs <= 0:
        return max(1, math.ceil(AUTO_CELLS_PER_IMAGE * images / cfg.batch_size))
    steps = max(1, math.ceil(cfg.epochs * cells / cfg.batch_size))
    per_image = steps * cfg.batch_size / max(images, 1)
    if per_image < SHORT_CELLS_PER_IMAGE:
        log.warning(
            "scr: %g epochs give %.0f cells per mapping image, under the %d measured to be "
            "too few; use --epochs 0 for the automatic budget (%d per image)",
            cfg.epochs, per_image, SHORT_CELLS_PER_IMAGE, AUTO_CELLS_PER_IMAGE,
        )  # fmt: skip
    return steps


def _restore(
    saved: SavedRun, head: ScrHead, optimizer: torch.optim.Optimizer, total: int
) -> TrainState:
    head.load_state_dict(saved.weights)
    if saved.optimizer is not None:
        optimizer.load_state_dict(saved.optimizer)
    if saved.step < saved.total:  # unfinished: finish its schedule
        return TrainState(saved.step, saved.total, list(saved.losses), saved.seconds)
    log.info("scr: the stored run is complete; training %d more steps", total)
    return TrainState(0, total, [], saved.seconds)


def one_cycle(step: int, total: int, peak: float, warmup: float = 0.1) -> float:
    """Learning rate: linear warm-up from peak/25 over ``warmup`` of the run, cosine to ~0."""
    w = max(1, int(total * warmup))
    if step < w:
        return peak * (0.04 + 0.96 * step / w)
    t = (step - w) / max(1, total - w)
    return peak * (0.5 * (1 + math.cos(math.pi * min(1.0, t))) * 0.999 + 0.001)


# ---------------------------------------------------------------------------- loop
def cell_loss(
    y: torch.Tensor, raw: torch.Tensor, targets: torch.Tensor, meta: ckpt.ModelMeta
) -> tuple[torch.Tensor, torch.Tensor]:
    """(loss, mean L1) for (N, out_dim) outputs, (N,) raw confidences, (N, 3) map-unit targets."""
    v = (targets - targets.new_tensor(meta.centre)) * meta.unit_scale
    y_shaped = shape_output(y, meta.encoding)
    if meta.encoding == "cosine":
        freqs = torch.as_tensor(meta.freqs(), dtype=torch.float64, device=v.device)
        target = encode_points_torch(v.double(), freqs).to(y.dtype)
    else:
        target = v.to(y.dtype)
    l1 = (y_shaped - target).abs().sum(dim=-1)
    tau = confidence(raw)
    loss = (tau * l1 - torch.log(tau)).mean()
    if meta.encoding == "cosine":
        # The loss only sees the pairs' directions; keep their raw norms near 1 so that the
        # normalization stays well conditioned (otherwise nothing holds the norms up).
        norms = y.reshape(*y.shape[:-1], -1, 2).norm(dim=-1)
        loss = loss + NORM_WEIGHT * ((norms - 1.0) ** 2).mean()
    return loss, l1.mean()


def reprojection_loss(
    y: torch.Tensor,
    raw: torch.Tensor,
    buffer: PixelBuffer,
    rows: torch.Tensor,
    meta: ckpt.ModelMeta,
    thr: float,
    depth: float,
) -> tuple[torch.Tensor, torch.Tensor]:
    """(loss, median reprojection error in pixels) of xyz outputs ``y`` (N, 3) for buffer
    ``rows``: the confidence loss ``tau * r - log(tau)`` on ``loss.reprojection_residual``."""
    xyz = y / meta.unit_scale + y.new_tensor(meta.centre)
    residual, err = reprojection_residual(
        xyz, buffer.rays[rows], buffer.focal[rows], buffer.poses[buffer.image[rows]],
        buffer.targets[rows].to(y.dtype), thr, depth,
    )  # fmt: skip
    tau = confidence(raw)
    return (tau * residual - torch.log(tau)).mean(), err.median()


def typical_depth(buffer: PixelBuffer) -> float:
    """Median camera depth of the labelled cells, map units (the invalid predictions' target)."""
    rows = torch.nonzero(buffer.labelled()).flatten()[:100_000]
    pose = buffer.poses[buffer.image[rows]].double()
    z = torch.einsum("nj,nj->n", pose[:, 2, :3], buffer.targets[rows]) + pose[:, 2, 3]
    return max(float(z.median()), 1e-6)


class _Runner:
    def __init__(
        self,
        head: ScrHead,
        optimizer: torch.optim.Optimizer,
        buffer: PixelBuffer,
        meta: ckpt.ModelMeta,
        cfg: ScrTrainConfig,
        device: str,
        ctx: RunContext,
        store: CheckpointStore,
        scene: SceneMap,
        state: TrainState,
    ) -> None:
        self.head, self.optimizer, self.buffer, self.meta = head, optimizer, buffer, meta
        self.cfg, self.device, self.ctx, self.store, self.scene = cfg, device, ctx, store, scene
        self.state = state
        self.reprojection = cfg.reprojection and meta.encoding == "xyz"
        rows = buffer.training_rows()
        self.rows = rows if self.reprojection else rows[buffer.labelled()[rows]]
        self.typical_depth = typical_depth(buffer)
        self.metrics_base: dict[str, Any] = {}

    def run(self) -> Path:
        st, cfg = self.state, self.cfg
        gen = torch.Generator(device="cpu").manual_seed(cfg.seed * 1_000_003 + st.step)
        last_save = time.perf_counter()
        window: list[tuple[float, float]] = []
        t0 = time.perf_counter() - st.seconds
        try:
            while st.step < st.total:
                self.ctx.check_cancelled()
                window.append(self._step(gen))
                st.step += 1
                st.seconds = time.perf_counter() - t0
                if st.step % cfg.log_every == 0 or st.step == st.total:
                    self._report(window)
                    window = []
                if time.perf_counter() - last_save > CHECKPOINT_SECONDS and st.step < st.total:
                    self._save(completed=False)
                    last_save = time.perf_counter()
        except (Cancelled, KeyboardInterrupt):
            log.info("scr training cancelled at step %d/%d; storing it", st.step, st.total)
            if st.step > 0:
                self._save(completed=False)
            raise
        self.ctx.boundary("scr save")
        return self._save(completed=True)

    def _step(self, gen: torch.Generator) -> tuple[float, float]:
        st, cfg = self.state, self.cfg
        for group in self.optimizer.param_groups:
            group["lr"] = one_cycle(st.step, st.total, cfg.learning_rate)
        pick = torch.randint(0, len(self.rows), (cfg.batch_size,), generator=gen)
        idx = self.rows[pick.to(self.device)]
        y, raw = self.head(self.buffer.inputs[idx].float())
        if self.reprojection:
            thr = threshold(st.step / st.total, cfg.threshold_start, cfg.threshold_end)
            loss, l1 = reprojection_loss(y, raw, self.buffer, idx, self.meta, thr,
                                         self.typical_depth)  # fmt: skip
        else:
            loss, l1 = cell_loss(y, raw, self.buffer.targets[idx], self.meta)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        return float(loss.detach()), float(l1.detach())

    def _report(self, window: list[tuple[float, float]]) -> None:
        st = self.state
        loss, l1 = (float(np.mean([w[k] for w in window])) for k in (0, 1))
        st.losses.append((st.step, round(loss, 5), round(l1, 5)))
        epoch = st.step * self.cfg.batch_size / len(self.rows)
        error = f"median reprojection {l1:.1f} px" if self.reprojection else f"L1 {l1:.4f}"
        left = st.seconds / max(st.step, 1) * (st.total - st.step)
        self.ctx.progress(
            "scr training",
            st.step / st.total,
            f"step {st.step}/{st.total} epoch {epoch:.2f} loss {loss:.4f} {error}, "
            f"about {left:.0f} s left",
        )

    def _save(self, completed: bool) -> Path:
        metrics = {
            **self.metrics_base,
            "completed": completed,
            "step": self.state.step,
            "total_steps": self.state.total,
            "train_seconds": round(self.state.seconds, 2),
            "cells": len(self.rows),
            "labelled_cells": int(self.buffer.labelled()[self.rows].sum()),
            "images": self.buffer.images,
            "validation_images": self.buffer.validation_images,
            "supervision": self.buffer.supervision,
            "device": self.device,
            "loss_curve": _thin(self.state.losses, 200),
            **evaluate_buffer(self.head, self.buffer, self.meta),
        }
        config = ckpt.checkpoint_config(self.cfg, self.meta, self.scene)
        train_state = {
            "optimizer": self.optimizer.state_dict(),
            "step": self.state.step,
            "total": self.state.total,
            "seconds": self.state.seconds,
            "losses": torch.tensor(self.state.losses, dtype=torch.float64).reshape(-1, 3),
        }
        return self.store.save(
            self.head.state_dict(), train_state, config, metrics, completed=completed
        )


def _thin(rows: list[tuple[int, float, float]], n: int) -> list[list[float]]:
    if len(rows) <= n:
        return [list(r) for r in rows]
    keep = np.unique(np.linspace(0, len(rows) - 1, n).round().astype(int))
    return [list(rows[i]) for i in keep]


@torch.no_grad()
def evaluate_buffer(
    head: ScrHead, buffer: PixelBuffer, meta: ckpt.ModelMeta, max_cells: int = 20000
) -> dict[str, Any]:
    """Fit the inverse's frequency weights and measure median scene-coordinate errors.

    Weights come from the validation images' cells when there are any (training cells are
    memorized: they would trust frequencies that new views do not get right), else from the
    un-augmented training cells. Sets ``meta.frequency_weights``. Errors in map units.
    """
    labelled = buffer.labelled()
    train = _sample(buffer.original & ~buffer.holdout & labelled, max_cells)
    valid = _sample(buffer.holdout & labelled, max_cells)
    was_training = head.training
    head.eval()
    out = {name: _outputs(head, buffer, rows, meta) for name, rows in (("train", train),
                                                                       ("validation", valid))
           if len(rows)}  # fmt: skip
    head.train(was_training)
    if meta.encoding == "cosine":
        y, truth, _ = out["validation"] if "validation" in out else out["train"]
        w = frequency_weights(y, (truth - meta.centre) * meta.unit_scale, meta.freqs())
        meta.frequency_weights = np.round(w, 4).tolist()
    metrics: dict[str, Any] = {"error_units": "map units"}
    for name, (y, truth, tau) in out.items():
        err = np.linalg.norm(predicted_xyz(y, meta) - truth, axis=1)
        metrics[f"{name}_median_error"] = round(float(np.median(err)), 5)
        metrics[f"{name}_median_error_top50"] = round(
            float(np.median(err[tau >= np.median(tau)])), 5
        )
    metrics["frequency_weights"] = meta.frequency_weights
    return metrics


def _sample(mask: torch.Tensor, n: int) -> torch.Tensor:
    rows = torch.nonzero(mask).flatten()
    if len(rows) > n:
        pick = torch.randperm(len(rows), generator=torch.Generator().manual_seed(0))[:n]
        rows = rows[pick.to(rows.device)]
    return rows


def _outputs(
    head: ScrHead, buffer: PixelBuffer, rows: torch.Tensor, meta: ckpt.ModelMeta
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(shaped outputs (n, out_dim), targets (n, 3) map units, confidence (n,)) for rows."""
    y, raw = head(buffer.inputs[rows].float())
    return (
        shape_output(y, meta.encoding).cpu().numpy(),
        buffer.targets[rows].cpu().numpy(),
        confidence(raw).cpu().numpy(),
    )


def frequency_weights(y: np.ndarray, v: np.ndarray, freqs: np.ndarray) -> np.ndarray:
    """(3, F) inverse-variance weights of each axis' frequencies for the inverse (max 1).

    Args:
        y: (N, 6F) predicted encodings (pairs normalized).
        v: (N, 3) true coordinates, network units.
    With angle errors eps_i of variance s_i^2, the least-squares inverse is the maximum
    likelihood estimate when pair i is weighted by 1 / s_i^2 (eq. 19's amplitudes). The paper's
    network predicts every frequency well and weights them equally; a small per-scene head
    cannot predict the finest ones, whose errors spread over the circle (s^2 ~ pi^2 / 3): they
    get a weight near 0 instead of creating false minima. Pairs adding under 1e-3 of the
    largest w_i f_i^2 (position information) are dropped (weight 0).
    """
    pairs = y.reshape(len(y), 3, len(freqs), 2)
    pred = np.arctan2(pairs[..., 1], pairs[..., 0])
    err = np.angle(np.exp(1j * (pred - v[:, :, None] * freqs)))
    var = np.maximum(np.mean(err**2, axis=0), 1e-8)  # (3, F)
    w = var.min(axis=1, keepdims=True) / var
    info = w * freqs**2  # curvature of S each pair contributes (position information)
    return np.where(info < 1e-3 * info.max(axis=1, keepdims=True), 0.0, w)


def predicted_xyz(y: np.ndarray, meta: ckpt.ModelMeta, margin: float = 0.1) -> np.ndarray:
    """(..., out_dim) network outputs -> (..., 3) world coordinates, map units.

    The cosine inverse searches the training coordinates' range widened by ``margin`` of its
    extent on each side (eq. 16's B for a per-scene model: the union over all mapping images),
    with the frequency weights measured at training time.
    """
    centre = np.asarray(meta.centre)
    if meta.encoding == "xyz":
        return np.asarray(y, np.float64) / meta.unit_scale + centre
    lo, hi = np.asarray(meta.search_lo) - centre, np.asarray(meta.search_hi) - centre
    pad = margin * (hi - lo)
    s = meta.unit_scale
    w = None if meta.frequency_weights is None else np.asarray(meta.frequency_weights)
    return decode_points(y, meta.freqs(), (lo - pad) * s, (hi + pad) * s, weights=w) / s + centre
