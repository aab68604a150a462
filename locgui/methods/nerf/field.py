"""The radiance field: multi-scale factorized tri-planes (K-Planes style) and two small MLPs.

Plain torch, no compiled extensions: the tri-planes are sampled with ``F.grid_sample``,
which is fast on CPU and CUDA alike. Per level, the features of the three axis-aligned planes
(xy, xz, yz) are multiplied (K-Planes' Hadamard product); the levels are concatenated.

The density MLP's hidden layer is the "intermediate-layer feature" that NeRFMatch matches
against (the paper's f^j); ``FieldOutput.features`` returns it with the grid encoding.

Import this module only where torch is needed (it imports torch at module level).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from locgui.methods.nerf.config import NerfConfig

SH_DIM = 9


class _TruncExp(torch.autograd.Function):
    """exp with a gradient clamped for large inputs (instant-ngp's density activation)."""

    @staticmethod
    def forward(ctx, x):  # type: ignore[override]
        ctx.save_for_backward(x)
        return torch.exp(x)

    @staticmethod
    def backward(ctx, g):  # type: ignore[override]
        (x,) = ctx.saved_tensors
        return g * torch.exp(x.clamp(max=15.0))


def trunc_exp(x: torch.Tensor) -> torch.Tensor:
    return _TruncExp.apply(x.clamp(max=30.0))  # type: ignore[no-any-return]


def sh_encoding(dirs: torch.Tensor) -> torch.Tensor:
    """(N, 3) unit directions -> (N, 9) real spherical harmonics up to degree 2."""
    x, y, z = dirs.unbind(-1)
    return torch.stack(
        [
            torch.full_like(x, 0.28209479),
            -0.48860251 * y,
            0.48860251 * z,
            -0.48860251 * x,
            1.09254843 * x * y,
            -1.09254843 * y * z,
            0.31539157 * (3 * z * z - 1),
            -1.09254843 * x * z,
            0.54627421 * (x * x - y * y),
        ],
        dim=-1,
    )


@dataclass
class FieldOutput:
    """Field values at N sample points.

    Attributes:
        sigma: (N,) volume density, 1 / map units.
        rgb: (N, 3) colour in [0, 1], or None when only density was asked for.
        features: (N, F) intermediate features (density-MLP hidden layer), or None.
    """

    sigma: torch.Tensor
    rgb: torch.Tensor | None = None
    features: torch.Tensor | None = None


class TriPlaneField(nn.Module):
    """Density and colour at world points inside an axis-aligned box.

    Args:
        config: sizes of the grid and MLPs, appearance mode.
        box_min, box_max: (3,) world-frame corners of the scene box, map units.
        num_images: training images (for the per-image appearance embedding).
    """

    box_min: torch.Tensor
    box_max: torch.Tensor

    def __init__(
        self, config: NerfConfig, box_min: torch.Tensor, box_max: torch.Tensor, num_images: int
    ) -> None:
        super().__init__()
        self.config = config
        self.register_buffer("box_min", box_min.float().clone())
        self.register_buffer("box_max", box_max.float().clone())
        c = config.grid_channels
        self.planes = nn.ParameterList()
        for level in range(config.grid_levels):
            res = config.grid_base_res * 2**level
            self.planes.append(nn.Parameter(torch.empty(3, c, res, res).uniform_(0.1, 0.5)))
        self.encoding_dim = c * config.grid_levels
        h, g = config.hidden, config.geo_features
        self.density_in = nn.Linear(self.encoding_dim, h)
        self.density_out = nn.Linear(h, 1 + g)
        self.appearance_dim = {"none": 0, "histogram": config.hist_bins}.get(
            config.appearance, config.embedding_dim
        )
        self.embedding = (
            nn.Embedding(max(num_images, 1), config.embedding_dim)
            if config.appearance == "embedding"
            else None
        )
        if self.embedding is not None:
            nn.init.zeros_(self.embedding.weight)
        # The colour MLP's first layer is split so the per-ray appearance term is computed
        # once per ray instead of once per sample.
        self.color_in = nn.Linear(g + SH_DIM, h)
        self.color_app = (
            nn.Linear(self.appearance_dim, h, bias=False) if self.appearance_dim else None
        )
        self.color_mlp = nn.Sequential(
            nn.ReLU(inplace=True),
            nn.Linear(h, h),
            nn.ReLU(inplace=True),
            nn.Linear(h, 3),
        )

    @property
    def feature_dim(self) -> int:
        """Size F of ``FieldOutput.features``: grid encoding + density hidden layer."""
        return self.encoding_dim + self.config.hidden

    def normalize(self, x: torch.Tensor) -> torch.Tensor:
        """(N, 3) world points -> (N, 3) box coordinates in [-1, 1]."""
        return (x - self.box_min) / (self.box_max - self.box_min) * 2 - 1

    def encode(self, xn: torch.Tensor) -> torch.Tensor:
        """(N, 3) box coordinates -> (N, encoding_dim) tri-plane features."""
        coords = torch.stack([xn[:, [0, 1]], xn[:, [0, 2]], xn[:, [1, 2]]])  # (3, N, 2)
        coords = coords[:, :, None, :]  # (3, N, 1, 2)
        feats = []
        for plane in self.planes:
            sampled = F.grid_sample(plane, coords, mode="bilinear", align_corners=True)
            feats.append(sampled[..., 0].prod(dim=0).T)  # (N, C)
        return torch.cat(feats, dim=-1)

    def appearance_term(self, appearance: torch.Tensor | None, n: int) -> torch.Tensor | None:
        """Per-ray contribution of the appearance input to the colour MLP's first layer.

        Args:
            appearance: (n, B) histograms, or (n,) int64 training-image indices for the
                embedding (-1: the mean code, for views not in the training set).
            n: number of rays.
        Returns:
            (n, hidden) or None when the field has no appearance conditioning.
        """
        if self.color_app is None:
            return None
        if self.embedding is None:
            if appearance is None:
                raise ValueError("histogram appearance needs a histogram per ray")
            return self.color_app(appearance.float())
        mean = self.embedding.weight.mean(0, keepdim=True).expand(n, -1)
        if appearance is None:
            return self.color_app(mean)
        idx = appearance.long()
        codes = self.embedding(idx.clamp(min=0))
        return self.color_app(torch.where((idx >= 0)[:, None], codes, mean))

    def density(
        self, x: torch.Tensor, want_features: bool = False
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        """Density at world points.

        Args:
            x: (N, 3) world points, map units.
            want_features: also return the intermediate features.
        Returns:
            sigma (N,) in 1 / map units (zero outside the box), geometry features (N, G) for
            the colour MLP, and (N, F) intermediate features or None.
        """
        xn = self.normalize(x)
        inside = (xn.abs() <= 1).all(dim=-1)
        enc = self.encode(xn.clamp(-1, 1))
        hidden = F.relu(self.density_in(enc))
        out = self.density_out(hidden)
        sigma = trunc_exp(out[:, 0] - 1.0) * inside
        features = torch.cat([enc, hidden], dim=-1) if want_features else None
        return sigma, out[:, 1:], features

    def color(
        self, geo: torch.Tensor, dirs: torch.Tensor, app_term: torch.Tensor | None
    ) -> torch.Tensor:
        """(M, 3) colour in [0, 1] from geometry features (M, G), unit directions (M, 3) and
        the appearance term gathered per sample (M, hidden) or None."""
        h = self.color_in(torch.cat([geo, sh_encoding(dirs)], dim=-1))
        if app_term is not None:
            h = h + app_term
        return torch.sigmoid(self.color_mlp(h))

    def forward(
        self,
        x: torch.Tensor,
        dirs: torch.Tensor | None = None,
        appearance: torch.Tensor | None = None,
        want_features: bool = False,
    ) -> FieldOutput:
        """Evaluate the field at N points (each point its own ray for the appearance input).

        Args:
            x: (N, 3) world points, map units.
            dirs: (N, 3) unit viewing directions; None returns density only.
            appearance: see ``appearance_term``.
            want_features: also return the intermediate features.
        """
        sigma, geo, features = self.density(x, want_features)
        if dirs is None:
            return FieldOutput(sigma, None, features)
        rgb = self.color(geo, dirs, self.appearance_term(appearance, len(x)))
        return FieldOutput(sigma, rgb, features)

    def tv_loss(self) -> torch.Tensor:
        """Total variation of the tri-planes (mean squared neighbour differences)."""
        total = torch.zeros((), device=self.box_min.device)
        for plane in self.planes:
            total = total + (plane[..., 1:, :] - plane[..., :-1, :]).pow(2).mean()
            total = total + (plane[..., :, 1:] - plane[..., :, :-1]).pow(2).mean()
        return total
