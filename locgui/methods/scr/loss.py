"""ACE's reprojection loss from posed images, with SACReg's confidence.

A cell's prediction ``x`` (world, map units) is moved into its camera, ``p = R x + t``, and
compared with the cell's ray ``r`` (normalized image coordinates, distortion removed):
``e = f * |p_xy / p_z - r|`` pixels. Valid predictions (in front of the camera, nearer than
``MAX_DEPTH`` scene depths, ``e < MAX_ERROR``) get the robust ``thr * tanh(e / thr)`` (ACE
eq. 5) with a threshold that shrinks over training (the curriculum, ACE eq. 6); invalid ones an
L1 towards the point at the scene's typical depth on the ray, which pulls them in front of the
camera. Cells with a depth or SfM coordinate also get that coordinate's error in the same
pixel units (``f * |x - x*| / z*``) under a log, so depth speeds up what the reprojection
alone would find.

Import this module only where torch is needed.
"""

from __future__ import annotations

import math

import torch

MIN_DEPTH = 0.1  # of the typical depth: nearer predictions are invalid
MAX_DEPTH = 20.0  # of the typical depth
MAX_ERROR = 1000.0  # pixels


def threshold(progress: float, start: float, end: float) -> float:
    """The robust threshold (pixels) at ``progress`` in [0, 1]: ``end + (start - end) w``
    with ``w = sqrt(1 - progress^2)`` (ACE's curriculum: wide early, tight late)."""
    p = min(max(progress, 0.0), 1.0)
    return end + (start - end) * math.sqrt(1.0 - p * p)


def reprojection_residual(
    xyz: torch.Tensor,
    rays: torch.Tensor,
    focal: torch.Tensor,
    cam_from_world: torch.Tensor,
    targets: torch.Tensor,
    thr: float,
    typical_depth: float,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-cell residuals in [0, 1) units of the threshold, and pixel errors.

    Args:
        xyz: (N, 3) predicted world coordinates, map units.
        rays: (N, 2) the cells' normalized image coordinates (x/z, y/z) in their camera.
        focal: (N,) focal length of the cell's camera, pixels.
        cam_from_world: (N, 3, 4) the cell's camera pose.
        targets: (N, 3) world coordinate of the cell from depth or SfM, NaN where unknown.
        thr: robust threshold, pixels.
        typical_depth: scene depth of the invalid predictions' target, map units.
    Returns:
        residual (N,): ``tanh(e / thr)`` for valid predictions, the L1 to the ray's point at
        ``typical_depth`` over that depth (unbounded) for invalid ones; plus, where a target
        exists, ``log(1 + e3 / thr)`` of its pixel-unit coordinate error ``e3`` (not bounded:
        a far prediction keeps a gradient towards its target).
        error (N,): reprojection error, pixels (``MAX_ERROR`` where invalid).
    """
    R, t = cam_from_world[:, :, :3], cam_from_world[:, :, 3]
    p = torch.einsum("nij,nj->ni", R, xyz) + t
    z = p[:, 2]
    uv = p[:, :2] / z.clamp(min=1e-6)[:, None]
    err = focal * (uv - rays).norm(dim=1)
    valid = (z > MIN_DEPTH * typical_depth) & (z < MAX_DEPTH * typical_depth) & (err < MAX_ERROR)
    robust = torch.tanh(err / thr)
    ray3 = torch.cat([rays, torch.ones_like(rays[:, :1])], dim=1)
    pull = (p - ray3 * typical_depth).abs().sum(dim=1) / typical_depth
    residual = torch.where(valid, robust, pull)
    known = torch.isfinite(targets).all(dim=1)
    if bool(known.any()):
        tgt = torch.where(known[:, None], targets, xyz.detach())
        z_t = (torch.einsum("nij,nj->ni", R, tgt) + t)[:, 2].clamp(min=MIN_DEPTH * typical_depth)
        e3 = focal * (xyz - tgt).norm(dim=1) / z_t
        residual = residual + torch.where(known, torch.log1p(e3 / thr), torch.zeros_like(e3))
    return residual, torch.where(valid, err, torch.full_like(err, MAX_ERROR))
