"""instant-ngp / nerfstudio ``transforms.json`` <-> ``SceneMap``.

Poses in the file are OpenGL camera-to-world matrices (x right, y up, z backward); locgui
stores OpenCV ``cam_from_world`` (see ``conventions``). Intrinsics are ``fl_x, fl_y, cx, cy,
w, h`` (or ``camera_angle_x``/``camera_angle_y``) with optional ``k1, k2, p1, p2``, at the top
level or per frame. Pixel convention: instant-ngp's ``colmap2nerf.py`` and nerfstudio's
``ns-process-data`` copy ``cx, cy`` from COLMAP unchanged, so they are already COLMAP
convention (pixel centres at +0.5); the fox scene has cx = 554.6 for w = 1080 (w/2 = 540), as
COLMAP estimated it. The ``camera_angle_x`` fallback puts the principal point at (w/2, h/2),
the image centre in that convention.
"""

from __future__ import annotations

import json
import logging
import math
import os
from pathlib import Path
from typing import Any

import numpy as np

from locgui.core.camera import Camera
from locgui.core.errors import SceneFormatError, UnsupportedCameraModel
from locgui.core.scene import SceneImage, SceneMap
from locgui.io.conventions import (
    cam_from_world_to_opengl_c2w,
    is_degenerate_rotation,
    opengl_c2w_to_cam_from_world,
)
from locgui.io.limits import load_json
from locgui.io.paths import confined

log = logging.getLogger(__name__)

JSON_NAME = "transforms.json"
_IMAGE_EXTS = (".png", ".jpg", ".jpeg", ".PNG", ".JPG", ".JPEG")
_DIST_KEYS = ("k1", "k2", "p1", "p2")
_SPLIT_KEYS = {"train_filenames": "train", "val_filenames": "val", "test_filenames": "test"}


def find_json(path: Path) -> Path | None:
    """``path`` itself if it is a JSON file with frames, or ``path/transforms.json``."""
    if path.is_file() and path.suffix == ".json":
        return path
    candidate = path / JSON_NAME
    return candidate if candidate.is_file() else None


def is_transforms_json(path: Path) -> bool:
    """Detection hook: a ``transforms.json`` (or a folder holding one)."""
    found = find_json(path)
    if found is None:
        return False
    if found.name == JSON_NAME:
        return True
    with found.open("rb") as f:
        return b'"frames"' in f.read(1 << 20)


def _load(path: Path) -> dict[str, Any]:
    try:
        data = load_json(path)
    except (OSError, UnicodeDecodeError) as exc:
        raise SceneFormatError(f"{path}: cannot read ({exc})") from exc
    except json.JSONDecodeError as exc:
        raise SceneFormatError(f"{path}: invalid JSON ({exc.msg} at line {exc.lineno})") from exc
    if not isinstance(data, dict):
        raise SceneFormatError(f"{path}: expected a JSON object at the top level")
    if not isinstance(data.get("frames"), list):
        raise SceneFormatError(f"{path}: missing key 'frames' (a list of frames)")
    return data


def _number(path: Path, where: str, d: dict[str, Any], key: str) -> float | None:
    if key not in d:
        return None
    value = d[key]
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > 2**1023:
        value = math.inf  # math.isfinite() cannot take a JSON integer beyond float range
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise SceneFormatError(f"{path}: {where}key {key!r} must be a finite number")
    return float(value)


def _intrinsics(path: Path, where: str, d: dict[str, Any]) -> dict[str, float | None]:
    keys = ("fl_x", "fl_y", "cx", "cy", "w", "h", "camera_angle_x", "camera_angle_y", *_DIST_KEYS)
    return {k: _number(path, where, d, k) for k in keys}


