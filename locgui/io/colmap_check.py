"""Structural checks of COLMAP model files, run before pycolmap sees them.

pycolmap trusts the counts stored in binary files: a truncated or corrupt ``points3D.bin``
makes it loop on garbage or abort the whole process, and a truncated ``cameras.bin`` loads
silently with invented parameters. These checks walk the record layout (no objects are built)
and raise ``SceneFormatError`` naming the file, so only well-formed files reach pycolmap.
Text files are parsed safely by pycolmap; there we only compare the record counts announced in
COLMAP's header comments with what was loaded (truncated text otherwise loads silently).
"""

from __future__ import annotations

import math
import re
import struct
from pathlib import Path

from locgui.core.errors import SceneFormatError

# COLMAP camera model id -> number of parameters (pycolmap 4.2; a test compares with pycolmap).
CAMERA_MODEL_NUM_PARAMS: dict[int, int] = {
    0: 3,  # SIMPLE_PINHOLE
    1: 4,  # PINHOLE
    2: 4,  # SIMPLE_RADIAL
    3: 5,  # RADIAL
    4: 8,  # OPENCV
    5: 8,  # OPENCV_FISHEYE
    6: 12,  # FULL_OPENCV
    7: 5,  # FOV
    8: 4,  # SIMPLE_RADIAL_FISHEYE
    9: 5,  # RADIAL_FISHEYE
    10: 12,  # THIN_PRISM_FISHEYE
    11: 16,  # RAD_TAN_THIN_PRISM_FISHEYE
    12: 4,  # SIMPLE_DIVISION
    13: 5,  # DIVISION
    14: 3,  # SIMPLE_FISHEYE
    15: 4,  # FISHEYE
    16: 6,  # EUCM
    17: 2,  # EQUIRECTANGULAR
}

_SENSOR_TYPES = {-1, 0, 1}  # INVALID, CAMERA, IMU


