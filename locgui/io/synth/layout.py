"""Seeded layout of the synthetic room: walls, a table with things on it, objects along the
walls and posters on them, each with its own material.

World frame: metres, z up, floor at z = 0, room centred on the origin. Cameras move in the
free band between the central table and the objects along the walls (see ``FREE_ELLIPSE``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from locgui.io.synth.geometry import Box, Cylinder, Primitive, Room, Sphere
from locgui.io.synth.textures import Material, make_material

ROOM_HALF = (4.0, 3.0)  # half extents in x and y, metres
ROOM_HEIGHT = 3.0
# Semi-axes (x, y) of the ellipse cameras travel on; nothing is placed within 0.45 m of it.
FREE_ELLIPSE = (2.3, 1.5)


@dataclass(frozen=True)
class Placed:
    """A primitive and the index of its material in ``Layout.materials``."""

    shape: Primitive
    material: int


@dataclass(frozen=True)
class Layout:
    """Everything the renderer needs.

    Attributes:
        room: the walls.
        wall_materials: 6 material indices, one per room face (see ``Room``).
        objects: primitives inside the room.
        materials: all materials.
    """

    room: Room
    wall_materials: tuple[int, ...]
    objects: tuple[Placed, ...]
    materials: tuple[Material, ...]


def build_layout(seed: int) -> Layout:
    """The room for ``seed`` (same seed, same room)."""
    rng = np.random.default_rng([seed, 0x5EED])
    hx, hy = ROOM_HALF
    room = Room(np.array([-hx, -hy, 0.0]), np.array([hx, hy, ROOM_HEIGHT]))
    materials: list[Material] = []
    for role in ("wall", "wall", "wall", "wall", "floor", "ceiling"):
        materials.append(make_material(rng, role))
    wall_materials = tuple(range(6))
    objects: list[Placed] = []
    _add_table(rng, objects, materials)
    _add_wall_objects(rng, objects, materials, count=9)
    _add_posters(rng, objects, materials, count=6)
    return Layout(room, wall_materials, tuple(objects), tuple(materials))


def _new_material(rng: np.random.Generator, materials: list[Material], role: str) -> int:
    materials.append(make_material(rng, role))
    return len(materials) - 1


def _add_table(rng: np.random.Generator, objects: list[Placed], materials: list[Material]) -> None:
    wood = _new_material(rng, materials, "object")
    cx, cy = rng.uniform(-0.2, 0.2, 2)
    yaw = float(rng.uniform(-0.3, 0.3))
    top_z, half = 0.74, np.array([0.65, 0.42, 0.03])
    top = Box(np.array([cx, cy, top_z]), half, yaw)
    objects.append(Placed(top, wood))
    R = top.rotation
    for sx in (-1, 1):
        for sy in (-1, 1):
            offset = R @ np.array([sx * (half[0] - 0.06), sy * (half[1] - 0.06), 0.0])
            leg_c = np.array([cx, cy, 0.0]) + offset + [0, 0, (top_z - half[2]) / 2]
            leg = Box(leg_c, np.array([0.03, 0.03, (top_z - half[2]) / 2]), yaw)
            objects.append(Placed(leg, wood))
    surface_z = top_z + half[2]
    r = float(rng.uniform(0.12, 0.18))
    pos = R @ np.array([0.3, 0.12, 0.0])
    objects.append(
        Placed(
            Sphere(np.array([cx + pos[0], cy + pos[1], surface_z + r]), r),
            _new_material(rng, materials, "object"),
        )
    )
    size = rng.uniform(0.1, 0.16, 3)
    pos = R @ np.array([-0.3, -0.1, 0.0])
    box = Box(np.array([cx + pos[0], cy + pos[1], surface_z + size[2]]), size, yaw + 0.5)
    objects.append(Placed(box, _new_material(rng, materials, "object")))
    pos = R @ np.array([0.05, -0.22, 0.0])
    cyl = Cylinder(np.array([cx + pos[0], cy + pos[1]]), 0.08, surface_z, surface_z + 0.3)
    objects.append(Placed(cyl, _new_material(rng, materials, "object")))


def _wall_spot(rng: np.random.Generator, reach: float) -> tuple[float, float, float]:
    """(x, y, yaw) of an object of half-size ``reach`` standing 0.05-0.4 m off a wall."""
    hx, hy = ROOM_HALF
    wall = int(rng.integers(0, 4))
    gap = rng.uniform(0.05, 0.4) + reach
    if wall < 2:
        along = rng.uniform(-hy + reach + 0.1, hy - reach - 0.1)
        x = (hx - gap) * (1 if wall else -1)
        return x, along, float(rng.uniform(-0.4, 0.4))
    along = rng.uniform(-hx + reach + 0.1, hx - reach - 0.1)
    y = (hy - gap) * (1 if wall == 3 else -1)
    return along, y, float(rng.uniform(-0.4, 0.4))


def _clear_of_path(x: float, y: float, reach: float) -> bool:
    a, b = FREE_ELLIPSE
    # Compare against an ellipse grown by reach + margin (conservative for small objects).
    return (x / (a + reach + 0.45)) ** 2 + (y / (b + reach + 0.45)) ** 2 > 1.0


def _add_wall_objects(
    rng: np.random.Generator, objects: list[Placed], materials: list[Material], count: int
) -> None:
    placed: list[tuple[float, float, float]] = []
    attempts = 0
    while len(placed) < count and attempts < 500:
        attempts += 1
        kind = ("box", "box", "cylinder", "sphere")[len(placed) % 4]
        reach = float(rng.uniform(0.2, 0.45))
        x, y, yaw = _wall_spot(rng, reach)
        if not _clear_of_path(x, y, reach):
            continue
        if any(np.hypot(x - px, y - py) < reach + pr + 0.1 for px, py, pr in placed):
            continue
        placed.append((x, y, reach))
        mat = _new_material(rng, materials, "object")
        shape: Primitive
        if kind == "box":
            half = np.array([reach * 0.7, reach * 0.7, rng.uniform(0.2, 0.7)])
            shape = Box(np.array([x, y, half[2]]), half, yaw)
        elif kind == "cylinder":
            shape = Cylinder(np.array([x, y]), reach * 0.9, 0.0, float(rng.uniform(0.5, 1.3)))
        else:
            shape = Sphere(np.array([x, y, reach]), reach)
        objects.append(Placed(shape, mat))


def _add_posters(
    rng: np.random.Generator, objects: list[Placed], materials: list[Material], count: int
) -> None:
    hx, hy = ROOM_HALF
    for i in range(count):
        wall = i % 4
        w, h, depth = rng.uniform(0.25, 0.6), rng.uniform(0.2, 0.45), 0.015
        z = rng.uniform(1.3, 2.3)
        if wall < 2:
            along = rng.uniform(-hy + w + 0.1, hy - w - 0.1)
            x = (hx - depth) * (1 if wall else -1)
            half = np.array([depth, w, h])
            center = np.array([x, along, z])
        else:
            along = rng.uniform(-hx + w + 0.1, hx - w - 0.1)
            y = (hy - depth) * (1 if wall == 3 else -1)
            half = np.array([w, depth, h])
            center = np.array([along, y, z])
        objects.append(Placed(Box(center, half), _new_material(rng, materials, "poster")))
