"""Hashed lattice noise and anti-aliased pattern primitives, vectorized numpy.

Every function takes flat float32 arrays of surface coordinates (metres, or lattice units
where stated) and returns flat float32 arrays. Patterns are pure functions of the surface
point and an integer seed, so they look the same from every viewpoint. ``footprint`` is the
size of one pixel on the surface in metres: detail finer than about two pixels is faded to
its mean (like mip-mapping) so that no pattern aliases differently from different views.
"""

from __future__ import annotations

import numpy as np

_A = np.uint32(0x8DA6B343)
_B = np.uint32(0xD8163841)
_C = np.uint32(0xCB1AB31F)
_M1 = np.uint32(0x7FEB352D)
_M2 = np.uint32(0x846CA68B)
_TO_UNIT = np.float32(1.0 / 16777216.0)


def mix_seed(*values: int) -> int:
    """A 32-bit seed derived from several integers (stable across runs and platforms)."""
    h = 0x9E3779B9
    for v in values:
        h ^= (int(v) + 0x7F4A7C15 + ((h << 6) & 0xFFFFFFFF) + (h >> 2)) & 0xFFFFFFFF
        h = (h * 0x2C1B3C6D) & 0xFFFFFFFF
    return h


def _finalize(h: np.ndarray) -> np.ndarray:
    """uint32 mixing (two multiply-xorshift rounds) -> float32 in [0, 1)."""
    h = h * _M1
    h ^= h >> np.uint32(15)
    h *= _M2
    h >>= np.uint32(8)
    return h.astype(np.float32) * _TO_UNIT


def hash2(ix: np.ndarray, iy: np.ndarray, seed: int) -> np.ndarray:
    """Uniform [0, 1) float32 per integer lattice cell (ix, iy) (int32 arrays) and seed."""
    hx = ix.astype(np.int32).view(np.uint32) * _A
    hy = iy.astype(np.int32).view(np.uint32) * _B
    return _finalize(hx ^ hy ^ np.uint32(seed & 0xFFFFFFFF))


def smoothstep(e0: float | np.ndarray, e1: float | np.ndarray, x: np.ndarray) -> np.ndarray:
    """Hermite step from 0 at ``e0`` to 1 at ``e1`` (float32)."""
    t = np.clip((x - e0) / (e1 - e0), 0.0, 1.0).astype(np.float32, copy=False)
    return t * t * (np.float32(3.0) - np.float32(2.0) * t)


def value_noise(u: np.ndarray, v: np.ndarray, seed: int, smooth: bool = True) -> np.ndarray:
    """Value noise in [0, 1) on the unit lattice.

    Args:
        u, v: (N,) float32 lattice coordinates.
        seed: selects an independent noise field.
        smooth: Hermite interpolation between lattice values (else bilinear, which keeps
            the 0.5 iso-line of a binary lattice on the cell boundaries).
    Returns:
        (N,) float32.
    """
    fu = np.floor(u)
    fv = np.floor(v)
    tu = u - fu
    tv = v - fv
    s = np.uint32(seed & 0xFFFFFFFF)
    hx = fu.astype(np.int32).view(np.uint32) * _A
    hx0 = hx ^ s
    hx += _A
    hx1 = hx ^ s
    hy0 = fv.astype(np.int32).view(np.uint32) * _B
    hy1 = hy0 + _B
    a = _mix24(hx0 ^ hy0)
    b = _mix24(hx1 ^ hy0)
    c = _mix24(hx0 ^ hy1)
    d = _mix24(hx1 ^ hy1)
    if smooth:
        tu = tu * tu * (np.float32(3.0) - np.float32(2.0) * tu)
        tv = tv * tv * (np.float32(3.0) - np.float32(2.0) * tv)
    ab = a + (b - a) * tu
    cd = c + (d - c) * tu
    ab += (cd - ab) * tv
    ab *= _TO_UNIT
    return ab


def _mix24(h: np.ndarray) -> np.ndarray:
    """uint32 key -> float32 in [0, 2**24) (multiply-xorshift, top 24 bits; its spectrum
    over a lattice is flat, which is all value noise needs)."""
    h *= _M1
    h ^= h >> np.uint32(16)
    h >>= np.uint32(8)
    return h.astype(np.float32)


