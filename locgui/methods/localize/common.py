"""Stages shared by the structure-based localizers: query checks, intrinsics, features,
retrieval and the in-memory cache of the map's features.

A problem with one query raises ``QueryFailure`` (turned into ``success=False`` with the
reason); a problem with the map or config raises ``MethodError``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np

from locgui.core.camera import Camera
from locgui.core.errors import MethodError
from locgui.core.results import LocalizationResult, Query, Retrieved
from locgui.methods.features.types import bundle_features
from locgui.methods.localize.configs import QueryConfig
from locgui.methods.retrieval import bundle_index

log = logging.getLogger(__name__)


class QueryFailure(Exception):
    """This query cannot be localized; the message is the user-facing reason."""


# ---------------------------------------------------------------------------------- images
def normalize_image(image: np.ndarray) -> np.ndarray:
    """Any common image array -> (H, W, 3) uint8 RGB.

    Accepts (H, W) / (H, W, 1) grayscale, (H, W, 4) RGBA (alpha dropped), uint8, uint16
    (scaled by 255/65535), bool and float in [0, 1]. Raises QueryFailure otherwise.
    """
    a = np.asarray(image)
    if a.ndim == 3 and a.shape[2] == 1:
        a = a[..., 0]
    if a.ndim not in (2, 3) or (a.ndim == 3 and a.shape[2] not in (3, 4)):
        raise QueryFailure(f"image array has shape {a.shape}; expected (H, W), (H, W, 3) or 4")
    if a.dtype == np.uint16:
        a = ((a.astype(np.uint32) * 255 + 32767) // 65535).astype(np.uint8)
    elif a.dtype == np.bool_:
        a = a.astype(np.uint8) * 255
    elif np.issubdtype(a.dtype, np.floating):
        if not np.all(np.isfinite(a)):
            raise QueryFailure("image has NaN or infinite pixel values")
        a = np.clip(np.round(a * 255.0), 0, 255).astype(np.uint8)
    elif a.dtype != np.uint8:
        raise QueryFailure(f"image pixel type {a.dtype} is not supported")
    if a.ndim == 2:
        a = np.repeat(a[..., None], 3, axis=2)
    elif a.shape[2] == 4:
        a = a[..., :3]
    if min(a.shape[:2]) < 16:
        raise QueryFailure(f"image {a.shape[1]}x{a.shape[0]} is too small to localize")
    return np.ascontiguousarray(a)


# ---------------------------------------------------------------------------------- intrinsics
@dataclass
class QueryIntrinsics:
    """The camera used for a query and where it came from.

    Attributes:
        camera: intrinsics matching the query image size.
        source: "query", "map" (a map camera of the same image size) or "fov".
        note: a sentence for the result's reason/extras.
    """

    camera: Camera
    source: str
    note: str

    @property
    def guessed(self) -> bool:
        return self.source == "fov"


def query_intrinsics(
    query: Query, width: int, height: int, bundle: Any, fov_deg: float, use_map: bool = True
) -> QueryIntrinsics:
    """Intrinsics for a ``width`` x ``height`` query, the first that applies of:

    1. its own (``query.camera``);
    2. with EXIF in its file: the map camera the same EXIF camera and size were mapped with,
       else the EXIF focal (``locgui.io.camera_priors``), source "exif";
    3. without EXIF: a map camera of the same image size;
    4. a guess from ``fov_deg`` whose focal PnP estimates (source "fov").

    Raises QueryFailure when the query's own intrinsics are for another image size.
    """
    cam = query.camera
    if cam is not None:
        if (cam.width, cam.height) != (width, height):
            raise QueryFailure(
                f"intrinsics are for a {cam.width}x{cam.height} image but the query is "
                f"{width}x{height}"
            )
        return QueryIntrinsics(cam, "query", "")
    prior = _exif_prior(query, width, height)
    if prior is not None:
        mapped = _map_camera(bundle, width, height, prior.name) if use_map else None
        if mapped is not None:
            note = f"intrinsics: map camera {mapped.camera_id} (same EXIF camera and size)"
            return QueryIntrinsics(mapped, "map", note)
        from locgui.io.camera_priors import prior_camera

        camera = prior_camera(prior, width, height, 1)
        note = f"intrinsics: EXIF focal {prior.focal:.1f} px ({prior.name or 'unnamed camera'})"
        return QueryIntrinsics(camera, "exif", note)
    mapped = _map_camera(bundle, width, height, "") if use_map else None
    if mapped is not None:
        note = f"no intrinsics given: used map camera {mapped.camera_id} (same image size)"
        return QueryIntrinsics(mapped, "map", note)
    guess = Camera.from_fov(width, height, fov_deg)
    note = f"no intrinsics given: guessed from a {fov_deg:g} deg horizontal field of view"
    return QueryIntrinsics(guess, "fov", note)


def _exif_prior(query: Query, width: int, height: int) -> Any:
    """The query file's EXIF focal prior, or None (no file, no EXIF)."""
    if query.path is None:
        return None
    from locgui.io.camera_priors import image_prior

    prior = image_prior(query.path, width, height)
    return prior if prior.source == "exif" else None


