"""The text files of the kapture format (version 1.1): comma-separated rows, ``#`` comments.

Every kapture text file starts with ``# kapture format: 1.1`` and a comment naming its columns;
spaces around commas are ignored and values never contain a comma. Poses are stored as
``qw, qx, qy, qz, tx, ty, tz`` of the transform *from world to device* (``cam_from_world``, as
in COLMAP). Numbers are written with ``repr`` so that files round-trip to float precision.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from locgui.core.errors import SceneFormatError
from locgui.core.pose import Rigid3
from locgui.io.conventions import check_pose_values

VERSION = "1.1"
READ_VERSIONS = ("1.0", "1.1")
HEADER_PREFIX = "# kapture format:"
MAX_FILE_BYTES = 1 << 31


def read_rows(path: Path, min_fields: int) -> list[tuple[int, list[str]]]:
    """(line number, fields) of every data row of a kapture text file.

    Raises:
        SceneFormatError: unreadable, not UTF-8, a row with fewer than ``min_fields`` fields,
            or a kapture version other than 1.0 / 1.1 in the header.
    """
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise SceneFormatError(f"{path}: too large for a kapture text file")
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise SceneFormatError(f"{path}: not a kapture text file (not UTF-8)") from exc
    except OSError as exc:
        raise SceneFormatError(f"{path}: unreadable ({exc.strerror or exc})") from exc
    lines = text.splitlines()
    if lines and lines[0].startswith(HEADER_PREFIX):
        version = lines[0][len(HEADER_PREFIX) :].strip()
        if version not in READ_VERSIONS:
            raise SceneFormatError(
                f"{path}: kapture format {version!r} is not supported "
                f"(locgui reads {', '.join(READ_VERSIONS)})"
            )
    rows = []
    for number, line in enumerate(lines, 1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        fields = [f.strip() for f in stripped.split(",")]
        if len(fields) < min_fields:
            raise SceneFormatError(
                f"{path}:{number}: expected at least {min_fields} comma-separated values, "
                f"found {len(fields)}"
            )
        rows.append((number, fields))
    return rows


def parse_float(value: str, where: str) -> float:
    """A finite float, or SceneFormatError naming ``where`` (``file:line``)."""
    try:
        x = float(value)
    except ValueError:
        raise SceneFormatError(f"{where}: {value!r} is not a number") from None
    if not math.isfinite(x) or abs(x) >= 1e150:
        raise SceneFormatError(f"{where}: {value!r} is not a finite number in range")
    return x


def parse_int(value: str, where: str, low: int = 0, high: int = 2**63 - 1) -> int:
    """An integer in ``[low, high]``, or SceneFormatError naming ``where``."""
    try:
        n = int(value)
    except ValueError:
        raise SceneFormatError(f"{where}: {value!r} is not an integer") from None
    if not low <= n <= high:
        raise SceneFormatError(f"{where}: {n} is out of range [{low}, {high}]")
    return n


def parse_pose(fields: Sequence[str], where: str) -> Rigid3:
    """``qw, qx, qy, qz, tx, ty, tz`` (world to device) -> ``Rigid3`` device_from_world."""
    if len(fields) < 7:
        raise SceneFormatError(f"{where}: a pose needs qw, qx, qy, qz, tx, ty, tz")
    values = [parse_float(v, where) for v in fields[:7]]
    quat, translation = np.array(values[:4]), np.array(values[4:])
    try:
        check_pose_values(translation, quat)
    except ValueError as exc:
        raise SceneFormatError(f"{where}: {exc}") from exc
    return Rigid3.from_quat(quat, translation)


def read_trajectories(path: Path) -> dict[tuple[int, str], Rigid3]:
    """``sensors/trajectories.txt``: (timestamp, device id) -> device_from_world."""
    poses: dict[tuple[int, str], Rigid3] = {}
    for number, fields in read_rows(path, 9):
        where = f"{path}:{number}"
        key = (parse_int(fields[0], where), fields[1])
        if key in poses:
            raise SceneFormatError(f"{where}: a second pose for {key[1]} at timestamp {key[0]}")
        poses[key] = parse_pose(fields[2:9], where)
    return poses


# ---------------------------------------------------------------------------------- writing
def num(x: float) -> str:
    """A float written so that it reads back exactly."""
    return repr(float(x))


def pose_fields(pose: Rigid3) -> list[str]:
    """``qw, qx, qy, qz, tx, ty, tz`` of a ``device_from_world`` pose."""
    return [num(v) for v in (*pose.quat(), *pose.translation)]


def check_value(value: str, what: str) -> str:
    """A value kapture can store: no comma, no line break, no surrounding spaces, not empty."""
    if not value or "," in value or value != value.strip() or any(c in value for c in "\r\n"):
        raise SceneFormatError(
            f"{what} {value!r} cannot be written to kapture (empty, or holds a comma, a line "
            "break or surrounding spaces)"
        )
    return value


def write_rows(path: Path, columns: str, rows: Iterable[Sequence[str]]) -> Path:
    """Write a kapture text file: version header, column comment, one row per line."""
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [f"{HEADER_PREFIX} {VERSION}", f"# {columns}"]
    lines += [", ".join(row) for row in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
