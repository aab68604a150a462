"""Live relocalization as application state, and the job that runs a live session.

``LiveState`` is what the live dock and the 3D view read: whether a run is starting, running,
paused or stopped, its source and method, the newest frame's result with the trajectory so
far, and the last run's summary. Only the main thread changes it (the controller applies
what the job streams).

``run_live`` is a long job for the worker bridge: it opens the session, localizes the newest
frame again and again (the capture keeps only the newest one), hands each frame's update to
a ``LiveControl`` mailbox and announces it with ``ctx.partial("frame", None)`` only when the
previous one was taken (no backlog on the main thread), and stops when the task is
cancelled. ``LiveControl`` also carries pause / step from the main thread to the session.
Qt-free.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Any

import numpy as np

from locgui.model.events import Signal
from locgui.model.run_log import RunLog
from locgui.runtime.context import RunContext

log = logging.getLogger(__name__)

STOPPED, STARTING, RUNNING, PAUSED = "stopped", "starting", "running", "paused"
MAX_RUNS = 5  # live runs kept for the timeline
THUMBNAIL_RUNS = 2  # ... the newest of them with their thumbnails


@dataclass(frozen=True)
class LiveUpdate:
    """One localized (or lost) frame, as the views draw it.

    Attributes:
        rgb: (H, W, 3) uint8 frame. result: its ``LiveFrameResult``.
        centers: (N, 3) camera centres of the trajectory so far (world, map units).
        gt_centers: (M, 3) ground-truth centres so far (empty without ground truth).
        fps: localized frames/s over the last frames. dropped: frames the capture dropped.
        intrinsics: how the intrinsics were obtained.
    """

    rgb: np.ndarray
    result: Any
    centers: np.ndarray
    gt_centers: np.ndarray
    fps: float
    dropped: int
    intrinsics: str


class LiveState:
    """The live run the views show (one at a time).

    Signals:
        status_changed(status): STOPPED, STARTING, RUNNING or PAUSED.
        frame_changed(update): a newer ``LiveUpdate`` (None: a new run cleared the last one).
        message_changed(text, error): a line for the user.
        finished(summary): a run ended (``LiveSummary``).
        run_added(log): a run began; ``log`` is its ``RunLog``.

    Attributes:
        status, source, method: of the current (or last) run.
        latest: the newest ``LiveUpdate`` or None. summary: the last run's ``LiveSummary``.
        runs: the ``RunLog`` of the last ``MAX_RUNS`` runs (the current one last), for the
            timeline; the job appends every frame to ``runs[-1]``.
        message, error: the last line for the user and whether it reports a failure.
    """

    def __init__(self) -> None:
        self.status_changed = Signal("live.status_changed")
        self.frame_changed = Signal("live.frame_changed")
        self.message_changed = Signal("live.message_changed")
        self.finished = Signal("live.finished")
        self.run_added = Signal("live.run_added")
        self.status = STOPPED
        self.source = ""
        self.method = ""
        self.latest: LiveUpdate | None = None
        self.summary: Any = None
        self.message = ""
        self.error = False
        self.runs: list[RunLog] = []
        self._count = 0

    @property
    def active(self) -> bool:
        """A run is starting, running or paused."""
        return self.status != STOPPED

    def begin(self, source: str, method: str) -> None:
        """A run over ``source`` with ``method`` is starting (the last frame is cleared)."""
        self.source, self.method, self.summary = source, method, None
        self.latest = None
        self._count += 1
        self.runs = [*self.runs, RunLog(source, method, self._count)][-MAX_RUNS:]
        for old in self.runs[:-THUMBNAIL_RUNS]:
            old.drop_thumbnails()  # bounded memory: at most two runs' thumbnails
        self.run_added.emit(self.runs[-1])
        self.frame_changed.emit(None)
        self._set_status(STARTING)
        self.say(f"starting {source} with {method}…")

    def set_frame(self, update: LiveUpdate) -> None:
        self.latest = update
        if self.status == STARTING:
            self._set_status(RUNNING)
        self.frame_changed.emit(update)
        r = update.result
        self.say(f"{r.name}: {r.reason}")

    def set_paused(self, paused: bool) -> None:
        if self.active:
            self._set_status(PAUSED if paused else RUNNING)

    def finish(self, summary: Any) -> None:
        """The run ended with ``summary``."""
        self.summary = summary
        self._set_status(STOPPED)
        self.say("; ".join(summary.lines()[:2]) + f" — stopped by {summary.stopped_by}")
        self.finished.emit(summary)

    def fail(self, message: str) -> None:
        """The run could not start or broke off."""
        self._set_status(STOPPED)
        self.say(message, error=True)

    def stopped(self) -> None:
        """The run ended without a summary (cancelled before it started)."""
        self._set_status(STOPPED)

    def say(self, text: str, error: bool = False) -> None:
        self.message, self.error = text, error
        self.message_changed.emit(text, error)

    def _set_status(self, status: str) -> None:
        if status != self.status:
            self.status = status
            self.status_changed.emit(status)


@dataclass(frozen=True)
class LiveRequest:
    """A live run (an immutable snapshot taken on the main thread).

    Attributes:
        bundle: the map bundle. source: webcam index, video file or image folder.
        options: ``SessionOptions``. max_frames: stop after so many frames (None: never).
        log: the ``RunLog`` every handled frame is appended to (None: not recorded).
    """

    bundle: Any
    source: str
    options: Any
    max_frames: int | None = None
    log: RunLog | None = None


class LiveControl:
    """Between the main thread and a running session: pause and step go one way, the newest
    update the other (a mailbox of one: an update not yet taken is replaced). Thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._session: Any = None
        self._paused = False
        self._latest: LiveUpdate | None = None

    def running(self, session: Any) -> None:
        """Worker: the session's capture runs (its first frame came); a pause asked for
        before then takes effect now."""
        with self._lock:
            if self._session is None:
                self._session = session
                if self._paused:
                    session.pause()

    def pause(self, paused: bool) -> None:
        with self._lock:
            self._paused = paused
            if self._session is not None:
                (self._session.pause if paused else self._session.resume)()

    def step(self) -> None:
        """While paused: let one more frame through."""
        with self._lock:
            if self._session is not None:
                self._session.request_step()

    def offer(self, update: LiveUpdate) -> bool:
        """Worker: the newest update. True when the mailbox was empty (announce it)."""
        with self._lock:
            waiting = self._latest is not None
            self._latest = update
        return not waiting

    def take(self) -> LiveUpdate | None:
        """Main thread: the newest update (None if it was taken already)."""
        with self._lock:
            update, self._latest = self._latest, None
        return update


