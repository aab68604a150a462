"""kapture keypoints and 3D point observations <-> image keypoints and point tracks.

``reconstruction/keypoints/<type>/keypoints.txt`` holds ``name, dtype, dsize``; each image's
keypoints are a raw little-endian array at ``<type>/<image path>.kpt`` whose rows start with
``x, y``. ``reconstruction/observations.txt`` rows are ``point index, keypoints type,
[image path, keypoint index]*``; descriptors (written, not read) mirror keypoints under
``descriptors/<type>/`` as ``.desc`` arrays. locgui reads the first keypoints type the
observations use and writes its own keypoints as float64 so that they round-trip exactly.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
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
def write_keypoints(root: Path, scene: SceneMap, kind: str) -> list[int]:
    """Keypoints (float64, exact) of every image that has them; returns those image ids."""
    check_value(kind, "keypoints type")
    folder = root / "reconstruction" / "keypoints" / kind
    written = []
    for image_id, im in sorted(scene.images.items()):
        if im.keypoints is None or not len(im.keypoints):
            continue
        path = confined(folder, im.name + ".kpt", str(folder))
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(np.ascontiguousarray(im.keypoints, "<f8").reshape(-1, 2).tobytes())
        written.append(image_id)
    if written:
        write_rows(folder / "keypoints.txt", "name, dtype, dsize", [[kind, "float64", "2"]])
    return written


def write_descriptors(
    root: Path, scene: SceneMap, kind: str, descriptors: Callable[[int], np.ndarray]
) -> int:
    """Descriptors (float32) of the images ``write_keypoints`` wrote, in keypoint order.

    Args:
        descriptors: image id -> (K, D) descriptors of its K keypoints.
    Returns:
        The number of images written.
    """
    folder = root / "reconstruction" / "descriptors" / kind
    dim = None
    count = 0
    for image_id, im in sorted(scene.images.items()):
        if im.keypoints is None or not len(im.keypoints):
            continue
        desc = np.ascontiguousarray(descriptors(image_id), "<f4")
        if desc.ndim != 2 or len(desc) != len(im.keypoints) or dim not in (None, desc.shape[1]):
            raise SceneFormatError(
                f"image {im.name}: {desc.shape} descriptors do not match its "
                f"{len(im.keypoints)} keypoints"
            )
        dim = desc.shape[1]
        path = confined(folder, im.name + ".desc", str(folder))
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(desc.tobytes())
        count += 1
    if dim is not None:
        columns = "name, dtype, dsize, keypoints_type, metric_type"
        write_rows(folder / "descriptors.txt", columns, [[kind, "float32", str(dim), kind, "L2"]])
    return count


def write_observations(root: Path, scene: SceneMap, kind: str) -> bool:
    """``observations.txt`` of the points' tracks (keypoints from ``write_keypoints``).

    Point index ``row`` is the row of ``scene.points`` (the line of ``points3d.txt``).
    Returns whether anything was written (False when the points have no tracks).
    """
    pts = scene.points
    if not len(pts.track_point):
        return False
    for image_id in sorted(set(pts.track_image.tolist())):
        im = scene.images.get(image_id)
        if im is None or im.keypoints is None:
            raise SceneFormatError(f"a 3D point track names image {image_id} without keypoints")
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
