"""kapture keypoints and 3D point observations <-> image keypoints and point tracks.

``reconstruction/keypoints/<type>/keypoints.txt`` holds ``name, dtype, dsize``; each image's
keypoints are a raw little-endian array at ``<type>/<image path>.kpt`` whose rows start with
``x, y``. ``reconstruction/observations.txt`` rows are ``point index, keypoints type,
[image path, keypoint index]*``. locgui reads the first keypoints type the observations use
and writes its own keypoints as float64 so that they round-trip exactly.
"""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

import numpy as np

from locgui.core.errors import SceneFormatError
from locgui.core.scene import Points3D, SceneImage, SceneMap
from locgui.io.kapture_text import check_value, parse_int, read_rows, write_rows
from locgui.io.paths import confined

log = logging.getLogger(__name__)

DTYPES = ("float16", "float32", "float64", "float", "int32", "uint16", "int16")
MAX_DSIZE = 4096


def _keypoint_format(folder: Path) -> tuple[np.dtype, int]:
    path = folder / "keypoints.txt"
    rows = read_rows(path, 3)
    if not rows:
        raise SceneFormatError(f"{path}: no 'name, dtype, dsize' row")
    number, fields = rows[0]
    where = f"{path}:{number}"
    if fields[1] not in DTYPES:
        raise SceneFormatError(f"{where}: keypoint dtype {fields[1]!r} is not one of {DTYPES}")
    dsize = parse_int(fields[2], where, 2, MAX_DSIZE)
    return np.dtype(fields[1]).newbyteorder("<"), dsize


def read_keypoints(folder: Path, image_path: str, dtype: np.dtype, dsize: int) -> np.ndarray:
    """(K, 2) float64 keypoints of one image from ``<folder>/<image_path>.kpt``."""
    path = confined(folder, image_path + ".kpt", str(folder))
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SceneFormatError(f"{path}: keypoints unreadable ({exc.strerror or exc})") from exc
    if len(data) % (dtype.itemsize * dsize):
        raise SceneFormatError(
            f"{path}: {len(data)} bytes is not a whole number of {dsize} x {dtype.name} keypoints"
        )
    keypoints = np.frombuffer(data, dtype).reshape(-1, dsize)[:, :2].astype(np.float64)
    if not np.isfinite(keypoints).all():
        raise SceneFormatError(f"{path}: keypoints hold non-finite values")
    return keypoints


def _observation_rows(path: Path) -> list[tuple[str, int, str, list[tuple[str, int]]]]:
    """(where, point index, keypoints type, [(image path, keypoint index)]) per row."""
    out = []
    for number, fields in read_rows(path, 2):
        where = f"{path}:{number}"
        pairs = fields[2:]
        if len(pairs) % 2:
            raise SceneFormatError(f"{where}: image paths and keypoint indices do not pair up")
        obs = [(pairs[i], parse_int(pairs[i + 1], where)) for i in range(0, len(pairs), 2)]
        out.append((where, parse_int(fields[0], where), fields[1], obs))
    return out


def read_observations(root: Path, images: dict[int, SceneImage], points: Points3D) -> Points3D:
    """``points`` with the tracks of ``observations.txt``; sets the observed images' keypoints
    and ``point3D_ids`` in ``images`` (in place). Without observations, returns ``points``."""
    path = root / "reconstruction" / "observations.txt"
    n = len(points)
    points = dataclasses.replace(points, error=np.full(n, np.nan))
    if not path.is_file():
        return points
    rows = _observation_rows(path)
    keypoint_dir = root / "reconstruction" / "keypoints"
    kinds = [k for k in dict.fromkeys(r[2] for r in rows) if (keypoint_dir / k).is_dir()]
    if not kinds:
        log.warning("%s: no keypoints folder for its observations; tracks not read", path)
        return points
    kind = kinds[0]
    folder = confined(keypoint_dir, kind, str(path))
    dtype, dsize = _keypoint_format(folder)
    by_name = {im.name: image_id for image_id, im in images.items()}
    keypoints: dict[int, np.ndarray] = {}
    track: list[tuple[int, int, int]] = []
    for where, row, row_kind, obs in rows:
        if row_kind != kind:
            continue
        if row >= n:
            raise SceneFormatError(f"{where}: point {row} is not in points3d.txt ({n} points)")
        for name, index in obs:
            if name not in by_name:
                raise SceneFormatError(f"{where}: image {name!r} is not in records_camera.txt")
            image_id = by_name[name]
            if image_id not in keypoints:
                keypoints[image_id] = read_keypoints(folder, name, dtype, dsize)
            if index >= len(keypoints[image_id]):
                raise SceneFormatError(f"{where}: {name} has no keypoint {index}")
            track.append((row, image_id, index))
    _set_image_keypoints(images, keypoints, track, points.ids, path)
    arr = np.array(track, np.int64).reshape(-1, 3)
    return dataclasses.replace(
        points, track_point=arr[:, 0], track_image=arr[:, 1], track_keypoint=arr[:, 2]
    )


def _set_image_keypoints(
    images: dict[int, SceneImage],
    keypoints: dict[int, np.ndarray],
    track: list[tuple[int, int, int]],
    point_ids: np.ndarray,
    path: Path,
) -> None:
    ids = {i: np.full(len(k), -1, np.int64) for i, k in keypoints.items()}
    for row, image_id, index in track:
        if ids[image_id][index] not in (-1, point_ids[row]):
            raise SceneFormatError(
                f"{path}: keypoint {index} of {images[image_id].name} observes two points"
            )
        ids[image_id][index] = point_ids[row]
    for image_id, kps in keypoints.items():
        images[image_id] = dataclasses.replace(
            images[image_id], keypoints=kps, point3D_ids=ids[image_id]
        )


# ---------------------------------------------------------------------------------- writing
def write_observations(root: Path, scene: SceneMap, kind: str) -> bool:
    """Keypoints (float64) of the images that observe points, and ``observations.txt``.

    Point index ``row`` is the row of ``scene.points`` (the line of ``points3d.txt``).
    Returns whether anything was written (False when the points have no tracks).
    """
    pts = scene.points
    if not len(pts.track_point):
        return False
    check_value(kind, "keypoints type")
    folder = root / "reconstruction" / "keypoints" / kind
    write_rows(folder / "keypoints.txt", "name, dtype, dsize", [[kind, "float64", "2"]])
    observed = sorted(set(pts.track_image.tolist()))
    for image_id in observed:
        im = scene.images.get(image_id)
        if im is None or im.keypoints is None:
            raise SceneFormatError(f"a 3D point track names image {image_id} without keypoints")
        path = confined(folder, im.name + ".kpt", str(folder))
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(np.ascontiguousarray(im.keypoints, "<f8").reshape(-1, 2).tobytes())
    order = np.argsort(pts.track_point, kind="stable")
    rows: dict[int, list[str]] = {}
    for j in order.tolist():
        name = scene.images[int(pts.track_image[j])].name
        rows.setdefault(int(pts.track_point[j]), []).extend([name, str(pts.track_keypoint[j])])
    write_rows(
        root / "reconstruction" / "observations.txt",
        "point3d_id, keypoints_type, [image_path, feature_id]*",
        ([str(row), kind, *obs] for row, obs in sorted(rows.items())),
    )
    return True
