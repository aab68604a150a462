"""ACE's reprojection loss: exact points cost nothing, invalid ones are pulled in front."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from locgui.methods.scr.loss import reprojection_residual, threshold  # noqa: E402


def _setup() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    rng = np.random.default_rng(0)
    rays = torch.from_numpy(rng.uniform(-0.5, 0.5, (64, 2)))
    depth = torch.from_numpy(rng.uniform(1.0, 4.0, 64))
    pose = torch.zeros(64, 3, 4, dtype=torch.float64)
    pose[:, :, :3] = torch.eye(3)
    pose[:, :, 3] = torch.tensor([0.5, -0.2, 1.0])  # world = camera - t
    cam = torch.cat([rays, torch.ones(64, 1, dtype=torch.float64)], 1) * depth[:, None]
    return rays, cam - pose[:, :, 3], torch.full((64,), 500.0, dtype=torch.float64), pose


def test_exact_points_have_no_residual_and_errors_grow_with_the_offset() -> None:
    rays, world, focal, pose = _setup()
    none = torch.full_like(world, float("nan"))
    res, err = reprojection_residual(world, rays, focal, pose, none, 10.0, 2.0)
    assert float(res.abs().max()) < 1e-9 and float(err.max()) < 1e-6
    moved = world + torch.tensor([0.01, 0.0, 0.0], dtype=torch.float64)
    res2, err2 = reprojection_residual(moved, rays, focal, pose, none, 10.0, 2.0)
    assert bool((err2 > 0.5).all()) and bool((res2 > 0).all()) and bool((res2 < 1).all())
    # a known coordinate adds its own error: the same offset costs more with the target
    res3, _ = reprojection_residual(moved, rays, focal, pose, world, 10.0, 2.0)
    assert bool((res3 > res2).all())


def test_points_behind_the_camera_are_pulled_to_the_typical_depth() -> None:
    rays, world, focal, pose = _setup()
    behind = world.clone()
    behind[:, 2] = -5.0 - pose[:, 2, 3]  # z = -5 in the camera
    behind.requires_grad_(True)
    none = torch.full_like(world, float("nan"))
    res, err = reprojection_residual(behind, rays, focal, pose, none, 10.0, 2.0)
    assert bool((err == 1000.0).all()) and bool((res > 1).all())  # unbounded pull, not tanh
    res.sum().backward()
    assert behind.grad is not None and bool((behind.grad[:, 2] < 0).all())  # towards +z


def test_the_threshold_shrinks_from_start_to_end() -> None:
    values = [threshold(p, 50.0, 1.0) for p in np.linspace(0, 1, 11)]
    assert values[0] == 50.0 and values[-1] == 1.0
    assert all(a >= b for a, b in zip(values, values[1:], strict=False))
