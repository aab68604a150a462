"""A live session: pull the newest frame from the capture thread, localize it on the calling
thread (the UI calls ``step`` from its device executor), keep the trajectory, record TUM
and an optional annotated video, and summarize the run.

With ``pipeline`` (the default), ``run`` works in two stages: a prefetch thread takes
frame t+1 from the capture and extracts its features while the calling thread tracks frame
t (the native feature and PnP code release the GIL). Each frame's result is the same as in
the sequential loop; only which frames a real-time source drops can differ. Measured on 2
cores (scripts/bench_live.py --compare): at load ~1.4 it took the demo clip from 17 to 23
frames/s for a p90 latency of 87 instead of 64 ms; on cores that other processes keep
busy (load ~4) the stages only take cores from each other (+3 % frames/s, p90 x1.8), and
``pipeline=False`` is the better choice there.

    session = open_session("room.locmap", "clip.mp4", method="sfm")
    summary = session.run(max_frames=300, on_frame=lambda r: print(r.line()))
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from locgui.core.pose import Rigid3
from locgui.core.trajectory import Trajectory
from locgui.io.calibration import Intrinsics, parse_intrinsics
from locgui.io.capture import Frame, LatestFrameCapture, open_source
from locgui.methods.live.config import TrackerConfig
from locgui.methods.live.results import LiveFrameResult
from locgui.methods.live.stats import LiveStats, LiveSummary
from locgui.methods.live.tracking import LiveTracker, PreparedFrame
from locgui.runtime.memory import release_free_memory

log = logging.getLogger(__name__)

TRIM_EVERY = 50
"""Frames between two returns of freed heap memory to the OS."""


class LiveSession:
    """One run of live localization over one source.

    Args:
        tracker: the tracker (owns the map and the relocalizing method).
        capture: the capture thread around the source (started by ``start``/``run``).
        intrinsics: how to get the frames' camera (resolved on the first frame).
        tum_path: write the trajectory there (TUM) when the session stops.
        video_path: write the annotated video there (.mp4 / .avi).
        pipeline: ``run`` extracts the next frame's features on a second thread while the
            current frame is tracked (False: one frame after the other on the calling thread).

    Attributes:
        trajectory: output poses (``cam_from_world``) of localized frames.
        gt_trajectory: ground-truth poses of all frames that have one.
        intrinsics_note: how the intrinsics were obtained (states a guess clearly).
        last_frame / last_result: the latest frame and its result.
    """

    def __init__(
        self,
        tracker: LiveTracker,
        capture: LatestFrameCapture,
        intrinsics: Intrinsics,
        *,
        tum_path: str | Path | None = None,
        video_path: str | Path | None = None,
        pipeline: bool = True,
    ) -> None:
        self.tracker = tracker
        self.pipeline = pipeline
        self.capture = capture
        self.intrinsics = intrinsics
        self.tum_path = Path(tum_path) if tum_path else None
        self.video_path = Path(video_path) if video_path else None
        self.trajectory = Trajectory()
        self.gt_trajectory = Trajectory()
        self.stats = LiveStats()
        self.intrinsics_note = ""
        self.last_frame: Frame | None = None
        self.last_result: LiveFrameResult | None = None
        self._video: Any = None
        self._size: tuple[int, int] | None = None
        self._summary: LiveSummary | None = None
        self._lock = threading.Lock()
        self._gate = threading.Condition()
        self._held, self._credits = False, 0

    # ------------------------------------------------------------------ control
    def start(self) -> None:
        """Start the capture; after ``stop``, a new run from the source's beginning (fresh
        trajectory, statistics and motion history). Raises CaptureError when the source
        cannot be opened."""
        if self._summary is not None or self.stats.frames:
            self.trajectory, self.gt_trajectory, self.stats = (
                Trajectory(),
                Trajectory(),
                LiveStats(),
            )
            self.tracker.reset()
            self._video, self._size = None, None
        self._summary = None
        with self._gate:
            self._held, self._credits = False, 0
        self.capture.start()

    def pause(self) -> None:
        with self._gate:
            self._held, self._credits = True, 0
        self.capture.pause()

    def resume(self) -> None:
        with self._gate:
            self._held, self._credits = False, 0
            self._gate.notify_all()
        self.capture.resume()

    def request_step(self) -> None:
        """While paused: let exactly one more frame through (then call ``step``)."""
        with self._gate:
            self._credits += 1
            self._gate.notify_all()
        self.capture.step()

    def _next_turn(self, timeout: float) -> bool:
        """Pipelined ``run``: whether the tracker may take a prepared frame now. While
        paused, frames the prefetch thread already took wait for ``resume`` or one
        ``request_step`` each, so that a pause stops the output as promptly as without the
        pipeline."""
        with self._gate:
            if self._held and self._credits == 0:
                self._gate.wait(timeout)
            return not self._held or self._credits > 0

    def _took_turn(self) -> None:
        with self._gate:
            if self._held and self._credits > 0:
                self._credits -= 1

    @property
    def finished(self) -> bool:
        return self.capture.finished

    # ------------------------------------------------------------------ frames
    def step(self, timeout: float | None = 1.0) -> LiveFrameResult | None:
        """Localize the newest frame; None when none came within ``timeout`` seconds or the
        source has finished (see ``finished`` and ``capture.status()``)."""
        frame = self.capture.get(timeout)
        return None if frame is None else self.process(frame)

    def process(self, frame: Frame, prepared: PreparedFrame | None = None) -> LiveFrameResult:
        """Localize one frame, record it and update the statistics (``prepared``: its
        ``tracker.prepare`` output when that already ran)."""
        height, width = frame.rgb.shape[:2]
        if self._size != (width, height):
            camera, self.intrinsics_note = self.intrinsics.for_size(width, height)
            self.tracker.set_camera(camera)
            self._size = (width, height)
            log.info("%s", self.intrinsics_note)
        result = self.tracker.process(
            frame.rgb, frame.timestamp, frame.name, frame.index, frame.gt_cam_from_world, prepared
        )
        with self._lock:
            if result.cam_from_world is not None:
                self.trajectory.append(frame.timestamp, result.cam_from_world, result.name)
            if frame.gt_cam_from_world is not None:
                self.gt_trajectory.append(frame.timestamp, frame.gt_cam_from_world, result.name)
            self.stats.add(result)
        self.last_frame, self.last_result = frame, result
        if self.stats.frames % TRIM_EVERY == 0:
            release_free_memory()  # keeps a run of hours from creeping (locgui.runtime.memory)
        if self.video_path is not None:
            self._record(frame, result)
        return result

    def _record(self, frame: Frame, result: LiveFrameResult) -> None:
        from locgui.methods.live.recording import AnnotatedVideo

        if self._video is None:
            fps = self.capture.source.nominal_rate or 15.0
            self._video = AnnotatedVideo(self.video_path or "live.mp4", fps)
        hud = f"{self.stats.recent_fps():.1f} frames/s  {self.tracker.method}"
        self._video.write(frame.rgb, result, hud)

    def poses(self) -> tuple[list[float], list[Rigid3]]:
        """A consistent copy of the trajectory (timestamps, poses), for another thread."""
        with self._lock:
            return list(self.trajectory.timestamps), list(self.trajectory.poses)

    # ------------------------------------------------------------------ running
    def run(
        self,
        max_frames: int | None = None,
        on_frame: Callable[[LiveFrameResult], None] | None = None,
        stop_event: threading.Event | None = None,
    ) -> LiveSummary:
        """Start, localize frames until the source ends, ``max_frames`` were handled, the
        event is set or Ctrl-C; then stop (writing the recordings) and return the summary."""
        stop_event = stop_event or threading.Event()
        stopped_by = "end"
        self.start()
        prefetch = _Prefetch(self.capture, self.tracker) if self.pipeline else None
        try:
            while True:
                if stop_event.is_set():
                    stopped_by = "user"
                    break
                if max_frames is not None and self.stats.frames >= max_frames:
                    stopped_by = "max_frames"
                    break
                if prefetch is None:
                    result = self.step(timeout=0.25)
                    finished = result is None and self.capture.finished
                elif not self._next_turn(0.25):
                    continue
                else:
                    item = prefetch.get(timeout=0.25)
                    if item is not None:
                        self._took_turn()
                    result = None if item is None else self.process(*item)
                    finished = item is None and prefetch.finished
                if result is not None:
                    if on_frame is not None:
                        on_frame(result)
                elif finished:
                    failed = self.capture.status().state == "failed"
                    stopped_by = "source_failed" if failed else "end"
                    break
        except KeyboardInterrupt:
            stopped_by = "interrupt"
        finally:
            if prefetch is not None:
                prefetch.close()  # joined: no thread outlives the run
        return self.stop(stopped_by)

    def stop(self, stopped_by: str = "user") -> LiveSummary:
        """Stop the capture (joins its thread), close the recordings and summarize. Safe to
        call again: later calls return the first summary."""
        if self._summary is not None:
            return self._summary
        self.capture.close()
        if self._video is not None:
            self._video.close()
        tum = self._write_tum()
        status = self.capture.status()
        self._summary = self.stats.summarize(
            source=self.capture.source.description,
            method=self.tracker.method,
            intrinsics=self.intrinsics_note or self.tracker.intrinsics_note,
            units=self.tracker.bundle.units,
            dropped=status.dropped,
            skipped=status.skipped,
            source_state=status.state,
            source_message=status.message,
            stopped_by=stopped_by,
            trajectory_path=str(tum) if tum else None,
            video_path=str(self.video_path) if self._video is not None else None,
            extra={"method_intrinsics": self.tracker.intrinsics_note},
        )
        return self._summary

    def _write_tum(self) -> Path | None:
        from locgui.io.poses import write_poses

        if self.tum_path is None:
            return None
        with self._lock:
            names = ["".join(c if not c.isspace() else "_" for c in n) or "frame"
                     for n in self.trajectory.names]  # fmt: skip
            poses, stamps = list(self.trajectory.poses), list(self.trajectory.timestamps)
        return write_poses(self.tum_path, names, poses, "tum", stamps)


class _Prefetch:
    """Takes frames from the capture and prepares them (features) one frame ahead of the
    tracker, on its own thread. It takes the next frame only once the tracker has taken
    the previous one: one frame in flight keeps the latency near extraction + tracking
    (and a live source's frame as fresh as it can be)."""

    def __init__(self, capture: LatestFrameCapture, tracker: LiveTracker) -> None:
        self.capture = capture
        self.tracker = tracker
        self._queue: queue.Queue[tuple[Frame, PreparedFrame]] = queue.Queue(maxsize=1)
        self._halt = threading.Event()
        self._done = threading.Event()
        self._error: BaseException | None = None
        self._slot = threading.Semaphore(1)  # released when the tracker takes a frame
        self._thread = threading.Thread(target=self._loop, name="live-prefetch", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        try:
            while not self._halt.is_set():
                if not self._slot.acquire(timeout=0.1):
                    continue
                frame = self.capture.get(0.1)
                if frame is None:
                    self._slot.release()
                    if self.capture.finished:
                        return
                    continue
                item = (frame, self.tracker.prepare(frame.rgb))
                while not self._halt.is_set():
                    try:
                        self._queue.put(item, timeout=0.1)
                        break
                    except queue.Full:
                        continue
        except BaseException as exc:  # noqa: BLE001  (re-raised on the consumer's thread)
            self._error = exc
        finally:
            self._done.set()

    def get(self, timeout: float) -> tuple[Frame, PreparedFrame] | None:
        """The next prepared frame; None on timeout or at the end. Raises what the prefetch
        thread raised."""
        try:
            item = self._queue.get(timeout=timeout)
            self._slot.release()
            return item
        except queue.Empty:
            if self._error is not None:
                raise self._error from None
            return None

    @property
    def finished(self) -> bool:
        return self._done.is_set() and self._queue.empty()

    def close(self) -> None:
        self._halt.set()
        self._thread.join()


@dataclass
class SessionOptions:
    """Everything ``open_session`` needs besides the map and the source.

    Attributes:
        method: registry name of the relocalizing method. preset: its preset, if any.
        method_overrides: config overrides of the method.
        intrinsics: "fov:DEG", a calibration file, or None (a camera.json beside the source,
            else the method's choice).
        rate: playback rate of file sources (frames/s; default: their own, 10 for folders).
        lockstep: file sources deliver every frame, as fast as localization goes (no drops).
        tracker: tracking settings. device: "cpu", "cuda" or "auto".
        tum_path / video_path: recordings.
        pipeline: extract frame t+1 while frame t is tracked (see the module).
    """

    method: str = "sfm"
    preset: str | None = None
    method_overrides: dict[str, Any] | None = None
    intrinsics: str | None = None
    rate: float | None = None
    lockstep: bool = False
    tracker: TrackerConfig | None = None
    device: str = "cpu"
    tum_path: str | Path | None = None
    video_path: str | Path | None = None
    pipeline: bool = True


def open_session(bundle: Any, source: Any, options: SessionOptions | None = None) -> LiveSession:
    """A session over ``source`` (webcam index, video file, image folder, or a FrameSource)
    against ``bundle`` (a MapBundle or its path). Raises LocguiError subclasses for a bad
    bundle, method, source or intrinsics file."""
    from locgui.io.bundle import open_bundle
    from locgui.io.capture import FrameSource
    from locgui.methods.registry import get_method
    from locgui.runtime.context import resolve_device

    opts = options or SessionOptions()
    if isinstance(bundle, str | Path):
        bundle = open_bundle(bundle)
    src = source if isinstance(source, FrameSource) else open_source(source, opts.rate)
    check_recording_paths(opts, src, getattr(bundle, "path", None))
    intrinsics = parse_intrinsics(opts.intrinsics, src.camera_file if not opts.intrinsics else None)
    device = resolve_device(opts.device)
    spec = get_method(opts.method)
    config = spec.make_config(opts.preset, **(opts.method_overrides or {}))
    localizer = spec.create(bundle, config, device)
    tracker = LiveTracker(bundle, localizer, opts.tracker, None, device)
    capture = LatestFrameCapture(src, rate=opts.rate, lockstep=opts.lockstep)
    return LiveSession(
        tracker, capture, intrinsics, tum_path=opts.tum_path, video_path=opts.video_path,
        pipeline=opts.pipeline,
    )  # fmt: skip


def check_recording_paths(opts: SessionOptions, source: Any, bundle_dir: Path | None) -> None:
    """Raise LocguiError when a recording (``tum_path``, ``video_path``) would overwrite what
    the session reads: the source video, its ground truth or calibration file, or anything in
    the map bundle (or both recordings name one file)."""
    from locgui.core.errors import LocguiError

    gt = getattr(source, "ground_truth", None)
    read = {
        "the source": getattr(source, "path", None),
        "the source's ground truth": getattr(gt, "path", None),
        "the source's calibration file": getattr(source, "camera_file", None),
    }
    inputs = {Path(p).absolute().resolve(): what for what, p in read.items() if p is not None}
    inside = Path(bundle_dir).absolute().resolve() if bundle_dir is not None else None
    seen: dict[Path, str] = {}
    for option, value in (("--out", opts.tum_path), ("--video", opts.video_path)):
        if value is None:
            continue
        out = Path(value).absolute().resolve()
        if out in inputs:
            raise LocguiError(f"{option} {value} is {inputs[out]}; write the recording elsewhere")
        if inside is not None and out.is_relative_to(inside):
            raise LocguiError(f"{option} {value} is inside the map bundle; write it elsewhere")
        if out in seen:
            raise LocguiError(f"{option} and {seen[out]} name the same file {value}")
        seen[out] = option
