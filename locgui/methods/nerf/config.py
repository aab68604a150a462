"""Training configurations of the NeRF, the NeRFMatch encoder and the pose regressor.

Dataclasses only (no torch): the CLI and the UI build parameter panels from the field
metadata (``help``, ``min``, ``max``, ``choices``).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any


def param(default: Any, help: str, **meta: Any) -> Any:
    return field(default=default, metadata={"help": help, **meta})


@dataclass(frozen=True)
class NerfConfig:
    """How the NeRF is built and trained. Units: map units unless noted."""

    steps: int = param(3000, "optimization steps", min=1, max=1_000_000)
    batch_rays: int = param(1024, "rays per step", min=16, max=65536)
    lr: float = param(0.03, "Adam learning rate (decays exponentially to lr/10)", min=1e-5, max=1.0)
    max_side: int = param(160, "longer side of the training images in pixels", min=16, max=4096)
    grid_base_res: int = param(32, "tri-plane resolution of the coarsest level", min=4, max=1024)
    grid_levels: int = param(4, "tri-plane levels, each doubling the resolution", min=1, max=6)
    grid_channels: int = param(16, "feature channels per tri-plane level", min=2, max=64)
    hidden: int = param(64, "width of the density and colour MLPs", min=8, max=512)
    geo_features: int = param(15, "features passed from the density to the colour MLP", min=1)
    coarse_samples: int = param(48, "stratified samples per ray (density only)", min=4, max=512)
    fine_samples: int = param(48, "importance samples per ray", min=0, max=512)
    appearance: str = param(
        "histogram",
        "appearance conditioning: none, histogram (DFNet: luminance histogram of the image), "
        "embedding (NeRF-W: one learned code per training image)",
        choices=("none", "histogram", "embedding"),
    )
    hist_bins: int = param(8, "luminance histogram bins for appearance conditioning", min=2)
    embedding_dim: int = param(8, "size of the per-image appearance code", min=1)
    use_depth: bool = param(
        True, "supervise rendered depth with the depth maps, else with the SfM points' depths"
    )
    depth_weight: float = param(0.5, "weight of the depth L1 loss (in box diagonals)", min=0.0)
    tv_weight: float = param(1e-4, "total-variation weight on the tri-planes", min=0.0)
    box_margin: float = param(0.05, "scene box margin as a fraction of its size", min=0.0, max=2.0)
    near: float = param(0.02, "nearest sample distance as a fraction of the box diagonal", min=0.0)
    eval_every: int = param(1000, "steps between held-out PSNR evaluations (0: only at the end)")
    eval_views: int = param(4, "held-out views rendered for PSNR", min=1)
    holdout_every: int = param(8, "hold out every n-th image when the scene has no test split")
    checkpoint_every: int = param(500, "steps between resumable training states", min=1)
    seed: int = param(0, "random seed")
    chunk: int = param(4096, "rays per rendering chunk", min=64)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> NerfConfig:
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names})


TINY_NERF = {"steps": 300, "batch_rays": 512, "max_side": 48, "grid_levels": 3, "eval_every": 0}


@dataclass(frozen=True)
class NerfMatchTrainConfig:
    """How the NeRFMatch-Mini image encoder is trained on the map images."""

    epochs: int = param(40, "passes over the training pairs", min=1)
    lr: float = param(1e-3, "Adam learning rate (cosine annealed)", min=1e-6, max=1.0)
    image_side: int = param(320, "longer side of the encoder input in pixels (multiple of 32)")
    dim: int = param(128, "matching feature dimension", min=8, max=1024)
    temperature: float = param(0.1, "dual-softmax temperature", min=1e-3, max=10.0)
    refs_per_image: int = param(3, "reference poses per training image (neighbours, jitter)")
    jitter_deg: float = param(5.0, "rotation jitter of synthetic reference poses (degrees)")
    jitter_frac: float = param(0.05, "translation jitter as a fraction of the scene radius")
    min_opacity: float = param(0.5, "ignore rendered rays with less accumulated opacity")
    occlusion_tol: float = param(0.05, "depth agreement (relative) for a ground-truth match")
    seed: int = param(0, "random seed")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


TINY_NERFMATCH = {"epochs": 10, "lr": 5e-4, "image_side": 128, "refs_per_image": 2, "dim": 64}


@dataclass(frozen=True)
class AprTrainConfig:
    """How the absolute pose regressor is trained (DFNet, without its NeRF feature loss)."""

    epochs: int = param(60, "passes over the training set", min=1)
    lr: float = param(1e-3, "Adam learning rate (cosine annealed)", min=1e-6, max=1.0)
    image_side: int = param(256, "longer side of the regressor input (multiple of 32)")
    hidden: int = param(256, "width of the regression MLP", min=16)
    rotation_weight: float = param(1.0, "weight of the rotation loss (radians) vs position")
    synthetic_views: int = param(
        2, "NeRF-rendered random views per training image (DFNet's RVS; 0 disables)", min=0
    )
    jitter_deg: float = param(10.0, "rotation jitter of the synthetic views (degrees)")
    jitter_frac: float = param(0.1, "translation jitter as a fraction of the scene radius")
    batch: int = param(16, "images per batch", min=1)
    seed: int = param(0, "random seed")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


TINY_APR = {"epochs": 30, "image_side": 128, "synthetic_views": 1, "batch": 8}
