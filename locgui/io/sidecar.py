"""The ``locgui_scene.json`` sidecar: what a COLMAP model cannot hold.

Schema (version 1, see docs/DEVELOPING.md)::

    {"format": "locgui-scene", "version": 1, "units": "metres",
     "image_dir": "images",
     "depth": {"dir": "depth", "suffix": ".npy", "scale": 1.0, "invalid": 0.0},
     "splits": {"train": ["map_0000.png"], "test": ["query_0000.png"]},
     "unposed_images": [{"image_id": 3, "name": "x.png", "camera_id": 1}],
     "meta": {}}

Every key but ``format`` and ``version`` is optional. Relative paths are resolved from the
sidecar's folder; when that does not exist, from the scene root (the folder holding
``sparse/``), so a sidecar inside ``sparse/0`` may say ``"image_dir": "images"``. The depth file
of image ``NAME`` is ``<depth.dir>/<NAME without its extension><depth.suffix>``.
``unposed_images`` lists images without a pose (COLMAP files only hold posed images).
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

from locgui.core.errors import SceneFormatError
from locgui.core.scene import DepthInfo, SceneImage, SceneMap
from locgui.io.limits import load_json

log = logging.getLogger(__name__)

SIDECAR_NAME = "locgui_scene.json"
SIDECAR_FORMAT = "locgui-scene"
SIDECAR_VERSION = 1
UNITS = ("metres", "arbitrary")


def scene_root(model_dir: Path) -> Path:
    """The dataset folder of a COLMAP model: the parent of ``sparse/``, ``sparse/N``,
    ``reconstruction/`` or ``reconstruction/N``."""
    parents = ("sparse", "reconstruction")
    if model_dir.name in parents:
        return model_dir.parent
    if model_dir.parent.name in parents:
        return model_dir.parent.parent
    return model_dir


def find_sidecar(model_dir: Path) -> Path | None:
    """The sidecar beside a model (``model_dir``, then up to the scene root), or None."""
    folder = model_dir
    root = scene_root(model_dir)
    while True:
        candidate = folder / SIDECAR_NAME
        if candidate.is_file():
            return candidate
        if folder == root or folder.parent == folder:
            return None
        folder = folder.parent


def read_sidecar(path: Path) -> dict[str, Any]:
    """Load and validate a sidecar; raises ``SceneFormatError`` naming the file."""
    try:
        data = load_json(path)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SceneFormatError(f"{path}: unreadable sidecar ({exc})") from exc
    if not isinstance(data, dict) or data.get("format") != SIDECAR_FORMAT:
        raise SceneFormatError(f"{path}: not a locgui scene sidecar (format != {SIDECAR_FORMAT!r})")
    version = data.get("version")
    if not isinstance(version, int) or version > SIDECAR_VERSION:
        raise SceneFormatError(
            f"{path}: sidecar version {version!r} is not supported (this locgui reads "
            f"<= {SIDECAR_VERSION}; update locgui)"
        )
    units = data.get("units", "arbitrary")
    if units not in UNITS:
        raise SceneFormatError(f"{path}: units {units!r} must be one of {UNITS}")
    _check_types(path, data)
    return data


def _check_types(path: Path, data: dict[str, Any]) -> None:
    expected = {
        "image_dir": str,
        "depth": dict,
        "splits": dict,
        "meta": dict,
        "unposed_images": list,
    }
    for key, kind in expected.items():
        if key in data and not isinstance(data[key], kind):
            raise SceneFormatError(f"{path}: sidecar key {key!r} must be a {kind.__name__}")
    depth = data.get("depth")
    if depth is not None and not isinstance(depth.get("dir"), str):
        raise SceneFormatError(f"{path}: sidecar depth needs a 'dir' string")
    for split, names in data.get("splits", {}).items():
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise SceneFormatError(f"{path}: sidecar split {split!r} must be a list of names")


def _resolve(rel: str, sidecar_dir: Path, root: Path) -> Path:
    first = (sidecar_dir / rel).resolve()
    if first.exists():
        return first
    second = (root / rel).resolve()
    return second if second.exists() else first


def depth_path(depth_dir: Path, name: str, suffix: str) -> Path:
    """Depth file of image ``name``: ``depth_dir / (name without extension + suffix)``."""
    stem = Path(name).with_suffix("")
    return depth_dir / stem.parent / (stem.name + suffix)


def apply_sidecar(scene: SceneMap, path: Path, root: Path) -> None:
    """Update ``scene`` in place from the sidecar at ``path`` (units, images, depth, splits)."""
    data = read_sidecar(path)
    sidecar_dir = path.parent
    scene.units = data.get("units", scene.units)
    if "image_dir" in data:
        scene.image_dir = _resolve(data["image_dir"], sidecar_dir, root)
    for entry in data.get("unposed_images", []):
        try:
            image = SceneImage(int(entry["image_id"]), str(entry["name"]), int(entry["camera_id"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise SceneFormatError(f"{path}: bad unposed_images entry {entry!r}") from exc
        if image.camera_id not in scene.cameras:
            raise SceneFormatError(f"{path}: unposed image {image.name!r} has unknown camera")
        scene.images.setdefault(image.image_id, image)
    scene.images = dict(sorted(scene.images.items()))
    depth = data.get("depth")
    if depth is not None:
        depth_dir = _resolve(depth["dir"], sidecar_dir, root)
        suffix = str(depth.get("suffix", ".npy"))
        scale = float(depth.get("scale", 1.0))
        invalid = depth.get("invalid", 0.0)
        for im in scene.images.values():
            im.depth = DepthInfo(
                depth_path(depth_dir, im.name, suffix),
                scale=scale,
                invalid=None if invalid is None else float(invalid),
            )
    _apply_splits(scene, data.get("splits", {}), path)
    scene.meta.update(data.get("meta", {}))
    scene.meta["sidecar"] = str(path)


def _apply_splits(scene: SceneMap, splits: dict[str, list[str]], path: Path) -> None:
    by_name = {im.name: im for im in scene.images.values()}
    unknown: list[str] = []
    for split, names in splits.items():
        for name in names:
            image = by_name.get(name)
            if image is None:
                unknown.append(name)
            else:
                image.split = split
    if unknown:
        log.warning("%s: %d split entries name no image (e.g. %s)", path, len(unknown), unknown[0])


def sidecar_dict(scene: SceneMap, sidecar_dir: Path) -> dict[str, Any]:
    """The sidecar content describing ``scene`` for a sidecar written in ``sidecar_dir``."""
    data: dict[str, Any] = {
        "format": SIDECAR_FORMAT,
        "version": SIDECAR_VERSION,
        "units": scene.units,
    }
    if scene.image_dir is not None:
        data["image_dir"] = _relative(scene.image_dir, sidecar_dir)
    depth = _depth_entry(scene, sidecar_dir)
    if depth is not None:
        data["depth"] = depth
    splits: dict[str, list[str]] = {}
    for im in scene.images.values():
        splits.setdefault(im.split, []).append(im.name)
    data["splits"] = splits
    unposed = [
        {"image_id": im.image_id, "name": im.name, "camera_id": im.camera_id}
        for im in scene.images.values()
        if im.cam_from_world is None
    ]
    if unposed:
        data["unposed_images"] = unposed
    data["meta"] = _jsonable_meta(scene.meta)
    return data


def write_sidecar(scene: SceneMap, sidecar_dir: Path) -> Path:
    """Write ``locgui_scene.json`` for ``scene`` into ``sidecar_dir``; returns its path."""
    sidecar_dir.mkdir(parents=True, exist_ok=True)
    path = sidecar_dir / SIDECAR_NAME
    path.write_text(json.dumps(sidecar_dict(scene, sidecar_dir), indent=1) + "\n", "utf-8")
    return path


def _relative(target: Path, base: Path) -> str:
    return Path(os.path.relpath(target.resolve(), base.resolve())).as_posix()


def _depth_entry(scene: SceneMap, sidecar_dir: Path) -> dict[str, Any] | None:
    """Describe the images' depth files by one (dir, suffix, scale, invalid), if they fit one."""
    with_depth = [im for im in scene.images.values() if im.depth is not None]
    if not with_depth:
        return None
    first = with_depth[0]
    assert first.depth is not None
    stem = Path(first.name).with_suffix("")
    file_name = first.depth.path.name
    parent = first.depth.path.parent
    nested = stem.parent.parts
    if not file_name.startswith(stem.name) or (nested and parent.parts[-len(nested) :] != nested):
        log.warning("depth files do not follow <dir>/<name><suffix>: not recorded in the sidecar")
        return None
    suffix = file_name[len(stem.name) :]
    depth_dir = Path(*parent.parts[: len(parent.parts) - len(nested)])
    for im in with_depth:
        assert im.depth is not None
        same = (im.depth.scale, im.depth.invalid) == (first.depth.scale, first.depth.invalid)
        if not same or im.depth.path != depth_path(depth_dir, im.name, suffix):
            log.warning(
                "depth files do not share one folder/suffix/scale: not recorded in the sidecar"
            )
            return None
    return {
        "dir": _relative(depth_dir, sidecar_dir),
        "suffix": suffix,
        "scale": first.depth.scale,
        "invalid": first.depth.invalid,
    }


def _jsonable_meta(meta: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in meta.items():
        if key == "sidecar":
            continue
        try:
            json.dumps(value)
        except (TypeError, ValueError):
            value = str(value)
        out[str(key)] = value
    return out