def _camera(path: Path, where: str, p: dict[str, float | None], camera_id: int) -> Camera:
    """Build the camera from merged (top-level overridden by per-frame) intrinsics."""
    w, h = p["w"], p["h"]
    if w is None or h is None:
        raise SceneFormatError(f"{path}: {where}missing key 'w' or 'h' (image size)")
    fx, fy = p["fl_x"], p["fl_y"]
    if fx is None and p["camera_angle_x"] is not None:
        fx = 0.5 * w / math.tan(0.5 * p["camera_angle_x"])
    if fy is None and p["camera_angle_y"] is not None:
        fy = 0.5 * h / math.tan(0.5 * p["camera_angle_y"])
    if fx is None:
        raise SceneFormatError(f"{path}: {where}missing key 'fl_x' or 'camera_angle_x'")
    fy = fx if fy is None else fy
    cx = w / 2 if p["cx"] is None else p["cx"]
    cy = h / 2 if p["cy"] is None else p["cy"]
    dist = tuple(p[k] or 0.0 for k in _DIST_KEYS)
    if any(dist):
        return Camera("OPENCV", round(w), round(h), (fx, fy, cx, cy, *dist), camera_id)
    return Camera.pinhole(fx, fy, cx, cy, round(w), round(h), camera_id)


def _check_camera_model(path: Path, where: str, d: dict[str, Any]) -> None:
    model = d.get("camera_model")
    if model is not None and model not in ("OPENCV", "PINHOLE", "SIMPLE_PINHOLE"):
        raise UnsupportedCameraModel(
            f"{path}: {where}camera_model {model!r} is not supported (OPENCV or PINHOLE only)"
        )
    for key in ("k3", "k4"):
        if d.get(key):
            raise UnsupportedCameraModel(
                f"{path}: {where}distortion {key} != 0 needs a model locgui does not support"
            )


def _resolve_image(folder: Path, file_path: str) -> tuple[str, bool]:
    """(name relative to ``folder``, exists); tries common extensions when none is given."""
    rel = Path(os.path.normpath(file_path))
    if (folder / rel).is_file() or rel.suffix.lower() in (".png", ".jpg", ".jpeg"):
        return rel.as_posix(), (folder / rel).is_file()
    for ext in _IMAGE_EXTS:
        candidate = rel.with_name(rel.name + ext)
        if (folder / candidate).is_file():
            return candidate.as_posix(), True
    return rel.as_posix(), False


def _pose(path: Path, index: int, frame: dict[str, Any]) -> np.ndarray:
    try:
        matrix = np.asarray(frame["transform_matrix"], dtype=np.float64)
    except KeyError as exc:
        raise SceneFormatError(f"{path}: frame {index} has no 'transform_matrix'") from exc
    except (TypeError, ValueError, OverflowError) as exc:  # OverflowError: a huge JSON integer
        raise SceneFormatError(f"{path}: frame {index} transform_matrix is not numeric") from exc
    if matrix.shape not in ((4, 4), (3, 4)) or not np.isfinite(matrix).all():
        raise SceneFormatError(
            f"{path}: frame {index} transform_matrix must be a finite 4x4 or 3x4 matrix"
        )
    if is_degenerate_rotation(matrix[:3, :3]):
        raise SceneFormatError(f"{path}: frame {index} transform_matrix has no valid rotation")
    return matrix


def read_transforms(path: str | Path) -> SceneMap:
    """Read a ``transforms.json`` (or a folder holding one).

    Images are named relative to the JSON's folder (``image_dir``); frames whose image file is
    missing are left out and listed in ``missing_images``. One camera per distinct set of
    intrinsics. Splits come from nerfstudio's ``train_filenames``/``test_filenames`` if present.
    """
    path = Path(path)
    json_path = find_json(path)
    if json_path is None:
        raise SceneFormatError(f"{path}: no {JSON_NAME} found")
    data = _load(json_path)
    folder = json_path.parent
    _check_camera_model(json_path, "", data)
    top = _intrinsics(json_path, "", data)
    cameras: dict[tuple[object, ...], Camera] = {}
    scene = SceneMap(image_dir=folder, source_format="transforms.json", source_path=path)
    for index, frame in enumerate(data["frames"]):
        where = f"frame {index}: "
        if not isinstance(frame, dict) or not isinstance(frame.get("file_path"), str):
            raise SceneFormatError(f"{json_path}: {where}missing key 'file_path'")
        _check_camera_model(json_path, where, frame)
        local = _intrinsics(json_path, where, frame)
        merged = {k: local[k] if local[k] is not None else top[k] for k in top}
        camera = _camera(json_path, where, merged, len(cameras) + 1)
        key = (camera.model, camera.width, camera.height, *camera.params)
        camera = cameras.setdefault(key, camera)
        pose = opengl_c2w_to_cam_from_world(_pose(json_path, index, frame))
        confined(folder, frame["file_path"], f"{json_path}: {where}file_path")
        name, exists = _resolve_image(folder, frame["file_path"])
        if not exists:
            scene.missing_images.append(name)
            continue
        scene.images[index + 1] = SceneImage(index + 1, name, camera.camera_id, pose)
    scene.cameras = {c.camera_id: c for c in cameras.values()}
    if scene.missing_images:
        log.warning(
            "%s: %d of %d frames have no image file and are skipped: %s",
            json_path,
            len(scene.missing_images),
            len(data["frames"]),
            ", ".join(scene.missing_images),
        )
    if not scene.images:
        raise SceneFormatError(f"{json_path}: none of the {len(data['frames'])} images exist")
    _apply_splits(scene, data, json_path)
    scene.meta = {
        "convention": "OpenGL camera-to-world in file, converted to OpenCV cam_from_world",
        **{k: data[k] for k in ("aabb_scale", "scale", "offset") if k in data},
    }
    return scene


