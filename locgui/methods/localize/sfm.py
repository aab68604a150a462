"""The ``sfm`` localizer: retrieval -> 2D-2D matching against the shortlist -> 2D-3D through
the database keypoints' 3D points -> PnP-RANSAC + refinement (pycolmap).

With ``early_exit`` the best-ranked references are matched first; when their pose already
passes validation with a margin, the rest of the shortlist is not matched (matching is most
of a query's time). A pose that misses the margin costs its lift, refinement and PnP again
on every reference.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from locgui.core.results import LocalizationResult, Matches2D2D, Matches2D3D, Query, Retrieved
from locgui.methods.localize.base import PreparedQuery, StructureLocalizer
from locgui.methods.localize.common import QueryFailure, make_matcher, query_side
from locgui.methods.localize.configs import SfmConfig
from locgui.methods.localize.correspondences import matches_to_2d3d
from locgui.methods.localize.pnp import absolute_pose
from locgui.methods.localize.refine import reference_images, refine_query_points
from locgui.methods.localize.validation import PoseChecks
from locgui.runtime.context import RunContext

EARLY_EXIT_CHECKS = PoseChecks(min_spread=0.1, max_sigma=0.02)
"""The margins an early pose needs over the final validation (``PoseChecks()``): inliers
over a tenth of the image, position uncertain by under 2 % of the map extent (the inlier
floor is the config's ``early_exit_inliers``)."""


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
        self, prepared: PreparedQuery, ctx: RunContext, images: list[Retrieved] | None = None
    ) -> tuple[list[Matches2D2D], list[np.ndarray]]:
        """Match the query to every shortlisted image (or to ``images``).

        Returns the per-image matches and, per image, the (M,) query keypoint indices.
        """
        feats = prepared.features
        out: list[Matches2D2D] = []
        query_idx: list[np.ndarray] = []
        for item in prepared.retrieved if images is None else images:
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

    def rounds(self, shortlist: list[Retrieved]) -> list[list[Retrieved]]:
        """The shortlist in the groups matched one after the other: with ``early_exit``, the
        best ``early_exit_refs`` images, then the rest; otherwise all at once."""
        cfg = self.config
        n = cfg.early_exit_refs
        if not cfg.early_exit or len(shortlist) <= n:
            return [shortlist]
        return [shortlist[:n], shortlist[n:]]

    def _solve(
        self, query: Query, prepared: PreparedQuery, ctx: RunContext, result: LocalizationResult
    ) -> None:
        """Match, lift to 2D-3D, PnP; round by round (``rounds``), stopping after a round
        whose pose is ``confident``. The last round's outcome is the result whatever it is."""
        matches: list[Matches2D2D] = []
        query_idx: list[np.ndarray] = []
        groups = self.rounds(prepared.retrieved)
        for i, group in enumerate(groups):
            with ctx.stage("match"):
                new, new_idx = self.match_shortlist(prepared, ctx, group)
                matches, query_idx = matches + new, query_idx + new_idx
                result.matches_2d2d = matches
                ctx.partial("matches_2d2d", matches)
            result.extras["references_matched"] = len(matches)
            if i == len(groups) - 1:
                self._pose(prepared, ctx, result, matches, query_idx)
                return
            try:
                self._pose(prepared, ctx, result, matches, query_idx)
            except QueryFailure:
                pass
            else:
                if self._confident(query, result):
                    return
            result.success, result.cam_from_world, result.num_inliers = False, None, 0
            for key in ("uncertainty", "validation", "threshold_px", "estimated_focal"):
                result.extras.pop(key, None)  # of the early pose: not this result's

    def _pose(
        self,
        prepared: PreparedQuery,
        ctx: RunContext,
        result: LocalizationResult,
        matches: list[Matches2D2D],
        query_idx: list[np.ndarray],
    ) -> None:
        """2D-3D correspondences of ``matches``, then PnP into ``result``."""
        cfg = self.config
        with ctx.stage("match"):
            m2d3d, _ = matches_to_2d3d(
                prepared.features.keypoints, query_idx, matches, self.cache.xyz_of
            )
        if cfg.refine_keypoints and len(m2d3d):
            with ctx.stage("refine"):
                refs = reference_images(self.bundle, query_side(self.bundle, cfg))
                m2d3d.query_xy, refined = refine_query_points(prepared.rgb, m2d3d, matches, refs)
            result.extras["refined_keypoints"] = int(refined.sum())
            if cfg.min_aligned and refined.sum() >= cfg.min_aligned:
                m2d3d = _subset(m2d3d, refined)
        result.matches_2d3d = m2d3d
        if len(m2d3d) == 0:
            names = ", ".join(r.name for r in prepared.retrieved[: len(matches)])
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

    def _confident(self, query: Query, result: LocalizationResult) -> bool:
        """Whether ``result``'s pose passes ``validate_pose`` with the early-exit margins:
        ``early_exit_inliers`` inliers, spread over ``EARLY_EXIT_CHECKS.min_spread`` of the
        image, position uncertainty under ``max_sigma`` map extents."""
        from dataclasses import replace

        from locgui.methods.localize.validation import map_extent, validate_pose

        if result.num_inliers < self.config.early_exit_inliers:
            return False
        height, width = np.asarray(query.image).shape[:2]
        checks = replace(EARLY_EXIT_CHECKS, min_inliers=self.config.early_exit_inliers)
        return not validate_pose(result, width, height, map_extent(self.bundle), checks)


def _subset(matches: Matches2D3D, keep: np.ndarray) -> Matches2D3D:
    """The correspondences selected by the (N,) bool mask ``keep``."""
    return Matches2D3D(
        matches.query_xy[keep], matches.xyz[keep], matches.point3D_ids[keep],
        matches.source_image_ids[keep], matches.inliers[keep], matches.reproj_error[keep],
    )  # fmt: skip
