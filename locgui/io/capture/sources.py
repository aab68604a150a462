"""Frame sources for live relocalization: a webcam, a video file or an image folder, and a
capture thread that always holds only the newest frame.

OpenCV (headless) is imported lazily. Frames are ``(H, W, 3) uint8 RGB``. Ground truth, where
a source has it, comes from a TUM file beside it (``<stem>.tum.txt`` beside ``<stem>.mp4``, or
``<folder>.tum.txt`` beside ``<folder>/``; lines ``timestamp tx ty tz qx qy qz qw`` =
``world_from_cam``, see ``locgui.io.poses``).

A source that cannot be opened raises ``CaptureError``. A source that fails while running
(webcam unplugged: reads fail repeatedly; truncated video: it ends before its frame count)
makes the capture stop with state "failed" and a one-line message; unreadable images of a
folder are reported and skipped.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from locgui.core.errors import LocguiError
from locgui.core.pose import Rigid3
from locgui.io.conventions import check_pose_values, tum_to_cam_from_world
from locgui.io.images import IMAGE_SUFFIXES

log = logging.getLogger(__name__)

MAX_PROBLEMS = 20  # problem messages a source keeps (older ones are counted, not kept)


class CaptureError(LocguiError):
    """A frame source cannot be opened, or failed while running."""


@dataclass(frozen=True)
class Frame:
    """One captured frame.

    Attributes:
        index: position in the source (video frame number, folder file index, webcam count).
        timestamp: seconds since the start of the source (video/folder time, webcam clock).
        rgb: (H, W, 3) uint8 RGB pixels.
        name: a label without whitespace ("frame_000042" or the image file name).
        gt_cam_from_world: ground-truth pose when the source has it.
    """

    index: int
    timestamp: float
    rgb: np.ndarray
    name: str
    gt_cam_from_world: Rigid3 | None = None


# ---------------------------------------------------------------------------------- ground truth
class GroundTruth:
    """Poses of a TUM file, looked up by image name, by time or by line order."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.times: list[float] = []
        self.poses: list[Rigid3] = []
        self.by_name: dict[str, Rigid3] = {}
        names: dict[float, str] = {}
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise CaptureError(f"{path}: cannot read ground-truth poses ({exc})") from exc
        for n, line in enumerate(text.splitlines(), 1):
            tokens = line.split()
            if not tokens:
                continue
            try:
                if tokens[0].startswith("#"):
                    if tokens[:2] == ["#", "image"] and len(tokens) == 4:
                        names[float(tokens[2])] = tokens[3]
                    continue
                v = np.array(tokens, dtype=np.float64)
            except ValueError:
                raise CaptureError(f"{path}: line {n}: non-numeric ground-truth pose") from None
            if v.shape != (8,):
                raise CaptureError(f"{path}: line {n}: expected 8 values, got {len(tokens)}")
            try:
                check_pose_values(v[:4], v[4:])
            except ValueError as exc:  # a zero quaternion would give NaN poses
                raise CaptureError(f"{path}: line {n}: {exc}") from None
            self.times.append(float(v[0]))
            self.poses.append(tum_to_cam_from_world(v[1:4], v[4:]))
        for t, pose in zip(self.times, self.poses, strict=True):
            if t in names:
                self.by_name[names[t]] = pose
        self._sorted = np.array(self.times)

    def __len__(self) -> int:
        return len(self.poses)

    def at_time(self, t: float, tolerance: float) -> Rigid3 | None:
        """The pose whose timestamp is nearest to ``t`` (seconds) if within ``tolerance``."""
        if not self.poses:
            return None
        k = int(np.argmin(np.abs(self._sorted - t)))
        return self.poses[k] if abs(self.times[k] - t) <= tolerance else None


def ground_truth_beside(path: Path) -> GroundTruth | None:
    """``<stem>.tum.txt`` beside a video file or ``<folder>.tum.txt`` beside a folder."""
    stem = path.with_suffix("") if path.is_file() else path
    candidate = Path(f"{stem}.tum.txt")
    if not candidate.is_file():
        return None
    gt = GroundTruth(candidate)
    log.info("ground truth: %s (%d poses)", candidate, len(gt))
    return gt


# ---------------------------------------------------------------------------------- sources
class FrameSource:
    """Base class of frame sources.

    Attributes:
        kind: "webcam", "video" or "folder".
        description: what it is, for status lines ("video clip.mp4", "webcam 0").
        live: frames arrive in real time (a webcam): never paced, never lock-stepped.
        nominal_rate: the source's own frame rate (frames/s), None when unknown.
        ground_truth: poses from a TUM file beside the source, or None.
        camera_file: an intrinsics file beside the source (``<stem>.camera.json``), or None.
        skipped: frames that could not be read and were skipped.
        problems: the last few messages about skipped frames.
    """

    kind = "source"
    live = False

    def __init__(self, description: str) -> None:
        self.description = description
        self.nominal_rate: float | None = None
        self.ground_truth: GroundTruth | None = None
        self.camera_file: Path | None = None
        self.skipped = 0
        self.problems: list[str] = []

    def open(self) -> None:
        """Start reading from the first frame (again, after ``close``). Raises CaptureError."""
        raise NotImplementedError

    def read(self) -> Frame | None:
        """The next frame; None at the normal end. Raises CaptureError when the source fails."""
        raise NotImplementedError

    def close(self) -> None:
        """Release the device or file. Safe to call twice."""

    def _problem(self, message: str) -> None:
        self.skipped += 1
        self.problems = [*self.problems[-(MAX_PROBLEMS - 1) :], message]
        log.warning("%s", message)


