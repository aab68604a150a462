"""Volume rendering: ray/box clipping, stratified + importance sampling, compositing.

Ray directions have camera-frame z = 1 (see ``rays``), so the ray parameter ``t`` is z-depth;
the physical length of a step is ``dt * |d|``, which is what density integrates over.

Rendered quantities (NeRFMatch eq. 1-2), normalized by the accumulated opacity so that a ray
that is not fully opaque still gives a point on the visible surface:
``rgb = sum w_i c_i``, ``depth = sum w_i t_i / sum w_i``, ``point = o + depth d``,
``feature = sum w_i f_i / sum w_i``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from locgui.methods.nerf.field import TriPlaneField


@dataclass
class RayBatch:
    """N rays in the world frame.

    Attributes:
        origins: (N, 3) camera centres, map units.
        dirs: (N, 3) directions with camera-frame z = 1.
        appearance: (N, B) histograms, (N,) image indices, or None (see the field).
    """

    origins: torch.Tensor
    dirs: torch.Tensor
    appearance: torch.Tensor | None = None

    def __len__(self) -> int:
        return len(self.origins)

    def slice(self, start: int, stop: int) -> RayBatch:
        app = None if self.appearance is None else self.appearance[start:stop]
        return RayBatch(self.origins[start:stop], self.dirs[start:stop], app)


@dataclass
class RenderedRays:
    """Per-ray outputs. ``features`` only when asked for.

    Attributes:
        rgb: (N, 3) in [0, 1].
        depth: (N,) z-depth, map units.
        opacity: (N,) accumulated weight in [0, 1].
        points: (N, 3) expected surface points, world frame.
        features: (N, F) weight-averaged intermediate features, or None.
    """

    rgb: torch.Tensor
    depth: torch.Tensor
    opacity: torch.Tensor
    points: torch.Tensor
    features: torch.Tensor | None = None


def near_far(
    origins: torch.Tensor,
    dirs: torch.Tensor,
    box_min: torch.Tensor,
    box_max: torch.Tensor,
    near_min: float,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Ray parameters where rays enter and leave the box (slab test).

    Returns:
        near (N,) >= ``near_min`` and far (N,) > near. Rays that miss the box get a short
        dummy interval beyond ``near_min`` (their density is zero outside the box anyway).
    """
    safe = torch.where(dirs.abs() < 1e-9, torch.full_like(dirs, 1e-9), dirs)
    t0 = (box_min - origins) / safe
    t1 = (box_max - origins) / safe
    near = torch.minimum(t0, t1).amax(dim=-1).clamp(min=near_min)
    far = torch.maximum(t0, t1).amin(dim=-1)
    far = torch.maximum(far, near + 1e-3)
    return near, far


def stratified(near: torch.Tensor, far: torch.Tensor, n: int, perturb: bool) -> torch.Tensor:
    """(N, n) sorted samples, one per equal sub-interval of [near, far] (jittered if perturb)."""
    u = torch.arange(n, device=near.device, dtype=near.dtype)
    u = u + (torch.rand(len(near), n, device=near.device) if perturb else 0.5)
    return near[:, None] + (far - near)[:, None] * (u / n)


def sample_pdf(edges: torch.Tensor, weights: torch.Tensor, n: int, perturb: bool) -> torch.Tensor:
    """Inverse-CDF samples from a piecewise-constant pdf.

    Args:
        edges: (N, S + 1) interval boundaries along each ray.
        weights: (N, S) non-negative weight per interval.
        n: samples per ray.
    Returns:
        (N, n) samples (unsorted across rays' intervals is fine; callers sort).
    """
    w = weights + 1e-5
    pdf = w / w.sum(dim=-1, keepdim=True)
    cdf = torch.cat([torch.zeros_like(pdf[:, :1]), pdf.cumsum(dim=-1)], dim=-1)
    if perturb:
        u = torch.rand(len(edges), n, device=edges.device)
    else:
        u = torch.linspace(0.5 / n, 1 - 0.5 / n, n, device=edges.device).expand(len(edges), n)
    u = u.contiguous()
    idx = torch.searchsorted(cdf.contiguous(), u, right=True).clamp(1, cdf.shape[-1] - 1)
    cdf_lo, cdf_hi = cdf.gather(-1, idx - 1), cdf.gather(-1, idx)
    e_lo, e_hi = edges.gather(-1, idx - 1), edges.gather(-1, idx)
    frac = ((u - cdf_lo) / (cdf_hi - cdf_lo).clamp(min=1e-8)).clamp(0, 1)
    return e_lo + frac * (e_hi - e_lo)


def _edges(t: torch.Tensor, near: torch.Tensor, far: torch.Tensor) -> torch.Tensor:
    """(N, S) sorted samples -> (N, S + 1) edges of the intervals they represent."""
    mid = 0.5 * (t[:, 1:] + t[:, :-1])
    return torch.cat([near[:, None], mid, far[:, None]], dim=-1)


def composite_weights(
    sigma: torch.Tensor, edges: torch.Tensor, ray_len: torch.Tensor
) -> torch.Tensor:
    """Rendering weights w_i = T_i (1 - exp(-sigma_i delta_i)) (NeRFMatch eq. 1).

    Args:
        sigma: (N, S) densities.
        edges: (N, S + 1) interval edges in t units.
        ray_len: (N,) |d|, converting t steps to map units.
    Returns:
        (N, S) weights.
    """
    delta = (edges[:, 1:] - edges[:, :-1]).clamp(min=0) * ray_len[:, None]
    tau = sigma * delta
    alpha = 1 - torch.exp(-tau)
    trans = torch.exp(-torch.cat([torch.zeros_like(tau[:, :1]), tau[:, :-1]], dim=-1).cumsum(-1))
    return alpha * trans


