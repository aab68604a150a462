"""Running statistics of a live session and its summary (frames/s, latency percentiles,
tracked / relocalized / lost fractions, error against ground truth). Memory is O(frames) in
a few floats per frame, never images."""

from __future__ import annotations

import time
from array import array
from dataclasses import asdict, dataclass, field

import numpy as np

from locgui.methods.live.results import LOST, RELOCALIZED, STATUSES, TRACKED, LiveFrameResult


@dataclass
class LiveSummary:
    """What a live run achieved.

    Attributes:
        source: the source's description. method: the relocalizing method. intrinsics: how
            the intrinsics were obtained (a guess says so).
        frames: frames localized or tried. localized: frames with a pose.
        counts: status -> frames. fractions: status -> fraction of ``frames``.
        localized_fraction: ``localized / frames``.
        wall_s: seconds from the first frame taken to the last one done.
        fps_processed: frames handled per second of wall time.
        fps_localized: frames localized per second of wall time.
        latency_ms: {"p50", "p90", "mean", "max"} of the per-frame total.
        stage_ms: stage -> mean milliseconds over the frames that ran it.
        gt_frames: localized frames with ground truth.
        median_error_t: median camera-centre error of those (map units), None without.
        median_error_r_deg: median rotation error (degrees), None without.
        p90_error_t: 90th percentile camera-centre error, None without.
        units: the map's units.
        dropped: frames the capture dropped because localization was busy.
        skipped: frames the source could not read.
        source_state / source_message: how the capture ended ("ended", "failed", "stopped").
        stopped_by: "end", "max_frames", "interrupt", "user" or "source_failed".
        trajectory_path / video_path: recordings written, or None.
    """

    source: str
    method: str
    intrinsics: str
    frames: int
    localized: int
    counts: dict[str, int]
    fractions: dict[str, float]
    localized_fraction: float
    wall_s: float
    fps_processed: float
    fps_localized: float
    latency_ms: dict[str, float]
    stage_ms: dict[str, float]
    gt_frames: int
    median_error_t: float | None
    median_error_r_deg: float | None
    p90_error_t: float | None
    units: str
    dropped: int
    skipped: int
    source_state: str
    source_message: str
    stopped_by: str
    trajectory_path: str | None = None
    video_path: str | None = None
    extra: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return asdict(self)

    def lines(self) -> list[str]:
        """A human summary, a few lines."""
        f = self.fractions
        out = [
            f"{self.frames} frames from {self.source} with {self.method} in {self.wall_s:.1f} s: "
            f"{self.fps_localized:.1f} localized frames/s ({self.fps_processed:.1f} processed)",
            f"localized {100 * self.localized_fraction:.1f}%: tracked {100 * f[TRACKED]:.1f}%, "
            f"relocalized {100 * f[RELOCALIZED]:.1f}%, lost {100 * f[LOST]:.1f}%",
            f"latency p50 {self.latency_ms['p50']:.0f} ms, p90 {self.latency_ms['p90']:.0f} ms; "
            + ", ".join(f"{k} {v:.1f}" for k, v in self.stage_ms.items() if "." not in k),
            f"dropped {self.dropped} frames, skipped {self.skipped} unreadable; source "
            f"{self.source_state}: {self.source_message}",
            self.intrinsics,
        ]
        if self.median_error_t is not None:
            out.insert(
                3,
                f"error vs ground truth ({self.gt_frames} frames): median "
                f"{self.median_error_t:.4f} {self.units} / {self.median_error_r_deg:.2f} deg, "
                f"p90 {self.p90_error_t:.4f} {self.units}",
            )
        return out


class LiveStats:
    """Accumulates per-frame figures (a few floats each)."""

    def __init__(self) -> None:
        # Compact per-frame records (8 bytes a value): a live run adds one per frame for hours.
        self.status: list[str] = []  # interned status names: a pointer each
        self.latency = array("d")
        self.err_t = array("d")
        self.err_r = array("d")
        self.stage_sum: dict[str, float] = {}
        self.stage_n: dict[str, int] = {}
        self.first_start: float | None = None
        self.last_end: float | None = None

    def add(self, result: LiveFrameResult, now: float | None = None) -> None:
        end = time.monotonic() if now is None else now
        if self.first_start is None:
            self.first_start = end - result.latency
        self.last_end = end
        self.status.append(result.status)
        self.latency.append(result.latency)
        for stage, seconds in result.timings.items():
            self.stage_sum[stage] = self.stage_sum.get(stage, 0.0) + seconds
            self.stage_n[stage] = self.stage_n.get(stage, 0) + 1
        if result.localized and np.isfinite(result.error_t):
            self.err_t.append(result.error_t)
            self.err_r.append(result.error_r)

    @property
    def frames(self) -> int:
        return len(self.status)

    def recent_fps(self, window: int = 30) -> float:
        """Frames/s over the last ``window`` frames' latencies (for a HUD)."""
        lat = self.latency[-window:]
        return len(lat) / sum(lat) if lat and sum(lat) > 0 else 0.0

    def summarize(self, **context: object) -> LiveSummary:
        """The summary; ``context`` fills the fields this class does not know (source, ...)."""
        n = self.frames
        counts = {s: self.status.count(s) for s in STATUSES}
        localized = n - counts[LOST]
        wall = (self.last_end - self.first_start) if self.first_start and self.last_end else 0.0
        lat = np.array(self.latency) * 1000.0
        stats = {
            "p50": float(np.percentile(lat, 50)) if n else 0.0,
            "p90": float(np.percentile(lat, 90)) if n else 0.0,
            "mean": float(lat.mean()) if n else 0.0,
            "max": float(lat.max()) if n else 0.0,
        }
        et, er = np.array(self.err_t), np.array(self.err_r)
        return LiveSummary(
            frames=n,
            localized=localized,
            counts=counts,
            fractions={s: counts[s] / n if n else 0.0 for s in STATUSES},
            localized_fraction=localized / n if n else 0.0,
            wall_s=wall,
            fps_processed=n / wall if wall > 0 else 0.0,
            fps_localized=localized / wall if wall > 0 else 0.0,
            latency_ms=stats,
            stage_ms={k: 1000 * v / self.stage_n[k] for k, v in self.stage_sum.items()},
            gt_frames=len(et),
            median_error_t=float(np.median(et)) if len(et) else None,
            median_error_r_deg=float(np.median(er)) if len(er) else None,
            p90_error_t=float(np.percentile(et, 90)) if len(et) else None,
            **context,  # type: ignore[arg-type]
        )
