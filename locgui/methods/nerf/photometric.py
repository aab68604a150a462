"""iNeRF-style photometric pose refinement: gradient descent on the pose through the frozen
NeRF, minimizing the colour difference to the query at randomly sampled pixels.

The pose update is a rotation vector (radians, about the camera centre, in the camera frame)
and a centre offset in units of the scene radius, optimized by Adam with cosine annealing
(NeRFMatch uses 1e-3 with cosine annealing). The query's luminance histogram conditions the
NeRF's appearance (DFNet), so exposure differences do not pull the pose.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import torch

from locgui.core.camera import Camera
from locgui.core.pose import Rigid3, project_to_rotation
from locgui.methods.nerf.rays import camera_directions
from locgui.methods.nerf.render import RayBatch
from locgui.runtime.context import RunContext


def rodrigues(rotvec: torch.Tensor) -> torch.Tensor:
    """(3,) rotation vector -> (3, 3) rotation matrix, differentiable (also at zero)."""
    theta2 = (rotvec * rotvec).sum()
    theta = torch.sqrt(theta2 + 1e-12)
    k = rotvec / theta
    K = torch.zeros(3, 3, dtype=rotvec.dtype, device=rotvec.device)
    K[0, 1], K[0, 2], K[1, 0] = -k[2], k[1], k[2]
    K[1, 2], K[2, 0], K[2, 1] = -k[0], -k[1], k[0]
    eye = torch.eye(3, dtype=rotvec.dtype, device=rotvec.device)
    return eye + torch.sin(theta) * K + (1 - torch.cos(theta)) * (K @ K)


@contextmanager
def frozen(module: torch.nn.Module) -> Iterator[None]:
    """Temporarily stop gradients to a module's parameters."""
    flags = [p.requires_grad for p in module.parameters()]
    for p in module.parameters():
        p.requires_grad_(False)
    try:
        yield
    finally:
        for p, f in zip(module.parameters(), flags, strict=True):
            p.requires_grad_(f)


def photometric_refine(
    nerf: Any,
    camera: Camera,
    pose: Rigid3,
    rgb: np.ndarray,
    steps: int,
    lr: float,
    rays_per_step: int,
    ctx: RunContext,
    seed: int = 0,
) -> Rigid3:
    """Refine ``pose`` so the NeRF rendering matches ``rgb``.

    Args:
        nerf: a NerfModel.
        camera: intrinsics of ``rgb`` (use a small image: the loss needs few pixels).
        pose: initial cam_from_world.
        rgb: (H, W, 3) uint8 query at ``camera``'s size.
        steps: Adam iterations.
        lr: initial learning rate (cosine annealed to zero).
        rays_per_step: random pixels per iteration.
    Returns:
        The refined cam_from_world.
    """
    dev = nerf.device
    dirs_cam = torch.from_numpy(camera_directions(camera).astype(np.float32)).to(dev)
    target = torch.from_numpy(rgb.reshape(-1, 3).astype(np.float32) / 255.0).to(dev)
    world_from_cam = pose.inverse()
    R0 = torch.from_numpy(world_from_cam.rotation.astype(np.float32)).to(dev)
    c0 = torch.from_numpy(world_from_cam.translation.astype(np.float32)).to(dev)
    radius = float(np.linalg.norm(np.subtract(nerf.meta.box_max, nerf.meta.box_min))) / 4
    rot = torch.zeros(3, device=dev, requires_grad=True)
    shift = torch.zeros(3, device=dev, requires_grad=True)
    opt = torch.optim.Adam([rot, shift], lr=lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max(steps, 1))
    gen = torch.Generator(device="cpu").manual_seed(seed)
    appearance = nerf.appearance_for(rgb, rays_per_step)
    with frozen(nerf.field), torch.enable_grad():
        for _ in range(steps):
            ctx.check_cancelled()
            idx = torch.randint(len(target), (rays_per_step,), generator=gen).to(dev)
            R = R0 @ rodrigues(rot)
            centre = c0 + shift * radius
            dirs = dirs_cam[idx] @ R.T
            batch = RayBatch(centre.expand(len(idx), 3), dirs, appearance)
            out = nerf.render_batch(batch)
            loss = (out.rgb - target[idx]).pow(2).mean()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
    with torch.no_grad():
        rot_np = (R0 @ rodrigues(rot)).cpu().double().numpy()
        centre_np = (c0 + shift * radius).cpu().double().numpy()
    return Rigid3(project_to_rotation(rot_np), centre_np).inverse()
