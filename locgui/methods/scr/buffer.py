"""The training buffer: frozen head inputs and target coordinates of random cells.

As in ACE, the backbone is frozen, so its features are computed once per (augmented) image and
the head is trained on random cells drawn from all images at once, which decorrelates the
steps. Each mapping image contributes its original version and ``augmentations`` copies with
photometric jitter and a different scale (the backbone then sees structures at other sizes).

Import this module only where torch is needed.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

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
        targets: (N, 3) float64 world coordinates, map units, on the training device.
        original: (N,) bool, the cell comes from an un-augmented image (for evaluation).
        holdout: (N,) bool, the cell comes from a validation image (never trained on).
        supervision: "depth" or "sfm".
        images: mapping images trained on.
        validation_images: mapping images held out for validation.
    """

    inputs: torch.Tensor
    targets: torch.Tensor
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
    parts: list[tuple[torch.Tensor, torch.Tensor, bool, bool]] = []
    for n, image_id in enumerate(image_ids):
        ctx.progress("scr buffer", n / len(image_ids), f"encoding image {n + 1}/{len(image_ids)}")
        rgb, depth = read_view(scene, image_id, with_depth=kind == "depth")
        for k in range(1 if image_id in held else copies):
            scale = 1.0 if k == 0 else float(np.exp(rng.uniform(-1, 1) * cfg.scale_jitter))
            angle = 0.0 if k == 0 else float(rng.uniform(-1, 1) * cfg.rotation)
            grid = make_grid(rgb.shape[1], rgb.shape[0], cfg.max_side, scale, angle)
            pixels = rgb if k == 0 else photometric_jitter(rgb, cfg.photometric, rng)
            tgt = _targets(scene, image_id, depth, grid).reshape(-1, 3)
            valid = np.flatnonzero(np.isfinite(tgt).all(axis=1))
            if len(valid) == 0:
                continue
            if len(valid) > per_copy:
                valid = np.sort(rng.choice(valid, per_copy, replace=False))
            feats = encode_image(backbone, pixels, grid, cfg.colour, device)
            sel = torch.from_numpy(valid).to(device)
            cells = feats.reshape(-1, feats.shape[-1])[sel].half()
            parts.append((cells, torch.from_numpy(tgt[valid]).to(device), k == 0, image_id in held))
    if not any(not p[3] for p in parts):
        raise MethodError("SCR training found no cell with a ground-truth coordinate")
    buf = PixelBuffer(
        inputs=torch.cat([p[0] for p in parts]),
        targets=torch.cat([p[1] for p in parts]),
        original=torch.cat([torch.full((len(p[0]),), p[2], device=device) for p in parts]),
        holdout=torch.cat([torch.full((len(p[0]),), p[3], device=device) for p in parts]),
        supervision=kind,
        images=len(image_ids) - len(held),
        validation_images=len(held),
    )
    log.info(
        "scr buffer: %d cells from %d images + %d validation images (%s supervision)",
        len(buf), buf.images, buf.validation_images, kind,
    )  # fmt: skip
    return buf
