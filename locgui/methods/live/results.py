"""What live localization returns per frame (numpy only)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from locgui.core.camera import Camera
from locgui.core.pose import Rigid3

TRACKED, RELOCALIZED, LOST = "tracked", "relocalized", "lost"
STATUSES = (TRACKED, RELOCALIZED, LOST)


@dataclass
class LiveFrameResult:
    """The outcome of one frame.

    Attributes:
        index: the frame's index in its source. timestamp: its time in seconds. name: label.
        status: "tracked" (fast path against the map points near the predicted pose),
            "relocalized" (the full method: retrieval, matching, PnP) or "lost".
        reason: why, in words ("212 inliers of 260 tracked matches", "tracking: 9 inliers
            < 30; relocalization: 4 inliers < 12").
        cam_from_world: the output pose (smoothed when tracking agrees with the motion prior),
            None when lost.
        measured: the raw PnP pose before smoothing, None when lost.
        camera: the intrinsics used.
        num_inliers: PnP inliers of the accepted (or last tried) pose.
        num_matches: 2D-3D matches given to that PnP.
        candidates: map points selected around the predicted pose (tracking), 0 if not tried.
        jumped: the pose disagreed with the motion prior and the history was restarted.
        confidence: pose-confidence gauge in [0, 1] (inliers and inlier ratio; 0 when lost).
        timings: stage -> seconds ("extract", "select", "match", "pnp", "relocalize",
            "reloc.<stage>", "total").
        keypoints: (K, 2) float32 keypoints of the frame, pixels (COLMAP convention).
        matched_xy: (M, 2) float64 pixels of the 2D-3D matches given to PnP.
        inliers: (M,) bool PnP inlier mask of ``matched_xy``.
        image_size: (width, height) of the frame.
        gt_cam_from_world: ground truth when the source has it.
        error_t: camera-centre error vs ground truth (map units); NaN without it or when lost.
        error_r: rotation error vs ground truth (degrees); NaN likewise.
    """

    index: int
    timestamp: float
    name: str
    status: str
    reason: str
    cam_from_world: Rigid3 | None = None
    measured: Rigid3 | None = None
    camera: Camera | None = None
    num_inliers: int = 0
    num_matches: int = 0
    candidates: int = 0
    jumped: bool = False
    confidence: float = 0.0
    timings: dict[str, float] = field(default_factory=dict)
    keypoints: np.ndarray = field(default_factory=lambda: np.zeros((0, 2), np.float32))
    matched_xy: np.ndarray = field(default_factory=lambda: np.zeros((0, 2)))
    inliers: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))
    image_size: tuple[int, int] = (0, 0)
    gt_cam_from_world: Rigid3 | None = None
    error_t: float = float("nan")
    error_r: float = float("nan")

    @property
    def localized(self) -> bool:
        return self.status != LOST and self.cam_from_world is not None

    @property
    def latency(self) -> float:
        """Seconds spent on this frame (all stages)."""
        return float(self.timings.get("total", 0.0))

    def line(self) -> str:
        """A one-line status for terminals and logs."""
        ms = 1000 * self.latency
        err = f" err {self.error_t:.3f}/{self.error_r:.2f}deg" if np.isfinite(self.error_t) else ""
        head = f"{self.name} {self.status:<11} {ms:6.0f} ms {self.num_inliers:4d} inl"
        return f"{head}{err}  {self.reason}"

    def summary(self) -> dict:
        """JSON-ready (no arrays)."""
        pose = self.cam_from_world
        return {
            "index": self.index,
            "timestamp": round(self.timestamp, 6),
            "name": self.name,
            "status": self.status,
            "reason": self.reason,
            "cam_from_world": pose.to_dict() if pose is not None else None,
            "num_inliers": self.num_inliers,
            "num_matches": self.num_matches,
            "candidates": self.candidates,
            "jumped": self.jumped,
            "confidence": round(self.confidence, 3),
            "timings_ms": {k: round(1000 * v, 2) for k, v in self.timings.items()},
            "error_t": None if not np.isfinite(self.error_t) else self.error_t,
            "error_r_deg": None if not np.isfinite(self.error_r) else self.error_r,
        }