def _map_camera(bundle: Any, width: int, height: int, exif_name: str) -> Camera | None:
    """A map camera of this image size whose images had the EXIF camera name ``exif_name``
    ("" : any camera of the size, preferring one mapped without EXIF)."""
    manifest = getattr(bundle, "manifest", None) or {}
    rows = manifest.get("build", {}).get("cameras", []) if isinstance(manifest, dict) else []
    names = {int(r["camera_id"]): str(r.get("name", "")) for r in rows}
    same_size = [c for c in bundle.scene.cameras.values() if (c.width, c.height) == (width, height)]
    if exif_name:
        return next((c for c in same_size if names.get(c.camera_id) == exif_name), None)
    same_size.sort(key=lambda c: names.get(c.camera_id, "") != "")
    return same_size[0] if same_size else None


# ---------------------------------------------------------------------------------- features
# The extractor parameter that caps the number of keypoints, per feature type.
KEYPOINT_BUDGET = {"xfeat": "top_k", "sift": "max_num_features", "aliked": "top_k"}


def make_extractor(bundle: Any, cfg: QueryConfig, device: str) -> Any:
    """The extractor of the map's feature type, with the map's settings and the query's
    keypoint budget and image size."""
    from locgui.methods.features import get_extractor

    kind = bundle.feature_type
    options = dict(bundle.feature_config)
    options[KEYPOINT_BUDGET.get(kind, "top_k")] = cfg.max_keypoints
    options["max_side"] = query_side(bundle, cfg)
    return get_extractor(kind, device=device, resources=bundle.resources, **options)


def make_matcher(
    name: str, feature_type: str, cfg: Any, device: str, resources: Any = None
) -> Any:
    from locgui.methods.features import get_matcher

    options: dict[str, Any] = {}
    if name == "mnn":
        options = {"min_similarity": cfg.min_similarity, "ratio": cfg.ratio}
    matcher = get_matcher(name, device=device, resources=resources, **options)
    if feature_type not in matcher.kinds:
        raise MethodError(
            f"matcher {name} does not accept the map's {feature_type} features "
            f"(it takes {'/'.join(matcher.kinds)})"
        )
    return matcher


def extract_features(extractor: Any, rgb: np.ndarray, upscale_to: int = 0) -> Any:
    """``extractor.extract(rgb)``, on an enlarged copy when the image is small.

    With ``upscale_to`` > 0, an image whose longer side is below it is resized (bicubic) so
    that side equals ``upscale_to`` (hloc's ``resize_force``): keypoints of small images get
    sub-pixel precision. Keypoints are returned in ``rgb``'s pixel frame (COLMAP convention:
    pixel edges of both images line up, so coordinates scale by the size ratio).
    """
    height, width = rgb.shape[:2]
    if not upscale_to or max(height, width) >= upscale_to:
        return extractor.extract(rgb)
    import cv2

    from locgui.methods.features import Features

    factor = upscale_to / max(height, width)
    size = (round(width * factor), round(height * factor))
    feats = extractor.extract(cv2.resize(rgb, size, interpolation=cv2.INTER_CUBIC))
    back = np.array([width / size[0], height / size[1]], np.float32)
    return Features(feats.keypoints * back, feats.descriptors, feats.scores, (width, height),
                    feats.kind)  # fmt: skip


def query_side(bundle: Any, cfg: Any) -> int:
    """The longer side a query is shrunk to for features: the method's ``max_side``, or with
    0 the map's own (queries and map descriptors then share a scale: a map built at full
    resolution is queried at full resolution)."""
    if cfg.max_side:
        return int(cfg.max_side)
    return int(bundle.feature_config.get("max_side") or 0)


def upscale_side(bundle: Any, max_side: int) -> int:
    """The side small queries are enlarged to: ``max_side`` if the map was built that way."""
    return max_side if bundle.manifest["features"].get("upscale", False) else 0


