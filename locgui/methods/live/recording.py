"""Recording a live run: the annotated video (keypoints coloured by inlier status, a status
banner) written with OpenCV, imported lazily."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np

from locgui.core.errors import LocguiError
from locgui.methods.live.results import LOST, RELOCALIZED, TRACKED, LiveFrameResult

log = logging.getLogger(__name__)

# RGB colours: keypoints without a 2D-3D match, PnP outliers, PnP inliers.
COLOURS = {"keypoint": (150, 150, 150), "outlier": (230, 60, 50), "inlier": (40, 220, 90)}
STATUS_COLOURS = {TRACKED: (40, 200, 90), RELOCALIZED: (240, 180, 30), LOST: (230, 60, 50)}
_CODECS = {".mp4": "mp4v", ".avi": "MJPG"}


def annotate(rgb: np.ndarray, result: LiveFrameResult, hud: str = "") -> np.ndarray:
    """A copy of ``rgb`` ((H, W, 3) uint8) with the frame's keypoints, its matches coloured
    by PnP inlier status, and a banner with the status and ``hud`` text."""
    import cv2

    out = np.ascontiguousarray(rgb).copy()
    for xy, colour, radius in _marks(result):
        for x, y in np.round(xy - 0.5).astype(int):  # COLMAP -> OpenCV pixel centres
            cv2.circle(out, (int(x), int(y)), radius, colour, -1, cv2.LINE_AA)
    banner = f"{result.status.upper()}  {result.num_inliers} inl  {1000 * result.latency:.0f} ms"
    if np.isfinite(result.error_t):
        banner += f"  err {result.error_t:.3f} / {result.error_r:.1f} deg"
    font = cv2.FONT_HERSHEY_SIMPLEX
    (text_w, text_h), _ = cv2.getTextSize(banner, font, 1.0, 1)
    scale = min(out.shape[0] / 600.0, (out.shape[1] - 8) / text_w)
    height = int(text_h * scale) + 8
    cv2.rectangle(out, (0, 0), (out.shape[1], height), (0, 0, 0), -1)
    colour = STATUS_COLOURS.get(result.status, (255, 255, 255))
    cv2.putText(out, banner, (4, height - 4), font, scale, colour, 1, cv2.LINE_AA)
    if hud:
        cv2.putText(out, hud, (4, out.shape[0] - 6), font, scale, (255, 255, 255), 1, cv2.LINE_AA)
    return out


def _marks(result: LiveFrameResult) -> list[tuple[np.ndarray, tuple[int, int, int], int]]:
    inl = np.asarray(result.inliers, bool)
    xy = np.asarray(result.matched_xy, np.float64).reshape(-1, 2)
    if len(inl) != len(xy):
        inl = np.zeros(len(xy), bool)
    kp = np.asarray(result.keypoints, np.float64).reshape(-1, 2)
    return [
        (kp, COLOURS["keypoint"], 1),
        (xy[~inl], COLOURS["outlier"], 2),
        (xy[inl], COLOURS["inlier"], 2),
    ]


class AnnotatedVideo:
    """Writes annotated frames to ``path`` (.mp4 with mp4v, or .avi with MJPG); the writer
    opens on the first frame, when the size is known."""

    def __init__(self, path: str | Path, fps: float = 15.0) -> None:
        self.path = Path(path)
        if self.path.suffix.lower() not in _CODECS:
            raise LocguiError(f"{self.path}: annotated video must be .mp4 or .avi")
        self.fps = fps
        self.frames = 0
        self._writer: Any = None
        self._size: tuple[int, int] | None = None

    def write(self, rgb: np.ndarray, result: LiveFrameResult, hud: str = "") -> None:
        import cv2

        size = (rgb.shape[1], rgb.shape[0])
        if self._writer is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fourcc = cv2.VideoWriter.fourcc(*_CODECS[self.path.suffix.lower()])
            self._writer = cv2.VideoWriter(str(self.path), fourcc, self.fps, size)
            if not self._writer.isOpened():
                self._writer = None
                raise LocguiError(f"{self.path}: OpenCV cannot open a video writer here")
            self._size = size
        if size != self._size:
            log.warning("%s: frame %s has another size; not recorded", self.path, result.name)
            return
        frame = annotate(rgb, result, hud)
        self._writer.write(np.ascontiguousarray(frame[:, :, ::-1]))
        self.frames += 1

    def close(self) -> None:
        if self._writer is not None:
            self._writer.release()
            self._writer = None
