"""SACReg's cosine point encoding phi and its inverse (paper section 3.2, appendix C).

``psi(t) = [cos(f_1 t), sin(f_1 t), ..., cos(f_F t), sin(f_F t)]`` with ``f_i = f_1 gamma^(i-1)``
and ``phi(x, y, z) = [psi(x), psi(y), psi(z)]`` (dimension d = 6F). The frequency parameters
are those of the paper's Table 11 (F = 4, 6, 8), copied from the paper text; their periods
``P_1 = 2 pi / f_1`` and ``P_F = 2 pi / f_F`` are metric (P_1 ~ 200-350 m, P_F ~ 0.27-1.6 m), so
coordinates are encoded in metres (``scale`` converts map units).

The inverse ``psi^-1(y) = argmin_{t in B} ||psi(t) - y||^2`` (eq. 15) follows appendix C.2:
probe ``S'`` at ``t_n = n pi / (2 f_F)`` over the search range ``B`` (eq. 16), interpolate the
root where ``S'`` changes sign from - to + (eq. 20) and keep the candidate with the smallest
``S``. Both ``S`` and ``S'`` at all probes are one matrix product with the probe encodings (the
probe grid is shared by every value of an axis), so millions of values decode in BLAS time.
A few Newton steps on the exact ``S`` then polish the chosen root to float precision (locgui's
addition; eq. 20 alone is accurate to a small fraction of the probe step).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import torch


@dataclass(frozen=True)
class FrequencySet:
    """Harmonic frequencies ``f_i = f_1 gamma^(i-1)``, i = 1..count, in radians per metre."""

    f1: float
    gamma: float
    count: int

    def frequencies(self) -> np.ndarray:
        """(F,) float64 frequencies, increasing."""
        return self.f1 * self.gamma ** np.arange(self.count, dtype=np.float64)

    @property
    def periods(self) -> tuple[float, float]:
        """(P_1, P_F): periods of the lowest and highest frequency, metres."""
        f = self.frequencies()
        return float(2 * np.pi / f[0]), float(2 * np.pi / f[-1])

    @property
    def dim(self) -> int:
        """Dimension d = 6F of the encoding of a 3D point."""
        return 6 * self.count


# Table 11 of the paper (values copied from its text, not derived).
PAPER_FREQUENCIES: dict[int, FrequencySet] = {
    4: FrequencySet(0.020772487794205544, 5.7561020938998690, 4),  # P_1 302 m, P_F 1.59 m
    6: FrequencySet(0.017903170262351338, 3.7079736887249526, 6),  # P_1 351 m, P_F 50 cm
    8: FrequencySet(0.031278470093268460, 2.5735254599557535, 8),  # P_1 201 m, P_F 27 cm
}


def frequency_set(count: int) -> FrequencySet:
    """The paper's parameters for ``count`` frequencies (4, 6 or 8)."""
    if count not in PAPER_FREQUENCIES:
        raise ValueError(f"no paper frequency set for F={count} (have 4, 6, 8)")
    return PAPER_FREQUENCIES[count]


# ---------------------------------------------------------------------- forward
def encode(values: np.ndarray, freqs: np.ndarray) -> np.ndarray:
    """psi: (...,) values (metres) -> (..., 2F) float64 [cos f_1 t, sin f_1 t, ...]."""
    ang = np.asarray(values, dtype=np.float64)[..., None] * np.asarray(freqs, np.float64)
    out = np.empty((*ang.shape[:-1], 2 * ang.shape[-1]))
    out[..., 0::2] = np.cos(ang)
    out[..., 1::2] = np.sin(ang)
    return out


def encode_points(xyz: np.ndarray, freqs: np.ndarray) -> np.ndarray:
    """phi: (..., 3) points (metres) -> (..., 6F) float64 [psi(x), psi(y), psi(z)]."""
    enc = encode(xyz, freqs)  # (..., 3, 2F)
    return enc.reshape(*enc.shape[:-2], -1)


def normalize_pairs(y: np.ndarray, eps: float = 1e-12) -> np.ndarray:
    """L2-normalize consecutive (cos, sin) pairs: (..., 2k) -> (..., 2k) on (S^1)^k."""
    y = np.asarray(y, dtype=np.float64)
    pairs = y.reshape(*y.shape[:-1], -1, 2)
    norm = np.linalg.norm(pairs, axis=-1, keepdims=True)
    return (pairs / np.maximum(norm, eps)).reshape(y.shape)


def encode_points_torch(xyz: torch.Tensor, freqs: torch.Tensor) -> torch.Tensor:
    """Torch twin of ``encode_points``: (..., 3) -> (..., 6F), computed in xyz's dtype."""
    import torch

    ang = xyz[..., None] * freqs.to(xyz)  # (..., 3, F)
    enc = torch.stack([torch.cos(ang), torch.sin(ang)], dim=-1)  # (..., 3, F, 2)
    return enc.reshape(*xyz.shape[:-1], -1)