def octave_weight(wavelength: float, footprint: np.ndarray) -> np.ndarray | np.float32:
    """(N,) weight of detail with this wavelength (metres): 1 above 4 pixels, 0 below 2
    (the scalar 1 where that holds for every pixel)."""
    if len(footprint) and wavelength >= 4.0 * float(footprint.max()):
        return np.float32(1.0)
    return np.clip(np.float32(wavelength) / footprint * np.float32(0.5) - np.float32(1.0), 0, 1)


_ANGLES = (0.9, 2.6, 4.3)  # radians; rotating octaves hides the lattice axes


class SurfacePoints:
    """Surface coordinates of N points, with the rotated copies noise octaves use (cached:
    every layer of a material shares them).

    Attributes:
        u, v: (N,) float32 surface coordinates, metres.
        footprint: (N,) float32 pixel footprint on the surface, metres.
    """

    def __init__(self, u: np.ndarray, v: np.ndarray, footprint: np.ndarray) -> None:
        self.u, self.v, self.footprint = u, v, footprint
        self._rotated: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        self.finest_visible = 2.0 * float(footprint.min()) if len(footprint) else np.inf

    def __len__(self) -> int:
        return len(self.u)

    def rotated(self, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(u, v) turned by the k-th of three fixed angles."""
        k %= len(_ANGLES)
        if k not in self._rotated:
            c, s = np.float32(np.cos(_ANGLES[k])), np.float32(np.sin(_ANGLES[k]))
            self._rotated[k] = (c * self.u - s * self.v, s * self.u + c * self.v)
        return self._rotated[k]


def fbm(
    p: SurfacePoints,
    seed: int,
    scale: float,
    octaves: int,
    gain: float = 0.55,
) -> np.ndarray:
    """Band-limited fractal value noise, mean 0.5, roughly in [0, 1].

    Args:
        p: where to evaluate it.
        seed: selects the field.
        scale: wavelength of the coarsest octave, metres; each octave halves it.
        octaves: number of octaves; those finer than the footprint fade to their mean.
        gain: amplitude ratio between successive octaves.
    Returns:
        (N,) float32.
    """
    total = np.zeros_like(p.u)
    amp, norm = 1.0, 0.0
    wavelength = scale
    for k in range(octaves):
        if wavelength <= p.finest_visible:  # this and finer octaves weigh 0 everywhere
            norm += amp * (1 - gain ** (octaves - k)) / (1 - gain)
            break
        ru, rv = p.rotated(seed + k)
        inv = np.float32(1.0 / wavelength)
        n = value_noise(ru * inv, rv * inv, seed + 101 * k)
        n -= np.float32(0.5)
        n *= octave_weight(wavelength, p.footprint)
        n *= np.float32(amp)
        total += n
        norm += amp
        amp *= gain
        wavelength *= 0.5
    total *= np.float32(1.6 / norm)
    total += np.float32(0.5)
    return total


def aa_threshold(field: np.ndarray, level: float, width: np.ndarray) -> np.ndarray:
    """Anti-aliased step of ``field`` at ``level``; ``width`` is half the blend (field units)."""
    w = np.maximum(width, np.float32(1e-4))
    return smoothstep(level - w, level + w, field)


def blobs(p: SurfacePoints, seed: int, scale: float, coverage: float) -> np.ndarray:
    """(N,) mask in [0, 1] of organic blobs about ``scale`` metres across."""
    ru, rv = p.rotated(seed)
    inv = np.float32(1.0 / scale)
    n = value_noise(ru * inv, rv * inv, seed)
    footprint = p.footprint
    mask = aa_threshold(n, 1.0 - coverage, footprint * np.float32(1.2 / scale))
    return _fade(mask, coverage, scale, footprint)


def glyphs(
    u: np.ndarray, v: np.ndarray, footprint: np.ndarray, seed: int, block: float, density: float
) -> np.ndarray:
    """(N,) mask of random 4x4-bit glyphs in 6x6-block cells (``block`` metres per bit).

    Bits are interpolated bilinearly between block centres, which keeps the 0.5 iso-line on
    the block edges, then thresholded with a footprint-wide blend (anti-aliased squares).
    """
    b = np.float32(block)
    gu = u / b - np.float32(0.5)
    gv = v / b - np.float32(0.5)
    fu, fv = np.floor(gu), np.floor(gv)
    tu, tv = gu - fu, gv - fv
    iu, iv = fu.astype(np.int32), fv.astype(np.int32)
    # A corner that can be on sits in the same 6x6 cell as the block holding the point (the
    # cell margins are off), so one activity hash per point is enough.
    bu = iu + (tu >= 0.5)
    bv = iv + (tv >= 0.5)
    active = hash2(np.floor_divide(bu, 6), np.floor_divide(bv, 6), seed + 17) < density
    # Bits 1..4 of each 6-block cell row/column can be on (local index of corner and corner+1).
    lu, lv = np.mod(iu, 6), np.mod(iv, 6)
    in_u = ((lu >= 1) & (lu <= 4), lu <= 3)
    in_v = ((lv >= 1) & (lv <= 4), lv <= 3)
    hx = iu.view(np.uint32) * _A
    hx0 = hx ^ np.uint32(seed & 0xFFFFFFFF)
    hx += _A
    hx1 = hx ^ np.uint32(seed & 0xFFFFFFFF)
    hy0 = iv.view(np.uint32) * _B
    hy1 = hy0 + _B
    corners = []
    for du, dv in ((0, 0), (1, 0), (0, 1), (1, 1)):
        h = (hx1 if du else hx0) ^ (hy1 if dv else hy0)
        h *= _M1
        h ^= h >> np.uint32(16)
        on = (h < np.uint32(0x80000000)) & in_u[du] & in_v[dv] & active
        corners.append(on.astype(np.float32))
    a, bb, c, d = corners
    ab = a + (bb - a) * tu
    ab += (c + (d - c) * tu - ab) * tv
    mask = aa_threshold(ab, 0.5, footprint / b * np.float32(0.8))
    return _fade(mask, glyph_coverage(density), block, footprint)


def glyph_coverage(density: float) -> float:
    """Mean of the ``glyphs`` mask: half the bits of 16 in 36 blocks of active cells."""
    return 0.5 * density * 16 / 36


def discs(
    u: np.ndarray, v: np.ndarray, footprint: np.ndarray, seed: int, cell: float, density: float
) -> tuple[np.ndarray, np.ndarray]:
    """Random discs, at most one per ``cell``-metre cell, fully inside their cell.

    Returns:
        mask: (N,) float32 coverage in [0, 1].
        pick: (N,) float32 uniform [0, 1) per disc (to choose its colour).
    """
    c = np.float32(cell)
    gu, gv = u / c, v / c
    iu, iv = np.floor(gu).astype(np.int32), np.floor(gv).astype(np.int32)
    radius = np.float32(0.12) + np.float32(0.3) * hash2(iu, iv, seed + 1)
    span = np.float32(1.0) - np.float32(2.0) * radius
    cx = radius + span * hash2(iu, iv, seed + 2)
    cy = radius + span * hash2(iu, iv, seed + 3)
    dist = np.hypot(gu - iu - cx, gv - iv - cy)
    sdf = (dist - radius) * c  # metres, negative inside
    mask = smoothstep(footprint, -footprint, sdf)
    mask = mask * (hash2(iu, iv, seed + 4) < density)
    return _fade(mask, 0.2 * density, cell * 0.3, footprint), hash2(iu, iv, seed + 5)


def bands(coord: np.ndarray, footprint: np.ndarray, period: float, duty: float = 0.5) -> np.ndarray:
    """(N,) anti-aliased square wave of ``coord`` (metres) with ``period`` metres."""
    p = np.float32(period)
    phase = coord / p - np.floor(coord / p)  # [0, 1)
    # Distance to the nearest edge of the "on" interval [0, duty), in metres.
    d_in = np.minimum(phase, np.float32(duty) - phase) * p
    d_out = np.minimum(phase - np.float32(duty), np.float32(1.0) - phase) * p
    sdf = np.where(phase < duty, -d_in, d_out)
    mask = smoothstep(footprint, -footprint, sdf)
    return _fade(mask, duty, period * 0.5, footprint)


def _fade(mask: np.ndarray, mean: float, wavelength: float, footprint: np.ndarray) -> np.ndarray:
    """Blend a pattern towards its mean coverage where it is finer than the footprint."""
    w = octave_weight(wavelength, footprint)
    if isinstance(w, np.float32):
        return mask
    return np.float32(mean) + (mask - np.float32(mean)) * w
