"""Cambridge Landmarks layout (PoseNet) -> ``SceneMap``.

A scene folder (e.g. ``KingsCollege``) holds ``seqN/frameXXXXX.png`` images,
``dataset_train.txt`` / ``dataset_test.txt`` and usually ``reconstruction.nvm``. The list files
start with three header lines, then ``seqN/frameXXXXX.png X Y Z W P Q R`` per image: XYZ is the
camera centre and WPQR the world-to-camera rotation quaternion (w, x, y, z), the values of the
VisualSFM reconstruction (NVM stores the same pair). Units are metres (the reconstruction was
scaled to metric). Intrinsics come from the NVM focal lengths (principal point at the image
centre; VisualSFM's radial term is not carried over, see ``meta``); without an NVM they are
guessed from a field of view and ``meta["intrinsics_guessed"]`` is True.
"""

from __future__ import annotations

import logging
from pathlib import Path, PurePosixPath

import numpy as np

from locgui.core.camera import Camera
from locgui.core.errors import SceneFormatError
from locgui.core.pose import Rigid3
from locgui.core.scene import Points3D, SceneImage, SceneMap
from locgui.io.conventions import centre_quat_to_cam_from_world, check_pose_values
from locgui.io.nvm import NvmModel, read_nvm

log = logging.getLogger(__name__)

LIST_FILES = {"dataset_train.txt": "train", "dataset_test.txt": "test"}
NVM_NAME = "reconstruction.nvm"
GUESSED_FOV_DEG = 60.0


def is_cambridge(path: Path) -> bool:
    """Detection hook: a folder holding ``dataset_train.txt`` or ``dataset_test.txt``."""
    return path.is_dir() and any((path / name).is_file() for name in LIST_FILES)


def read_pose_list(path: Path) -> list[tuple[str, Rigid3]]:
    """(image name, ``cam_from_world``) per line of a ``dataset_*.txt`` file."""
    entries = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError as exc:
        raise SceneFormatError(f"{path}: not a UTF-8 text file ({exc.reason})") from exc
    for n, line in enumerate(lines[3:], 4):
        tokens = line.split()
        if not tokens:
            continue
        if len(tokens) != 8:
            raise SceneFormatError(f"{path}: line {n}: expected 'name X Y Z W P Q R'")
        try:
            values = np.array(tokens[1:], dtype=np.float64)
            check_pose_values(values[:3], values[3:])
        except ValueError as exc:
            raise SceneFormatError(f"{path}: line {n}: bad pose ({exc})") from exc
        entries.append((tokens[0], centre_quat_to_cam_from_world(values[:3], values[3:])))
    return entries


def _key(name: str) -> str:
    """Names compared without extension: the NVM lists .jpg where the folders hold .png."""
    return str(PurePosixPath(name).with_suffix(""))


def _image_size(folder: Path, names: list[str]) -> tuple[int, int] | None:
    from locgui.io.images import image_size

    for name in names:
        if (folder / name).is_file():
            return image_size(folder / name)
    return None


def read_cambridge(path: str | Path) -> SceneMap:
    """Read a Cambridge Landmarks scene folder (splits from the two list files)."""
    path = Path(path)
    if not is_cambridge(path):
        raise SceneFormatError(f"{path}: no dataset_train.txt / dataset_test.txt")
    listed: list[tuple[str, Rigid3, str]] = []
    for file_name, split in LIST_FILES.items():
        if (path / file_name).is_file():
            listed += [(n, p, split) for n, p in read_pose_list(path / file_name)]
    nvm = read_nvm(path / NVM_NAME) if (path / NVM_NAME).is_file() else None
    present = [(n, p, s) for n, p, s in listed if (path / n).is_file()]
    scene = SceneMap(image_dir=path, units="metres", source_format="cambridge", source_path=path)
    scene.missing_images = [n for n, _, _ in listed if not (path / n).is_file()]
    if scene.missing_images:
        log.warning("%s: %d listed images are missing", path, len(scene.missing_images))
    size = _image_size(path, [n for n, _, _ in present])
    if size is None:
        raise SceneFormatError(f"{path}: none of the {len(listed)} listed images exist")
    focal = _nvm_focals(nvm)
    cameras: dict[float, Camera] = {}
    for image_id, (name, pose, split) in enumerate(present, 1):
        f = focal.get(_key(name))
        if f is None:
            f = 0.5 * size[0] / np.tan(np.deg2rad(GUESSED_FOV_DEG) / 2)
            scene.meta["intrinsics_guessed"] = True
        if f not in cameras:
            cameras[f] = Camera(
                "SIMPLE_PINHOLE", size[0], size[1], (f, size[0] / 2, size[1] / 2), len(cameras) + 1
            )
        scene.images[image_id] = SceneImage(image_id, name, cameras[f].camera_id, pose, split)
    scene.cameras = {c.camera_id: c for c in cameras.values()}
    if nvm is not None:
        scene.points = _nvm_points(nvm, scene, size)
        scene.meta["nvm_radial_max_abs"] = max((abs(c.radial) for c in nvm.cameras), default=0.0)
        scene.meta["nvm_radial_note"] = "VisualSFM radial distortion not applied to cameras"
    return scene


def _nvm_focals(nvm: NvmModel | None) -> dict[str, float]:
    if nvm is None:
        return {}
    return {_key(c.name): c.focal for c in nvm.cameras}


def _nvm_points(nvm: NvmModel, scene: SceneMap, size: tuple[int, int]) -> Points3D:
    """NVM points with tracks; keypoints are the measurements (shifted to COLMAP pixels)."""
    id_of = {_key(im.name): im.image_id for im in scene.images.values()}
    camera_to_image = np.array([id_of.get(_key(c.name), -1) for c in nvm.cameras], np.int64)
    obs_image = camera_to_image[nvm.obs_camera] if len(nvm.obs_camera) else np.zeros(0, np.int64)
    keep = obs_image >= 0
    obs_point, obs_image = nvm.obs_point[keep], obs_image[keep]
    obs_xy = nvm.obs_xy[keep] + np.array([size[0] / 2, size[1] / 2])
    order = np.argsort(obs_image, kind="stable")
    ids_sorted = obs_image[order]
    obs_keypoint = np.zeros(len(obs_image), np.int64)
    for image_id, im in scene.images.items():
        lo, hi = np.searchsorted(ids_sorted, [image_id, image_id + 1])
        rows = order[lo:hi]
        obs_keypoint[rows] = np.arange(len(rows))
        im.keypoints = obs_xy[rows]
        im.point3D_ids = obs_point[rows].copy()
    return Points3D(
        ids=np.arange(len(nvm.xyz), dtype=np.int64),
        xyz=nvm.xyz,
        rgb=nvm.rgb,
        error=np.full(len(nvm.xyz), np.nan),
        track_point=obs_point,
        track_image=obs_image,
        track_keypoint=obs_keypoint,
    )