def normalize_pairs_torch(y: torch.Tensor, dim: int = 1, eps: float = 1e-6) -> torch.Tensor:
    """L2-normalize consecutive channel pairs of ``y`` along ``dim`` (torch, differentiable)."""
    import torch.nn.functional as F

    dim = dim % y.ndim
    shape = y.shape
    pairs = y.reshape(*shape[:dim], shape[dim] // 2, 2, *shape[dim + 1 :])
    return F.normalize(pairs, dim=dim + 1, eps=eps).reshape(shape)


# ---------------------------------------------------------------------- inverse
def search_range(
    points: np.ndarray | list[np.ndarray], margin: float = 0.0
) -> tuple[np.ndarray, np.ndarray]:
    """The search domain B per axis (eq. 16) as its bounding interval.

    Args:
        points: (N, 3) points, or a list of (N_k, 3) point sets (one per database image).
        margin: added on both sides, same units.
    Returns:
        (lo, hi): (3,) float64 each.
    """
    sets = points if isinstance(points, list) else [points]
    allp = np.concatenate([np.asarray(p, np.float64).reshape(-1, 3) for p in sets])
    finite = allp[np.isfinite(allp).all(axis=1)]
    if len(finite) == 0:
        raise ValueError("search range needs at least one finite point")
    return finite.min(axis=0) - margin, finite.max(axis=0) + margin


def _probe_matrices(
    freqs: np.ndarray, lo: float, hi: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """Probe positions t_n (P,), psi(t_n) (P, 2F) and dS/dt basis (P, 2F), and the step."""
    step = float(np.pi / (2 * freqs.max()))
    n0 = int(np.floor(lo / step)) - 1
    n1 = int(np.ceil(hi / step)) + 1
    t = np.arange(n0, n1 + 1, dtype=np.float64) * step
    ang = t[:, None] * freqs
    cos, sin = np.cos(ang), np.sin(ang)
    psi = np.empty((len(t), 2 * len(freqs)))
    psi[:, 0::2], psi[:, 1::2] = cos, sin
    # S'(t) = 2 sum_i f_i (y_c,i sin(f_i t) - y_s,i cos(f_i t))
    dpsi = np.empty_like(psi)
    dpsi[:, 0::2], dpsi[:, 1::2] = 2 * freqs * sin, -2 * freqs * cos
    return t, psi, dpsi, step


def _candidate_roots(
    y: np.ndarray, t: np.ndarray, psi: np.ndarray, dpsi: np.ndarray, step: float, k: int
) -> np.ndarray:
    """Eq. 17-20 for one chunk: (N, 2F) normalized pairs -> (k, N) candidate minima of S.

    The candidates are the k interpolated roots of S' (eq. 20) with the smallest S, where S at
    a root is the cubic Hermite interpolant of S and S' at the two probes around it (float32
    is enough to rank them; the linear model of S' behind eq. 20 misranks near-aliases).
    """
    yt = y.T.astype(np.float32)
    S = psi @ yt  # -S/2 up to a constant, (P, N)
    D = dpsi @ yt  # S'(t_n), (P, N)
    d0, d1 = D[:-1], D[1:]
    bracket = (d0 < 0) & (d1 >= 0)
    u = np.divide(d0, d0 - d1, out=np.zeros_like(d0), where=bracket)
    s_root = _hermite(-2.0 * S[:-1], -2.0 * S[1:], d0 * step, d1 * step, u)
    np.copyto(s_root, np.float32(np.inf), where=~bracket)
    k = min(k, len(s_root))
    best = np.argpartition(s_root, k - 1, axis=0)[:k] if k < len(s_root) else _all_rows(s_root)
    cols = np.arange(y.shape[0])
    roots = t[best] + step * u[best, cols].astype(np.float64)
    none = ~np.isfinite(s_root[best, cols])  # no bracket there: fall back to the best probe
    if none.any():
        probe = t[np.argmax(S, axis=0)]
        roots = np.where(none, probe[None, :], roots)
    return roots


def _hermite(
    s0: np.ndarray, s1: np.ndarray, m0: np.ndarray, m1: np.ndarray, u: np.ndarray
) -> np.ndarray:
    """Cubic Hermite interpolation at u in [0, 1] from values s and slopes m (times the step)."""
    u2 = u * u
    u3 = u2 * u
    return (
        (2 * u3 - 3 * u2 + 1) * s0
        + (u3 - 2 * u2 + u) * m0
        + (3 * u2 - 2 * u3) * s1
        + (u3 - u2) * m1
    )


def _all_rows(a: np.ndarray) -> np.ndarray:
    return np.broadcast_to(np.arange(len(a))[:, None], a.shape)


def _exact_cost(roots: np.ndarray, y: np.ndarray, freqs: np.ndarray) -> np.ndarray:
    """-psi(t) . y (S up to a constant) for (k, N) roots and (N, 2F) y -> (k, N)."""
    ang = roots[..., None] * freqs
    return -np.sum(y[:, 0::2] * np.cos(ang) + y[:, 1::2] * np.sin(ang), axis=-1)


def _select_roots(
    y: np.ndarray,
    t: np.ndarray,
    psi: np.ndarray,
    dpsi: np.ndarray,
    freqs: np.ndarray,
    step: float,
    k: int,
) -> np.ndarray:
    """(N,) the candidate root with the smallest exact S among the k best-ranked."""
    roots = _candidate_roots(y, t, psi, dpsi, step, k)
    if len(roots) == 1:
        return roots[0]
    best = np.argmin(_exact_cost(roots, y, freqs), axis=0)
    return roots[best, np.arange(roots.shape[1])]


def _newton_polish(
    roots: np.ndarray, y: np.ndarray, freqs: np.ndarray, step: float, iters: int
) -> np.ndarray:
    """Newton steps on the exact S, each bounded to a quarter probe step."""
    yc, ys = y[:, 0::2], y[:, 1::2]
    for _ in range(iters):
        ang = roots[:, None] * freqs
        c, s = np.cos(ang), np.sin(ang)
        d1 = 2 * np.sum(freqs * (yc * s - ys * c), axis=1)
        d2 = 2 * np.sum(freqs**2 * (yc * c + ys * s), axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            delta = np.where(d2 > 0, -d1 / d2, 0.0)
        roots = roots + np.clip(delta, -0.25 * step, 0.25 * step)
    return roots


def decode(
    y: np.ndarray,
    freqs: np.ndarray,
    lo: float,
    hi: float,
    newton_iters: int = 3,
    candidates: int = 3,
    chunk_elems: int = 1 << 17,
    weights: np.ndarray | None = None,
) -> np.ndarray:
    """psi^-1 over the search range [lo, hi] (eq. 15-20).

    Args:
        y: (..., 2F) encodings (pairs need not be normalized; they are, as the paper assumes).
        freqs: (F,) the frequencies used to encode, radians per unit of ``lo``/``hi``.
        lo, hi: the search range B of this axis (values outside it cannot be recovered).
        newton_iters: polishing steps after eq. 20 (0 gives the paper's estimate).
        candidates: roots of S' re-scored with the exact S (the linear model of S' between
            probes ranks nearly-aliased minima wrongly over ranges of kilometres).
        chunk_elems: bound on probes x values held in memory at once.
        weights: (F,) optional magnitudes given to the normalized pairs: the amplitudes
            sqrt(y_2i-1^2 + y_2i^2) of eq. 19, i.e. a weighted least-squares inverse. None is
            the paper's case (all 1); frequencies of weight 0 are left out (and no longer set
            the probe step).
    Returns:
        (...,) float64 decoded values.
    """
    freqs = np.asarray(freqs, np.float64)
    y = np.asarray(y, np.float64)
    if y.shape[-1] != 2 * len(freqs):
        raise ValueError(f"encoding has {y.shape[-1]} values, expected {2 * len(freqs)}")
    if not hi >= lo:
        raise ValueError(f"empty search range [{lo}, {hi}]")
    flat = normalize_pairs(y.reshape(-1, y.shape[-1]))
    if weights is not None:
        flat, freqs = _apply_weights(flat, freqs, np.asarray(weights, np.float64))
    t, psi, dpsi, step = _probe_matrices(freqs, float(lo), float(hi))
    psi, dpsi = psi.astype(np.float32), dpsi.astype(np.float32)
    per_chunk = max(1, chunk_elems // len(t))
    out = np.empty(len(flat))
    for start in range(0, len(flat), per_chunk):
        part = flat[start : start + per_chunk]
        roots = _select_roots(part, t, psi, dpsi, freqs, step, candidates)
        out[start : start + per_chunk] = _newton_polish(roots, part, freqs, step, newton_iters)
    return out.reshape(y.shape[:-1])


def _apply_weights(
    y: np.ndarray, freqs: np.ndarray, weights: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Scale each normalized pair by its weight and drop the frequencies of weight 0."""
    if weights.shape != freqs.shape or (weights < 0).any() or not (weights > 0).any():
        raise ValueError(f"weights must be {freqs.shape} non-negative, not all 0: {weights}")
    keep = weights > 0
    pairs = y.reshape(len(y), -1, 2)[:, keep] * weights[keep][:, None]
    return pairs.reshape(len(y), -1), freqs[keep]


def decode_points(
    y: np.ndarray,
    freqs: np.ndarray,
    lo: np.ndarray,
    hi: np.ndarray,
    newton_iters: int = 3,
    weights: np.ndarray | None = None,
) -> np.ndarray:
    """phi^-1: (..., 6F) encodings -> (..., 3) points, axis by axis over [lo, hi] (3,) each.

    ``weights``: optional (3, F) per-axis frequency weights (see ``decode``).
    """
    freqs = np.asarray(freqs, np.float64)
    y = np.asarray(y)
    width = 2 * len(freqs)
    if y.shape[-1] != 3 * width:
        raise ValueError(f"point encoding has {y.shape[-1]} values, expected {3 * width}")
    axes = [
        decode(
            y[..., k * width : (k + 1) * width],
            freqs,
            lo[k],
            hi[k],
            newton_iters,
            weights=None if weights is None else np.asarray(weights)[k],
        )  # fmt: skip
        for k in range(3)
    ]
    return np.stack(axes, axis=-1)