class VideoSource(FrameSource):
    """A video file read with OpenCV. Frame ``i`` has timestamp ``i / fps``."""

    kind = "video"

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        super().__init__(f"video {self.path.name}")
        if not self.path.is_file():
            raise CaptureError(f"{self.path}: no such video file")
        self.ground_truth = ground_truth_beside(self.path)
        cam = Path(f"{self.path.with_suffix('')}.camera.json")
        self.camera_file = cam if cam.is_file() else None
        self._cap: Any = None
        self._index = 0
        self.frame_count: int | None = None

    def open(self) -> None:
        import cv2

        self.close()
        cap = cv2.VideoCapture(str(self.path))
        if not cap.isOpened():
            raise CaptureError(
                f"{self.path}: OpenCV cannot open this video (unsupported codec, or a "
                "truncated or corrupt file)"
            )
        fps = float(cap.get(cv2.CAP_PROP_FPS))
        self.nominal_rate = fps if np.isfinite(fps) and fps > 0 else None
        count = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
        self.frame_count = count if count > 0 else None
        try:
            if int(cap.get(cv2.CAP_PROP_FOURCC)) == _ANSI_TEXT:
                raise CaptureError(f"{self.path}: cannot open it as a video (it is a text file)")
            _check_frame_size(cap, self.path)
        except CaptureError:
            cap.release()
            raise
        self._cap, self._index = cap, 0

    def read(self) -> Frame | None:
        if self._cap is None:
            raise CaptureError(f"{self.path}: read before open")
        ok, bgr = self._cap.read()
        if ok and bgr is not None:
            _check_frame(bgr, self.path)
        if not ok or bgr is None:
            if self.frame_count is not None and self._index < self.frame_count - 1:
                raise CaptureError(
                    f"{self.path}: video ended at frame {self._index} of {self.frame_count} "
                    "(truncated or corrupt file)"
                )
            return None
        i = self._index
        self._index += 1
        t = i / (self.nominal_rate or 30.0)
        gt = None
        if self.ground_truth is not None:
            gt = self.ground_truth.at_time(t, 0.5 / (self.nominal_rate or 30.0))
        return Frame(i, t, np.ascontiguousarray(bgr[:, :, ::-1]), f"frame_{i:06d}", gt)

    def close(self) -> None:
        if self._cap is not None:
            self._cap.release()
            self._cap = None


_ANSI_TEXT = int.from_bytes(b"ansi", "little")  # FFmpeg's "tty" reader draws text files


def _check_frame_size(cap: Any, name: object) -> None:
    """Refuse a stream whose frames exceed the image pixel limit (``LOCGUI_MAX_PIXELS``)
    before its first frame is decoded."""
    import cv2

    width = int(cap.get(cv2.CAP_PROP_FRAME_WIDTH) or 0)
    height = int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT) or 0)
    _check_pixels(name, width, height)


def _check_frame(bgr: np.ndarray, name: object) -> None:
    _check_pixels(name, int(bgr.shape[1]), int(bgr.shape[0]))


def _check_pixels(name: object, width: int, height: int) -> None:
    from locgui.core.errors import ImageDecodeError
    from locgui.io.image_header import check_pixels

    try:
        check_pixels(name, width, height)
    except ImageDecodeError as exc:
        raise CaptureError(str(exc)) from exc


def _natural_key(name: str) -> list[Any]:
    return [int(p) if p.isdigit() else p.lower() for p in re.split(r"(\d+)", name)]


