"""Map bundles: a folder ``SCENE.locmap/`` holding everything a localizer needs.

Layout (format "locgui-map", version 1)::

    manifest.json          written last; without it the folder is an incomplete bundle
    model/                 COLMAP model (binary) + locgui_scene.json sidecar, mapping images only
    features/              packed per-image local features, rows grouped by image:
        index.npz            image_ids (n,), offsets (n + 1,), sizes (n, 2) (width, height)
        keypoints.npy        (K, 2) float32 pixels, COLMAP convention, original image frame
        descriptors.npy      (K, D) float16 L2-normalized rows (float32 when read)
        scores.npy           (K,) float32
    retrieval.npz          GlobalIndex state (capability "retrieval")
    points/                per-3D-point descriptors (capability "point_descriptors"):
        ids.npy (N,) int64, descriptors.npy (N, D) float16
    images/                optional copy of the mapping images
    checkpoints/<name>/    config.json, metrics.json and weight files of a trained model

Everything is written into a hidden staging folder beside the target and renamed into place,
so an interrupted write never leaves a folder that looks complete. Keypoint row ``i`` of an
image is COLMAP ``points2D[i]`` of that image in ``model/``.
"""

from __future__ import annotations

import datetime as _dt
import json
import logging
import shutil
import zipfile
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any, Protocol

import numpy as np

import locgui
from locgui.core.errors import BundleError, LocguiError
from locgui.core.scene import DepthInfo, SceneMap
from locgui.io.bundle_safety import (
    bundle_lock,
    check_no_symlinks,
    recover_bundle,
    staging_dir,
    write_json_atomic,
)
from locgui.io.limits import load_json
from locgui.runtime.resources import ResourceCache

log = logging.getLogger(__name__)

FORMAT = "locgui-map"
VERSION = 1
MANIFEST = "manifest.json"
CAPABILITIES = (
    "sfm_points",
    "retrieval",
    "point_descriptors",
    "depth",
    "scr",
    "nerf",
    "apr",
    "nerfmatch",
)  # plus "features:<type>"
CONVENTIONS = {
    "pose": "cam_from_world maps world points into the camera frame",
    "camera_frame": "OpenCV: x right, y down, z forward",
    "pixels": "COLMAP: the centre of the top-left pixel is (0.5, 0.5)",
}


class FeatureSet(Protocol):
    """What the bundle stores per image (``locgui.methods.features.Features`` satisfies it)."""

    keypoints: np.ndarray
    descriptors: np.ndarray
    scores: np.ndarray
    image_size: tuple[int, int]
    kind: str


# ---------------------------------------------------------------------------------- writing
def check_replaceable(target: Path) -> None:
    """Raise BundleError unless ``target`` is absent, an empty folder or a locgui map bundle.

    ``overwrite`` replaces map bundles only: a folder of anything else (a dataset, photos) is
    never deleted on the way to writing a map.
    """
    target = Path(target)
    if not target.exists() and not target.is_symlink():
        return
    if target.is_dir() and not target.is_symlink() and not any(target.iterdir()):
        return
    try:
        data = load_json(target / MANIFEST)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        data = None
    if target.is_symlink() or not isinstance(data, dict) or data.get("format") != FORMAT:
        raise BundleError(
            f"{target} is not a locgui map bundle (no {MANIFEST} of format {FORMAT!r}); "
            "refusing to replace it: choose another --out or remove it yourself"
        )


