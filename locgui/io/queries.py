"""Query references: a query to read when needed (an image file, a scene image, or pixels
already in memory), and where lists of them come from (image files, a scene's split, the
images a map held out). ``QueryRef.load()`` reads the pixels and returns the ``Query`` that
methods localize. The CLI (``localize``, ``eval``), the benchmarks and the workbench's query
list all use this one type.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from locgui.core.camera import Camera
from locgui.core.errors import LocguiError, SceneFormatError
from locgui.core.pose import Rigid3
from locgui.core.results import Query
from locgui.core.scene import SceneMap
from locgui.io.calibration import Intrinsics

HELD_OUT_SUFFIX = " (held out)"
"""Appended to the name of a database image used as a query (``QueryRef.from_scene``)."""


@dataclass(frozen=True)
class QueryRef:
    """Where a query comes from. Immutable: safe to hand to a worker.

    Attributes:
        name: unique display name (the key of results).
        path: image file, if it is one.
        image_id: the scene image it is (query split, or a database image held out).
        held_out: the scene image is a database image excluded from retrieval.
        camera: known intrinsics (scene images), or None (the method guesses).
        gt_cam_from_world: ground truth in the map's frame, when known.
        pixels: (H, W, 3) uint8 RGB when the image is already in memory (dropped pixels).
    """

    name: str
    path: Path | None = None
    image_id: int | None = None
    held_out: bool = False
    camera: Camera | None = None
    gt_cam_from_world: Rigid3 | None = None
    pixels: np.ndarray | None = None

    def load(self) -> Query:
        """Read the pixels (raises ``ImageDecodeError``) and return the ``Query``."""
        if self.pixels is not None:
            image = self.pixels
        elif self.path is not None:
            from locgui.io.images import read_image

            image = read_image(self.path)
        else:
            raise ValueError(f"query {self.name!r} has neither pixels nor a file")
        return Query(
            name=self.name,
            image=image,
            camera=self.camera,
            gt_cam_from_world=self.gt_cam_from_world,
            path=self.path,
            held_out_image_id=self.image_id if self.held_out else None,
        )

    @classmethod
    def from_scene(cls, scene: SceneMap, image_id: int, held_out: bool = False) -> QueryRef:
        """A scene image: its camera and ground-truth pose come along. ``held_out``: a
        database image localized against its own map (excluded from retrieval)."""
        im = scene.images[image_id]
        return cls(
            name=im.name + (HELD_OUT_SUFFIX if held_out else ""),
            path=scene.image_path(image_id) if scene.image_dir is not None else None,
            image_id=image_id,
            held_out=held_out,
            camera=scene.camera_of(image_id),
            gt_cam_from_world=im.cam_from_world,
        )

    @classmethod
    def from_file(cls, path: Path, taken: Iterable[str] = ()) -> QueryRef:
        """An image file (no intrinsics, no ground truth), named after it; the name is made
        unique among ``taken``."""
        return cls(name=unique_name(path.name, set(taken)), path=path)


def unique_name(name: str, taken: set[str]) -> str:
    """``name``, or ``"name (k)"`` with the smallest k >= 2 not in ``taken``."""
    if name not in taken:
        return name
    k = 2
    while f"{name} ({k})" in taken:
        k += 1
    return f"{name} ({k})"


# ------------------------------------------------------------------------------- lists
def expand_paths(paths: Iterable[str | Path]) -> list[Path]:
    """Files as given; folders replaced by the image files they contain (sorted). Raises
    SceneFormatError for a path that does not exist or a folder without images."""
    from locgui.io.images import IMAGE_SUFFIXES
    from locgui.io.limits import list_folder

    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            images = sorted(f for f in list_folder(p) if f.suffix.lower() in IMAGE_SUFFIXES)
            if not images:
                raise SceneFormatError(f"no images in {p}")
            out += images
        elif not p.exists():
            raise SceneFormatError(f"{p}: no such file or folder")
        else:
            out.append(p)
    return out


def refs_from_files(paths: Iterable[Path]) -> list[QueryRef]:
    """One reference per image file, named after the file."""
    return [QueryRef.from_file(p) for p in paths]


def split_refs(scene: SceneMap, split: str = "test") -> list[QueryRef]:
    """The scene's images of ``split`` in image-id order (the workbench's default query list;
    empty when the scene has no such split)."""
    return [QueryRef.from_scene(scene, i) for i in scene.split_ids(split)]


def refs_from_scene(scene: SceneMap, names: list[str] | None = None) -> list[QueryRef]:
    """Queries from a scene: ``names`` if given, else split "test", else every image (sorted
    by name). Raises SceneFormatError without an image folder or for an unknown name."""
    if scene.image_dir is None:
        raise SceneFormatError(f"{scene.source_path}: the scene has no image folder")
    by_name = {im.name: im for im in scene.images.values()}
    if names is None:
        test = [im.name for im in scene.images.values() if im.split == "test"]
        names = sorted(test) if test else sorted(by_name)
    missing = [n for n in names if n not in by_name]
    if missing:
        raise SceneFormatError(f"{scene.source_path}: no image named {missing[0]!r}")
    return [QueryRef.from_scene(scene, by_name[n].image_id) for n in names]


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
        return _named_split_refs(scene, split), scene
    named = path or spec
    if any(sep in named for sep in ("/", "\\")) or named.startswith("."):
        raise SceneFormatError(f"--queries {spec}: {named} does not exist")
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
    return _named_split_refs(scene, spec), scene


def _named_split_refs(scene: SceneMap, split: str) -> list[QueryRef]:
    names = sorted(im.name for im in scene.images.values() if im.split == split)
    if not names:
        known = ", ".join(sorted(scene.splits()))
        raise SceneFormatError(f"{scene.source_path}: no images in split {split!r} (has: {known})")
    return refs_from_scene(scene, names)


# ------------------------------------------------------------------------------- loading
def load_query(ref: QueryRef, intrinsics: Intrinsics | None = None) -> Query:
    """``ref.load()`` with the camera ``intrinsics`` gives for its image size (scaled from a
    calibration file, or a field-of-view guess); the reference's own camera when they give
    none. Raises LocguiError (an image that does not decode, a calibration of another
    aspect ratio)."""
    query = ref.load()
    if intrinsics is not None:
        height, width = query.image.shape[:2]
        query.camera = intrinsics.for_size(width, height)[0] or query.camera
    return query


def iter_queries(
    refs: Iterable[QueryRef], intrinsics: Intrinsics | None = None
) -> Iterator[tuple[QueryRef, Query | None, str]]:
    """(ref, query, "") per ref, or (ref, None, reason) when it does not load."""
    for ref in refs:
        try:
            query = load_query(ref, intrinsics)
        except LocguiError as exc:
            yield ref, None, str(exc)
            continue
        yield ref, query, ""