def run_live(request: LiveRequest, control: LiveControl, ctx: RunContext) -> Any:
    """Run a live session until its source ends, ``max_frames`` were handled or the task is
    cancelled; returns the ``LiveSummary`` (also sent as ``ctx.partial("summary", ...)``,
    since a cancelled task's value does not reach the UI). Raises LocguiError subclasses
    when the session cannot be built or its source opened."""
    from locgui.methods.live.session import open_session

    session = open_session(request.bundle, request.source, request.options)
    # The run's log holds the trajectory (thumbnails only when the UI keeps the log).
    runlog = request.log if request.log is not None else RunLog(str(request.source), "live")

    def on_frame(result: Any) -> None:
        frame = session.last_frame
        if frame is None:
            return
        control.running(session)
        runlog.append(result, frame.rgb if request.log is not None else None)
        update = LiveUpdate(
            frame.rgb,
            result,
            _finite_rows(runlog.column("center")),
            _finite_rows(runlog.column("gt_center")),
            session.stats.recent_fps(),
            session.capture.status().dropped,
            session.intrinsics_note,
        )
        if control.offer(update):
            ctx.partial("frame", None)

    try:
        summary = session.run(request.max_frames, on_frame, ctx.cancel_event)
    except BaseException:
        try:
            session.stop("error")  # joins the capture thread: no thread outlives the run
        except Exception:  # noqa: BLE001  (the first error is the one to report)
            log.exception("stopping the live session after an error")
        raise
    ctx.partial("summary", summary)
    return summary


def _finite_rows(points: np.ndarray) -> np.ndarray:
    """The rows of an (N, 3) column that hold a point (frames without one are NaN)."""
    return points[np.isfinite(points[:, 0])]
