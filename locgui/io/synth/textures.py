"""Procedural materials: a palette plus a stack of pattern layers, evaluated on the surface.

A material is drawn once from a seeded generator; ``albedo`` then colours any set of surface
points given their 2D surface coordinates (metres) and pixel footprint. Layers mix several
scales (decimetre blobs down to centimetre glyphs and grain) so that every patch of every
surface carries corners and colour edges for local features, and no two places repeat.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from locgui.io.synth import noise

LAYER_KINDS = ("blobs", "glyphs", "bigglyphs", "discs", "stripes", "marble", "wood", "tiles")


@dataclass(frozen=True)
class Layer:
    """One pattern layer painted over the colour below it.

    Attributes:
        kind: one of ``LAYER_KINDS``.
        scale: characteristic size in metres (blob size, glyph bit, disc cell, stripe period).
        colour: palette index it paints with (discs and tiles pick per cell instead).
        amount: coverage or density in [0, 1] (angle in radians for stripes).
        seed: noise seed of the layer.
    """

    kind: str
    scale: float
    colour: int
    amount: float
    seed: int


@dataclass(frozen=True)
class Material:
    """A procedural surface material.

    Attributes:
        palette: (K, 3) float32 linear RGB colours in [0, 1], with strong luminance spread.
        base_scale: wavelength of the coarsest base-noise octave, metres.
        layers: pattern layers, painted in order.
        seed: seed of the base noise.
    """

    palette: np.ndarray
    base_scale: float
    layers: tuple[Layer, ...]
    seed: int


def hsv_to_rgb(h: np.ndarray, s: np.ndarray, v: np.ndarray) -> np.ndarray:
    """(K,) hue in turns, saturation, value in [0, 1] -> (K, 3) float32 RGB."""
    h = np.mod(h, 1.0) * 6.0
    c = v * s
    x = c * (1 - np.abs(np.mod(h, 2.0) - 1))
    zero = np.zeros_like(h)
    sector = np.floor(h).astype(int) % 6
    table = [(c, x, zero), (x, c, zero), (zero, c, x), (zero, x, c), (x, zero, c), (c, zero, x)]
    rgb = np.zeros((len(h), 3))
    for k, (r, g, b) in enumerate(table):
        sel = sector == k
        rgb[sel] = np.stack([r[sel], g[sel], b[sel]], axis=1)
    return (rgb + (v - c)[:, None]).astype(np.float32)


def random_palette(rng: np.random.Generator, size: int = 5) -> np.ndarray:
    """(size, 3) palette: related and complementary hues at dark, mid and bright values."""
    h0 = rng.random()
    offsets = np.array([0.0, 0.5, rng.uniform(-0.15, 0.15), rng.uniform(0.2, 0.35), -0.25])
    hues = h0 + offsets[:size]
    values = np.array([0.62, 0.85, 0.14, 0.95, 0.42])[:size] + rng.uniform(-0.08, 0.05, size)
    sats = rng.uniform(0.35, 0.95, size)
    return hsv_to_rgb(hues, sats, np.clip(values, 0.05, 1.0))


def make_material(rng: np.random.Generator, role: str) -> Material:
    """Draw a material for a surface role: "wall", "floor", "ceiling", "object" or "poster"."""
    palette = random_palette(rng)
    seed = int(rng.integers(1, 2**31))
    if role == "floor":
        kinds = ["tiles", "discs", "glyphs"]
    elif role == "ceiling":
        kinds = ["blobs", "bigglyphs", "glyphs"]
    elif role == "poster":
        kinds = ["glyphs", "discs", "glyphs"]
    else:
        extra = rng.choice(["stripes", "marble", "wood", "discs"])
        kinds = ["blobs", str(extra), "glyphs"]
        if role == "wall":  # walls are often far away: corners at decimetre scale too
            kinds.insert(2, "bigglyphs")
    layers = tuple(_make_layer(rng, str(k), i, role) for i, k in enumerate(kinds))
    base = float(rng.uniform(0.5, 1.2)) if role != "object" else float(rng.uniform(0.25, 0.6))
    return Material(palette=palette, base_scale=base, layers=layers, seed=seed)


_SCALES = {
    "blobs": (0.06, 0.18),
    "glyphs": (0.012, 0.03),
    "bigglyphs": (0.07, 0.12),
    "discs": (0.05, 0.16),
    "stripes": (0.03, 0.12),
    "marble": (0.15, 0.5),
    "wood": (0.04, 0.1),
    "tiles": (0.25, 0.5),
}


# Glyph bits are coarser on big surfaces, which are mostly seen from farther away.
_GLYPH_SCALES = {
    "wall": (0.025, 0.06),
    "ceiling": (0.03, 0.06),
    "floor": (0.02, 0.04),
    "poster": (0.03, 0.06),
}


def _make_layer(rng: np.random.Generator, kind: str, index: int, role: str) -> Layer:
    lo, hi = _GLYPH_SCALES.get(role, _SCALES[kind]) if kind == "glyphs" else _SCALES[kind]
    scale = float(np.exp(rng.uniform(np.log(lo), np.log(hi))))
    # Dark glyphs on light ground or the reverse; other layers pick any non-base colour.
    colour = int(rng.choice([2, 3])) if "glyphs" in kind else int(rng.integers(1, 5))
    amount = {
        "blobs": rng.uniform(0.25, 0.45),
        "glyphs": rng.uniform(0.45, 0.8),
        "bigglyphs": rng.uniform(0.5, 0.75),
        "discs": rng.uniform(0.3, 0.6),
        "stripes": rng.uniform(0.0, np.pi),
        "marble": rng.uniform(0.5, 0.9),
        "wood": rng.uniform(0.5, 0.9),
        "tiles": rng.uniform(0.5, 0.8),
    }[kind]
    return Layer(kind, scale, colour, float(amount), int(rng.integers(1, 2**31)) + index)


def albedo(
    material: Material, u: np.ndarray, v: np.ndarray, footprint: np.ndarray, face: int = 0
) -> np.ndarray:
    """Surface colour of a material.

    Args:
        material: the material.
        u, v: (N,) float32 surface coordinates, metres.
        footprint: (N,) float32 pixel footprint on the surface, metres.
        face: distinguishes faces sharing a material (changes every seed).
    Returns:
        (N, 3) float32 RGB, about [0, 1.2] (clip when converting).
    """
    pal = material.palette
    fseed = noise.mix_seed(material.seed, face)
    p = noise.SurfacePoints(u, v, footprint)
    t = noise.smoothstep(0.38, 0.62, noise.fbm(p, fseed, material.base_scale, octaves=3))
    col = pal[0] + (pal[1] - pal[0]) * t[:, None]
    for layer in material.layers:
        _paint(col, layer, pal, p, noise.mix_seed(layer.seed, face))
    grain = noise.smoothstep(0.25, 0.75, noise.fbm(p, fseed + 5, 0.1, octaves=3))
    grain *= np.float32(0.6)
    grain += np.float32(0.62)
    col *= grain[:, None]
    return col


def _lerp(col: np.ndarray, target: np.ndarray, mask: np.ndarray | np.float32) -> None:
    """Paint ``target`` (3,) or (N, 3) over ``col`` (N, 3) in place with coverage ``mask``."""
    col += (target - col) * (mask[:, None] if isinstance(mask, np.ndarray) else mask)


def _paint(
    col: np.ndarray, layer: Layer, pal: np.ndarray, p: noise.SurfacePoints, seed: int
) -> None:
    """Paint one layer over ``col`` (N, 3) in place."""
    s, a = layer.scale, layer.amount
    u, v, fp = p.u, p.v, p.footprint
    target = pal[layer.colour]
    if layer.kind == "blobs":  # translucent, so the finer base detail shows through
        if s <= p.finest_visible:  # finer than every pixel here: only its mean remains
            _lerp(col, target, np.float32(0.8 * a))
        else:
            _lerp(col, target, noise.blobs(p, seed, s, a) * np.float32(0.8))
    elif layer.kind in ("glyphs", "bigglyphs"):
        if s <= p.finest_visible:
            _lerp(col, target, np.float32(noise.glyph_coverage(a)))
        else:
            _lerp(col, target, noise.glyphs(u, v, fp, seed, s, a))
    elif layer.kind == "discs":
        mask, pick = noise.discs(u, v, fp, seed, s, a)
        _lerp(col, pal[np.minimum((pick * len(pal)).astype(np.int64), len(pal) - 1)], mask)
    elif layer.kind == "stripes":
        ca, sa = np.float32(np.cos(a)), np.float32(np.sin(a))
        warp = noise.fbm(p, seed + 1, 6 * s, octaves=1) * np.float32(2 * s)
        stripes = noise.bands(ca * u + sa * v + warp, fp, s, duty=0.45)
        _lerp(col, target, stripes * noise.blobs(p, seed + 2, 12 * s, 0.5))
    elif layer.kind == "marble":
        turb = noise.fbm(p, seed, s, octaves=3)
        phase = np.float32(np.pi) * (u / np.float32(s) + np.float32(4.0) * turb)
        veins = np.float32(1.0) - np.abs(np.sin(phase))
        veins = noise.smoothstep(0.75, 0.98, veins) * noise.octave_weight(0.2 * s, fp)
        _lerp(col, target, veins * np.float32(a))
    elif layer.kind == "wood":
        warp = noise.fbm(p, seed, 0.4, octaves=2) * np.float32(12 * s)
        rings = np.hypot(u - np.float32(3.1), (v + np.float32(1.7)) * np.float32(0.2)) + warp
        wood = noise.bands(rings, fp, s, duty=0.35)
        _lerp(col, target, wood * noise.blobs(p, seed + 2, 0.6, 0.55) * np.float32(a))
    elif layer.kind == "tiles":
        iu = np.floor(u / np.float32(s)).astype(np.int32)
        iv = np.floor(v / np.float32(s)).astype(np.int32)
        pick = noise.hash2(iu, iv, seed)
        _lerp(col, pal[np.minimum((pick * len(pal)).astype(np.int64), len(pal) - 1)], np.float32(a))
        grout = np.maximum(
            noise.bands(u + np.float32(0.006), fp, s, 0.03),
            noise.bands(v + np.float32(0.006), fp, s, 0.03),
        )
        _lerp(col, pal[2], grout)
    else:
        raise ValueError(f"unknown layer kind {layer.kind!r}")
