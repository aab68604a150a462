"""COLMAP models (binary or text) <-> ``SceneMap``, through pycolmap.

Files are checked in Python first (``colmap_check``) because pycolmap hangs or aborts the
process on some corrupt binary files. The ``locgui_scene.json`` sidecar (``sidecar``) adds
units, image folder, depth, splits and unposed images.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import Any

import numpy as np

from locgui.core.camera import MODEL_PARAMS, Camera
from locgui.core.errors import SceneFormatError, UnsupportedCameraModel
from locgui.core.pose import Rigid3
from locgui.core.scene import Points3D, SceneImage, SceneMap
from locgui.io.colmap_check import (
    announced_text_counts,
    check_binary_model,
    check_text_file,
    check_text_poses,
)
from locgui.io.colmap_layout import (
    MODEL_FILES,
    find_incomplete_model,
    find_model_dir,
    model_kind,
)
from locgui.io.sidecar import apply_sidecar, find_sidecar, scene_root, write_sidecar

log = logging.getLogger(__name__)

_OPTIONAL_FILES = ("rigs", "frames")


def _load_reconstruction(model_dir: Path, kind: str) -> Any:
    import pycolmap

    if kind == "binary":
        check_binary_model(model_dir)
    else:
        for name in (*MODEL_FILES, *_OPTIONAL_FILES):
            if (model_dir / f"{name}.txt").exists():
                check_text_file(model_dir / f"{name}.txt")
        if (model_dir / "images.txt").exists():
            check_text_poses(model_dir / "images.txt")
    rec = pycolmap.Reconstruction()
    try:
        if kind == "binary":
            rec.read_binary(str(model_dir))
        else:
            rec.read_text(str(model_dir))
    except Exception as exc:  # pycolmap raises ValueError/IndexError/RuntimeError on bad files
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise SceneFormatError(
            f"{model_dir}: COLMAP {kind} model does not load ({first_line})"
        ) from exc
    if kind == "text":
        _check_text_counts(model_dir, rec)
    return rec


def _check_text_counts(model_dir: Path, rec: Any) -> None:
    loaded = {
        "cameras.txt": rec.num_cameras(),
        "images.txt": rec.num_images(),
        "points3D.txt": rec.num_points3D(),
    }
    for name, announced in announced_text_counts(model_dir).items():
        if announced != loaded[name]:
            raise SceneFormatError(
                f"{model_dir / name}: truncated or corrupt (header announces {announced} "
                f"records, {loaded[name]} read)"
            )


def _convert_cameras(rec: Any, cameras_file: Path) -> dict[int, Camera]:
    cameras: dict[int, Camera] = {}
    for camera_id, cam in sorted(rec.cameras.items()):
        model = cam.model.name
        if model not in MODEL_PARAMS:
            raise UnsupportedCameraModel(
                f"{cameras_file}: camera {camera_id} uses model {model}, which locgui does not "
                f"support (supported: {', '.join(MODEL_PARAMS)})"
            )
        params = tuple(float(p) for p in cam.params)
        try:
            cameras[camera_id] = Camera(model, int(cam.width), int(cam.height), params, camera_id)
        except UnsupportedCameraModel as exc:  # an implausible size or focal length
            raise UnsupportedCameraModel(f"{cameras_file}: {exc}") from None
    return cameras


def _convert_image(image: Any) -> SceneImage:
    pose = None
    if image.has_pose:
        rigid = image.cam_from_world()
        pose = Rigid3(np.asarray(rigid.rotation.matrix()), np.asarray(rigid.translation))
    points2D = image.points2D
    n = len(points2D)
    keypoints = np.zeros((n, 2), np.float64)
    point3D_ids = np.full(n, -1, np.int64)
    for k, p in enumerate(points2D):
        keypoints[k] = p.xy
        if p.has_point3D():
            point3D_ids[k] = p.point3D_id
    return SceneImage(
        image_id=int(image.image_id),
        name=str(image.name),
        camera_id=int(image.camera_id),
        cam_from_world=pose,
        keypoints=keypoints,
        point3D_ids=point3D_ids,
    )


def _convert_points(rec: Any) -> Points3D:
    items = sorted(rec.points3D.items())
    n = len(items)
    ids = np.zeros(n, np.int64)
    xyz = np.zeros((n, 3), np.float64)
    rgb = np.zeros((n, 3), np.uint8)
    error = np.full(n, np.nan)
    track_point: list[int] = []
    track_image: list[int] = []
    track_keypoint: list[int] = []
    for row, (point_id, point) in enumerate(items):
        ids[row] = point_id
        xyz[row] = point.xyz
        rgb[row] = point.color
        if point.has_error():
            error[row] = point.error
        for element in point.track.elements:
            track_point.append(row)
            track_image.append(element.image_id)
            track_keypoint.append(element.point2D_idx)
    return Points3D(
        ids=ids,
        xyz=xyz,
        rgb=rgb,
        error=error,
        track_point=np.asarray(track_point, np.int64),
        track_image=np.asarray(track_image, np.int64),
        track_keypoint=np.asarray(track_keypoint, np.int64),
    )


def read_colmap(folder: str | Path, use_sidecar: bool = True) -> SceneMap:
    """Read a COLMAP model (binary or text) through pycolmap.

    Args:
        folder: the model folder, or a project folder (``database.db``, ``images/``) holding
            ``sparse/N``, ``sparse``, ``reconstruction/N`` or ``reconstruction``
            (``colmap_layout.find_model_dir``).
        use_sidecar: apply a ``locgui_scene.json`` found beside the model.
    Returns:
        The scene: cameras, posed images with keypoints (COLMAP pixel convention) and
        ``point3D_ids``, points with colours, errors (NaN if unknown) and tracks. ``image_dir``
        is the project folder's ``images/`` if present (or the sidecar's); units "arbitrary" unless
        the sidecar says otherwise. Image files listed but absent go to ``missing_images``.
    Raises:
        SceneFormatError: missing folder, no model, an incomplete model (naming the missing
            file), corrupt or truncated files.
        UnsupportedCameraModel: a camera model outside ``MODEL_PARAMS``.
    """
    folder = Path(folder)
    if not folder.exists():
        raise SceneFormatError(f"{folder}: no such file or folder")
    model_dir = find_model_dir(folder, announce=True)
    if model_dir is None:
        incomplete = find_incomplete_model(folder)
        if incomplete is not None:
            where, missing = incomplete
            raise SceneFormatError(
                f"{where}: incomplete COLMAP model: {' and '.join(missing)} missing "
                "(a model needs cameras, images and points3D)"
            )
        raise SceneFormatError(
            f"{folder}: no COLMAP model (cameras, images, points3D as .bin or .txt)"
        )
    kind = model_kind(model_dir)
    assert kind is not None
    rec = _load_reconstruction(model_dir, kind)
    ext = ".bin" if kind == "binary" else ".txt"
    cameras = _convert_cameras(rec, model_dir / f"cameras{ext}")
    try:
        images = {im.image_id: im for im in map(_convert_image, rec.images.values())}
        points = _convert_points(rec)
    except (OverflowError, ValueError) as exc:
        raise SceneFormatError(f"{model_dir}: corrupt COLMAP {kind} model ({exc})") from exc
    _check_consistency(model_dir, images, points)
    root = scene_root(model_dir)
    scene = SceneMap(
        cameras=cameras,
        images=dict(sorted(images.items())),
        points=points,
        image_dir=(root / "images") if (root / "images").is_dir() else None,
        source_format="colmap",
        source_path=folder,
        meta={"colmap_format": kind, "model_dir": str(model_dir)},
    )
    sidecar = find_sidecar(model_dir) if use_sidecar else None
    if sidecar is not None:
        apply_sidecar(scene, sidecar, root)
    _note_missing_images(scene)
    return scene


def _num_keypoints(image: SceneImage) -> int:
    return 0 if image.keypoints is None else len(image.keypoints)


def _check_consistency(model_dir: Path, images: dict[int, SceneImage], points: Points3D) -> None:
    """Observations must name existing points, images and keypoints (corrupt files may not)."""
    known = set(points.ids.tolist())
    for im in images.values():
        assert im.point3D_ids is not None
        used = set(im.point3D_ids[im.point3D_ids >= 0].tolist())
        if not used <= known:
            raise SceneFormatError(
                f"{model_dir}: image {im.name!r} observes unknown 3D point {min(used - known)}"
            )
    image_ids = np.array(sorted(images), np.int64)
    counts = np.array([_num_keypoints(images[i]) for i in image_ids.tolist()], np.int64)
    row = np.clip(np.searchsorted(image_ids, points.track_image), 0, max(len(image_ids) - 1, 0))
    ok = (
        (image_ids[row] == points.track_image)
        & (points.track_keypoint >= 0)
        & (points.track_keypoint < counts[row])
        if len(image_ids)
        else np.zeros(len(points.track_image), bool)
    )
    if not ok.all():
        bad = int(np.flatnonzero(~ok)[0])
        raise SceneFormatError(
            f"{model_dir}: a 3D point track names image {points.track_image[bad]} keypoint "
            f"{points.track_keypoint[bad]}, which does not exist"
        )
    finite = np.isfinite(points.xyz).all() and all(
        np.isfinite(im.cam_from_world.matrix()).all()
        for im in images.values()
        if im.cam_from_world is not None
    )
    if not finite:
        raise SceneFormatError(f"{model_dir}: COLMAP model holds non-finite poses or points")


def _note_missing_images(scene: SceneMap) -> None:
    if scene.image_dir is None:
        return
    missing = [im.name for im in scene.images.values() if not (scene.image_dir / im.name).exists()]
    if missing:
        log.warning(
            "%d of %d images are missing from %s (e.g. %s)",
            len(missing),
            len(scene.images),
            scene.image_dir,
            missing[0],
        )
    scene.missing_images = missing


# ---------------------------------------------------------------------------------- writing
def _build_reconstruction(scene: SceneMap) -> Any:
    import pycolmap

    rec = pycolmap.Reconstruction()
    for camera_id, cam in sorted(scene.cameras.items()):
        pc = pycolmap.Camera(
            model=cam.model,
            width=cam.width,
            height=cam.height,
            params=list(cam.params),
            camera_id=camera_id,
        )
        rec.add_camera_with_trivial_rig(pc)
    posed = {i: im for i, im in scene.images.items() if im.cam_from_world is not None}
    for image_id, im in sorted(posed.items()):
        assert im.cam_from_world is not None
        keypoints = np.zeros((0, 2)) if im.keypoints is None else np.asarray(im.keypoints)
        image = pycolmap.Image(
            name=im.name,
            keypoints=keypoints.astype(np.float64).reshape(-1, 2),
            camera_id=im.camera_id,
            image_id=image_id,
        )
        pose = pycolmap.Rigid3d(
            pycolmap.Rotation3d(im.cam_from_world.rotation), im.cam_from_world.translation
        )
        rec.add_image_with_trivial_frame(image, pose)
    _add_points(rec, scene.points, set(posed))
    return rec


def _add_points(rec: Any, points: Points3D, posed_ids: set[int]) -> None:
    import pycolmap

    keep = np.isin(points.track_image, list(posed_ids))
    if not keep.all():
        log.warning("%d observations of unposed images are not written", int((~keep).sum()))
    order = np.argsort(points.track_point[keep], kind="stable")
    obs_point = points.track_point[keep][order]
    obs_image = points.track_image[keep][order]
    obs_kp = points.track_keypoint[keep][order]
    starts = np.searchsorted(obs_point, np.arange(len(points) + 1))
    for row in range(len(points)):
        track = pycolmap.Track()
        for j in range(starts[row], starts[row + 1]):
            track.add_element(int(obs_image[j]), int(obs_kp[j]))
        error = float(points.error[row]) if len(points.error) else math.nan
        point = pycolmap.Point3D(
            xyz=points.xyz[row],
            color=points.rgb[row].astype(np.uint8),
            error=-1.0 if math.isnan(error) else error,
            track=track,
        )
        rec.add_point3D_with_id(int(points.ids[row]), point)


def write_colmap(
    scene: SceneMap, folder: str | Path, binary: bool = False, sidecar: bool = True
) -> Path:
    """Write ``scene`` as a COLMAP model (via pycolmap) into ``folder``.

    Only posed images go into the COLMAP files; unposed ones, units, image folder, depth,
    splits and meta go into the ``locgui_scene.json`` sidecar written beside them (unless
    ``sidecar=False``). Model files of the other kind (text vs binary) already in ``folder``
    are removed so that a reader cannot pick up a stale model.

    Returns:
        The model folder.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rec = _build_reconstruction(scene)
    stale = ".txt" if binary else ".bin"
    for name in (*MODEL_FILES, *_OPTIONAL_FILES):
        (folder / f"{name}{stale}").unlink(missing_ok=True)
    if binary:
        rec.write_binary(str(folder))
    else:
        rec.write_text(str(folder))
    if sidecar:
        write_sidecar(scene, folder)
    return folder
