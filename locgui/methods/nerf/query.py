"""Shared steps of the NeRF-based localizers: query intrinsics, retrieval, PnP, the rendering
at the estimated pose for the views."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from locgui.core.camera import Camera
from locgui.core.pose import Rigid3
from locgui.core.results import Matches2D3D, Query, Retrieved
from locgui.methods.nerf.data import fit_size, resize_camera
from locgui.runtime.context import RunContext

log = logging.getLogger(__name__)


def query_camera(query: Query, scene: Any, fov_deg: float) -> tuple[Camera, str]:
    """Intrinsics for the query: its own, a map camera of the same size, or a guess.

    Returns:
        The camera and a note for the result ("" when the query had its own).
    """
    h, w = query.image.shape[:2]
    if query.camera is not None and (query.camera.width, query.camera.height) == (w, h):
        return query.camera, ""
    for cam in scene.cameras.values():
        if (cam.width, cam.height) == (w, h):
            return cam, f"no intrinsics given: used map camera {cam.camera_id} (same image size)"
    guess = Camera.from_fov(w, h, fov_deg)
    return guess, f"no intrinsics given: guessed from a {fov_deg:g} deg field of view"


def scale_to(xy: np.ndarray, src: Camera, dst: Camera) -> np.ndarray:
    """(N, 2) COLMAP pixels of an image of ``src``'s size -> pixels of ``dst``'s size."""
    return xy * np.array([dst.width / src.width, dst.height / src.height])


def retrieve_from_bundle(
    bundle: Any, rgb: np.ndarray, k: int, exclude: tuple[int, ...], device: str
) -> list[Retrieved]:
    """Top-``k`` map images by the bundle's global index (features as the map was built)."""
    from locgui.methods.features import get_extractor
    from locgui.methods.retrieval import bundle_index

    extractor = get_extractor(bundle.feature_type, device=device, resources=bundle.resources,
                              **dict(bundle.feature_config))  # fmt: skip
    index = bundle_index(bundle)
    hits = index.query(index.describe(extractor.extract(rgb)), k, exclude=exclude)
    images = bundle.scene.images
    return [
        Retrieved(int(i), images[int(i)].name if int(i) in images else str(i), float(s))
        for i, s in hits
    ]


@dataclass
class PoseEstimate:
    """One PnP outcome with the correspondences it used (query pixels, world points) and its
    RANSAC threshold in those pixels (what pose validation holds the inliers' RMS to)."""

    cam_from_world: Rigid3
    matches: Matches2D3D
    num_inliers: int
    history: list[tuple[str, Rigid3]] = field(default_factory=list)
    threshold_px: float = 0.0


def solve_pnp(
    xy: np.ndarray,
    xyz: np.ndarray,
    camera: Camera,
    threshold_px: float,
    report_camera: Camera,
    scores: np.ndarray | None = None,
) -> PoseEstimate | None:
    """PnP-RANSAC + refinement (pycolmap) on matches in ``camera``'s pixels.

    Matches are reported in ``report_camera``'s pixels (the full-size query).
    """
    from locgui.methods.localize.pnp import absolute_pose

    matches = Matches2D3D(
        query_xy=scale_to(xy, camera, report_camera),
        xyz=xyz.astype(np.float64),
        point3D_ids=np.full(len(xy), -1, np.int64),
        source_image_ids=np.full(len(xy), -1, np.int64),
        inliers=np.zeros(len(xy), bool),
        reproj_error=np.full(len(xy), np.nan),
    )
    out = absolute_pose(xy, xyz, camera, threshold_px)
    if out is None:
        return None
    matches.inliers = out.inliers
    factor = report_camera.width / camera.width
    matches.reproj_error = out.reproj_error * factor
    return PoseEstimate(out.cam_from_world, matches, out.num_inliers,
                        threshold_px=threshold_px * factor)  # fmt: skip


def render_extras(
    nerf: Any,
    camera: Camera,
    pose: Rigid3,
    side: int,
    appearance_rgb: np.ndarray | None,
    ctx: RunContext,
    prefix: str = "render",
) -> dict[str, Any]:
    """The NeRF rendering at ``pose`` for the views: ``{prefix}_rgb`` (h, w, 3) uint8,
    ``{prefix}_depth`` (h, w) float32 z-depth (NaN: none), ``{prefix}_camera``."""
    w, h = fit_size(camera.width, camera.height, side)
    cam = resize_camera(camera, w, h)
    out = nerf.render_view(cam, pose, appearance_rgb=appearance_rgb, ctx=ctx)
    return {f"{prefix}_rgb": out.rgb, f"{prefix}_depth": out.depth, f"{prefix}_camera": cam}