def write_features(folder: Path, features: Mapping[int, FeatureSet]) -> None:
    """Pack per-image features into ``folder`` (see the module docstring for the layout)."""
    folder.mkdir(parents=True, exist_ok=True)
    ids = np.array(sorted(features), dtype=np.int64)
    counts = np.array([len(features[i].keypoints) for i in ids], dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    sizes = np.array([features[i].image_size for i in ids], dtype=np.int64).reshape(-1, 2)
    dim = features[int(ids[0])].descriptors.shape[1] if len(ids) else 0

    def stack(attr: str, shape: tuple[int, ...], dtype: type) -> np.ndarray:
        parts: list[np.ndarray] = [np.asarray(getattr(features[i], attr), dtype) for i in ids]
        return np.concatenate(parts) if parts else np.zeros(shape, dtype)

    np.save(folder / "keypoints.npy", stack("keypoints", (0, 2), np.float32))
    np.save(folder / "descriptors.npy", stack("descriptors", (0, dim), np.float16))
    np.save(folder / "scores.npy", stack("scores", (0,), np.float32))
    np.savez(folder / "index.npz", image_ids=ids, offsets=offsets, sizes=sizes)


def write_bundle(
    out: Path,
    scene: SceneMap,
    features: Mapping[int, FeatureSet],
    feature_info: Mapping[str, Any],
    *,
    retrieval_state: Mapping[str, np.ndarray] | None = None,
    retrieval_info: Mapping[str, Any] | None = None,
    point_descriptors: np.ndarray | None = None,
    source: Mapping[str, Any] | None = None,
    copy_images: bool = False,
    overwrite: bool = False,
    extra: Mapping[str, Any] | None = None,
) -> Path:
    """Write a complete bundle atomically and return its path.

    Args:
        out: the bundle folder to create (conventionally ``NAME.locmap``).
        scene: mapping images (posed), cameras and 3D points with tracks. Its images'
            ``keypoints`` must be the rows of ``features`` (COLMAP points2D order).
        features: image_id -> features of that image (all of the same kind).
        feature_info: at least ``{"type": "xfeat", "config": {...}}``; stored in the manifest.
        retrieval_state: ``GlobalIndex.state()`` arrays; adds capability "retrieval".
        point_descriptors: (N, D) descriptors in ``scene.points.ids`` order; adds
            capability "point_descriptors".
        source: where the map came from (path, format, how poses were obtained).
        copy_images: copy the mapping images into ``images/`` instead of referencing them.
        extra: more manifest entries (e.g. statistics of the build).
    """
    from locgui.io.colmap import write_colmap

    feature_type = str(feature_info["type"])
    caps = {f"features:{feature_type}"}
    out = Path(out).absolute()
    with bundle_lock(out), staging_dir(out, overwrite=overwrite) as tmp:
        if overwrite:
            check_replaceable(out)
        write_colmap(scene, tmp / "model", binary=True)
        write_features(tmp / "features", features)
        if len(scene.points):
            caps.add("sfm_points")
        if retrieval_state is not None:
            np.savez(tmp / "retrieval.npz", allow_pickle=False, **dict(retrieval_state))
            caps.add("retrieval")
        if point_descriptors is not None and len(scene.points):
            (tmp / "points").mkdir()
            np.save(tmp / "points" / "ids.npy", scene.points.ids.astype(np.int64))
            np.save(tmp / "points" / "descriptors.npy", point_descriptors.astype(np.float16))
            caps.add("point_descriptors")
        if scene.has_depth():
            caps.add("depth")
        images = _place_images(scene, tmp, copy_images)
        manifest = {
            "format": FORMAT,
            "version": VERSION,
            "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
            "locgui_version": locgui.__version__,
            "conventions": CONVENTIONS,
            "units": scene.units,
            "capabilities": sorted(caps),
            "features": dict(feature_info),
            "retrieval": dict(retrieval_info or {}),
            "images": images,
            "depth": _depth_manifest(scene),
            "source": dict(source or {}),
            "stats": {
                "images": len(scene.images),
                "points": len(scene.points),
                "observations": len(scene.points.track_point),
            },
            "checkpoints": {},
            **dict(extra or {}),
        }
        write_json_atomic(tmp / MANIFEST, manifest)
    log.info("wrote map bundle %s (%s)", out, ", ".join(sorted(caps)))
    return out


def _place_images(scene: SceneMap, folder: Path, copy: bool) -> dict[str, Any]:
    if scene.image_dir is None:
        return {"dir": None, "copied": False}
    src = Path(scene.image_dir).absolute()
    if not copy:
        return {"dir": str(src), "copied": False}
    from locgui.io.paths import confined

    for im in scene.images.values():
        dst = confined(folder / "images", im.name, f"{src}: image")
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(confined(src, im.name, f"{src}: image"), dst)
    return {"dir": "images", "copied": True, "original_dir": str(src)}


def _depth_manifest(scene: SceneMap) -> dict[str, Any]:
    files = {
        im.name: {"path": str(Path(im.depth.path).absolute()), "scale": im.depth.scale,
                  "invalid": im.depth.invalid, "kind": im.depth.kind}
        for im in scene.images.values() if im.depth is not None
    }  # fmt: skip
    return {"files": files}


# ---------------------------------------------------------------------------------- reading
def read_manifest(path: Path) -> dict[str, Any]:
    """The validated manifest of the bundle at ``path`` (raises BundleError)."""
    path = Path(path)
    if not path.is_dir():
        raise BundleError(f"{path}: no map bundle here (not a folder)")
    mpath = path / MANIFEST
    if not mpath.is_file():
        raise BundleError(
            f"{path} is an incomplete map bundle (no {MANIFEST}; its write was interrupted): "
            "rebuild it with `locgui map build`"
        )
    try:
        manifest = load_json(mpath)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BundleError(f"{mpath}: unreadable manifest ({exc})") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BundleError(f"{mpath}: not a locgui map manifest (format is not {FORMAT!r})")
    version = manifest.get("version")
    if version != VERSION:
        raise BundleError(
            f"{mpath}: map bundle version {version!r} is not supported by locgui "
            f"{locgui.__version__} (it reads version {VERSION}); rebuild the map"
        )
    features = manifest.get("features")
    if not isinstance(features, dict) or not isinstance(features.get("type"), str):
        raise BundleError(f"{mpath}: the manifest names no local feature type ('features')")
    return manifest


def read_npz(path: Path, what: str) -> dict[str, np.ndarray]:
    """The arrays of an ``.npz`` file, never unpickled; BundleError naming ``what`` when it
    is missing, corrupt or holds pickled objects."""
    try:
        with path.open("rb") as fh:  # closed even when numpy's zip reading fails
            z = np.load(fh, allow_pickle=False)
            if not isinstance(z, np.lib.npyio.NpzFile):
                raise ValueError("not an .npz archive")
            with z:
                return {k: z[k] for k in z.files}
    except ValueError as exc:
        reason = "it holds pickled objects" if "pickle" in str(exc) else str(exc)
        raise BundleError(f"{path}: corrupt {what} ({reason}); rebuild the map") from exc
    except (OSError, EOFError, zipfile.BadZipFile, zlib.error, NotImplementedError) as exc:
        # NotImplementedError: zipfile's answer to an unknown version or compression field
        raise BundleError(f"{path}: missing or corrupt {what} ({exc}); rebuild the map") from exc


def open_bundle(path: str | Path, feature_type: str | None = None) -> MapBundle:
    """Open a map bundle (never touches the network).

    Args:
        path: the ``SCENE.locmap`` folder.
        feature_type: if given, the local feature type the caller needs ("xfeat", ...).
    Raises:
        BundleError: missing, incomplete, unknown version, or built with other features.
    """
    return MapBundle(Path(path), feature_type)


class MapBundle:
    """An opened map bundle.

    Attributes:
        path: the bundle folder.
        manifest: the parsed manifest.
        scene: cameras, posed mapping images with keypoints/point3D_ids, 3D points.
        capabilities: e.g. {"sfm_points", "features:xfeat", "retrieval"}.
        feature_type: the local feature kind stored ("xfeat", "sift", "aliked").
    """

    def __init__(self, path: Path, feature_type: str | None = None) -> None:
        self.path = Path(path).absolute()
        recover_bundle(self.path)  # a replace a crash left half done
        check_no_symlinks(self.path)
        self.manifest = read_manifest(self.path)
        self.feature_type = str(self.manifest["features"]["type"])
        if feature_type is not None and feature_type != self.feature_type:
            raise BundleError(
                f"{self.path}: map was built with {self.feature_type} features, but "
                f"{feature_type} features were requested; rebuild it with "
                f"`locgui map build ... --features {feature_type}`"
            )
        try:
            self.capabilities: set[str] = set(self.manifest.get("capabilities", []))
        except TypeError as exc:
            raise BundleError(f"{self.path / MANIFEST}: malformed 'capabilities' ({exc})") from exc
        self.scene = self._load_scene()
        self._index = self._load_feature_index()
        self._arrays: dict[str, np.ndarray] = {}
        # Loaded weights, indexes and caches of this map, shared by every reader of it.
        self.resources = ResourceCache()

    def __repr__(self) -> str:
        return f"MapBundle({str(self.path)!r}, {len(self.scene.images)} images)"

    @property
    def units(self) -> str:
        return self.scene.units

    def _load_scene(self) -> SceneMap:
        from locgui.io import open_scene

        model = self.path / "model"
        try:
            scene = open_scene(model)
        except LocguiError as exc:
            raise BundleError(f"{model}: the bundle's COLMAP model does not load ({exc})") from exc
        try:
            self._apply_manifest(scene)
        except (KeyError, TypeError, AttributeError, ValueError) as exc:
            raise BundleError(
                f"{self.path / MANIFEST}: malformed 'images' or 'depth' entry "
                f"({type(exc).__name__}: {exc}); rebuild the map"
            ) from exc
        scene.meta = {**scene.meta, "bundle": str(self.path)}
        return scene

    def _apply_manifest(self, scene: SceneMap) -> None:
        """The image folder and depth files the manifest records, set on ``scene``."""
        images = self.manifest.get("images", {})
        if images.get("dir") is not None:
            scene.image_dir = (self.path / images["dir"]).absolute()
        else:
            scene.image_dir = None
        depth = self.manifest.get("depth", {}).get("files", {})
        for im in scene.images.values():
            d = depth.get(im.name)
            if d is not None:
                info = DepthInfo(Path(d["path"]), d["scale"], d["invalid"], d.get("kind", "z"))
                scene.images[im.image_id] = replace(im, depth=info)

    def _load_feature_index(self) -> dict[int, tuple[int, int, tuple[int, int]]]:
        path = self.path / "features" / "index.npz"
        index = read_npz(path, "feature index")
        try:
            ids, offsets, sizes = index["image_ids"], index["offsets"], index["sizes"]
        except KeyError as exc:
            raise BundleError(f"{path}: corrupt feature index (no {exc}); rebuild the map") from exc
        return {
            int(i): (int(offsets[k]), int(offsets[k + 1]), (int(sizes[k][0]), int(sizes[k][1])))
            for k, i in enumerate(ids)
        }

    def _array(self, name: str) -> np.ndarray:
        if name not in self._arrays:
            path = self.path / "features" / f"{name}.npy"
            try:
                self._arrays[name] = np.load(path, mmap_mode="r")
            except (OSError, ValueError) as exc:
                raise BundleError(f"{path}: missing or corrupt ({exc})") from exc
        return self._arrays[name]

    # ------------------------------------------------------------------ features
    @property
    def feature_config(self) -> dict[str, Any]:
        return dict(self.manifest["features"].get("config", {}))

    def feature_image_ids(self) -> list[int]:
        return sorted(self._index)

    def feature_image_size(self, image_id: int) -> tuple[int, int]:
        """(width, height) of the image the stored features of ``image_id`` came from."""
        if image_id not in self._index:
            raise BundleError(f"{self.path}: no features stored for image {image_id}")
        return tuple(self._index[image_id][2])  # type: ignore[return-value]

    def feature_arrays(self, image_id: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(keypoints (K, 2) float32, descriptors (K, D) float32, scores (K,) float32)."""
        if image_id not in self._index:
            raise BundleError(f"{self.path}: no features stored for image id {image_id}")
        a, b, _ = self._index[image_id]
        return (
            np.asarray(self._array("keypoints")[a:b], dtype=np.float32),
            np.asarray(self._array("descriptors")[a:b], dtype=np.float32),
            np.asarray(self._array("scores")[a:b], dtype=np.float32),
        )

    # ------------------------------------------------------------------ retrieval, points
    def retrieval_state(self) -> dict[str, np.ndarray]:
        path = self.path / "retrieval.npz"
        if "retrieval" not in self.capabilities or not path.is_file():
            raise BundleError(f"{self.path}: this map has no retrieval index; rebuild it")
        return read_npz(path, "retrieval index")

    def point_descriptors(self) -> tuple[np.ndarray, np.ndarray]:
        """(ids (N,) int64, descriptors (N, D) float32) of the 3D points."""
        folder = self.path / "points"
        if "point_descriptors" not in self.capabilities:
            raise BundleError(f"{self.path}: this map has no per-point descriptors; rebuild it")
        try:
            ids = np.load(folder / "ids.npy")
            desc = np.load(folder / "descriptors.npy").astype(np.float32)
        except (OSError, ValueError) as exc:
            raise BundleError(f"{folder}: missing or corrupt point descriptors ({exc})") from exc
        return ids, desc

    # ------------------------------------------------------------------ checkpoints
    def checkpoints(self) -> dict[str, dict[str, Any]]:
        return dict(self.manifest.get("checkpoints", {}))

    def checkpoint_dir(self, name: str) -> Path:
        """The folder of checkpoint ``name`` (raises BundleError if there is none)."""
        folder = self.path / "checkpoints" / name
        if name not in self.manifest.get("checkpoints", {}) or not folder.is_dir():
            raise BundleError(f"{self.path}: no checkpoint {name!r} in this map")
        return folder

    def add_checkpoint(
        self,
        name: str,
        files: Mapping[str, str | Path | bytes] | Iterable[str | Path],
        config: Mapping[str, Any],
        metrics: Mapping[str, Any],
        capabilities: Iterable[str] | None = None,
    ) -> Path:
        """Store a trained model atomically and record it in the manifest.

        Args:
            name: checkpoint name (e.g. "scr"); replaces an existing one of that name.
            files: file name -> source path or bytes, or source paths (kept by base name).
            config, metrics: JSON-ready dicts written as config.json / metrics.json.
            capabilities: capabilities it provides (default: ``{name}``).
        Returns:
            The checkpoint folder.
        """
        if not name or "/" in name or name.startswith("."):
            raise BundleError(f"invalid checkpoint name {name!r}")
        items = files.items() if isinstance(files, Mapping) else ((Path(p).name, p) for p in files)
        target = self.path / "checkpoints" / name
        caps = set(capabilities) if capabilities is not None else {name}
        manifest: dict[str, Any] = {}

        def record() -> None:  # the commit: a replace is undone unless the manifest names it
            check_no_symlinks(self.path)
            manifest.update(read_manifest(self.path))  # re-read: another writer may have added
            manifest.setdefault("checkpoints", {})[name] = {
                "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
                "capabilities": sorted(caps),
                "config": dict(config),
                "metrics": dict(metrics),
            }
            manifest["capabilities"] = sorted(set(manifest.get("capabilities", [])) | caps)
            write_json_atomic(self.path / MANIFEST, manifest)

        with bundle_lock(self.path):  # one writer: no lost manifest update
            check_no_symlinks(self.path)
            with staging_dir(target, overwrite=True, commit=record) as tmp:
                for fname, src in items:
                    if Path(fname).name != fname or fname in ("", ".", ".."):
                        raise BundleError(f"checkpoint {name}: bad file name {fname!r}")
                    if not isinstance(src, bytes | str | Path):
                        raise BundleError(
                            f"checkpoint {name}: {fname} must be bytes or a file path"
                        )
                    if isinstance(src, bytes):
                        (tmp / fname).write_bytes(src)
                    else:
                        shutil.copy2(src, tmp / fname)
                (tmp / "config.json").write_text(json.dumps(dict(config), indent=2) + "\n")
                (tmp / "metrics.json").write_text(json.dumps(dict(metrics), indent=2) + "\n")
        self.manifest = manifest
        self.capabilities = set(manifest["capabilities"])
        return target
