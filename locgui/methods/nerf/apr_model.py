"""The pose regression network (DFNet-style) and its training on cached backbone features.

Frozen XFeat features (1/8 resolution, 64-D) -> Conv-ReLU-Conv-BN-ReLU (DFNet's feature
module shape) -> 4x4 average pooling (keeps coarse layout, which carries the pose) -> MLP ->
camera centre (normalized by the map's centre and radius) and rotation (6-D representation,
Gram-Schmidt to a matrix). Imports torch at module level.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from locgui.methods.nerf.backbone import CHANNELS
from locgui.runtime.context import RunContext


def rotation_from_6d(x: torch.Tensor) -> torch.Tensor:
    """(B, 6) -> (B, 3, 3) rotation matrices whose first two columns follow x (Zhou et al.)."""
    a, b = x[:, :3], x[:, 3:]
    c1 = F.normalize(a, dim=-1)
    c2 = F.normalize(b - (c1 * b).sum(-1, keepdim=True) * c1, dim=-1)
    c3 = torch.cross(c1, c2, dim=-1)
    return torch.stack([c1, c2, c3], dim=-1)


class PoseRegressor(nn.Module):
    """Regresses the camera centre and the cam_from_world rotation.

    Args:
        hidden: width of the MLP.
    """

    def __init__(self, hidden: int) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(CHANNELS, 128, 3, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(128, 128, 3, padding=1, stride=2),
            nn.BatchNorm2d(128),
            nn.ReLU(inplace=True),
        )
        self.mlp = nn.Sequential(
            nn.Linear(128 * 16, hidden),
            nn.ReLU(inplace=True),
            nn.Dropout(0.1),
            nn.Linear(hidden, 9),
        )

    def forward(self, feats: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, 64, h, w) backbone features -> (B, 3) normalized centre, (B, 3, 3) rotation."""
        x = F.adaptive_avg_pool2d(self.features(feats), 4).flatten(1)
        out = self.mlp(x)
        return out[:, :3], rotation_from_6d(out[:, 3:])


def pose_loss(
    centre: torch.Tensor,
    rot: torch.Tensor,
    gt_centre: torch.Tensor,
    gt_rot: torch.Tensor,
    rotation_weight: float,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """L1 on the normalized centre + weighted geodesic angle (radians) of the rotation.

    Returns:
        loss, mean centre error (normalized units), mean rotation error (radians).
    """
    t_err = (centre - gt_centre).abs().sum(-1)
    cos = ((rot * gt_rot).sum(dim=(-1, -2)) - 1) / 2
    angle = torch.acos(cos.clamp(-1 + 1e-6, 1 - 1e-6))
    return t_err.mean() + rotation_weight * angle.mean(), t_err.mean(), angle.mean()


def fit_regressor(
    model: PoseRegressor,
    feats: torch.Tensor,
    centres: torch.Tensor,
    rotations: torch.Tensor,
    epochs: int,
    lr: float,
    batch: int,
    rotation_weight: float,
    ctx: RunContext,
    seed: int = 0,
) -> dict[str, float]:
    """Train on cached features.

    Args:
        feats: (N, 64, h, w) backbone features of the training images (and synthetic views).
        centres: (N, 3) normalized camera centres.
        rotations: (N, 3, 3) cam_from_world rotations.
    Returns:
        Final mean training errors: centre (normalized units) and rotation (degrees).
    """
    gen = torch.Generator(device="cpu").manual_seed(seed)
    opt = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=1e-5)
    steps_per_epoch = max(1, int(np.ceil(len(feats) / batch)))
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs * steps_per_epoch)
    model.train()
    t_hist: list[float] = []
    r_hist: list[float] = []
    for epoch in range(epochs):
        order = torch.randperm(len(feats), generator=gen).to(feats.device)
        for s in range(steps_per_epoch):
            ctx.check_cancelled()
            idx = order[s * batch : (s + 1) * batch]
            if len(idx) < 2:  # batch norm needs two samples
                continue
            c, r = model(feats[idx])
            loss, t_err, r_err = pose_loss(c, r, centres[idx], rotations[idx], rotation_weight)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            t_hist.append(float(t_err.detach()))
            r_hist.append(float(r_err.detach()))
        ctx.progress(
            "train apr",
            (epoch + 1) / epochs,
            f"epoch {epoch + 1}/{epochs} centre error {np.mean(t_hist[-steps_per_epoch:]):.3f} "
            f"(x radius) rotation {np.degrees(np.mean(r_hist[-steps_per_epoch:])):.2f} deg",
        )
    model.eval()
    n = steps_per_epoch
    return {
        "train_centre_error": float(np.mean(t_hist[-n:])) if t_hist else float("nan"),
        "train_rotation_error_deg": float(np.degrees(np.mean(r_hist[-n:])))
        if r_hist
        else float("nan"),
    }
