"""The record of a live run, frame by frame, for the timeline (numpy and OpenCV only).

The live job appends every frame it handles (``RunLog.append``, worker thread), also the
frames the UI never drew; the timeline reads any of them back (``frame``, main thread)
while the run goes on and after it ended. Per frame it keeps what the timeline shows: time,
status and reason, the pose and ground truth, inliers and matches, latency, errors, and a
small JPEG thumbnail of the image (``THUMB_SIDE`` px on the long side, about 10 KB; no
thumbnails beyond ``THUMB_BUDGET`` bytes, so a run of hours stays bounded; ``LiveState``
keeps thumbnails of its two newest runs only).

Numeric columns live in arrays grown by doubling, so drawing a 3000-frame trajectory or
plotting its inliers is a slice, not a rebuild. Thread-safe.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

import numpy as np

from locgui.core.camera import Camera
from locgui.core.pose import Rigid3

STATUS_CODES = {"tracked": 0, "relocalized": 1, "lost": 2}
"""Status -> the small integer the ``status`` column holds (unknown statuses: lost)."""
THUMB_SIDE = 240
THUMB_BUDGET = 256 * 2**20
THUMB_QUALITY = 80


@dataclass(frozen=True)
class TimePoint:
    """One moment of a track, as the timeline shows it.

    Attributes:
        index: position in the track. time: seconds since the track's start (or its
            timestamp). name: the frame's or query's name. status, reason: the outcome.
        cam_from_world, camera: the estimate (None when lost). gt_cam_from_world: ground
            truth when known. num_inliers, num_matches: PnP inliers of how many matches.
        latency: seconds spent on it. error_t, error_r: centre error (map units) and
            rotation error (degrees) vs ground truth, NaN when unknown.
        thumbnail: JPEG bytes of the image (None: not kept). query: the query's name when
            the track is made of queries (the timeline selects it).
    """

    index: int
    time: float
    name: str
    status: str
    reason: str
    cam_from_world: Rigid3 | None
    camera: Camera | None
    gt_cam_from_world: Rigid3 | None
    num_inliers: int
    num_matches: int
    latency: float
    error_t: float
    error_r: float
    thumbnail: bytes | None = None
    query: str | None = None

    @property
    def localized(self) -> bool:
        return self.cam_from_world is not None and self.status != "lost"


class RunLog:
    """Every frame of one live run (append-only).

    Attributes:
        source, method: of the run. number: the run's number in this session (1, 2, ...).
    """

    def __init__(self, source: str, method: str, number: int = 1) -> None:
        self.source, self.method, self.number = source, method, number
        self._lock = threading.Lock()
        self._n = 0
        self._cols: dict[str, np.ndarray] = {
            "time": np.zeros(64),
            "status": np.zeros(64, np.int8),
            "inliers": np.zeros(64, np.int32),
            "matches": np.zeros(64, np.int32),
            "latency": np.zeros(64),
            "error_t": np.zeros(64),
            "error_r": np.zeros(64),
            "center": np.zeros((64, 3)),
            "gt_center": np.zeros((64, 3)),
        }
        self._rows: list[tuple[str, str, Rigid3 | None, Camera | None, Rigid3 | None]] = []
        self._thumbs: list[bytes | None] = []
        self._thumb_bytes = 0
        self._t0: float | None = None

    def __len__(self) -> int:
        return self._n

    @property
    def title(self) -> str:
        return f"live {self.number} · {_short(self.source)} · {self.method}"

    def append(self, result: Any, rgb: np.ndarray | None = None) -> None:
        """Record a ``LiveFrameResult`` (and a thumbnail of its image ``rgb``)."""
        thumb = self._thumbnail(rgb) if rgb is not None else None
        pose, gt = result.cam_from_world, result.gt_cam_from_world
        nan3 = np.full(3, np.nan)
        with self._lock:
            if self._t0 is None:
                self._t0 = float(result.timestamp)
            i = self._n
            if i == len(self._cols["time"]):
                self._cols = {k: _grown(v) for k, v in self._cols.items()}
            c = self._cols
            c["time"][i] = float(result.timestamp) - self._t0
            c["status"][i] = STATUS_CODES.get(result.status, 2)
            c["inliers"][i] = int(result.num_inliers)
            c["matches"][i] = int(result.num_matches)
            c["latency"][i] = float(result.latency)
            c["error_t"][i] = float(result.error_t)
            c["error_r"][i] = float(result.error_r)
            c["center"][i] = pose.center if pose is not None and result.localized else nan3
            c["gt_center"][i] = gt.center if gt is not None else nan3
            self._rows.append((result.name, result.reason, pose if result.localized else None,
                               result.camera, gt))  # fmt: skip
            if thumb is not None and self._thumb_bytes + len(thumb) > THUMB_BUDGET:
                thumb = None
            self._thumbs.append(thumb)
            self._thumb_bytes += len(thumb or b"")
            self._n = i + 1

    def drop_thumbnails(self) -> None:
        """Free the thumbnails (an older run: its frames and figures stay)."""
        with self._lock:
            self._thumbs = [None] * len(self._thumbs)
            self._thumb_bytes = 0

    def column(self, key: str) -> np.ndarray:
        """A column ("time", "status", "inliers", "matches", "latency", "error_t", "error_r",
        "center", "gt_center") over the frames recorded so far (a view: do not write)."""
        with self._lock:
            return self._cols[key][: self._n]

    def frame(self, i: int) -> TimePoint:
        """Frame ``i`` (0 <= i < len) as a ``TimePoint``."""
        with self._lock:
            if not 0 <= i < self._n:
                raise IndexError(f"frame {i} of a run of {self._n}")
            c = self._cols
            name, reason, pose, camera, gt = self._rows[i]
            status = _STATUS_NAMES[int(c["status"][i])]
            return TimePoint(
                i, float(c["time"][i]), name, status, reason, pose, camera, gt,
                int(c["inliers"][i]), int(c["matches"][i]), float(c["latency"][i]),
                float(c["error_t"][i]), float(c["error_r"][i]), self._thumbs[i],
            )  # fmt: skip

    @staticmethod
    def _thumbnail(rgb: np.ndarray) -> bytes | None:
        import cv2

        h, w = rgb.shape[:2]
        if h == 0 or w == 0:
            return None
        scale = min(1.0, THUMB_SIDE / max(h, w))
        small = cv2.resize(rgb, (max(1, round(w * scale)), max(1, round(h * scale))),
                           interpolation=cv2.INTER_AREA)  # fmt: skip
        ok, buf = cv2.imencode(".jpg", small[:, :, ::-1], [cv2.IMWRITE_JPEG_QUALITY, THUMB_QUALITY])
        return buf.tobytes() if ok else None


_STATUS_NAMES = {v: k for k, v in STATUS_CODES.items()}


def _grown(a: np.ndarray) -> np.ndarray:
    out = np.zeros((2 * len(a),) + a.shape[1:], a.dtype)
    out[: len(a)] = a
    return out


def _short(source: str) -> str:
    return source.replace("\\", "/").rstrip("/").rsplit("/", 1)[-1] or source


def decode_thumbnail(data: bytes) -> np.ndarray | None:
    """JPEG bytes -> (H, W, 3) uint8 RGB, None when they do not decode."""
    import cv2

    img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    return None if img is None else np.ascontiguousarray(img[:, :, ::-1])
