"""Volume rendering pieces against analytic answers."""

from __future__ import annotations

import numpy as np
import torch

from locgui.methods.nerf.render import composite_weights, near_far, sample_pdf, stratified


def test_near_far_matches_brute_force() -> None:
    gen = torch.Generator().manual_seed(0)
    lo, hi = torch.tensor([-1.0, -2.0, 0.0]), torch.tensor([1.0, 2.0, 3.0])
    origins = torch.rand(200, 3, generator=gen) * (hi - lo) + lo  # inside the box
    dirs = torch.randn(200, 3, generator=gen)
    near, far = near_far(origins, dirs, lo, hi, near_min=0.0)
    assert torch.all(near == 0)
    exit_pts = origins + far[:, None] * dirs
    on_face = ((exit_pts - lo).abs() < 1e-4) | ((exit_pts - hi).abs() < 1e-4)
    assert bool(on_face.any(dim=1).all())
    inside = (exit_pts >= lo - 1e-4) & (exit_pts <= hi + 1e-4)
    assert bool(inside.all())


def test_opaque_step_gives_its_depth() -> None:
    """A density step at t0 (very dense behind it) puts all weight at t0."""
    n, s = 4, 400
    t = stratified(torch.full((n,), 1.0), torch.full((n,), 5.0), s, perturb=False)
    edges = torch.cat(
        [torch.full((n, 1), 1.0), 0.5 * (t[:, 1:] + t[:, :-1]), torch.full((n, 1), 5.0)], 1
    )
    t0 = torch.tensor([1.5, 2.0, 3.3, 4.1])
    sigma = torch.where(t > t0[:, None], 1e4, 0.0)
    ray_len = torch.full((n,), 2.0)
    w = composite_weights(sigma, edges, ray_len)
    np.testing.assert_allclose(w.sum(1).numpy(), 1.0, atol=1e-5)
    depth = (w * t).sum(1) / w.sum(1)
    np.testing.assert_allclose(depth.numpy(), t0.numpy(), atol=5e-3)


def test_uniform_fog_transmittance() -> None:
    """Constant density sigma over a length L (in map units) leaves exp(-sigma L)."""
    n, s = 1, 64
    edges = torch.linspace(0, 2, s + 1)[None]
    sigma = torch.full((n, s), 0.7)
    w = composite_weights(sigma, edges, torch.tensor([1.5]))  # |d| = 1.5: L = 3
    np.testing.assert_allclose(float(w.sum()), 1 - np.exp(-0.7 * 3.0), rtol=1e-5)


def test_importance_samples_follow_weights() -> None:
    edges = torch.linspace(0, 4, 5)[None]  # intervals [0,1) [1,2) [2,3) [3,4)
    weights = torch.tensor([[0.0, 0.0, 1.0, 0.0]])
    samples = sample_pdf(edges, weights, 200, perturb=False)
    assert float((samples >= 2).float().mean()) > 0.99
    assert float((samples <= 3).float().mean()) > 0.99
