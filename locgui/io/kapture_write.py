"""``SceneMap`` and localization results -> kapture folders (text layout, format 1.1).

A map becomes ``sensors/`` (one camera sensor ``cam_<camera id>`` per camera, one record per
image with its image id as timestamp, a trajectory per posed image) and ``reconstruction/``
(``points3d.txt`` in point order, the images' keypoints, ``observations.txt`` for the points'
tracks, and descriptors when given). Images go to ``sensors/records_data/`` as symbolic links
(copies where links fail), copies, or not at all. Query results become a query kapture whose
trajectories are the estimated poses, for kapture-localization's evaluation tools.
"""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from locgui.core.camera import Camera
from locgui.core.errors import SceneFormatError
from locgui.core.pose import Rigid3
from locgui.core.scene import SceneMap
from locgui.io.kapture_features import write_descriptors, write_keypoints, write_observations
from locgui.io.kapture_text import check_value, num, pose_fields, write_rows
from locgui.io.paths import confined

log = logging.getLogger(__name__)

IMAGE_MODES = ("link", "copy", "none")
SENSOR_COLUMNS = "sensor_device_id, name, sensor_type, [sensor_params]+"
RECORD_COLUMNS = "timestamp, device_id, image_path"
TRAJECTORY_COLUMNS = "timestamp, device_id, qw, qx, qy, qz, tx, ty, tz"


def sensor_id(camera_id: int) -> str:
    return f"cam_{camera_id:05d}"


def camera_row(device: str, camera: Camera) -> list[str]:
    """A ``sensors.txt`` row: id, empty name, ``camera``, model, width, height, params."""
    params = [num(p) for p in camera.params]
    return [device, "", "camera", camera.model, str(camera.width), str(camera.height), *params]


def check_target(out: Path, overwrite: bool) -> None:
    """Refuse to write into a non-empty folder unless it is a kapture and ``overwrite``."""
    if out.exists() and not out.is_dir():
        raise SceneFormatError(f"{out}: exists and is not a folder")
    if out.is_dir() and any(out.iterdir()):
        if not (overwrite and (out / "sensors" / "sensors.txt").is_file()):
            raise SceneFormatError(
                f"{out}: folder is not empty; choose another output"
                + (" (overwrite replaces kapture folders only)" if overwrite else "")
            )


def write_kapture(
    scene: SceneMap,
    out: str | Path,
    images: str = "link",
    keypoints_type: str = "locgui",
    overwrite: bool = False,
    descriptors: Callable[[int], np.ndarray] | None = None,
) -> Path:
    """Write ``scene`` as a kapture folder and return it.

    Args:
        scene: cameras, images (unposed ones get a record but no trajectory), 3D points.
        out: the kapture folder (created; must be empty or absent unless ``overwrite``).
        images: "link", "copy" or "none" for the image files in ``sensors/records_data/``.
        keypoints_type: folder name of the keypoints under ``reconstruction/keypoints/`` (and
            of the descriptors).
        descriptors: image id -> (K, D) descriptors of its keypoints (a map bundle's
            features); written to ``reconstruction/descriptors/`` when given.
    Raises:
        SceneFormatError: a name kapture cannot store (a comma, a line break), a non-empty
            output folder.
    """
    if images not in IMAGE_MODES:
        raise ValueError(f"images must be one of {IMAGE_MODES}, not {images!r}")
    out = Path(out)
    check_target(out, overwrite)
    for im in scene.images.values():
        check_value(im.name, "image name")
        confined(out, im.name, "image name")
    sensors = out / "sensors"
    write_rows(
        sensors / "sensors.txt",
        SENSOR_COLUMNS,
        (camera_row(sensor_id(i), cam) for i, cam in sorted(scene.cameras.items())),
    )
    ordered = sorted(scene.images.items())
    write_rows(
        sensors / "records_camera.txt",
        RECORD_COLUMNS,
        ([str(i), sensor_id(im.camera_id), im.name] for i, im in ordered),
    )
    write_rows(
        sensors / "trajectories.txt",
        TRAJECTORY_COLUMNS,
        (
            [str(i), sensor_id(im.camera_id), *pose_fields(im.cam_from_world)]
            for i, im in ordered
            if im.cam_from_world is not None
        ),
    )
    if len(scene.points):
        rows = (
            [*(num(v) for v in xyz), *(str(int(c)) for c in rgb)]
            for xyz, rgb in zip(scene.points.xyz, scene.points.rgb, strict=True)
        )
        write_rows(out / "reconstruction" / "points3d.txt", "X, Y, Z, R, G, B", rows)
    if write_keypoints(out, scene, keypoints_type):
        write_observations(out, scene, keypoints_type)
        if descriptors is not None:
            write_descriptors(out, scene, keypoints_type, descriptors)
    if images != "none":
        _place_images(scene, sensors / "records_data", copy=images == "copy")
    log.info("wrote kapture %s (%d images, %d points)", out, len(ordered), len(scene.points))
    return out


def _place_images(scene: SceneMap, folder: Path, copy: bool) -> None:
    if scene.image_dir is None:
        log.warning("the scene has no image folder: no images in %s", folder)
        return
    missing = 0
    for im in scene.images.values():
        src = confined(Path(scene.image_dir), im.name, "image")
        dst = confined(folder, im.name, "image")
        if not src.is_file():
            missing += 1
            continue
        dst.parent.mkdir(parents=True, exist_ok=True)
        dst.unlink(missing_ok=True)
        if not copy:
            try:
                os.symlink(src.absolute(), dst)
                continue
            except OSError:  # e.g. Windows without the privilege: copy instead
                pass
        shutil.copy2(src, dst)
    if missing:
        log.warning("%d image files were not found in %s", missing, scene.image_dir)


def write_query_kapture(
    out: str | Path,
    names: Sequence[str],
    poses: Sequence[Rigid3 | None],
    cameras: Sequence[Camera | None],
    overwrite: bool = False,
) -> Path:
    """A query kapture of localization results: records, sensors and estimated trajectories.

    Args:
        names: query image names (kapture image paths).
        poses: estimated ``cam_from_world`` per query; None for failed queries (recorded, but
            without a trajectory).
        cameras: the camera each query was localized with; None where unknown (written as
            ``UNKNOWN_CAMERA`` of size 0 x 0).
    """
    out = Path(out)
    check_target(out, overwrite)
    if not len(names) == len(poses) == len(cameras):
        raise ValueError("names, poses and cameras differ in length")
    sensor_rows: dict[tuple[str, ...], str] = {}
    records, trajectories = [], []
    for k, (name, pose, camera) in enumerate(zip(names, poses, cameras, strict=True)):
        check_value(name, "query name")
        params = camera_row("", camera)[3:] if camera is not None else ["UNKNOWN_CAMERA", "0", "0"]
        device = sensor_rows.setdefault(tuple(params), f"query_{len(sensor_rows) + 1:05d}")
        records.append([str(k + 1), device, name])
        if pose is not None:
            trajectories.append([str(k + 1), device, *pose_fields(pose)])
    sensors = out / "sensors"
    rows = ([device, "", "camera", *params] for params, device in sensor_rows.items())
    write_rows(sensors / "sensors.txt", SENSOR_COLUMNS, rows)
    write_rows(sensors / "records_camera.txt", RECORD_COLUMNS, records)
    write_rows(sensors / "trajectories.txt", TRAJECTORY_COLUMNS, trajectories)
    return out
