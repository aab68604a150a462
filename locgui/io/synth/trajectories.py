"""Camera presets and trajectories through the synthetic room, with exact poses.

Cameras travel in the free band around the central table (``layout.FREE_ELLIPSE``), looking
out at the walls and the objects along them, or in across the room. Mapping views come in
groups per position (good baselines between groups, wide coverage within one); query views
sit between and off the mapping positions, with their own heights, headings and roll.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from locgui.core.camera import Camera
from locgui.core.errors import LocguiError
from locgui.core.pose import Rigid3, axis_angle_to_rotmat, look_at
from locgui.io.synth.layout import FREE_ELLIPSE


@dataclass(frozen=True)
class Preset:
    """Size of a generated scene.

    Attributes:
        name: preset name.
        width, height: image size in pixels.
        fov_deg: horizontal field of view, degrees.
        map_positions: camera positions around the room for mapping images.
        map_views: view kinds taken at every mapping position (see ``_heading``).
        queries: number of query images.
        query_views: view kinds queries choose from.
        points: about how many 3D points the sparse model gets.
    """

    name: str
    width: int
    height: int
    fov_deg: float
    map_positions: int
    map_views: tuple[str, ...]
    queries: int
    query_views: tuple[str, ...]
    points: int

    def camera(self) -> Camera:
        """PINHOLE intrinsics; the principal point is off-centre on purpose (catches
        pixel-convention slips)."""
        f = 0.5 * self.width / np.tan(np.deg2rad(self.fov_deg) / 2)
        s = self.width / 640
        cx, cy = self.width / 2 + 1.25 * s, self.height / 2 - 0.75 * s
        return Camera.pinhole(round(f, 3), round(f, 3), cx, cy, self.width, self.height)

    @property
    def num_map(self) -> int:
        return self.map_positions * len(self.map_views)


PRESETS: dict[str, Preset] = {
    "tiny": Preset("tiny", 320, 240, 65.0, 8, ("in_left", "in_right"), 4, ("in",), 1500),
    "demo": Preset(
        "demo",
        640,
        480,
        65.0,
        24,
        ("out_left", "out_right", "in"),
        20,
        ("out_left", "out_right", "out", "in", "in_left", "in_right"),
        5000,
    ),
}


def get_preset(name: str) -> Preset:
    """The preset called ``name``; raises LocguiError naming the choices."""
    try:
        return PRESETS[name]
    except KeyError:
        raise LocguiError(
            f"unknown synthetic preset {name!r} (choose from {', '.join(PRESETS)})"
        ) from None


# View kind -> heading offset (degrees) from the outward or inward direction.
_VIEWS = {
    "out": ("out", 0.0),
    "out_left": ("out", 22.0),
    "out_right": ("out", -22.0),
    "in": ("in", 0.0),
    "in_left": ("in", 28.0),
    "in_right": ("in", -28.0),
}


def _ellipse_point(angle: float, radius: float) -> np.ndarray:
    a, b = FREE_ELLIPSE
    return np.array([a * radius * np.cos(angle), b * radius * np.sin(angle)])


def _outward(angle: float) -> float:
    """Heading (radians, from +x) of the ellipse's outward normal at ``angle``."""
    a, b = FREE_ELLIPSE
    return float(np.arctan2(np.sin(angle) / b, np.cos(angle) / a))


def camera_pose(eye: np.ndarray, heading: float, pitch: float, roll: float = 0.0) -> Rigid3:
    """``cam_from_world`` of a camera at ``eye`` turned to ``heading`` (radians about z from
    +x), ``pitch`` (radians, positive up) and ``roll`` (radians about its optical axis)."""
    direction = np.array(
        [np.cos(heading) * np.cos(pitch), np.sin(heading) * np.cos(pitch), np.sin(pitch)]
    )
    pose = look_at(eye, eye + direction)
    if roll == 0.0:
        return pose
    return Rigid3(axis_angle_to_rotmat(np.array([0.0, 0.0, roll])), np.zeros(3)) * pose


def _view_pose(
    rng: np.random.Generator,
    eye: np.ndarray,
    angle: float,
    kind: str,
    jitter_deg: float,
    roll_deg: float,
) -> Rigid3:
    side, offset = _VIEWS[kind]
    if side == "out":
        heading = _outward(angle) + np.deg2rad(offset + rng.uniform(-jitter_deg, jitter_deg))
        pitch = np.deg2rad(rng.uniform(-28.0, 8.0))
    else:
        # Look across the room at a point near the table, then turn by the view's offset.
        target = np.append(rng.uniform(-0.6, 0.6, 2), rng.uniform(0.7, 1.3))
        to_target = target - eye
        heading = float(np.arctan2(to_target[1], to_target[0]))
        heading += np.deg2rad(offset + rng.uniform(-jitter_deg, jitter_deg))
        pitch = float(np.arctan2(to_target[2], np.hypot(to_target[0], to_target[1])))
        pitch += np.deg2rad(rng.uniform(-6.0, 10.0))
    roll = np.deg2rad(rng.uniform(-roll_deg, roll_deg))
    return camera_pose(eye, heading, pitch, roll)


def mapping_poses(preset: Preset, seed: int) -> list[Rigid3]:
    """``cam_from_world`` of the mapping images: every view kind at every position."""
    rng = np.random.default_rng([seed, 0x3A9])
    n = preset.map_positions
    poses = []
    for k in range(n):
        angle = 2 * np.pi * (k + rng.uniform(-0.15, 0.15)) / n
        xy = _ellipse_point(angle, rng.uniform(0.92, 1.04))
        eye = np.append(xy, 1.0 + 0.9 * ((k * 0.618034) % 1.0))
        for kind in preset.map_views:
            poses.append(_view_pose(rng, eye, angle, kind, jitter_deg=6.0, roll_deg=3.0))
    return poses


def query_poses(preset: Preset, seed: int) -> list[Rigid3]:
    """``cam_from_world`` of the query images: positions between and off the mapping ones."""
    rng = np.random.default_rng([seed, 0x9E7])
    n = preset.queries
    poses = []
    for k in range(n):
        angle = 2 * np.pi * (k + 0.5 + rng.uniform(-0.2, 0.2)) / n
        xy = _ellipse_point(angle, rng.uniform(0.8, 1.05))
        eye = np.append(xy, rng.uniform(0.9, 2.0))
        kind = str(rng.choice(preset.query_views))
        poses.append(_view_pose(rng, eye, angle, kind, jitter_deg=15.0, roll_deg=8.0))
    return poses


def video_pose(time_s: float, seed: int) -> Rigid3:
    """``cam_from_world`` at ``time_s`` seconds on a smooth hand-held-like loop (one lap
    every 60 s) that looks inward and outward in turn."""
    phase = (seed % 97) * 0.37
    angle = 2 * np.pi * time_s / 60.0 + phase
    radius = 0.97 + 0.04 * np.sin(2 * np.pi * time_s / 9.0 + phase)
    eye = np.append(_ellipse_point(angle, radius), 1.45 + 0.3 * np.sin(2 * np.pi * time_s / 13.0))
    sweep = np.deg2rad(100.0) * np.sin(2 * np.pi * time_s / 21.0 + phase)
    heading = _outward(angle) + np.pi / 2 + sweep  # tangent, swinging out and in
    pitch = np.deg2rad(-12.0 + 8.0 * np.sin(2 * np.pi * time_s / 11.0))
    roll = np.deg2rad(3.0 * np.sin(2 * np.pi * time_s / 7.0))
    return camera_pose(eye, heading, pitch, roll)
