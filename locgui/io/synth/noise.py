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
    """uint32 key -> float32 in [0, 2**24) (multiply-xorshift-multiply, top 24 bits)."""
    h *= _M1
    h ^= h >> np.uint32(15)
    h *= _M2
    h >>= np.uint32(8)
    return h.astype(np.float32)


def octave_weight(wavelength: float, footprint: np.ndarray) -> np.ndarray:
    """(N,) weight of detail with this wavelength (metres): 1 above 4 pixels, 0 below 2."""
    return np.clip(np.float32(wavelength) / footprint * np.float32(0.5) - np.float32(1.0), 0, 1)


def _rotate(u: np.ndarray, v: np.ndarray, angle: float) -> tuple[np.ndarray, np.ndarray]:
    c, s = np.float32(np.cos(angle)), np.float32(np.sin(angle))
    return c * u - s * v, s * u + c * v


def fbm(
    u: np.ndarray,
    v: np.ndarray,
    footprint: np.ndarray,
    seed: int,
    scale: float,
    octaves: int,
    gain: float = 0.55,
) -> np.ndarray:
    """Band-limited fractal value noise, mean 0.5, roughly in [0, 1].

    Args:
        u, v: (N,) float32 surface coordinates, metres.
        footprint: (N,) float32 pixel footprint on the surface, metres.
        seed: selects the field.
        scale: wavelength of the coarsest octave, metres; each octave halves it.
        octaves: number of octaves; those finer than the footprint fade to their mean.
        gain: amplitude ratio between successive octaves.
    """
    total = np.zeros_like(u)
    amp, norm = 1.0, 0.0
    wavelength = scale
    finest_visible = 2.0 * float(footprint.min()) if len(footprint) else np.inf
    for k in range(octaves):
        if wavelength <= finest_visible:  # this and finer octaves have weight 0 everywhere
            norm += amp * (1 - gain ** (octaves - k)) / (1 - gain)
            break
        # A different rotation per octave hides the lattice axes.
        ru, rv = _rotate(u, v, 0.9 + 1.7 * k)
        n = value_noise(ru / np.float32(wavelength), rv / np.float32(wavelength), seed + 101 * k)
        w = octave_weight(wavelength, footprint)
        total += np.float32(amp) * w * (n - np.float32(0.5))
        norm += amp
        amp *= gain
        wavelength *= 0.5
    return np.float32(0.5) + total * np.float32(1.6 / norm)


def aa_threshold(field: np.ndarray, level: float, width: np.ndarray) -> np.ndarray:
    """Anti-aliased step of ``field`` at ``level``; ``width`` is half the blend (field units)."""
    w = np.maximum(width, np.float32(1e-4))
    return smoothstep(level - w, level + w, field)


def blobs(
    u: np.ndarray, v: np.ndarray, footprint: np.ndarray, seed: int, scale: float, coverage: float
) -> np.ndarray:
    """(N,) mask in [0, 1] of organic blobs about ``scale`` metres across."""
    ru, rv = _rotate(u, v, 0.4 + (seed % 7))
    s = np.float32(scale)
    n = value_noise(ru / s, rv / s, seed)
    mask = aa_threshold(n, 1.0 - coverage, footprint / s * np.float32(1.2))
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
    bu = np.floor(u / b).astype(np.int32)
    bv = np.floor(v / b).astype(np.int32)
    active = hash2(np.floor_divide(bu, 6), np.floor_divide(bv, 6), seed + 17) < density
    corners = []
    for du, dv in ((0, 0), (1, 0), (0, 1), (1, 1)):
        cu, cv = iu + du, iv + dv
        lu, lv = np.mod(cu, 6), np.mod(cv, 6)
        inside = (lu >= 1) & (lu <= 4) & (lv >= 1) & (lv <= 4)
        bit = hash2(cu, cv, seed) < 0.5
        corners.append((inside & active & bit).astype(np.float32))
    a, bb, c, d = corners
    n = a + (bb - a) * tu + (c - a) * tv + (a - bb - c + d) * (tu * tv)
    mask = aa_threshold(n, 0.5, footprint / b * np.float32(0.8))
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
    return np.float32(mean) + (mask - np.float32(mean)) * w
