"""The colour of every meaning the 3D view draws, and the point-cloud colourings (numpy only).

One colour, one meaning: ``MEANINGS`` holds the fixed colours (ground truth, selection, ...)
and ``METHOD_PALETTE`` one colour per localization method; no two of them are closer than
``MIN_DELTA_E`` (CIE76 in L*a*b*). A method's colour says *who* (its frustums, error segments,
trajectory, inliers); the shape says *what* (frustum, segment, line, dot).

The point cloud is coloured by one of ``POINT_COLOURINGS``: "neutral" (one grey, the default:
it clashes with no legend colour), "image" (the map's RGB), "error" (mean reprojection
error) or "track" (track length). Error and track length use a grey ramp, dark to bright, so
the cloud never borrows a hue that means something else.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from locgui.core.scene import SceneMap

MEANINGS: dict[str, str] = {
    "points": "#b0b0b0",  # map points, neutral colouring
    "database": "#5f7fa8",  # database (mapping) cameras
    "ground_truth": "#3ddc84",  # ground-truth query cameras and the live run's GT path
    "selection": "#ffe14d",  # the selected map point and its ray from the estimate
    "observations": "#4dd0ff",  # links from the selected point to the cameras observing it
    "selected_image": "#ffffff",  # the selected database camera
    "live": "#e040fb",  # the live run: its camera and trajectory
    "grid": "#40464f",  # the floor grid
}
"""Fixed meanings of the 3D view -> '#rrggbb'."""

METHOD_PALETTE: tuple[str, ...] = (
    "#ff9f1c",  # orange (sfm)
    "#ff5ca8",  # pink (points)
    "#3f6bff",  # blue (rpr)
    "#c28cff",  # violet (scr)
    "#c2855a",  # brown (nerfmatch)
    "#ff4040",  # red (apr)
    "#9de05a",  # lime
    "#1fa3a3",  # teal
)
"""One colour per method, in registry order (cycled beyond eight methods)."""

MIN_DELTA_E = 25.0
"""Smallest CIE76 distance between any two colours of ``MEANINGS`` and ``METHOD_PALETTE``."""

POINT_COLOURINGS: dict[str, str] = {
    "neutral": "grey",
    "image": "image colour",
    "error": "reproj. error",
    "track": "track length",
}
"""Point-cloud colourings -> their menu titles."""

RAMP_LOW, RAMP_HIGH = "#4b515b", "#f2f2f2"
"""The ramp of "error" and "track": dark (low) to bright (high)."""
UNKNOWN = "#6e3b3b"
"""Points whose value is unknown (no observation to measure, no stored error)."""


def hex_rgb(color: str) -> np.ndarray:
    """'#rrggbb' -> (3,) uint8."""
    return np.array([int(color[i : i + 2], 16) for i in (1, 3, 5)], np.uint8)


def lab(color: str) -> np.ndarray:
    """'#rrggbb' (sRGB, D65) -> (3,) CIE L*a*b*."""
    c = hex_rgb(color) / 255.0
    c = np.where(c > 0.04045, ((c + 0.055) / 1.055) ** 2.4, c / 12.92)
    m = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]])
    xyz = m @ c / np.array([0.95047, 1.0, 1.08883])
    f = np.where(xyz > 0.008856, np.cbrt(xyz), 7.787 * xyz + 16 / 116)
    return np.array([116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])])


def delta_e(a: str, b: str) -> float:
    """CIE76 colour difference of two '#rrggbb' colours (about 2.3: just noticeable)."""
    return float(np.linalg.norm(lab(a) - lab(b)))


def closest_pair() -> tuple[str, str, float]:
    """The two nearest colours among meanings and methods (names, distance), for checks."""
    named = {**MEANINGS, **{f"method {i}": c for i, c in enumerate(METHOD_PALETTE)}}
    pairs = ((a, b, delta_e(named[a], named[b])) for a, b in itertools.combinations(named, 2))
    return min(pairs, key=lambda t: t[2])


def ramp(t: np.ndarray) -> np.ndarray:
    """(N,) values in [0, 1] (NaN: unknown) -> (N, 3) uint8 on the dark-to-bright ramp."""
    t = np.asarray(t, float)
    lo, hi = hex_rgb(RAMP_LOW).astype(float), hex_rgb(RAMP_HIGH).astype(float)
    known = np.clip(np.nan_to_num(t, nan=0.0), 0.0, 1.0)
    rgb = np.rint(lo + known[:, None] * (hi - lo)).astype(np.uint8)
    rgb[np.isnan(t)] = hex_rgb(UNKNOWN)
    return rgb


@dataclass(frozen=True)
class PointColours:
    """A colouring of the point cloud.

    Attributes:
        rgb: (N, 3) uint8 colour per point (the scene's point order).
        mode: the colouring used ("neutral", "image", "error" or "track").
        low, high: the values at the ramp's dark and bright ends ("error": pixels, "track":
            observations); NaN for "neutral" and "image".
        unknown: how many points have no value (drawn ``UNKNOWN``).
    """

    rgb: np.ndarray
    mode: str
    low: float = float("nan")
    high: float = float("nan")
    unknown: int = 0


def point_colours(scene: SceneMap, mode: str, errors: np.ndarray | None = None) -> PointColours:
    """Colours of the scene's points under ``mode`` (unknown modes fall back to "neutral").

    ``errors``: (N,) mean reprojection errors in pixels for "error" (default
    ``reprojection_errors(scene)``; pass a cached copy). The ramp spans 0 to the 95th
    percentile for errors, the 5th to 95th percentile for track lengths; values beyond are
    clipped to the ends.
    """
    pts = scene.points
    n = len(pts)
    if mode == "image":
        return PointColours(np.asarray(pts.rgb, np.uint8).reshape(n, 3), mode)
    if mode in ("error", "track"):
        if mode == "error":
            values = reprojection_errors(scene) if errors is None else np.asarray(errors, float)
        else:
            values = pts.track_lengths().astype(float)
        known = values[np.isfinite(values)]
        if len(known):
            low = 0.0 if mode == "error" else float(np.percentile(known, 5))
            high = float(np.percentile(known, 95))
            high = high if high > low else low + 1.0
            t = (values - low) / (high - low)
            return PointColours(ramp(t), mode, low, high, int(n - len(known)))
        return PointColours(ramp(np.full(n, np.nan)), mode, unknown=n)
    rgb = np.broadcast_to(hex_rgb(MEANINGS["points"]), (n, 3)).copy()
    return PointColours(rgb, "neutral")


def reprojection_errors(scene: SceneMap) -> np.ndarray:
    """(N,) mean reprojection error of each map point in pixels, in the scene's point order.

    Measured from the scene's observations: each track entry's keypoint against the point
    projected with its image's pose and camera. Points without a measurable observation
    (no posed image, no keypoints) keep the stored ``points.error`` (NaN where unknown).
    """
    pts = scene.points
    n = len(pts)
    total, count = np.zeros(n), np.zeros(n)
    for image_id in np.unique(pts.track_image):
        im = scene.images.get(int(image_id))
        if im is None or im.cam_from_world is None or im.keypoints is None:
            continue
        sel = np.flatnonzero(pts.track_image == image_id)
        kp_index = pts.track_keypoint[sel]
        ok = (kp_index >= 0) & (kp_index < len(im.keypoints))
        sel, kp_index = sel[ok], kp_index[ok]
        rows = pts.track_point[sel]
        uv = scene.camera_of(int(image_id)).project(im.cam_from_world.apply(pts.xyz[rows]))
        err = np.linalg.norm(uv - im.keypoints[kp_index], axis=1)
        good = np.isfinite(err)
        np.add.at(total, rows[good], err[good])
        np.add.at(count, rows[good], 1)
    stored = np.asarray(pts.error, float) if len(pts.error) == n else np.full(n, np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, total / np.maximum(count, 1), stored)