def _density_nograd(
    field: TriPlaneField, pts: torch.Tensor, keep: bool, want_features: bool
) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor | None]:
    """(N, S, 3) points -> (N, S) densities without autograd, and when ``keep`` the
    (N, S, G) geometry features and (N, S, F) intermediate features (if wanted) too."""
    n, s = pts.shape[:2]
    with torch.no_grad():
        sigma, geo, feats = field.density(pts.reshape(-1, 3), keep and want_features)
    if not keep:
        return sigma.reshape(n, s), None, None
    return (
        sigma.reshape(n, s),
        geo.reshape(n, s, -1),
        None if feats is None else feats.reshape(n, s, -1),
    )


def _merge(
    a: torch.Tensor | None, b: torch.Tensor | None, order: torch.Tensor
) -> torch.Tensor | None:
    """Concatenate per-sample (N, S1, C) and (N, S2, C) along samples, sorted by ``order``."""
    if a is None or b is None:
        return None
    both = torch.cat([a, b], dim=1)
    return both.gather(1, order[..., None].expand(-1, -1, both.shape[-1]))


def render_rays(
    field: TriPlaneField,
    rays: RayBatch,
    near_min: float,
    coarse_samples: int,
    fine_samples: int,
    perturb: bool = False,
    want_features: bool = False,
    min_weight: float = 1e-4,
    background: torch.Tensor | None = None,
) -> RenderedRays:
    """Render a batch of rays (differentiable with respect to the field and the rays).

    Sampling: ``coarse_samples`` stratified points and ``fine_samples`` importance samples
    drawn from their weights; all densities without autograd. Only samples whose weight
    exceeds ``min_weight`` are then evaluated again with autograd, with colour (and
    features). Dropped samples have either negligible opacity or negligible transmittance, so
    compositing without them changes a pixel by less than about ``min_weight`` per sample;
    this cuts the differentiable work several times in scenes that are mostly free space.

    ``background`` (N, 3) fills what the rays do not hit (default black). Training uses a
    random background: otherwise a half-transparent surface with a brighter colour renders
    the same as an opaque one, and depth and points would come from a fog.
    """
    n = len(rays)
    near, far = near_far(rays.origins, rays.dirs, field.box_min, field.box_max, near_min)
    ray_len = rays.dirs.norm(dim=-1)
    o, d = rays.origins.detach(), rays.dirs.detach()
    # Without autograd (rendering), the field values of these passes are kept and reused.
    keep = not torch.is_grad_enabled()
    t = stratified(near, far, coarse_samples, perturb)
    sigma, geo_all, feats_all = _density_nograd(
        field, o[:, None] + t[..., None] * d[:, None], keep, want_features
    )
    if fine_samples > 0:
        with torch.no_grad():
            edges = _edges(t, near, far)
            w = composite_weights(sigma, edges, ray_len)
            t_fine = sample_pdf(edges, w, fine_samples, perturb)
            fine = _density_nograd(
                field, o[:, None] + t_fine[..., None] * d[:, None], keep, want_features
            )
        t, order = torch.sort(torch.cat([t, t_fine], dim=-1), dim=-1)
        sigma = torch.cat([sigma, fine[0]], dim=-1).gather(-1, order)
        geo_all = _merge(geo_all, fine[1], order)
        feats_all = _merge(feats_all, fine[2], order)
    s = t.shape[1]
    edges = _edges(t, near, far)
    with torch.no_grad():
        alive = composite_weights(sigma, edges, ray_len) > min_weight
        if perturb:  # training: also a random quarter of the unoccluded samples, so that
            # transparent rays still receive gradient and free-space floaters get carved
            delta = (edges[:, 1:] - edges[:, :-1]) * ray_len[:, None]
            trans = torch.exp(-(sigma * delta).cumsum(dim=-1) + sigma * delta)
            alive |= (trans > 1e-2) & (torch.rand_like(trans) < 0.25)
    ray_of, sample_of = alive.nonzero(as_tuple=True)
    if keep and geo_all is not None:
        sigma_alive, geo = sigma[ray_of, sample_of], geo_all[ray_of, sample_of]
        feats = None if feats_all is None else feats_all[ray_of, sample_of]
    else:
        t_alive = t[ray_of, sample_of]
        pts = rays.origins[ray_of] + t_alive[:, None] * rays.dirs[ray_of]
        sigma_alive, geo, feats = field.density(pts, want_features)
    sigma_full = torch.zeros(n, s, device=t.device, dtype=sigma_alive.dtype)
    sigma_full = sigma_full.index_put((ray_of, sample_of), sigma_alive)
    w = composite_weights(sigma_full, edges, ray_len)
    w_alive = w[ray_of, sample_of]
    acc = w.sum(dim=-1)
    unit = rays.dirs / ray_len[:, None]
    app_term = field.appearance_term(rays.appearance, n)
    colour = field.color(geo, unit[ray_of], None if app_term is None else app_term[ray_of])
    zeros = torch.zeros(n, 3, device=t.device, dtype=colour.dtype)
    rgb = zeros.index_add(0, ray_of, w_alive[:, None] * colour)
    if background is not None:
        rgb = rgb + (1 - acc)[:, None] * background
    norm = acc.clamp(min=1e-6)
    depth = torch.where(acc > 1e-6, (w * t).sum(dim=-1) / norm, far)
    points = rays.origins + depth[:, None] * rays.dirs
    features = None
    if feats is not None:
        summed = torch.zeros(n, feats.shape[1], device=t.device, dtype=feats.dtype)
        features = summed.index_add(0, ray_of, w_alive[:, None] * feats) / norm[:, None]
    return RenderedRays(rgb, depth, acc, points, features)
