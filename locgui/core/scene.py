"""The scene map: cameras, posed images, 3D points with tracks and colours, optional depth."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from locgui.core.camera import Camera
from locgui.core.pose import Rigid3


@dataclass(frozen=True)
class DepthInfo:
    """Where an image's depth map lives and how to read it.

    Attributes:
        path: absolute path of the depth file.
        scale: multiply stored values by this to get map units (e.g. 0.001 for millimetres).
        invalid: stored value meaning "no depth" (e.g. 65535 or 0), or None.
        kind: "z" for z-depth along the optical axis (the only kind locgui writes).
        camera_id: the camera whose pixels the depth map follows (None: the image's camera).
    """

    path: Path
    scale: float = 1.0
    invalid: float | None = 0.0
    kind: str = "z"
    camera_id: int | None = None


@dataclass
class SceneImage:
    """One image of a scene.

    Attributes:
        image_id: identifier within the scene.
        name: path of the image relative to ``SceneMap.image_dir``.
        camera_id: key into ``SceneMap.cameras``.
        cam_from_world: pose (OpenCV camera frame), or None where unknown.
        split: "train" (mapping) or "test" (query); readers set it from the dataset's splits.
        keypoints: (K, 2) float64 pixel coordinates (COLMAP convention) or None.
        point3D_ids: (K,) int64 id of the 3D point each keypoint observes, -1 for none.
        depth: where its depth map is, if the scene has depth.
    """

    image_id: int
    name: str
    camera_id: int
    cam_from_world: Rigid3 | None = None
    split: str = "train"
    keypoints: np.ndarray | None = None
    point3D_ids: np.ndarray | None = None
    depth: DepthInfo | None = None


@dataclass
class Points3D:
    """3D points with colours and tracks, as flat arrays.

    Attributes:
        ids: (N,) int64 point ids.
        xyz: (N, 3) float64 world coordinates, map units.
        rgb: (N, 3) uint8 colours.
        error: (N,) float64 mean reprojection error in pixels (NaN where unknown).
        track_point: (M,) int64 row index into ``ids`` of each observation.
        track_image: (M,) int64 image id of each observation.
        track_keypoint: (M,) int64 keypoint index within that image.
    """

    ids: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    xyz: np.ndarray = field(default_factory=lambda: np.zeros((0, 3)))
    rgb: np.ndarray = field(default_factory=lambda: np.zeros((0, 3), np.uint8))
    error: np.ndarray = field(default_factory=lambda: np.zeros(0))
    track_point: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    track_image: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    track_keypoint: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))

    def __len__(self) -> int:
        return len(self.ids)

    def index_of(self, point_ids: np.ndarray) -> np.ndarray:
        """Row indices for point ids (-1 where an id is unknown)."""
        point_ids = np.asarray(point_ids, dtype=np.int64)
        if len(self.ids) == 0:
            return np.full(point_ids.shape, -1, np.int64)
        order = np.argsort(self.ids)
        pos = np.searchsorted(self.ids, point_ids, sorter=order)
        pos = np.clip(pos, 0, len(self.ids) - 1)
        rows = order[pos]
        return np.where(self.ids[rows] == point_ids, rows, -1)

    def track_of(self, row: int) -> list[tuple[int, int]]:
        """Observations (image_id, keypoint index) of the point at row ``row``."""
        sel = self.track_point == row
        return list(
            zip(self.track_image[sel].tolist(), self.track_keypoint[sel].tolist(), strict=True)
        )

    def track_lengths(self) -> np.ndarray:
        """(N,) number of observations per point."""
        return np.bincount(self.track_point, minlength=len(self.ids))


@dataclass
class SceneMap:
    """A scene as every reader returns it.

    Attributes:
        cameras: camera_id -> Camera.
        images: image_id -> SceneImage.
        points: 3D points (possibly empty).
        image_dir: folder that image names are relative to (None if images are not on disk).
        units: "metres" where the dataset has metric scale, else "arbitrary".
        source_format: the reader that produced it ("colmap", "transforms.json", "7scenes", ...).
        source_path: what was opened.
        missing_images: names listed by the dataset whose files are absent.
        meta: free-form facts from the reader (e.g. the original convention).
    """

    cameras: dict[int, Camera] = field(default_factory=dict)
    images: dict[int, SceneImage] = field(default_factory=dict)
    points: Points3D = field(default_factory=Points3D)
    image_dir: Path | None = None
    units: str = "arbitrary"
    source_format: str = "unknown"
    source_path: Path | None = None
    missing_images: list[str] = field(default_factory=list)
    meta: dict = field(default_factory=dict)

    # ------------------------------------------------------------------ queries
    def image_path(self, image_id: int) -> Path:
        if self.image_dir is None:
            raise ValueError("this scene has no image folder")
        return self.image_dir / self.images[image_id].name

    def camera_of(self, image_id: int) -> Camera:
        return self.cameras[self.images[image_id].camera_id]

    def image_by_name(self, name: str) -> SceneImage | None:
        for im in self.images.values():
            if im.name == name:
                return im
        return None

    def split_ids(self, split: str) -> list[int]:
        return sorted(i for i, im in self.images.items() if im.split == split)

    def posed_ids(self) -> list[int]:
        return sorted(i for i, im in self.images.items() if im.cam_from_world is not None)

    def camera_centers(self, image_ids: list[int] | None = None) -> np.ndarray:
        """(N, 3) camera centres (world frame) of posed images, in ``image_ids`` order."""
        ids = self.posed_ids() if image_ids is None else image_ids
        centers = []
        for i in ids:
            pose = self.images[i].cam_from_world
            if pose is None:
                raise ValueError(f"image {i} has no pose")
            centers.append(pose.center)
        return np.array(centers).reshape(-1, 3)

    def bounds(self) -> tuple[np.ndarray, np.ndarray] | None:
        """Axis-aligned (min, max) over 3D points and camera centres, or None if empty."""
        parts = [self.points.xyz] if len(self.points) else []
        if self.posed_ids():
            parts.append(self.camera_centers())
        if not parts:
            return None
        allp = np.concatenate(parts)
        return allp.min(axis=0), allp.max(axis=0)

    def scene_radius(self) -> float:
        """Median distance of camera centres from their mean (a scale for relative errors)."""
        from locgui.core.metrics import spread_radius

        return spread_radius(self.camera_centers() if self.posed_ids() else self.points.xyz)

    def has_depth(self) -> bool:
        return any(im.depth is not None for im in self.images.values())

    def splits(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for im in self.images.values():
            out[im.split] = out.get(im.split, 0) + 1
        return out

    def subset(self, image_ids: list[int]) -> SceneMap:
        """A shallow copy holding only ``image_ids`` (points and cameras kept)."""
        keep = set(image_ids)
        return SceneMap(
            cameras=dict(self.cameras),
            images={i: im for i, im in self.images.items() if i in keep},
            points=self.points,
            image_dir=self.image_dir,
            units=self.units,
            source_format=self.source_format,
            source_path=self.source_path,
            missing_images=list(self.missing_images),
            meta=dict(self.meta),
        )
