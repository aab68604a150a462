"""VisualSFM ``.nvm`` (NVM_V3) models: cameras with poses and points with tracks.

Per camera: ``name focal qw qx qy qz Cx Cy Cz radial 0``: the quaternion is the world-to-camera
rotation (COLMAP's ``qvec``) and C is the camera centre, so ``t = -R C`` (as hloc's
``colmap_from_nvm.py`` and the Aachen/Cambridge documentation state). Per point:
``X Y Z R G B n`` then n measurements ``image_index feature_index x y`` with x, y relative to the
principal point (the image centre). Only the first model of a file is read.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from locgui.core.errors import SceneFormatError
from locgui.core.pose import Rigid3
from locgui.io.conventions import centre_quat_to_cam_from_world, check_pose_values


@dataclass
class NvmCamera:
    """One NVM camera: image name, focal length (pixels), pose, VisualSFM radial distortion."""

    name: str
    focal: float
    cam_from_world: Rigid3
    radial: float


@dataclass
class NvmModel:
    """The first model of an NVM file.

    Attributes:
        cameras: in file order (measurements refer to them by index).
        xyz: (N, 3) float64 point positions.
        rgb: (N, 3) uint8 colours.
        obs_point, obs_camera: (M,) int64 point row and camera index of each measurement.
        obs_xy: (M, 2) float64 measurement relative to the principal point, pixels.
        fixed_k: (fx, cx, fy, cy) when the header says ``FixedK``, else None.
    """

    cameras: list[NvmCamera] = field(default_factory=list)
    xyz: np.ndarray = field(default_factory=lambda: np.zeros((0, 3)))
    rgb: np.ndarray = field(default_factory=lambda: np.zeros((0, 3), np.uint8))
    obs_point: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    obs_camera: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    obs_xy: np.ndarray = field(default_factory=lambda: np.zeros((0, 2)))
    fixed_k: tuple[float, float, float, float] | None = None


def _lines(path: Path) -> Iterator[tuple[int, list[str]]]:
    with path.open("r", encoding="utf-8", errors="replace") as f:
        for n, line in enumerate(f, 1):
            tokens = line.split()
            if tokens:
                yield n, tokens


def _next(path: Path, lines: Iterator[tuple[int, list[str]]], what: str) -> tuple[int, list[str]]:
    try:
        return next(lines)
    except StopIteration:
        raise SceneFormatError(f"{path}: truncated NVM file (expected {what})") from None


def _count(path: Path, lines: Iterator[tuple[int, list[str]]], what: str) -> int:
    n, tokens = _next(path, lines, what)
    if len(tokens) != 1 or not tokens[0].isdigit():
        raise SceneFormatError(f"{path}: line {n}: expected the {what}, got {' '.join(tokens)!r}")
    return int(tokens[0])


def read_nvm(path: str | Path) -> NvmModel:
    """Parse the first model of an NVM_V3 file; raises ``SceneFormatError`` naming the line."""
    path = Path(path)
    lines = _lines(path)
    n, header = _next(path, lines, "the NVM_V3 header")
    if header[0] != "NVM_V3":  # NVM_V3_R9T (rotation matrices) is not supported
        raise SceneFormatError(f"{path}: line {n}: not an NVM_V3 file ({header[0]!r})")
    model = NvmModel()
    if len(header) >= 6 and header[1] == "FixedK":
        fx, cx, fy, cy = (float(v) for v in header[2:6])
        model.fixed_k = (fx, cx, fy, cy)
    try:
        for _ in range(_count(path, lines, "number of cameras")):
            n, t = _next(path, lines, "a camera line")
            check_pose_values(np.array(t[6:9], float), np.array(t[2:6], float))
            model.cameras.append(
                NvmCamera(
                    name=t[0],
                    focal=float(t[1]),
                    cam_from_world=centre_quat_to_cam_from_world(
                        np.array(t[6:9], float), np.array(t[2:6], float)
                    ),
                    radial=float(t[9]),
                )
            )
        _read_points(path, lines, model)
    except (ValueError, IndexError, OverflowError) as exc:  # OverflowError: colour not 0..255
        raise SceneFormatError(f"{path}: line {n}: malformed NVM record ({exc})") from exc
    return model


def _read_points(path: Path, lines: Iterator[tuple[int, list[str]]], model: NvmModel) -> None:
    try:
        num_points = _count(path, lines, "number of points")
    except SceneFormatError:
        return  # a model without its point section: cameras only
    if num_points > path.stat().st_size:  # each point takes a line: refuse before allocating
        raise SceneFormatError(f"{path}: truncated NVM file ({num_points} points announced)")
    xyz, rgb = np.zeros((num_points, 3)), np.zeros((num_points, 3), np.uint8)
    obs_point: list[int] = []
    obs_camera: list[int] = []
    obs_xy: list[tuple[float, float]] = []
    for row in range(num_points):
        n, t = _next(path, lines, "a point line")
        xyz[row] = [float(v) for v in t[0:3]]
        rgb[row] = [int(v) for v in t[3:6]]
        num_obs = int(t[6])
        if len(t) != 7 + 4 * num_obs:
            raise SceneFormatError(f"{path}: line {n}: point with {num_obs} measurements malformed")
        for j in range(num_obs):
            cam, _feature, x, y = t[7 + 4 * j : 11 + 4 * j]
            if not 0 <= int(cam) < len(model.cameras):
                raise SceneFormatError(f"{path}: line {n}: measurement of unknown camera {cam}")
            obs_point.append(row)
            obs_camera.append(int(cam))
            obs_xy.append((float(x), float(y)))
    model.xyz, model.rgb = xyz, rgb
    model.obs_point = np.asarray(obs_point, np.int64)
    model.obs_camera = np.asarray(obs_camera, np.int64)
    model.obs_xy = np.asarray(obs_xy, np.float64).reshape(-1, 2)
