"""kapture folders (text layout, format 1.0 / 1.1) -> ``SceneMap``.

Read::

    sensors/sensors.txt          cameras: SIMPLE_PINHOLE, PINHOLE, SIMPLE_RADIAL, RADIAL, OPENCV
                                 (UNKNOWN_CAMERA: intrinsics guessed from a field of view)
    sensors/records_camera.txt   timestamp, camera id, image path under sensors/records_data/
    sensors/trajectories.txt     poses (world to device) of cameras or rigs (optional)
    sensors/rigs.txt             each sensor's pose in its rig, rig to sensor (optional)
    reconstruction/points3d.txt  X, Y, Z[, R, G, B] (optional)
    reconstruction/observations.txt + keypoints/<type>/  tracks (optional, ``kapture_features``)

Camera ids come from sensor ids such as ``cam_00004`` or ``4`` when every camera has one
(what ``write_kapture`` writes), else 1, 2, ... in file order; image ids are the record
timestamps when those are unique and positive, else 1, 2, ... Point ids are the line index in
``points3d.txt`` (as kapture's observations refer to them). Poses are ``cam_from_world`` as
kapture stores them. Keypoints and principal points are copied unchanged: kapture, like COLMAP,
puts the image's upper-left corner at (0, 0).
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

import numpy as np

from locgui.core.camera import MODEL_PARAMS, Camera
from locgui.core.errors import SceneFormatError, UnsupportedCameraModel
from locgui.core.pose import Rigid3
from locgui.core.scene import Points3D, SceneImage, SceneMap
from locgui.io.kapture_split import is_kapture_pair, read_kapture_pair
from locgui.io.kapture_text import (
    parse_float,
    parse_int,
    parse_pose,
    read_rows,
    read_trajectories,
)

log = logging.getLogger(__name__)

GUESSED_FOV_DEG = 60.0
_CAMERA_ID = re.compile(r"(?:cam_?)?0*([1-9]\d{0,8})")


def is_kapture(path: Path) -> bool:
    """Detection hook: a folder with ``sensors/sensors.txt``, or a kapture-localization
    dataset with ``mapping/sensors/sensors.txt`` (``kapture_split``)."""
    return path.is_dir() and ((path / "sensors" / "sensors.txt").is_file() or is_kapture_pair(path))


def _read_camera(fields: list[str], where: str, camera_id: int) -> tuple[Camera, bool]:
    """(camera, guessed) from a ``sensors.txt`` camera row."""
    if len(fields) < 6:
        raise SceneFormatError(f"{where}: a camera needs a model, width and height")
    model = fields[3]
    width = parse_int(fields[4], where, 1, (1 << 20) - 1)
    height = parse_int(fields[5], where, 1, (1 << 20) - 1)
    if model == "UNKNOWN_CAMERA":
        return Camera.from_fov(width, height, GUESSED_FOV_DEG, camera_id), True
    if model not in MODEL_PARAMS:
        raise UnsupportedCameraModel(
            f"{where}: camera {fields[0]} uses model {model}, which locgui does not support "
            f"(supported: {', '.join(MODEL_PARAMS)}, UNKNOWN_CAMERA)"
        )
    names = MODEL_PARAMS[model]
    params = fields[6:]
    if len(params) != len(names):
        raise SceneFormatError(
            f"{where}: {model} takes {len(names)} parameters after the image size "
            f"({', '.join(names)}), found {len(params)}"
        )
    return Camera(
        model, width, height, tuple(parse_float(p, where) for p in params), camera_id
    ), False


def _camera_ids(sensor_ids: list[str]) -> list[int]:
    """Numbers in the sensor ids when each has a distinct one (``cam_00004``), else 1, 2, ..."""
    matches = [_CAMERA_ID.fullmatch(s) for s in sensor_ids]
    ids = [int(m.group(1)) if m else 0 for m in matches]
    if all(ids) and len(set(ids)) == len(ids):
        return ids
    return list(range(1, len(sensor_ids) + 1))


def read_sensors(path: Path) -> tuple[dict[str, Camera], bool]:
    """Camera sensors of ``sensors.txt``: (sensor id -> camera, any intrinsics guessed)."""
    rows = [(n, f) for n, f in read_rows(path, 3) if f[2] == "camera"]
    sensor_ids = [f[0] for _, f in rows]
    if len(set(sensor_ids)) != len(sensor_ids):
        raise SceneFormatError(f"{path}: a camera sensor id is listed twice")
    cameras: dict[str, Camera] = {}
    guessed = False
    for (number, fields), camera_id in zip(rows, _camera_ids(sensor_ids), strict=True):
        cameras[fields[0]], was_guessed = _read_camera(fields, f"{path}:{number}", camera_id)
        guessed |= was_guessed
    return cameras, guessed


def read_rigs(path: Path) -> dict[str, tuple[str, Rigid3]]:
    """``rigs.txt``: sensor id -> (rig id, sensor_from_rig)."""
    rigs: dict[str, tuple[str, Rigid3]] = {}
    if not path.is_file():
        return rigs
    for number, fields in read_rows(path, 9):
        where = f"{path}:{number}"
        if fields[1] in rigs:
            raise SceneFormatError(f"{where}: sensor {fields[1]} is in two rigs")
        rigs[fields[1]] = (fields[0], parse_pose(fields[2:9], where))
    return rigs


def read_records(path: Path, cameras: dict[str, Camera]) -> list[tuple[int, str, str]]:
    """``records_camera.txt``: (timestamp, camera sensor id, image path) per image."""
    records = []
    seen: set[str] = set()
    for number, fields in read_rows(path, 3):
        where = f"{path}:{number}"
        timestamp = parse_int(fields[0], where)
        if fields[1] not in cameras:
            raise SceneFormatError(f"{where}: camera {fields[1]!r} is not in sensors.txt")
        if fields[2] in seen:
            raise SceneFormatError(f"{where}: image {fields[2]!r} is recorded twice")
        seen.add(fields[2])
        records.append((timestamp, fields[1], fields[2]))
    return records


def read_points(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """``points3d.txt``: (xyz (N, 3) float64, rgb (N, 3) uint8; zeros without colours)."""
    rows = read_rows(path, 3)
    xyz = np.zeros((len(rows), 3), np.float64)
    rgb = np.zeros((len(rows), 3), np.uint8)
    for row, (number, fields) in enumerate(rows):
        where = f"{path}:{number}"
        if len(fields) not in (3, 6):
            raise SceneFormatError(f"{where}: expected X, Y, Z[, R, G, B], found {len(fields)}")
        xyz[row] = [parse_float(v, where) for v in fields[:3]]
        colour = [parse_float(v, where) for v in fields[3:]]
        if any(not 0 <= c <= 255 for c in colour):
            raise SceneFormatError(f"{where}: colour outside 0..255")
        rgb[row] = np.round(colour) if colour else 0
    return xyz, rgb


def _pose_of(
    timestamp: int,
    sensor: str,
    poses: dict[tuple[int, str], Rigid3],
    rigs: dict[str, tuple[str, Rigid3]],
) -> Rigid3 | None:
    pose = poses.get((timestamp, sensor))
    if pose is None and sensor in rigs:
        rig, sensor_from_rig = rigs[sensor]
        rig_from_world = poses.get((timestamp, rig))
        if rig_from_world is not None:
            pose = sensor_from_rig * rig_from_world
    return pose


def read_kapture(path: str | Path) -> SceneMap:
    """Read a kapture folder (see the module docstring for what is read), or a
    ``mapping/`` + ``query/`` dataset (``kapture_split``).

    Returns:
        The scene: cameras, images (posed where a trajectory gives a pose), points with tracks
        when ``observations.txt`` and its keypoints are present. ``image_dir`` is
        ``sensors/records_data``; units "arbitrary".
    Raises:
        SceneFormatError: missing ``sensors.txt``, malformed rows (the message names file and
            line), records of unknown cameras, observations of unknown images or keypoints.
        UnsupportedCameraModel: a camera model locgui does not handle (e.g. a fisheye).
    """
    from locgui.io.kapture_features import read_observations

    root = Path(path)
    sensors = root / "sensors"
    if not (sensors / "sensors.txt").is_file() and is_kapture_pair(root):
        return read_kapture_pair(root)
    if not (sensors / "sensors.txt").is_file():
        raise SceneFormatError(f"{root}: not a kapture folder (no sensors/sensors.txt)")
    cameras, guessed = read_sensors(sensors / "sensors.txt")
    records_file = sensors / "records_camera.txt"
    records = read_records(records_file, cameras) if records_file.is_file() else []
    trajectories = sensors / "trajectories.txt"
    poses = read_trajectories(trajectories) if trajectories.is_file() else {}
    rigs = read_rigs(sensors / "rigs.txt")
    stamps = [t for t, _, _ in records]
    by_stamp = len(set(stamps)) == len(stamps) and all(t > 0 for t in stamps)
    images: dict[int, SceneImage] = {}
    for k, (timestamp, sensor, name) in enumerate(records):
        image_id = timestamp if by_stamp else k + 1
        pose = _pose_of(timestamp, sensor, poses, rigs)
        images[image_id] = SceneImage(image_id, name, cameras[sensor].camera_id, pose)
    points_file = root / "reconstruction" / "points3d.txt"
    points = Points3D()
    if points_file.is_file():
        xyz, rgb = read_points(points_file)
        points = Points3D(ids=np.arange(len(xyz), dtype=np.int64), xyz=xyz, rgb=rgb)
        points = read_observations(root, images, points)
    image_dir = sensors / "records_data"
    missing = [im.name for im in images.values() if not (image_dir / im.name).is_file()]
    if missing:
        log.warning("%d of %d kapture images are missing from %s (e.g. %s)",
                    len(missing), len(images), image_dir, missing[0])  # fmt: skip
    meta: dict[str, object] = {
        "kapture_sensors": {str(c.camera_id): s for s, c in cameras.items()},
    }
    if guessed:
        meta.update({"intrinsics_guessed": True, "guessed_fov_deg": GUESSED_FOV_DEG})
    log.debug("kapture %s: %d cameras, %d images", root, len(cameras), len(images))
    return SceneMap(
        cameras={c.camera_id: c for c in cameras.values()},
        images=dict(sorted(images.items())),
        points=points,
        image_dir=image_dir,
        source_format="kapture",
        source_path=root,
        missing_images=missing,
        meta=meta,
    )
