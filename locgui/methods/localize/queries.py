"""Where queries come from: image files, a scene's split, a map's held-out images (their
intrinsics from ``locgui.io.calibration``)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from locgui.core.camera import Camera
from locgui.core.errors import LocguiError, SceneFormatError
from locgui.core.pose import Rigid3
from locgui.core.results import Query
from locgui.core.scene import SceneMap
from locgui.io.calibration import Intrinsics

log = logging.getLogger(__name__)

def expand_paths(paths: list[str | Path]) -> list[Path]:
    """Files as given; folders replaced by the image files they contain (sorted)."""
    from locgui.io.images import IMAGE_SUFFIXES

    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            out += sorted(f for f in p.iterdir() if f.suffix.lower() in IMAGE_SUFFIXES)
        else:
            out.append(p)
    return out


@dataclass
class QueryRef:
    """A query to be read when needed.

    Attributes:
        name: display name.
        path: image file.
        camera: known intrinsics (None: guess).
        gt_cam_from_world: ground truth in the map's frame, if known.
    """

    name: str
    path: Path
    camera: Camera | None = None
    gt_cam_from_world: Rigid3 | None = None

    def load(self, intrinsics: Intrinsics | None = None) -> Query:
        """Read the image (raises ImageDecodeError) and make the Query; ``intrinsics`` give
        its camera for the image size (raises IntrinsicsError for another aspect ratio)."""
        from locgui.io.images import read_image

        image = read_image(self.path)
        camera = self.camera
        if intrinsics is not None:
            camera = intrinsics.for_size(image.shape[1], image.shape[0])[0] or camera
        return Query(self.name, image, camera, self.gt_cam_from_world, self.path)


def refs_from_files(paths: list[Path]) -> list[QueryRef]:
    return [QueryRef(p.name, p) for p in paths]


def refs_from_scene(scene: SceneMap, names: list[str] | None = None) -> list[QueryRef]:
    """Queries from a scene: ``names`` if given, else split "test", else every posed image."""
    if scene.image_dir is None:
        raise SceneFormatError(f"{scene.source_path}: the scene has no image folder")
    by_name = {im.name: im for im in scene.images.values()}
    if names is None:
        test = [im.name for im in scene.images.values() if im.split == "test"]
        names = sorted(test) if test else sorted(by_name)
    missing = [n for n in names if n not in by_name]
    if missing:
        raise SceneFormatError(f"{scene.source_path}: no image named {missing[0]!r}")
    return [
        QueryRef(n, scene.image_dir / n, scene.camera_of(by_name[n].image_id),
                 by_name[n].cam_from_world)
        for n in names
    ]  # fmt: skip


def refs_for_eval(bundle: Any, spec: str) -> tuple[list[QueryRef], SceneMap]:
    """Queries with ground truth for ``locgui eval``, and the scene they come from.

    ``spec`` is a split name of the map's source scene ("test" also covers the images held
    out at build time), a scene path (its "test" split, else all posed images), or
    ``PATH:SPLIT``.
    """
    from locgui.io import open_scene

    if Path(spec).exists():
        scene = open_scene(Path(spec))
        return refs_from_scene(scene), scene
    path, _, split = spec.rpartition(":")
    if path and Path(path).exists():
        scene = open_scene(Path(path))
        return _split_refs(scene, split), scene
    source = bundle.manifest.get("source", {})
    if not source.get("path"):
        raise SceneFormatError(f"--queries {spec}: not a path, and the map names no source scene")
    try:
        scene = open_scene(Path(source["path"]))
    except LocguiError as exc:
        raise SceneFormatError(
            f"--queries {spec}: the map's source scene does not open ({exc})"
        ) from exc
    if spec == "test" and source.get("queries"):
        return refs_from_scene(scene, list(source["queries"])), scene
    return _split_refs(scene, spec), scene


def _split_refs(scene: SceneMap, split: str) -> list[QueryRef]:
    names = sorted(im.name for im in scene.images.values() if im.split == split)
    if not names:
        known = ", ".join(sorted(scene.splits()))
        raise SceneFormatError(f"{scene.source_path}: no images in split {split!r} (has: {known})")
    return refs_from_scene(scene, names)


def iter_queries(
    refs: list[QueryRef], intrinsics: Intrinsics | None = None
) -> Iterator[tuple[QueryRef, Query | None, str]]:
    """(ref, query, "") per ref, or (ref, None, reason) when the image does not load."""
    for ref in refs:
        try:
            yield ref, ref.load(intrinsics), ""
        except LocguiError as exc:
            yield ref, None, str(exc)