def feature_scale(width: int, height: int, max_side: int, upscale: bool = False) -> float:
    """Pixels of the full image per pixel of the image features are extracted from
    (>= 1, or any ratio when small images are enlarged to ``max_side``)."""
    if not max_side:
        return 1.0
    ratio = max(width, height) / max_side
    return ratio if upscale else max(1.0, ratio)


# ---------------------------------------------------------------------------------- map cache
@dataclass
class DbImage:
    """One mapping image's features, held in memory for matching.

    Attributes:
        features: all keypoints of the image (``Features``).
        point3D_ids: (K,) int64 map point observed by each keypoint, -1 for none.
        triangulated: (T,) int64 rows of the keypoints with a 3D point.
        tri_features: ``features`` restricted to ``triangulated``.
    """

    features: Any
    point3D_ids: np.ndarray
    triangulated: np.ndarray
    tri_features: Any


class MapCache:
    """Features and 3D points of a bundle, loaded once per bundle and shared by localizers."""

    def __init__(self, bundle: Any) -> None:
        self.bundle = bundle
        self._images: dict[int, DbImage] = {}
        points = bundle.scene.points
        self.point_xyz = points.xyz
        self._point_rows = points
        self._point_desc: tuple[np.ndarray, Any] | None = None

    def image(self, image_id: int) -> DbImage:
        if image_id not in self._images:
            feats = bundle_features(self.bundle, image_id)
            ids = self.bundle.scene.images[image_id].point3D_ids
            ids = np.full(len(feats), -1, np.int64) if ids is None else np.asarray(ids, np.int64)
            if len(ids) != len(feats):
                raise MethodError(
                    f"{self.bundle.path}: image {image_id} has {len(feats)} features but "
                    f"{len(ids)} COLMAP points2D; the bundle is inconsistent, rebuild it"
                )
            tri = np.flatnonzero(ids >= 0)
            self._images[image_id] = DbImage(feats, ids, tri, feats.subset(tri))
        return self._images[image_id]

    def preload(self, budget_mb: float = 1024.0) -> int:
        """Load every mapping image's features now (a live session's memory then stays flat
        instead of growing as relocalization visits new images), unless that would take more
        than ``budget_mb`` (estimated from the first image). Returns how many are loaded."""
        ids = sorted(self.bundle.scene.images)
        if not ids:
            return 0
        first = self.image(ids[0]).features
        per_image = sum(getattr(first, a).nbytes for a in ("keypoints", "descriptors", "scores"))
        if per_image * len(ids) > budget_mb * 2**20:
            log.info("map features not preloaded: about %.0f MB > %.0f MB",
                     per_image * len(ids) / 2**20, budget_mb)  # fmt: skip
            return len(self._images)
        for image_id in ids:
            self.image(image_id)
        return len(self._images)

    def point_descriptors(self) -> tuple[np.ndarray, Any]:
        """(ids (N,) int64, descriptors as an (N, D) float32 torch tensor), loaded once."""
        if self._point_desc is None:
            import torch

            ids, desc = self.bundle.point_descriptors()
            self._point_desc = (np.asarray(ids, np.int64), torch.from_numpy(desc))
        return self._point_desc

    def xyz_of(self, point_ids: np.ndarray) -> np.ndarray:
        """(N, 3) world coordinates of map point ids (which must exist)."""
        rows = self._point_rows.index_of(point_ids)
        if np.any(rows < 0):
            raise MethodError(f"{self.bundle.path}: images reference unknown 3D points")
        return self.point_xyz[rows]


def map_cache(bundle: Any) -> MapCache:
    """The shared ``MapCache`` of ``bundle`` (created on first use, kept by the bundle)."""
    cache: MapCache = bundle.resources.get("map_cache", "cpu", lambda: MapCache(bundle))
    return cache


# ---------------------------------------------------------------------------------- retrieval
def retrieve(bundle: Any, features: Any, query: Query, k: int) -> list[Retrieved]:
    """The top-``k`` mapping images for the query's features, best first."""
    index = bundle_index(bundle)
    desc = index.describe(features)
    exclude = () if query.held_out_image_id is None else (query.held_out_image_id,)
    hits = index.query(desc, k, exclude=exclude)
    images = bundle.scene.images
    return [
        Retrieved(int(i), images[int(i)].name if int(i) in images else str(i), float(s))
        for i, s in hits
    ]


def check_map_has_points(bundle: Any) -> None:
    if len(bundle.scene.points) == 0:
        raise QueryFailure("the map has no 3D points; rebuild it with `locgui map build`")


def failure(method: str, query: Query, reason: str, **kwargs: Any) -> LocalizationResult:
    return LocalizationResult(
        method=method, query_name=query.name, success=False, reason=reason, **kwargs
    )