def _apply_splits(scene: SceneMap, data: dict[str, Any], json_path: Path) -> None:
    by_name = {im.name: im for im in scene.images.values()}
    for key, split in _SPLIT_KEYS.items():
        names = data.get(key, [])
        if not isinstance(names, list):
            raise SceneFormatError(f"{json_path}: {key!r} must be a list of image names")
        for name in names:
            image = by_name.get(Path(os.path.normpath(str(name))).as_posix())
            if image is not None:
                image.split = split


# ---------------------------------------------------------------------------------- writing
def _intrinsics_dict(camera: Camera) -> dict[str, float]:
    if camera.model not in ("PINHOLE", "SIMPLE_PINHOLE", "OPENCV", "SIMPLE_RADIAL", "RADIAL"):
        raise UnsupportedCameraModel(f"camera model {camera.model} has no transforms.json form")
    fx, fy = camera.focal
    cx, cy = camera.principal_point
    k1, k2, p1, p2 = camera.distortion
    return {
        "fl_x": fx,
        "fl_y": fy,
        "cx": cx,
        "cy": cy,
        "w": float(camera.width),
        "h": float(camera.height),
        "camera_angle_x": 2 * math.atan(camera.width / (2 * fx)),
        "camera_angle_y": 2 * math.atan(camera.height / (2 * fy)),
        "k1": k1,
        "k2": k2,
        "p1": p1,
        "p2": p2,
    }


def transforms_dict(scene: SceneMap, json_dir: Path) -> dict[str, Any]:
    """The ``transforms.json`` content for ``scene`` written in ``json_dir`` (posed images)."""
    posed = [scene.images[i] for i in scene.posed_ids()]
    if len(posed) < len(scene.images):
        log.warning("%d unposed images are not written", len(scene.images) - len(posed))
    used = sorted({im.camera_id for im in posed})
    shared = len(used) == 1
    data: dict[str, Any] = {"camera_model": "OPENCV"}
    if shared:
        data.update(_intrinsics_dict(scene.cameras[used[0]]))
    image_dir = scene.image_dir if scene.image_dir is not None else json_dir
    frames = []
    for im in posed:
        assert im.cam_from_world is not None
        rel = Path(os.path.relpath((image_dir / im.name).resolve(), json_dir.resolve()))
        frame: dict[str, Any] = {
            "file_path": rel.as_posix(),
            "transform_matrix": cam_from_world_to_opengl_c2w(im.cam_from_world).tolist(),
        }
        if not shared:
            frame.update(_intrinsics_dict(scene.cameras[im.camera_id]))
        frames.append(frame)
    data["frames"] = frames
    for key, split in _SPLIT_KEYS.items():
        names = [f["file_path"] for f, im in zip(frames, posed, strict=True) if im.split == split]
        if names:
            data[key] = names
    return data


def write_transforms(scene: SceneMap, path: str | Path) -> Path:
    """Write ``scene``'s posed images as a ``transforms.json`` (a file path or a folder)."""
    path = Path(path)
    json_path = path / JSON_NAME if path.suffix != ".json" else path
    json_path.parent.mkdir(parents=True, exist_ok=True)
    data = transforms_dict(scene, json_path.parent)
    json_path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    return json_path
