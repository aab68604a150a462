"""The ``rpr`` localizer: the classical baseline of relative pose regression papers.

The query's pose relative to each retrieved reference comes from 2D-2D matches (essential
matrix: 5-point PROSAC ordered by match score with poselib, or LO-RANSAC with pycolmap, then
refinement; see ``relpose``); its translation has unit length. The references are matched
and solved on ``parallel_references`` threads (the native solvers release the GIL). The metric
scale comes from the map: matched points that the reference observes are triangulated in the
reference frame with the unit-baseline relative pose, and their depth is compared with the
depth of the map points (median ratio). ``query_from_world = query_from_ref * ref_from_world``.
If a reference fails, the next one in the shortlist is tried.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Any

import numpy as np

from locgui.core.camera import Camera
from locgui.core.pose import Rigid3
from locgui.core.results import LocalizationResult, Matches2D2D, Matches2D3D, Query, Retrieved
from locgui.methods.localize.base import PreparedQuery, StructureLocalizer
from locgui.methods.localize.common import QueryFailure, make_matcher
from locgui.methods.localize.configs import RprConfig
from locgui.methods.localize.geometry import reprojection_errors
from locgui.methods.localize.relpose import RansacSettings, relative_pose
from locgui.runtime.context import RunContext

MIN_TRIANGULATION_DEG = 0.5
SUPPORT_FACTOR = 4.0
"""Map points within this many RANSAC thresholds of their projection support a pose."""
AGREE_EXTENT = 0.25
"""Two reference poses agree when their centres are within this fraction of the map extent..."""
AGREE_DEG = 10.0
"""... and their rotations within this many degrees."""


def triangulated_depths(
    rays_ref: np.ndarray, rays_q: np.ndarray, q_from_ref: Rigid3
) -> tuple[np.ndarray, np.ndarray]:
    """Midpoint triangulation in the reference frame.

    Args:
        rays_ref, rays_q: (N, 3) rays (z = 1) in each camera's frame.
        q_from_ref: relative pose (any translation scale).
    Returns:
        (N,) z-depth in the reference frame (in units of the translation) and (N,) the
        triangulation angle in degrees.
    """
    R, t = q_from_ref.rotation, q_from_ref.translation
    centre = -R.T @ t  # query centre in the reference frame
    d_r = rays_ref / np.linalg.norm(rays_ref, axis=1, keepdims=True)
    d_q = rays_q @ R  # R.T @ ray, row-wise
    d_q /= np.linalg.norm(d_q, axis=1, keepdims=True)
    # Minimize |a d_r - (centre + b d_q)|^2 over (a, b) per ray pair.
    dd = np.sum(d_r * d_q, axis=1)
    rc, qc = d_r @ centre, d_q @ centre
    denom = 1.0 - dd**2
    with np.errstate(divide="ignore", invalid="ignore"):
        a = (rc - dd * qc) / denom
    depth = a * d_r[:, 2]
    angle = np.degrees(np.arccos(np.clip(dd, -1.0, 1.0)))
    return np.where(denom > 1e-12, depth, np.nan), angle


@dataclass
class Candidate:
    """The pose obtained through one reference image.

    Attributes:
        ref_id: the reference image.
        cam_from_world: the composed query pose.
        pair: query-reference matches.
        e_inliers: (M,) bool essential-matrix inlier mask over ``pair``.
        scale_rows: rows of ``pair`` whose map points fixed the scale.
        scale: metric length of the unit relative translation.
        reproj_error: (len(scale_rows),) pixel errors of those map points under the pose.
        support: how many of them reproject within the threshold (the candidate's score).
    """

    ref_id: int
    cam_from_world: Rigid3
    pair: Matches2D2D
    e_inliers: np.ndarray
    scale_rows: np.ndarray
    scale: float
    reproj_error: np.ndarray
    support: int


class PairFailure(QueryFailure):
    """A reference that gave no pose, with the matches it was tried on (for the UI)."""

    def __init__(self, message: str, pair: Matches2D2D) -> None:
        super().__init__(message)
        self.pair = pair


def _report(ctx: RunContext, outcome: Candidate | QueryFailure) -> None:
    """The matches of one reference as a partial result (as soon as they exist)."""
    pair = outcome.pair if isinstance(outcome, Candidate | PairFailure) else None
    if pair is not None:
        ctx.partial("matches_2d2d", [pair])


class RprLocalizer(StructureLocalizer):
    """Essential-matrix relative pose to retrieved references, scaled by the map.

    Every shortlisted reference gives a candidate; the one whose scaled pose reprojects the
    most map points (matched through any of the references) within the threshold wins, and
    at least ``min_agreeing`` candidates must agree with it.
    """

    name = "rpr"
    config: RprConfig

    def __init__(self, bundle: Any, config: RprConfig, device: str = "cpu") -> None:
        super().__init__(bundle, config, device)
        self.matcher = make_matcher(
            config.matcher, bundle.feature_type, config, self.device, bundle.resources
        )

    def _solve(
        self, query: Query, prepared: PreparedQuery, ctx: RunContext, result: LocalizationResult
    ) -> None:
        if prepared.intrinsics.guessed:
            # The essential matrix needs the query's focal length; a guess gives poses tens
            # of percent of the scene off that still fit their own matches (sceaux photos of
            # 11 sizes without EXIF: 52 % of the radius, every one "supported").
            raise QueryFailure(
                "rpr needs the query's intrinsics (--intrinsics, EXIF or a map camera of its "
                "size); a field-of-view guess is not enough for an essential matrix"
            )
        reasons: list[str] = []
        candidates: list[Candidate] = []
        solved = self._solve_references(prepared, ctx)
        result.extras["references_solved"] = len(solved)
        for item, outcome in solved:
            if isinstance(outcome, QueryFailure):
                reasons.append(f"{item.name}: {outcome}")
            else:
                candidates.append(outcome)
        if not candidates:
            raise QueryFailure("; ".join(reasons) if reasons else "no reference image")
        best = max(candidates, key=lambda c: self._pooled_support(c, candidates, prepared))
        result.matches_2d2d = [c.pair for c in candidates]
        self._fill(result, best, prepared)
        agreeing = self._agreeing(best, candidates)
        result.extras["agreeing_references"] = agreeing
        if agreeing < self.config.min_agreeing:
            result.success = False
            raise QueryFailure(
                f"only {agreeing} of {len(candidates)} reference poses agree with the best "
                f"(< {self.config.min_agreeing}: within {AGREE_EXTENT:.0%} of the map extent "
                f"and {AGREE_DEG:g} deg)"
            )
        if best.support < self.config.min_scale_points:
            raise QueryFailure(
                f"best reference {self.bundle.scene.images[best.ref_id].name}: only "
                f"{best.support} map points agree with the pose (< {self.config.min_scale_points})"
            )

    def _solve_references(
        self, prepared: PreparedQuery, ctx: RunContext
    ) -> list[tuple[Retrieved, Candidate | QueryFailure]]:
        """(reference, outcome) for the shortlist, best-retrieved first.

        The references go in waves of ``parallel_references`` (the first wave holds at
        least ``min_agreeing``), on a thread pool when that is above 1: each reference gets
        its own child context and their stage timings are added up afterwards
        (thread-seconds, so "match" + "relative_pose" can exceed the query's wall-clock
        time). After a wave whose candidates are conclusive (``_conclusive``) the rest of
        the shortlist is skipped. Partial results are reported from the calling thread.
        """
        cfg = self.config
        items = list(prepared.retrieved)
        workers = max(1, min(cfg.parallel_references, len(items)))
        sizes = [max(workers, cfg.min_agreeing)]
        while sum(sizes) < len(items):
            sizes.append(workers)
        done: list[tuple[Retrieved, Candidate | QueryFailure]] = []
        pool = ThreadPoolExecutor(workers, "rpr-reference") if workers > 1 else None
        try:
            for size in sizes:
                wave = items[len(done) : len(done) + size]
                for item, outcome in zip(wave, self._wave(wave, prepared, ctx, pool), strict=True):
                    done.append((item, outcome))
                    _report(ctx, outcome)
                if len(done) < len(items) and self._conclusive(done, prepared):
                    break
        finally:
            if pool is not None:  # a pool per query: no thread outlives it (start-up ~0.1 ms)
                pool.shutdown(wait=True, cancel_futures=True)
        return done

    def _wave(
        self,
        wave: list[Retrieved],
        prepared: PreparedQuery,
        ctx: RunContext,
        pool: ThreadPoolExecutor | None,
    ) -> list[Candidate | QueryFailure]:
        if pool is None or len(wave) == 1:
            outcomes: list[Candidate | QueryFailure] = []
            for item in wave:
                ctx.check_cancelled()
                outcomes.append(self._attempt(item.image_id, prepared, ctx))
            return outcomes
        children = [ctx.child() for _ in wave]
        futures = [
            pool.submit(self._attempt, item.image_id, prepared, child)
            for item, child in zip(wave, children, strict=True)
        ]
        try:
            return [future.result() for future in futures]
        finally:
            wait(futures)  # also after a failure: the children's timings are complete
            for child in children:
                for stage, seconds in child.timings.items():
                    ctx.timings[stage] = ctx.timings.get(stage, 0.0) + seconds

    def _conclusive(
        self, done: list[tuple[Retrieved, Candidate | QueryFailure]], prepared: PreparedQuery
    ) -> bool:
        """Whether the references solved so far settle the query: the best of them has at
        least ``conclusive_support`` supporting map points and enough references agree."""
        need = self.config.conclusive_support
        candidates = [o for _, o in done if isinstance(o, Candidate)]
        if need <= 0 or len(candidates) < self.config.min_agreeing:
            return False
        best = max(candidates, key=lambda c: self._pooled_support(c, candidates, prepared))
        return (
            best.support >= need
            and self._agreeing(best, candidates) >= self.config.min_agreeing
        )

    def _attempt(
        self, ref_id: int, prepared: PreparedQuery, ctx: RunContext
    ) -> Candidate | QueryFailure:
        try:
            return self._from_reference(ref_id, prepared, ctx)
        except QueryFailure as exc:
            return exc

    def _pooled_support(
        self, cand: Candidate, candidates: list[Candidate], prepared: PreparedQuery
    ) -> int:
        """Map points matched through any reference that reproject within the support
        threshold under ``cand``'s pose (one reference's own points alone let near ties
        between references decide on a point or two)."""
        xy = np.concatenate([c.pair.query_xy[c.scale_rows] for c in candidates])
        ids = np.concatenate([c.pair.point3D_ids[c.scale_rows] for c in candidates])
        _, first = np.unique(ids, return_index=True)
        camera = prepared.intrinsics.camera
        err = reprojection_errors(
            camera, cand.cam_from_world, xy[first], self.cache.xyz_of(ids[first])
        )
        threshold = SUPPORT_FACTOR * self.config.ransac_threshold * prepared.scale
        return int(np.sum(err <= threshold))

    def _agreeing(self, best: Candidate, candidates: list[Candidate]) -> int:
        """How many candidates (the best included) give about the same pose as the best."""
        from locgui.core.metrics import rotation_error_deg
        from locgui.methods.localize.validation import MapExtent, map_extent

        extent = map_extent(self.bundle) or MapExtent(np.zeros(3), 1.0)
        limit = AGREE_EXTENT * extent.radius
        return sum(
            1
            for c in candidates
            if np.linalg.norm(c.cam_from_world.center - best.cam_from_world.center) <= limit
            and rotation_error_deg(c.cam_from_world.rotation, best.cam_from_world.rotation)
            <= AGREE_DEG
        )

    def _from_reference(self, ref_id: int, prepared: PreparedQuery, ctx: RunContext) -> Candidate:
        cfg = self.config
        feats = prepared.features
        db = self.cache.image(ref_id)
        with ctx.stage("match"):
            m = self.matcher.match(feats, db.features)
            pair = Matches2D2D(
                image_id=ref_id,
                query_xy=feats.keypoints[m.idx0].astype(np.float64),
                db_xy=db.features.keypoints[m.idx1].astype(np.float64),
                scores=m.scores.astype(np.float32),
                point3D_ids=db.point3D_ids[m.idx1],
            )
        if len(m) < cfg.min_inliers:
            raise PairFailure(f"{len(m)} matches < {cfg.min_inliers}", pair)
        cam_ref = self.bundle.scene.camera_of(ref_id)
        ref_from_world = self.bundle.scene.images[ref_id].cam_from_world
        if ref_from_world is None:
            raise PairFailure("the reference image has no pose", pair)
        cam_q = prepared.intrinsics.camera
        threshold = cfg.ransac_threshold * prepared.scale
        settings = RansacSettings(
            cfg.relpose_estimator, threshold, cfg.ransac_iterations, cfg.ransac_min_iterations,
            cfg.ransac_confidence, cfg.prosac, cfg.seed,
        )  # fmt: skip
        with ctx.stage("relative_pose"):
            rel = relative_pose(cam_ref, pair.db_xy, cam_q, pair.query_xy, settings, pair.scores)
            if rel is None:
                raise PairFailure("no essential matrix found", pair)
            q_from_ref, mask = rel
            if mask.sum() < cfg.min_inliers:
                raise PairFailure(f"{int(mask.sum())} inliers < {cfg.min_inliers}", pair)
            try:
                scale, rows = self._metric_scale(
                    pair, mask, cam_ref, cam_q, ref_from_world, q_from_ref
                )
            except QueryFailure as exc:
                raise PairFailure(str(exc), pair) from exc
            pose = Rigid3(q_from_ref.rotation, scale * q_from_ref.translation) * ref_from_world
            xyz = self.cache.xyz_of(pair.point3D_ids[rows])
            err = reprojection_errors(cam_q, pose, pair.query_xy[rows], xyz)
        support = int(np.sum(err <= SUPPORT_FACTOR * threshold))
        return Candidate(ref_id, pose, pair, mask, rows, scale, err, support)

    def _metric_scale(
        self,
        pair: Matches2D2D,
        mask: np.ndarray,
        cam_ref: Camera,
        cam_q: Camera,
        ref_from_world: Rigid3,
        q_from_ref: Rigid3,
    ) -> tuple[float, np.ndarray]:
        """Median ratio of map depth to unit-baseline triangulated depth; (scale, rows used)."""
        rows = np.flatnonzero(mask & (pair.point3D_ids >= 0))
        xyz = self.cache.xyz_of(pair.point3D_ids[rows])
        z_map = ref_from_world.apply(xyz)[:, 2]
        z_tri, angle = triangulated_depths(
            cam_ref.unproject(pair.db_xy[rows]), cam_q.unproject(pair.query_xy[rows]), q_from_ref
        )
        ok = (z_tri > 0) & (z_map > 0) & (angle > MIN_TRIANGULATION_DEG) & np.isfinite(z_tri)
        if ok.sum() < self.config.min_scale_points:
            raise QueryFailure(
                f"only {int(ok.sum())} map points with parallax to fix the scale "
                f"(< {self.config.min_scale_points})"
            )
        return float(np.median(z_map[ok] / z_tri[ok])), rows[ok]

    def _fill(self, result: LocalizationResult, best: Candidate, prepared: PreparedQuery) -> None:
        pair, rows = best.pair, best.scale_rows
        threshold = SUPPORT_FACTOR * self.config.ransac_threshold * prepared.scale
        result.matches_2d3d = Matches2D3D(
            query_xy=pair.query_xy[rows],
            xyz=self.cache.xyz_of(pair.point3D_ids[rows]),
            point3D_ids=pair.point3D_ids[rows],
            source_image_ids=np.full(len(rows), best.ref_id, np.int64),
            inliers=best.reproj_error <= threshold,
            reproj_error=best.reproj_error,
        )
        result.num_inliers = int(best.e_inliers.sum())
        result.success = True
        result.cam_from_world = best.cam_from_world
        result.extras.update(
            {"reference_image_id": best.ref_id, "scale": best.scale, "support": best.support}
        )
        ref_name = self.bundle.scene.images[best.ref_id].name
        result.reason = "; ".join(
            p
            for p in (
                f"{result.num_inliers} essential-matrix inliers to {ref_name}, scale from "
                f"{len(rows)} map points ({best.support} agree)",
                result.extras.get("intrinsics_note", ""),
            )
            if p
        )
