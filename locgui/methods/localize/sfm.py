"""The ``sfm`` localizer: retrieval -> 2D-2D matching against the shortlist -> 2D-3D through
the database keypoints' 3D points -> PnP-RANSAC + refinement (pycolmap)."""

from __future__ import annotations

from typing import Any

import numpy as np

from locgui.core.results import LocalizationResult, Matches2D2D, Matches2D3D, Query
from locgui.methods.localize.base import PreparedQuery, StructureLocalizer
from locgui.methods.localize.common import QueryFailure, make_matcher
from locgui.methods.localize.configs import SfmConfig
from locgui.methods.localize.correspondences import matches_to_2d3d
from locgui.methods.localize.pnp import absolute_pose
from locgui.methods.localize.refine import reference_images, refine_query_points
from locgui.runtime.context import RunContext


class SfmLocalizer(StructureLocalizer):
    """Structure-based localization against a map bundle (hloc's recipe)."""

    name = "sfm"
    config: SfmConfig

    def __init__(self, bundle: Any, config: SfmConfig, device: str = "cpu") -> None:
        super().__init__(bundle, config, device)
        self.matcher = make_matcher(
            config.matcher, bundle.feature_type, config, self.device, bundle.resources
        )

    def match_shortlist(
        self, prepared: PreparedQuery, ctx: RunContext
    ) -> tuple[list[Matches2D2D], list[np.ndarray]]:
        """Match the query to every shortlisted image.

        Returns the per-image matches and, per image, the (M,) query keypoint indices.
        """
        feats = prepared.features
        out: list[Matches2D2D] = []
        query_idx: list[np.ndarray] = []
        for item in prepared.retrieved:
            ctx.check_cancelled()
            db = self.cache.image(item.image_id)
            if self.config.triangulated_only:
                m = self.matcher.match(feats, db.tri_features)
                db_idx = db.triangulated[m.idx1]
            else:
                m = self.matcher.match(feats, db.features)
                db_idx = m.idx1
            out.append(
                Matches2D2D(
                    image_id=item.image_id,
                    query_xy=feats.keypoints[m.idx0].astype(np.float64),
                    db_xy=db.features.keypoints[db_idx].astype(np.float64),
                    scores=m.scores.astype(np.float32),
                    point3D_ids=db.point3D_ids[db_idx],
                )
            )
            query_idx.append(m.idx0)
        return out, query_idx

    def _solve(
        self, query: Query, prepared: PreparedQuery, ctx: RunContext, result: LocalizationResult
    ) -> None:
        cfg = self.config
        with ctx.stage("match"):
            matches, query_idx = self.match_shortlist(prepared, ctx)
            result.matches_2d2d = matches
            ctx.partial("matches_2d2d", matches)
            m2d3d, _ = matches_to_2d3d(
                prepared.features.keypoints, query_idx, matches, self.cache.xyz_of
            )
        if cfg.refine_keypoints and len(m2d3d):
            with ctx.stage("refine"):
                refs = reference_images(self.bundle, cfg.max_side)
                m2d3d.query_xy, refined = refine_query_points(prepared.rgb, m2d3d, matches, refs)
            result.extras["refined_keypoints"] = int(refined.sum())
            if cfg.min_aligned and refined.sum() >= cfg.min_aligned:
                m2d3d = _subset(m2d3d, refined)
        result.matches_2d3d = m2d3d
        if len(m2d3d) == 0:
            names = ", ".join(r.name for r in prepared.retrieved)
            raise QueryFailure(f"no retrieved image shares points with the query ({names})")
        ctx.partial("matches_2d3d", m2d3d)
        self._check_enough(m2d3d)
        with ctx.stage("pnp"):
            pnp = absolute_pose(
                m2d3d.query_xy,
                m2d3d.xyz,
                prepared.intrinsics.camera,
                cfg.ransac_threshold * prepared.scale,
                refine=cfg.refine,
                estimate_focal=prepared.intrinsics.guessed and cfg.estimate_focal,
                seed=cfg.seed,
            )
        self._accept_pnp(pnp, m2d3d, result, prepared)


def _subset(matches: Matches2D3D, keep: np.ndarray) -> Matches2D3D:
    """The correspondences selected by the (N,) bool mask ``keep``."""
    return Matches2D3D(
        matches.query_xy[keep], matches.xyz[keep], matches.point3D_ids[keep],
        matches.source_image_ids[keep], matches.inliers[keep], matches.reproj_error[keep],
    )  # fmt: skip
