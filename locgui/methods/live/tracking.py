"""Live tracking: frame-to-map tracking between relocalizations by a registered method.

Per frame: extract local features once (the map's kind, XFeat by default). With a recent
pose, predict the camera at constant velocity, select the map points it likely sees, match
the frame's descriptors directly against those points' descriptors within a search radius
of their projections and run PnP (the fast path: no retrieval, no database images). When
that fails (too few inliers, or a pose that contradicts the motion prior), relocalize with
the full method (default ``sfm``), reusing the extracted features.

A relocalized pose that disagrees with the motion prior is a jump: it is taken at once when
it has ``strong_inliers`` or more (the history restarts there, nothing is smoothed), and
otherwise only when the next relocalization agrees with it. The same two-frame confirmation
guards weak relocalizations without any prior. Output poses of agreeing frames are lightly
smoothed toward the prediction.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from locgui.core.camera import Camera
from locgui.core.metrics import pose_error
from locgui.core.pose import Rigid3
from locgui.core.results import LocalizationResult, Query
from locgui.methods.live.config import TrackerConfig
from locgui.methods.live.fastpath import Measurement, timed, track_against_points
from locgui.methods.live.mappoints import MapPoints
from locgui.methods.live.motion import MotionModel
from locgui.methods.live.results import LOST, RELOCALIZED, TRACKED, LiveFrameResult
from locgui.runtime.context import RunContext

log = logging.getLogger(__name__)


class MemoExtractor:
    """Wraps an extractor so that the tracker and the relocalizing method extract the same
    frame only once: the last ``keep`` images and their features are kept (an image is the
    same when it is the same array or equal to it, as the enlarged copies of one small frame
    are). Thread-safe: a pipelined session extracts the next frame while the method may
    relocalize the current one."""

    def __init__(self, inner: Any, keep: int = 3) -> None:
        self.inner = inner
        self.name = inner.name
        self.dim = inner.dim
        self.keep = keep
        self._recent: list[tuple[np.ndarray, Any]] = []
        self._lock = threading.Lock()

    def extract(self, rgb: np.ndarray) -> Any:
        with self._lock:
            recent = list(self._recent)
        for image, feats in reversed(recent):
            if image is rgb or (image.shape == rgb.shape and np.array_equal(image, rgb)):
                return feats
        feats = self.inner.extract(rgb)
        with self._lock:
            self._recent = [*self._recent, (rgb, feats)][-self.keep :]
        return feats


@dataclass
class PreparedFrame:
    """A frame ready for tracking (``LiveTracker.prepare``; may run on another thread).

    Attributes:
        rgb: (H, W, 3) uint8 pixels, None when the frame is unusable (``error`` says why).
        feats: its local features (None without an extractor).
        seconds: time spent extracting them.
        started: ``time.perf_counter()`` when preparing began (a frame's latency counts
            from there, so time waiting for the tracker is included).
    """

    rgb: np.ndarray | None
    feats: Any = None
    seconds: float = 0.0
    error: str = ""
    started: float = field(default_factory=time.perf_counter)


class LiveTracker:
    """Tracks a camera through a map bundle frame by frame.

    Args:
        bundle: the opened ``MapBundle``.
        localizer: a registered method's localizer (``spec.create(bundle, ...)``) used to
            relocalize; structure-based ones share their feature extractor with tracking.
        config: tracking settings.
        camera: the frames' intrinsics; None lets the method choose (a map camera of the same
            image size, else a field-of-view guess with the focal length estimated by PnP),
            and tracking then uses the camera of the last accepted relocalization.
        device: torch device of a feature extractor created for tracking.
    """

    def __init__(
        self,
        bundle: Any,
        localizer: Any,
        config: TrackerConfig | None = None,
        camera: Camera | None = None,
        device: str = "cpu",
    ) -> None:
        self.bundle = bundle
        self.localizer = localizer
        self.method = str(getattr(localizer, "name", type(localizer).__name__))
        self.config = cfg = config or TrackerConfig()
        self.fixed_camera = camera
        self.camera = camera
        self.intrinsics_note = ""
        has_points = "point_descriptors" in bundle.capabilities and len(bundle.scene.points) > 0
        self.points = MapPoints(bundle) if has_points else None
        self.tracking_note = (
            "" if has_points else "the map has no per-point descriptors: relocalizing every frame"
        )
        self.extractor = self._make_extractor(device)
        self.upscale = self._upscale_side()
        cache = getattr(localizer, "cache", None)  # structure methods: map features in memory
        if cache is not None and hasattr(cache, "preload"):
            cache.preload()  # now, so memory stays flat while relocalization visits the map
        radius = bundle.scene.scene_radius()
        self.motion = MotionModel(
            cfg.jump_translation * radius, cfg.jump_rotation, cfg.smoothing, cfg.max_gap
        )
        self._pending: tuple[float, Rigid3] | None = None
        self._healthy = False

    def _make_extractor(self, device: str) -> MemoExtractor | None:
        inner = getattr(self.localizer, "extractor", None)
        if inner is not None and getattr(inner, "name", None) == self.bundle.feature_type:
            memo = MemoExtractor(inner)
            self.localizer.extractor = memo  # the method reuses the tracker's features
            return memo
        if self.points is None:
            return None
        from locgui.methods.localize.common import make_extractor
        from locgui.methods.localize.configs import QueryConfig

        return MemoExtractor(make_extractor(self.bundle, QueryConfig(), device))

    def _upscale_side(self) -> int:
        """Small frames are enlarged as the map's images were (and the method's queries are),
        so that tracking matches descriptors of the same scale."""
        from locgui.methods.localize.common import query_side, upscale_side
        from locgui.methods.localize.configs import QueryConfig

        config = getattr(self.localizer, "config", None)
        if getattr(config, "max_side", None) is None:
            config = QueryConfig()
        return upscale_side(self.bundle, query_side(self.bundle, config))

    def set_camera(self, camera: Camera | None) -> None:
        """Use ``camera`` for the frames; None lets the method choose (see the class)."""
        self.fixed_camera = camera
        self.camera = camera

    def reset(self) -> None:
        """Forget the motion history (the next frame relocalizes)."""
        self.motion.reset()
        self._pending = None
        self._healthy = False

    # ------------------------------------------------------------------ per frame
    def prepare(self, rgb: np.ndarray) -> PreparedFrame:
        """Normalize a frame and extract its features: the part of ``process`` that does
        not depend on the previous frames (so it can run a frame ahead on another thread)."""
        from locgui.methods.localize.common import QueryFailure, extract_features, normalize_image

        started = time.perf_counter()
        try:
            rgb = normalize_image(rgb)
        except QueryFailure as exc:
            return PreparedFrame(None, error=str(exc), started=started)
        if self.extractor is None:
            return PreparedFrame(rgb, started=started)
        start = time.perf_counter()
        feats = extract_features(self.extractor, rgb, self.upscale)
        return PreparedFrame(rgb, feats, time.perf_counter() - start, started=started)

    def process(
        self,
        rgb: np.ndarray,
        timestamp: float,
        name: str = "",
        index: int = 0,
        gt_cam_from_world: Rigid3 | None = None,
        prepared: PreparedFrame | None = None,
    ) -> LiveFrameResult:
        """Localize one frame: (H, W, 3) uint8 RGB taken at ``timestamp`` seconds
        (``prepared``: its ``prepare`` output when that already ran)."""
        timings: dict[str, float] = {}
        res = LiveFrameResult(index, timestamp, name or f"frame_{index:06d}", LOST, "")
        res.gt_cam_from_world = gt_cam_from_world
        if prepared is None:
            prepared = self.prepare(rgb)
        start = prepared.started  # latency includes extraction and any wait for the tracker
        if prepared.rgb is None:
            res.reason = prepared.error
            return self._finish(res, timings, start)
        rgb, feats = prepared.rgb, prepared.feats
        height, width = rgb.shape[:2]
        res.image_size = (width, height)
        if feats is not None:
            timings["extract"] = prepared.seconds
            res.keypoints = feats.keypoints
        predicted = self.motion.predict(timestamp)
        camera = self.camera if self.camera is not None and self._fits(width, height) else None
        track, why = None, self.tracking_note
        if (
            feats is not None
            and self.points is not None
            and camera is not None
            and predicted is not None
        ):
            attempt = self._track(self.points, feats, predicted, camera, timings)
            res.candidates, res.matched_xy, res.inliers = (
                attempt.candidates, attempt.xy, attempt.inliers,
            )  # fmt: skip
            res.num_matches, res.num_inliers, why = (
                attempt.num_matches, attempt.num_inliers, attempt.reason,
            )  # fmt: skip
            if attempt.pose is not None and self.motion.disagreement(attempt.pose, predicted).jump:
                why = "tracking: the tracked pose contradicts the motion prior"
            elif attempt.pose is not None:
                track = attempt
        recheck = self.config.recheck_inliers
        if track is not None and track.num_inliers >= recheck:
            self._accept_track(track, res)
            return self._finish(res, timings, start)
        floor = 0
        if track is not None:  # weak: the full method gets a chance to do better
            floor = track.num_inliers
            why = f"tracking: {floor} inliers < {recheck}, checked by relocalization"
        accepted, reloc_reason = self._relocalize(rgb, predicted, res, timings, why, floor)
        if not accepted and track is not None:
            self._accept_track(track, res, f" (relocalization did not do better: {reloc_reason})")
        return self._finish(res, timings, start)

    def _track(
        self,
        points: MapPoints,
        feats: Any,
        predicted: Rigid3,
        camera: Camera,
        timings: dict[str, float],
    ) -> Measurement:
        """Track with the ``track_keypoints`` best keypoints while the track is healthy (the
        last frame was tracked with at least ``recheck_inliers``); with all of them when
        that is not so, or when the reduced set does not give such a pose."""
        cfg = self.config
        budget = cfg.track_keypoints
        if self._healthy and 0 < budget < len(feats):
            best = np.argsort(-np.asarray(feats.scores), kind="stable")[:budget]
            attempt = track_against_points(
                points, feats.subset(np.sort(best)), predicted, camera, cfg, timings
            )
            if attempt.pose is not None and attempt.num_inliers >= cfg.recheck_inliers:
                return attempt
        return track_against_points(points, feats, predicted, camera, cfg, timings)

    def _fits(self, width: int, height: int) -> bool:
        return self.camera is not None and (self.camera.width, self.camera.height) == (
            width,
            height,
        )

    def _finish(
        self, res: LiveFrameResult, timings: dict[str, float], start: float
    ) -> LiveFrameResult:
        timings["total"] = time.perf_counter() - start
        res.timings = timings
        self._healthy = res.status == TRACKED and res.num_inliers >= self.config.recheck_inliers
        if res.cam_from_world is not None and res.gt_cam_from_world is not None:
            res.error_t, res.error_r = pose_error(res.cam_from_world, res.gt_cam_from_world)
        if res.status != LOST and res.num_matches:
            ratio = res.num_inliers / res.num_matches
            res.confidence = min(1.0, res.num_inliers / self.config.confident_inliers) * min(
                1.0, ratio / 0.5
            )
        return res

    def _accept_track(self, track: Measurement, res: LiveFrameResult, note: str = "") -> None:
        assert track.pose is not None
        res.cam_from_world, _ = self.motion.update(track.pose, res.timestamp)
        res.measured, res.camera, res.status = track.pose, track.camera, TRACKED
        res.matched_xy, res.inliers = track.xy, track.inliers
        res.num_matches, res.num_inliers = track.num_matches, track.num_inliers
        res.reason = f"{track.reason}{note}"
        self._pending = None

    # ------------------------------------------------------------------ relocalization
    def _relocalize(
        self,
        rgb: np.ndarray,
        predicted: Rigid3 | None,
        res: LiveFrameResult,
        timings: dict[str, float],
        track_reason: str,
        floor: int = 0,
    ) -> tuple[bool, str]:
        """Relocalize with the method: (whether its pose was accepted into ``res``, why not).
        A pose with at most ``floor`` inliers is not taken."""
        query = Query(res.name, rgb, self.fixed_camera, res.gt_cam_from_world)
        with timed(timings, "relocalize"):
            result: LocalizationResult = self.localizer.localize(query, RunContext())
        for stage, seconds in result.timings.items():
            timings[f"reloc.{stage}"] = seconds
        note = str(result.extras.get("intrinsics_note", ""))
        if note:
            self.intrinsics_note = note
        m = result.matches_2d3d
        if m is not None:
            res.matched_xy, res.inliers, res.num_matches = m.query_xy, m.inliers, len(m)
        res.num_inliers = result.num_inliers
        prefix = f"{track_reason}; " if track_reason else ""
        if not result.success or result.cam_from_world is None:
            res.reason = f"{prefix}relocalization: {result.reason}"
            return False, result.reason
        if result.num_inliers <= floor:
            return False, f"{result.num_inliers} inliers"
        pose = result.cam_from_world
        verdict = self._judge(pose, result.num_inliers, predicted, res.timestamp)
        if verdict:
            res.reason = f"{prefix}{verdict}"
            return False, verdict
        if predicted is not None and self.motion.disagreement(pose, predicted).jump:
            self.motion.reset(pose, res.timestamp)
            out, res.jumped = pose, True
            dt, dr = pose_error(pose, predicted)
            detail = f"; jump of {dt:.3g} {self.bundle.units} / {dr:.1f} deg from the track"
        else:
            out, _ = self.motion.update(pose, res.timestamp)
            detail = ""
        if self.fixed_camera is None and result.camera is not None:
            self.camera = result.camera
        res.cam_from_world, res.measured, res.camera = out, pose, result.camera
        res.status = RELOCALIZED
        res.reason = f"{prefix}relocalized by {self.method}: {result.reason}{detail}"
        return True, ""

    def _judge(self, pose: Rigid3, inliers: int, predicted: Rigid3 | None, t: float) -> str | None:
        """None to accept a relocalized pose, else why it waits for confirmation."""
        cfg = self.config
        agrees_prior = predicted is not None and not self.motion.disagreement(pose, predicted).jump
        if inliers >= cfg.strong_inliers or agrees_prior:
            self._pending = None
            return None
        pending = self._pending
        if pending is not None and t - pending[0] <= cfg.max_gap:
            if not self.motion.disagreement(pose, pending[1]).jump:
                self._pending = None
                return None
        self._pending = (t, pose)
        where = "away from the track" if predicted is not None else "without a prior"
        return (
            f"weak relocalization ({inliers} inliers < {cfg.strong_inliers}) {where}: "
            "waiting for a second frame to agree"
        )