class FolderSource(FrameSource):
    """The images of a folder in natural name order, as if shot at ``rate`` frames/s.

    Unreadable images, and images whose size differs from the first one, are reported
    (``problems``) and skipped.
    """

    kind = "folder"

    def __init__(self, path: str | Path, rate: float = 10.0) -> None:
        self.path = Path(path)
        super().__init__(f"folder {self.path.name}/")
        if not self.path.is_dir():
            raise CaptureError(f"{self.path}: no such image folder")
        if not rate > 0:
            raise CaptureError(f"{self.path}: the playback rate must be positive, got {rate}")
        self.files = sorted(
            (p for p in self._listing() if p.suffix.lower() in IMAGE_SUFFIXES),
            key=lambda p: _natural_key(p.name),
        )
        if not self.files:
            raise CaptureError(f"{self.path}: no images in this folder")
        self.nominal_rate = float(rate)
        self.ground_truth = ground_truth_beside(self.path)
        self._by_index = self.ground_truth is not None and not self.ground_truth.by_name
        if self._by_index and self.ground_truth is not None:
            self._by_index = len(self.ground_truth) == len(self.files)
        self._index = 0
        self._size: tuple[int, int] | None = None

    def _listing(self) -> list[Path]:
        from locgui.core.errors import InputLimitError
        from locgui.io.limits import list_folder

        try:
            return list_folder(self.path)
        except (OSError, InputLimitError) as exc:
            raise CaptureError(f"{self.path}: cannot list the folder ({exc})") from exc

    def open(self) -> None:
        self._index, self._size = 0, None

    def read(self) -> Frame | None:
        from locgui.core.errors import ImageDecodeError
        from locgui.io.images import read_image

        while self._index < len(self.files):
            i = self._index
            self._index += 1
            path = self.files[i]
            if not self.path.is_dir():
                raise CaptureError(f"{self.path}: the image folder disappeared")
            try:
                rgb = read_image(path)
            except ImageDecodeError as exc:
                self._problem(f"skipped unreadable frame: {exc}")
                continue
            size = (rgb.shape[1], rgb.shape[0])
            if self._size is not None and size != self._size:
                self._problem(
                    f"skipped {path.name}: {size[0]}x{size[1]} but the stream is "
                    f"{self._size[0]}x{self._size[1]}"
                )
                continue
            self._size = size
            return Frame(i, i / float(self.nominal_rate or 1.0), rgb, path.name, self._gt(i, path))
        return None

    def _gt(self, i: int, path: Path) -> Rigid3 | None:
        gt = self.ground_truth
        if gt is None:
            return None
        if gt.by_name:
            return gt.by_name.get(path.name)
        if self._by_index:
            return gt.poses[i]
        return gt.at_time(i / float(self.nominal_rate or 1.0), 0.5 / float(self.nominal_rate or 1))


class WebcamSource(FrameSource):
    """A camera by OpenCV index. ``max_failures`` failed reads in a row mean it is gone.

    ``capture_factory(index)`` makes the ``cv2.VideoCapture``-like object (tests pass one
    whose reads fail, to check the "unplugged" path).
    """

    kind = "webcam"
    live = True

    def __init__(
        self,
        index: int,
        width: int | None = None,
        height: int | None = None,
        max_failures: int = 25,
        capture_factory: Callable[[int], Any] | None = None,
    ) -> None:
        super().__init__(f"webcam {index}")
        self.index = int(index)
        self.size = (width, height)
        self.max_failures = max_failures
        self._factory = capture_factory
        self._cap: Any = None
        self._count = 0
        self._t0 = 0.0

    def open(self) -> None:
        import cv2

        self.close()
        factory = self._factory or cv2.VideoCapture
        cap = factory(self.index)
        if not cap.isOpened():
            raise CaptureError(
                f"webcam {self.index}: cannot open it (not connected, busy, or no permission)"
            )
        width, height = self.size
        if width and height:
            cap.set(cv2.CAP_PROP_FRAME_WIDTH, width)
            cap.set(cv2.CAP_PROP_FRAME_HEIGHT, height)
        fps = float(cap.get(cv2.CAP_PROP_FPS))
        self.nominal_rate = fps if np.isfinite(fps) and fps > 0 else None
        try:
            _check_frame_size(cap, self.description)
        except CaptureError:
            cap.release()
            raise
        self._cap, self._count, self._t0 = cap, 0, time.monotonic()

    def read(self) -> Frame | None:
        if self._cap is None:
            raise CaptureError(f"webcam {self.index}: read before open")
        for attempt in range(self.max_failures):
            ok, bgr = self._cap.read()
            if ok and bgr is not None and bgr.ndim == 3:
                _check_frame(bgr, self.description)
                i = self._count
                self._count += 1
                rgb = np.ascontiguousarray(bgr[:, :, ::-1])
                return Frame(i, time.monotonic() - self._t0, rgb, f"frame_{i:06d}")
            time.sleep(min(0.002 * (attempt + 1), 0.04))
        raise CaptureError(
            f"webcam {self.index} stopped delivering frames ({self.max_failures} failed reads "
            "in a row): unplugged or taken by another program?"
        )

    def close(self) -> None:
        if self._cap is not None:
            self._cap.release()
            self._cap = None


def open_source(spec: str | int | Path, rate: float | None = None) -> FrameSource:
    """A source from a command-line spec: a webcam index ("0"), a video file or a folder.

    Args:
        rate: frames/s an image folder is played at (default 10); videos keep their own.
    """
    text = str(spec)
    if isinstance(spec, int) or text.isdigit():
        return WebcamSource(int(text))
    path = Path(text).expanduser()
    if path.is_dir():
        return FolderSource(path, rate if rate else 10.0)
    if path.is_file():
        return VideoSource(path)
    raise CaptureError(f"{path}: no such video file or image folder (or a webcam index: 0, 1…)")
