"""Query sources: what the query list holds until a worker reads the pixels."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from locgui.core.camera import Camera
from locgui.core.pose import Rigid3
from locgui.core.results import Query
from locgui.core.scene import SceneMap

HELD_OUT_SUFFIX = " (held out)"


@dataclass(frozen=True)
class QuerySource:
    """Where a query comes from. Immutable: safe to hand to a worker.

    Attributes:
        name: unique display name (the key of results).
        path: image file, if it is one.
        image_id: the scene image it is (query split, or a database image held out).
        held_out: the scene image is a database image excluded from retrieval.
        camera: known intrinsics (scene images), or None (the method guesses).
        gt_cam_from_world: ground truth when known.
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


def scene_query(scene: SceneMap, image_id: int, held_out: bool = False) -> QuerySource:
    """A query from a scene image: its camera and ground-truth pose come along."""
    im = scene.images[image_id]
    path = scene.image_path(image_id) if scene.image_dir is not None else None
    return QuerySource(
        name=im.name + (HELD_OUT_SUFFIX if held_out else ""),
        path=path,
        image_id=image_id,
        held_out=held_out,
        camera=scene.camera_of(image_id),
        gt_cam_from_world=im.cam_from_world,
    )


def file_query(path: Path, taken: set[str] | None = None) -> QuerySource:
    """A query from an image file (no intrinsics, no ground truth); the name is made unique."""
    return QuerySource(name=unique_name(path.name, taken or set()), path=path)


def split_queries(scene: SceneMap) -> list[QuerySource]:
    """The scene's query split ("test"), in image-id order."""
    return [scene_query(scene, i) for i in scene.split_ids("test")]


def unique_name(name: str, taken: set[str]) -> str:
    if name not in taken:
        return name
    k = 2
    while f"{name} ({k})" in taken:
        k += 1
    return f"{name} ({k})"