class _Reader:
    """Bounds-checked little-endian reads over one file's bytes."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.data = path.read_bytes()
        self.pos = 0

    def fail(self, what: str) -> SceneFormatError:
        return SceneFormatError(f"{self.path}: corrupt COLMAP binary file ({what})")

    def need(self, n: int, what: str) -> None:
        if n < 0 or self.pos + n > len(self.data):
            raise self.fail(f"truncated at byte {self.pos} while reading {what}")

    def unpack(self, fmt: str, what: str) -> tuple:
        size = struct.calcsize(fmt)
        self.need(size, what)
        values = struct.unpack_from(fmt, self.data, self.pos)
        self.pos += size
        return values

    def skip(self, count: int, item_size: int, what: str) -> None:
        self.need(count * item_size, what)
        self.pos += count * item_size

    def count(self, what: str, min_record: int) -> int:
        """A u64 record count, refused if the rest of the file cannot hold that many."""
        (n,) = self.unpack("<Q", what)
        if n * min_record > len(self.data) - self.pos:
            raise self.fail(f"{what} = {n} does not fit in the file")
        return int(n)

    def end(self) -> None:
        if self.pos != len(self.data):
            raise self.fail(f"{len(self.data) - self.pos} unexpected bytes after the last record")


def _check_cameras(path: Path) -> None:
    r = _Reader(path)
    for _ in range(r.count("number of cameras", 24)):
        _cam_id, model_id, width, height = r.unpack("<IiQQ", "camera header")
        if model_id not in CAMERA_MODEL_NUM_PARAMS:
            raise r.fail(f"unknown camera model id {model_id}")
        if not (0 < width < 1 << 20 and 0 < height < 1 << 20):
            raise r.fail(f"implausible image size {width}x{height}")
        r.skip(CAMERA_MODEL_NUM_PARAMS[model_id], 8, "camera parameters")
    r.end()


def _check_images(path: Path) -> None:
    r = _Reader(path)
    for _ in range(r.count("number of images", 64)):
        _image_id, *qvec, _tx, _ty, _tz, _camera_id = r.unpack("<I7dI", "image header")
        if not 1e-12 < math.sqrt(sum(q * q for q in qvec)) < 1e12:  # inf and nan fail too
            raise r.fail(f"image {_image_id}: quaternion is zero, out of range or not finite")
        end = r.data.find(b"\0", r.pos)
        if end < 0:
            raise r.fail("image name without terminating zero")
        try:
            r.data[r.pos : end].decode("utf-8")
        except UnicodeDecodeError as exc:
            raise r.fail("image name is not UTF-8") from exc
        r.pos = end + 1
        (n_points,) = r.unpack("<Q", "number of 2D points")
        r.skip(n_points, 24, "2D points")
    r.end()


def _check_points(path: Path) -> None:
    r = _Reader(path)
    for _ in range(r.count("number of 3D points", 51)):
        r.skip(1, 8 + 24 + 3 + 8, "3D point")
        (n_track,) = r.unpack("<Q", "track length")
        r.skip(n_track, 8, "track")
    r.end()


def _check_rigs(path: Path) -> None:
    r = _Reader(path)
    for _ in range(r.count("number of rigs", 8)):
        _rig_id, n_sensors = r.unpack("<II", "rig header")
        if n_sensors > 0:
            (sensor_type, _sid) = r.unpack("<iI", "reference sensor")
            if sensor_type not in _SENSOR_TYPES:
                raise r.fail(f"unknown sensor type {sensor_type}")
        for _ in range(max(n_sensors - 1, 0)):
            sensor_type, _sid, has_pose = r.unpack("<iIB", "sensor")
            if sensor_type not in _SENSOR_TYPES:
                raise r.fail(f"unknown sensor type {sensor_type}")
            if has_pose:
                r.skip(7, 8, "sensor_from_rig")
    r.end()


def _check_frames(path: Path) -> None:
    r = _Reader(path)
    for _ in range(r.count("number of frames", 68)):
        r.skip(1, 8 + 7 * 8, "frame header")
        (n_data,) = r.unpack("<I", "number of data ids")
        for _ in range(n_data):
            (sensor_type, _sid, _did) = r.unpack("<iIQ", "data id")
            if sensor_type not in _SENSOR_TYPES:
                raise r.fail(f"unknown sensor type {sensor_type}")
    r.end()


_BINARY_CHECKS = {
    "cameras.bin": _check_cameras,
    "images.bin": _check_images,
    "points3D.bin": _check_points,
    "rigs.bin": _check_rigs,
    "frames.bin": _check_frames,
}


def check_binary_model(folder: Path) -> None:
    """Raise ``SceneFormatError`` unless every binary file in ``folder`` is well formed."""
    for name, check in _BINARY_CHECKS.items():
        path = folder / name
        if path.exists():
            check(path)
    if (folder / "rigs.bin").exists() != (folder / "frames.bin").exists():
        raise SceneFormatError(f"{folder}: COLMAP model has only one of rigs.bin / frames.bin")


_COUNT_PATTERNS = {
    "cameras.txt": re.compile(r"^# Number of cameras: (\d+)", re.M),
    "images.txt": re.compile(r"^# Number of images: (\d+)", re.M),
    "points3D.txt": re.compile(r"^# Number of points: (\d+)", re.M),
}


def announced_text_counts(folder: Path) -> dict[str, int]:
    """Record counts that COLMAP writes in the header comments of its text files.

    Returns ``{file name: count}`` for the files that announce one (hand-written files may not).
    """
    counts: dict[str, int] = {}
    for name, pattern in _COUNT_PATTERNS.items():
        path = folder / name
        if not path.exists():
            continue
        with path.open("rb") as f:
            head = f.read(4096).decode("utf-8", errors="replace")
        match = pattern.search(head)
        if match:
            counts[name] = int(match.group(1))
    return counts


def check_text_file(path: Path) -> None:
    """Refuse a text model file that is not UTF-8 text (binary junk under a .txt name)."""
    with path.open("rb") as f:
        head = f.read(65536)
    if b"\0" in head:
        raise SceneFormatError(f"{path}: not a COLMAP text file (contains binary data)")


def check_text_poses(path: Path) -> None:
    """Refuse an ``images.txt`` whose quaternions are zero or not finite: pycolmap would read
    a zero quaternion as a valid rotation. Lines that do not parse are left to pycolmap."""
    text = path.read_text(encoding="utf-8", errors="replace")
    lines = iter(enumerate(text.splitlines(), 1))
    for n, line in lines:
        tokens = line.split()
        if not tokens or tokens[0].startswith("#"):
            continue
        next(lines, None)  # the POINTS2D line that follows each image line (may be empty)
        try:
            qvec = [float(t) for t in tokens[1:5]]
        except ValueError:
            continue
        if len(qvec) == 4 and not 1e-12 < math.sqrt(sum(q * q for q in qvec)) < 1e12:
            raise SceneFormatError(
                f"{path}: line {n}: quaternion is zero, out of range or not finite"
            )
