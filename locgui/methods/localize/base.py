"""The skeleton every structure-based localizer shares.

``localize`` prepares the query (pixels, intrinsics), extracts features, retrieves the
shortlist, then calls the method's ``_solve``. Stages are timed through the RunContext:
"extract", "retrieve", "match", "pnp" (or "relative_pose"). A ``QueryFailure`` anywhere
becomes ``success=False`` with its reason; everything computed so far stays in the result so
the UI can show why it failed.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np

from locgui.core.results import LocalizationResult, Matches2D3D, Query, Retrieved
from locgui.methods.localize.common import (
    MapCache,
    QueryFailure,
    QueryIntrinsics,
    check_map_has_points,
    extract_features,
    feature_scale,
    make_extractor,
    map_cache,
    normalize_image,
    query_intrinsics,
    query_side,
    retrieve,
    upscale_side,
)
from locgui.methods.localize.configs import QueryConfig
from locgui.methods.localize.pnp import PnPResult
from locgui.runtime.context import RunContext, resolve_device

log = logging.getLogger(__name__)


@dataclass
class PreparedQuery:
    """A query ready for matching.

    Attributes:
        rgb: (H, W, 3) uint8 pixels.
        intrinsics: camera for the full-size image and where it came from.
        features: query ``Features`` (keypoints in full-image pixels).
        scale: full-image pixels per feature-resolution pixel (>= 1).
        retrieved: the shortlist, best first.
    """

    rgb: np.ndarray
    intrinsics: QueryIntrinsics
    features: Any
    scale: float
    retrieved: list[Retrieved]


class StructureLocalizer:
    """Base class: ``Cls(bundle, config, device)``; subclasses implement ``_solve``."""

    name = "structure"

    def __init__(self, bundle: Any, config: QueryConfig, device: str = "cpu") -> None:
        self.bundle = bundle
        self.config = config
        self.device = resolve_device(device)
        self.extractor = make_extractor(bundle, config, self.device)
        self.cache: MapCache = map_cache(bundle)

    def localize(self, query: Query, ctx: RunContext) -> LocalizationResult:
        qctx = ctx.child()
        result = LocalizationResult(method=self.name, query_name=query.name, success=False)
        try:
            check_map_has_points(self.bundle)
            prepared = self._prepare(query, qctx, result)
            self._solve_with_retry(query, prepared, qctx, result)
        except QueryFailure as exc:
            result.success = False
            result.cam_from_world = None
            result.reason = _join(str(exc), result.extras.get("intrinsics_note", ""))
        result.timings = dict(qctx.timings)
        log.debug("%s %s: %s %s", self.name, query.name, result.success, result.reason)
        return result

    def _prepare(self, query: Query, ctx: RunContext, result: LocalizationResult) -> PreparedQuery:
        rgb = normalize_image(query.image)
        height, width = rgb.shape[:2]
        cfg = self.config
        intr = query_intrinsics(query, width, height, self.bundle, cfg.fov_deg, cfg.use_map_camera)
        result.camera = intr.camera
        result.extras["intrinsics_source"] = intr.source
        if intr.note:
            result.extras["intrinsics_note"] = intr.note
        with ctx.stage("extract"):
            side = query_side(self.bundle, cfg)
            upscale = upscale_side(self.bundle, side)
            feats = extract_features(self.extractor, rgb, upscale)
        if len(feats) < self.config.min_inliers:
            raise QueryFailure(f"only {len(feats)} keypoints found in the query image")
        with ctx.stage("retrieve"):
            shortlist = retrieve(self.bundle, feats, query, self.config.retrieval_k)
        result.retrieved = shortlist
        if not shortlist:
            raise QueryFailure("retrieval returned no database image")
        scale = feature_scale(width, height, side, upscale > 0)
        return PreparedQuery(rgb, intr, feats, scale, shortlist)

    def _solve(
        self, query: Query, prepared: PreparedQuery, ctx: RunContext, result: LocalizationResult
    ) -> None:
        raise NotImplementedError

    def _solve_with_retry(
        self, query: Query, prepared: PreparedQuery, ctx: RunContext, result: LocalizationResult
    ) -> None:
        """``_solve``; when it fails and the map has more images, once more with a shortlist
        ``retry_k`` images longer (global retrieval sometimes ranks the right views lower)."""
        try:
            self._solve(query, prepared, ctx, result)
            return
        except QueryFailure as first:
            k = len(prepared.retrieved) + self.config.retry_k
            if self.config.retry_k <= 0 or len(prepared.retrieved) < self.config.retrieval_k:
                raise
            with ctx.stage("retrieve"):
                wider = retrieve(self.bundle, prepared.features, query, k)
            if len(wider) <= len(prepared.retrieved):
                raise
            note = f"retried with {len(wider)} images after: {first}"
        prepared.retrieved = result.retrieved = wider
        result.num_inliers = 0
        try:
            self._solve(query, prepared, ctx, result)
        except QueryFailure as exc:
            raise QueryFailure(f"{exc} ({note})") from exc
        result.extras["retry"] = note
        result.reason = _join(result.reason, note)

    def _check_enough(self, matches: Matches2D3D) -> None:
        if len(matches) < max(4, self.config.min_inliers):
            raise QueryFailure(
                f"only {len(matches)} 2D-3D matches (< {self.config.min_inliers} needed)"
            )

    def _accept_pnp(
        self,
        pnp: PnPResult | None,
        matches: Matches2D3D,
        result: LocalizationResult,
        prepared: PreparedQuery,
    ) -> None:
        """Fill the result from a PnP outcome, or raise QueryFailure with the reason."""
        if pnp is None:
            raise QueryFailure(f"PnP-RANSAC found no pose from {len(matches)} 2D-3D matches")
        matches.inliers = pnp.inliers
        matches.reproj_error = pnp.reproj_error
        result.num_inliers = pnp.num_inliers
        if pnp.num_inliers < self.config.min_inliers:
            raise QueryFailure(f"{pnp.num_inliers} inliers < {self.config.min_inliers}")
        ratio = pnp.num_inliers / max(len(matches), 1)
        if ratio < self.config.min_inlier_ratio:
            raise QueryFailure(
                f"{pnp.num_inliers} inliers are only {100 * ratio:.1f}% of {len(matches)} "
                f"matches (< {100 * self.config.min_inlier_ratio:g}%)"
            )
        result.success = True
        result.cam_from_world = pnp.cam_from_world
        result.camera = pnp.camera
        result.extras["threshold_px"] = float(self.config.ransac_threshold * prepared.scale)
        result.reason = _join(
            f"{pnp.num_inliers} inliers of {len(matches)} 2D-3D matches",
            result.extras.get("intrinsics_note", ""),
        )
        if prepared.intrinsics.guessed and self.config.estimate_focal:
            result.extras["estimated_focal"] = float(pnp.camera.focal[0])


def _join(*parts: str) -> str:
    return "; ".join(p for p in parts if p)
