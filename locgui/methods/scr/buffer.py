"""The training buffer: frozen head inputs and target coordinates of random cells.

As in ACE, the backbone is frozen, so its features are computed once per (augmented) image and
the head is trained on random cells drawn from all images at once, which decorrelates the
steps. Each mapping image contributes its original version and ``augmentations`` copies with
photometric jitter and a different scale (the backbone then sees structures at other sizes).

Import this module only where torch is needed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from locgui.core.errors import MethodError
from locgui.core.scene import SceneMap
from locgui.methods.scr.config import ScrTrainConfig
from locgui.methods.scr.data import (
    CellGrid,
    depth_targets,
    make_grid,
    photometric_jitter,
    resize_for,
    sfm_targets,
)
from locgui.methods.scr.network import XFeatBackbone, head_inputs
from locgui.runtime.context import RunContext

log = logging.getLogger(__name__)


@dataclass
class PixelBuffer:
    """Training cells.

    Attributes:
        inputs: (N, C) float16 head inputs, on the training device.
        targets: (N, 3) float64 world coordinates, map units, NaN where the cell has no depth
            or SfM label (the reprojection loss still trains it), on the training device.
        rays: (N, 2) float32 normalized image coordinates (x/z, y/z) of the cell centre in its
            camera (distortion removed).
        focal: (N,) float32 mean focal length of the cell's camera, pixels.
        image: (N,) int64 row of the cell's image in ``poses``.
        poses: (I, 3, 4) float32 ``cam_from_world`` of the buffer's images.
        original: (N,) bool, the cell comes from an un-augmented image (for evaluation).
        holdout: (N,) bool, the cell comes from a validation image (never trained on).
        supervision: "depth" or "sfm".
        images: mapping images trained on.
        validation_images: mapping images held out for validation.
    """

    inputs: torch.Tensor
    targets: torch.Tensor
    rays: torch.Tensor
    focal: torch.Tensor
    image: torch.Tensor
    poses: torch.Tensor
    original: torch.Tensor
    holdout: torch.Tensor
    supervision: str
    images: int
    validation_images: int = 0

    def __len__(self) -> int:
        return int(self.inputs.shape[0])

    def training_rows(self) -> torch.Tensor:
        """(M,) int64 rows the head is trained on (all but the validation images)."""
        return torch.nonzero(~self.holdout).flatten()

    def labelled(self) -> torch.Tensor:
        """(N,) bool: the cell has a depth or SfM coordinate."""
        return torch.isfinite(self.targets).all(dim=1)


def image_tensor(rgb: np.ndarray, device: str | torch.device) -> torch.Tensor:
    """(H, W, 3) uint8 -> (1, 3, H, W) float32 in [0, 1]."""
    t = torch.from_numpy(np.ascontiguousarray(rgb)).to(device)
    return t.permute(2, 0, 1)[None].float().div_(255.0)


def encode_image(
    backbone: XFeatBackbone, rgb: np.ndarray, grid: CellGrid, colour: bool, device: str
) -> torch.Tensor:
    """Head inputs of an image on ``grid``: (h, w, C) float32 on ``device``."""
    x = image_tensor(resize_for(rgb, grid), device)
    with torch.no_grad():
        inputs = head_inputs(backbone(x), x if colour else None)
    return inputs[0].permute(1, 2, 0)


def read_view(
    scene: SceneMap, image_id: int, with_depth: bool
) -> tuple[np.ndarray, np.ndarray | None]:
    """The image's pixels and (when asked and present) depth, checked against its camera."""
    from locgui.io.images import read_depth, read_image

    im = scene.images[image_id]
    cam = scene.camera_of(image_id)
    rgb = read_image(scene.image_path(image_id))
    if rgb.shape[:2] != (cam.height, cam.width):
        raise MethodError(
            f"{scene.image_path(image_id)}: image is {rgb.shape[1]}x{rgb.shape[0]} but its "
            f"camera is {cam.width}x{cam.height}"
        )
    if im.depth is None or not with_depth:
        return rgb, None
    depth = read_depth(im.depth)
    if depth.shape != rgb.shape[:2]:
        import cv2

        log.warning("%s: depth %s resized to the image size", im.depth.path, depth.shape)
        depth = cv2.resize(depth, (cam.width, cam.height), interpolation=cv2.INTER_NEAREST)
    return rgb, depth


def _targets(
    scene: SceneMap, image_id: int, depth: np.ndarray | None, grid: CellGrid
) -> np.ndarray:
    im = scene.images[image_id]
    cam = scene.camera_of(image_id)
    assert im.cam_from_world is not None
    if depth is not None:
        return depth_targets(depth, cam, im.cam_from_world, grid)
    return sfm_targets(im, cam, scene.points, grid)


def supervision_kind(scene: SceneMap, image_ids: list[int]) -> str:
    """ "depth" when every image has depth, "sfm" when the map has points, else MethodError."""
    if all(scene.images[i].depth is not None for i in image_ids):
        return "depth"
    if len(scene.points) and any(scene.images[i].point3D_ids is not None for i in image_ids):
        return "sfm"
    raise MethodError(
        "SCR training needs depth maps or triangulated SfM points for the mapping images; "
        "this map has neither"
    )


