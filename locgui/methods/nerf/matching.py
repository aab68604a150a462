"""NeRFMatch-Mini: image features aligned to rendered NeRF features, dual-softmax matching.

The image side is a small trained head on frozen XFeat features (the paper uses the first
ConvFormer blocks); the 3D side is a small MLP on the rendered NeRF features (the paper feeds
NeRF features of the same width as the image features directly; ours differ in width, so a
learned projection aligns them). Matching is the paper's non-learned dual softmax over cosine
similarities with mutual-nearest extraction. Imports torch at module level.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from locgui.methods.nerf.backbone import CHANNELS, STRIDE

PE_FREQS = 6


def positional_encoding(xn: torch.Tensor, freqs: int = PE_FREQS) -> torch.Tensor:
    """NeRF's positional encoding of (N, 3) box coordinates in [-1, 1] -> (N, 3 + 6 freqs)."""
    scales = 2.0 ** torch.arange(freqs, device=xn.device, dtype=xn.dtype) * torch.pi
    angles = (xn[:, :, None] * scales).flatten(1)
    return torch.cat([xn, torch.sin(angles), torch.cos(angles)], dim=-1)


class MatchHead(nn.Module):
    """Trained heads that map image patches and NeRF points into one matching space.

    The 3D side sees the rendered NeRF features and the positional encoding of the rendered
    point (NeRFMatch's full model concatenates the same encoding before its cross attention;
    its ablation finds the encoded point alone a usable descriptor, the NeRF features better).

    Args:
        nerf_dim: width F of the rendered NeRF features.
        dim: matching feature width D.
    """

    def __init__(self, nerf_dim: int, dim: int) -> None:
        super().__init__()
        in_dim = nerf_dim + 3 + 6 * PE_FREQS
        self.image_head = nn.Sequential(
            nn.Conv2d(CHANNELS + 3, 128, 3, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(128, 128, 3, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(128, dim, 1),
        )
        self.point_head = nn.Sequential(
            nn.LayerNorm(in_dim),
            nn.Linear(in_dim, 128),
            nn.ReLU(inplace=True),
            nn.Linear(128, 128),
            nn.ReLU(inplace=True),
            nn.Linear(128, dim),
        )

    def image_features(self, backbone_feats: torch.Tensor, rgb: torch.Tensor) -> torch.Tensor:
        """Patch descriptors of images.

        Args:
            backbone_feats: (B, 64, h, w) frozen XFeat features.
            rgb: (B, 3, 8h, 8w) the images, float in [0, 1] (colour XFeat does not see).
        Returns:
            (B, D, h, w) L2-normalized descriptors, one per 8x8 patch.
        """
        colour = F.avg_pool2d(rgb, STRIDE) - 0.5
        x = self.image_head(torch.cat([backbone_feats, colour], dim=1))
        return F.normalize(x, dim=1)

    def point_features(self, nerf_feats: torch.Tensor, points_box: torch.Tensor) -> torch.Tensor:
        """Descriptors of rendered points.

        Args:
            nerf_feats: (N, F) rendered NeRF features.
            points_box: (N, 3) rendered points in the NeRF's box coordinates ([-1, 1]).
        Returns:
            (N, D) L2-normalized descriptors.
        """
        x = torch.cat([nerf_feats, positional_encoding(points_box.clamp(-1, 1))], dim=-1)
        return F.normalize(self.point_head(x), dim=-1)


def dual_softmax(desc_a: torch.Tensor, desc_b: torch.Tensor, temperature: float) -> torch.Tensor:
    """Matching probabilities S (M, N) = softmax_rows(C) * softmax_cols(C), C = cos / T.

    Args:
        desc_a: (M, D) L2-normalized image patch descriptors.
        desc_b: (N, D) L2-normalized point descriptors.
    """
    sim = desc_a @ desc_b.T / temperature
    return F.softmax(sim, dim=0) * F.softmax(sim, dim=1)


def mutual_matches(
    scores: torch.Tensor, threshold: float
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Mutual best entries of a score matrix above ``threshold``.

    Returns:
        (K,) row indices, (K,) column indices and (K,) their scores.
    """
    if scores.numel() == 0:
        empty = torch.zeros(0, dtype=torch.long, device=scores.device)
        return empty, empty, scores.new_zeros(0)
    best_col = scores.argmax(dim=1)
    best_row = scores.argmax(dim=0)
    rows = torch.arange(scores.shape[0], device=scores.device)
    mutual = best_row[best_col] == rows
    vals = scores[rows, best_col]
    keep = mutual & (vals > threshold)
    return rows[keep], best_col[keep], vals[keep]


def coarse_matching_loss(
    scores: torch.Tensor, rows: torch.Tensor, cols: torch.Tensor
) -> torch.Tensor:
    """NeRFMatch eq. 3: mean negative log dual-softmax probability at the ground truth."""
    return -torch.log(scores[rows, cols].clamp(min=1e-8)).mean()
