"""Pose list files: TUM trajectories and COLMAP-style ``name qw qx qy qz tx ty tz`` lists.

- ``"tum"``: ``timestamp tx ty tz qx qy qz qw`` per line = ``world_from_cam`` (camera centre and
  camera-to-world rotation, quaternion x, y, z, w). Image names are kept in header comments
  ``# image <timestamp> <name>`` (TUM tools skip comments); timestamps default to the index.
- ``"colmap"``: ``name qw qx qy qz tx ty tz`` per line = ``cam_from_world`` (the format of
  COLMAP's images.txt pose columns and of the visual localization benchmark submissions).

Numbers are written with 17 significant digits, so files round-trip to float precision.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from locgui.core.errors import SceneFormatError
from locgui.core.pose import Rigid3
from locgui.io.conventions import (
    cam_from_world_to_tum,
    check_pose_values,
    tum_to_cam_from_world,
)

FORMATS = ("tum", "colmap")


def _num(x: float) -> str:
    return repr(float(x))


def _check_fmt(fmt: str) -> None:
    if fmt not in FORMATS:
        raise ValueError(f"pose format {fmt!r} is not one of {FORMATS}")


def write_poses(
    path: str | Path,
    names: Sequence[str],
    poses: Sequence[Rigid3],
    fmt: str = "tum",
    timestamps: Sequence[float] | None = None,
) -> Path:
    """Write ``cam_from_world`` poses of named images.

    Args:
        path: output text file.
        names: image names (no whitespace), one per pose.
        poses: ``cam_from_world`` per image.
        fmt: "tum" or "colmap" (see the module docstring).
        timestamps: TUM only; defaults to 0, 1, 2, ...
    """
    _check_fmt(fmt)
    if len(names) != len(poses):
        raise ValueError(f"{len(names)} names for {len(poses)} poses")
    bad = [n for n in names if not n or any(c.isspace() for c in n)]
    if bad:
        raise ValueError(f"image names must be non-empty without whitespace: {bad[0]!r}")
    lines: list[str] = []
    if fmt == "tum":
        stamps = list(range(len(names))) if timestamps is None else list(timestamps)
        lines.append("# locgui poses (TUM): timestamp tx ty tz qx qy qz qw = world_from_cam")
        lines += [f"# image {_num(t)} {n}" for t, n in zip(stamps, names, strict=True)]
        for t, pose in zip(stamps, poses, strict=True):
            centre, q = cam_from_world_to_tum(pose)
            lines.append(" ".join(_num(v) for v in (t, *centre, *q)))
    else:
        lines.append("# locgui poses: name qw qx qy qz tx ty tz = cam_from_world")
        for name, pose in zip(names, poses, strict=True):
            values = (*pose.quat(), *pose.translation)
            lines.append(" ".join([name, *(_num(v) for v in values)]))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def read_poses(path: str | Path, fmt: str = "tum") -> tuple[list[str], list[Rigid3]]:
    """Read a pose list written by ``write_poses`` (or any TUM / name-qvec-tvec file).

    Returns:
        (names, cam_from_world poses). For TUM files without ``# image`` comments the names
        are the timestamp strings.
    Raises:
        SceneFormatError: missing file or a malformed line (the message names the line).
    """
    _check_fmt(fmt)
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SceneFormatError(f"{path}: cannot read pose file ({exc})") from exc
    stamp_names: dict[float, str] = {}
    names: list[str] = []
    poses: list[Rigid3] = []
    for n, line in enumerate(text.splitlines(), 1):
        tokens = line.split()
        if not tokens:
            continue
        if tokens[0].startswith("#"):
            if fmt == "tum" and tokens[:2] == ["#", "image"] and len(tokens) == 4:
                try:
                    stamp_names[float(tokens[2])] = tokens[3]
                except ValueError as exc:
                    raise SceneFormatError(f"{path}: line {n}: non-numeric timestamp") from exc
            continue
        if len(tokens) != 8:
            raise SceneFormatError(f"{path}: line {n}: expected 8 values, got {len(tokens)}")
        first = tokens[0] if fmt == "colmap" else None
        try:
            values = np.array(tokens[1:] if fmt == "colmap" else tokens, dtype=np.float64)
        except ValueError as exc:
            raise SceneFormatError(f"{path}: line {n}: non-numeric pose value") from exc
        try:  # colmap: qw qx qy qz tx ty tz; TUM: stamp tx ty tz qx qy qz qw
            if fmt == "colmap":
                check_pose_values(values[4:], values[:4])
            else:
                check_pose_values(values[:4], values[4:])
        except ValueError as exc:
            raise SceneFormatError(f"{path}: line {n}: {exc}") from exc
        if fmt == "colmap":
            names.append(str(first))
            poses.append(Rigid3.from_quat(values[:4], values[4:]))
        else:
            names.append(stamp_names.get(float(values[0]), tokens[0]))
            poses.append(tum_to_cam_from_world(values[1:4], values[4:]))
    return names, poses
