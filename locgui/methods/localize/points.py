"""The ``points`` localizer (3DFA deployment mode): no database images at query time.

Each map point carries one descriptor (the re-normalized mean of its observations' local
descriptors, stored in the bundle). Retrieval only chooses the region: the candidate points
are those observed by the top-k images. Query descriptors are matched directly to the
candidates; a match is kept when its reliability score (cosine similarity, the paper's S)
reaches the threshold, it passes the ratio test and (optionally) is mutual. Then PnP.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from locgui.core.results import LocalizationResult, Matches2D3D, Query
from locgui.methods.localize.base import PreparedQuery, StructureLocalizer
from locgui.methods.localize.common import QueryFailure
from locgui.methods.localize.configs import PointsConfig
from locgui.methods.localize.pnp import absolute_pose
from locgui.runtime.context import RunContext


class PointsLocalizer(StructureLocalizer):
    """Direct 2D-3D matching against per-point descriptors."""

    name = "points"
    config: PointsConfig

    def __init__(self, bundle: Any, config: PointsConfig, device: str = "cpu") -> None:
        super().__init__(bundle, config, device)
        ids, _ = self.cache.point_descriptors()
        self._order = np.argsort(ids)
        self._sorted_ids = ids[self._order]

    def candidate_rows(self, image_ids: list[int]) -> np.ndarray:
        """(C,) rows of the point-descriptor table observed by ``image_ids``."""
        pids = [self.cache.image(i).point3D_ids for i in image_ids]
        unique = np.unique(np.concatenate(pids + [np.zeros(0, np.int64)]))
        unique = unique[unique >= 0]
        if len(self._sorted_ids) == 0 or len(unique) == 0:
            return np.zeros(0, np.int64)
        pos = np.clip(np.searchsorted(self._sorted_ids, unique), 0, len(self._sorted_ids) - 1)
        found = self._sorted_ids[pos] == unique
        return self._order[pos[found]]

    def match_points(self, query_desc: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, ...]:
        """Match (Nq, D) query descriptors to the candidate points ``rows``.

        Returns (query index (M,), descriptor row (M,), reliability score (M,)).
        """
        import torch

        cfg = self.config
        _, table = self.cache.point_descriptors()
        with torch.inference_mode():
            cand = table[torch.from_numpy(rows)]
            sim = torch.from_numpy(np.ascontiguousarray(query_desc, np.float32)) @ cand.T
            k = min(2, sim.shape[1])
            top, idx = sim.topk(k, dim=1)
            best, nn = top[:, 0], idx[:, 0]
            keep = best >= cfg.reliability
            if k == 2 and cfg.ratio < 1.0:
                d1 = (2 - 2 * top[:, 0]).clamp_min(0)
                d2 = (2 - 2 * top[:, 1]).clamp_min(0)
                keep &= d1 <= cfg.ratio**2 * d2
            if cfg.mutual:
                # Query i is its point's best exactly when it reaches the column maximum (the
                # same stored value): no column argmax, which took half the match stage.
                keep &= best >= sim.amax(dim=0)[nn]
            q = torch.nonzero(keep).reshape(-1)
            return q.numpy(), rows[nn[q].numpy()], best[q].numpy()

    def _solve(
        self, query: Query, prepared: PreparedQuery, ctx: RunContext, result: LocalizationResult
    ) -> None:
        cfg = self.config
        feats = prepared.features
        with ctx.stage("match"):
            rows = self.candidate_rows([r.image_id for r in prepared.retrieved])
            if len(rows) == 0:
                raise QueryFailure("no retrieved image observes any map point")
            q, prow, score = self.match_points(feats.descriptors, rows)
            ids, _ = self.cache.point_descriptors()
            pids = ids[prow]
            m2d3d = Matches2D3D(
                query_xy=feats.keypoints[q].astype(np.float64),
                xyz=self.cache.xyz_of(pids),
                point3D_ids=pids,
                source_image_ids=np.full(len(q), -1, np.int64),
                inliers=np.zeros(len(q), bool),
                reproj_error=np.full(len(q), np.nan),
            )
        result.matches_2d3d = m2d3d
        result.extras["candidate_points"] = int(len(rows))
        result.extras["match_scores"] = score
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