def validation_split(image_ids: list[int], fraction: float) -> list[int]:
    """Evenly spaced mapping images held out for validation (none for fewer than 8 images)."""
    n = int(round(fraction * len(image_ids))) if len(image_ids) >= 8 else 0
    if n == 0:
        return []
    picks = np.linspace(0, len(image_ids) - 1, n + 2)[1:-1].round().astype(int)
    return [image_ids[i] for i in sorted(set(picks.tolist()))]


@dataclass
class _Part:
    """The cells one (augmented) image contributes."""

    inputs: torch.Tensor
    targets: np.ndarray
    rays: np.ndarray
    focal: float
    image: int
    original: bool
    holdout: bool


def _per_cell(
    parts: list[_Part], value: Callable[[_Part], Any], dtype: torch.dtype, device: str
) -> torch.Tensor:
    return torch.cat([torch.full((len(p.inputs),), value(p), dtype=dtype) for p in parts]).to(
        device
    )


def _pick_cells(
    targets: np.ndarray, grid: CellGrid, limit: int, rng: np.random.Generator
) -> np.ndarray:
    """Flat cell indices to keep: labelled cells first, then unlabelled cells inside the
    image (the reprojection loss trains those), ``limit`` at most, sorted."""
    _, _, inside = grid.pixel_index()
    inside = inside.reshape(-1)
    known = np.isfinite(targets).all(axis=1) & inside
    labelled, rest = np.flatnonzero(known), np.flatnonzero(inside & ~known)
    if len(labelled) >= limit:
        return np.sort(rng.choice(labelled, limit, replace=False))
    extra = min(limit - len(labelled), len(rest))
    return np.sort(np.concatenate([labelled, rng.choice(rest, extra, replace=False)]))


def build_buffer(
    scene: SceneMap,
    image_ids: list[int],
    cfg: ScrTrainConfig,
    backbone: XFeatBackbone,
    device: str,
    ctx: RunContext,
) -> PixelBuffer:
    """Encode every mapping image (and its augmented copies) and keep random valid cells.

    Validation images contribute their original version only, flagged ``holdout``.
    """
    kind = supervision_kind(scene, image_ids)
    rng = np.random.default_rng(cfg.seed)
    held = set(validation_split(image_ids, cfg.validation_fraction))
    copies = 1 + cfg.augmentations
    per_copy = max(1, cfg.max_pixels // (len(image_ids) * copies))
    parts: list[_Part] = []
    poses = []
    for n, image_id in enumerate(image_ids):
        ctx.progress("scr buffer", n / len(image_ids), f"encoding image {n + 1}/{len(image_ids)}")
        rgb, depth = read_view(scene, image_id, with_depth=kind == "depth")
        cam = scene.camera_of(image_id)
        pose = scene.images[image_id].cam_from_world
        assert pose is not None
        poses.append(pose.matrix()[:3])
        for k in range(1 if image_id in held else copies):
            scale = 1.0 if k == 0 else float(np.exp(rng.uniform(-1, 1) * cfg.scale_jitter))
            angle = 0.0 if k == 0 else float(rng.uniform(-1, 1) * cfg.rotation)
            grid = make_grid(rgb.shape[1], rgb.shape[0], cfg.max_side, scale, angle)
            pixels = rgb if k == 0 else photometric_jitter(rgb, cfg.photometric, rng)
            tgt = _targets(scene, image_id, depth, grid).reshape(-1, 3)
            rows = _pick_cells(tgt, grid, per_copy, rng)
            if len(rows) == 0:
                continue
            feats = encode_image(backbone, pixels, grid, cfg.colour, device)
            sel = torch.from_numpy(rows).to(device)
            xy = grid.xy().reshape(-1, 2)[rows]
            part = _Part(
                inputs=feats.reshape(-1, feats.shape[-1])[sel].half(),
                targets=tgt[rows],
                rays=cam.unproject(xy)[:, :2],
                focal=float(np.mean(cam.focal)),
                image=n,
                original=k == 0,
                holdout=image_id in held,
            )
            parts.append(part)
    if not any(p.targets.size and not p.holdout for p in parts):
        raise MethodError("SCR training found no cell with a ground-truth coordinate")
    buf = PixelBuffer(
        inputs=torch.cat([p.inputs for p in parts]),
        targets=torch.from_numpy(np.concatenate([p.targets for p in parts])).to(device),
        rays=torch.from_numpy(np.concatenate([p.rays for p in parts])).float().to(device),
        focal=_per_cell(parts, lambda p: p.focal, torch.float32, device),
        image=_per_cell(parts, lambda p: p.image, torch.int64, device),
        poses=torch.from_numpy(np.stack(poses)).float().to(device),
        original=_per_cell(parts, lambda p: p.original, torch.bool, device),
        holdout=_per_cell(parts, lambda p: p.holdout, torch.bool, device),
        supervision=kind,
        images=len(image_ids) - len(held),
        validation_images=len(held),
    )
    log.info(
        "scr buffer: %d cells from %d images + %d validation images (%s supervision)",
        len(buf), buf.images, buf.validation_images, kind,
    )  # fmt: skip
    return buf
