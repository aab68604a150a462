"""The capture thread: reads a frame source on its own thread and keeps only the newest frame
(older unconsumed frames are dropped and counted)."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field

from locgui.io.capture.sources import CaptureError, Frame, FrameSource

log = logging.getLogger(__name__)


@dataclass
class CaptureStatus:
    """A snapshot of the capture.

    Attributes:
        state: "idle", "running", "paused", "ended" (normal end), "failed" or "stopped".
        message: a line a user can read (why it failed, where it ended).
        frames_read: frames read from the source.
        delivered: frames handed to the consumer.
        dropped: frames replaced by a newer one before the consumer took them.
        skipped: frames the source could not read.
        problems: the source's last messages about skipped frames.
    """

    state: str
    message: str
    frames_read: int
    delivered: int
    dropped: int
    skipped: int
    problems: list[str] = field(default_factory=list)


class LatestFrameCapture:
    """Reads a source on its own thread and keeps only the newest unconsumed frame.

    File sources are paced at ``rate`` frames/s (default: their own rate), like a camera, and
    frames the consumer is too slow for are dropped and counted. ``lockstep=True`` (file
    sources only) reads the next frame only once the previous one was taken: no drops, as fast
    as the consumer (tests, accuracy benchmarks). ``close()`` joins the thread and releases
    the source; ``start()`` after ``close()`` plays the source again from its beginning.
    """

    def __init__(
        self, source: FrameSource, rate: float | None = None, lockstep: bool = False
    ) -> None:
        self.source = source
        self.lockstep = lockstep and not source.live
        self._rate = rate
        self._cv = threading.Condition()
        self._thread: threading.Thread | None = None
        self._reset()

    def _reset(self) -> None:
        self._slot: Frame | None = None
        self._stop = False
        self._paused = False
        self._steps = 0
        self._done = False
        self._state, self._message = "idle", ""
        self._read = self._delivered = self._dropped = 0

    # ------------------------------------------------------------------ control
    def start(self) -> None:
        """Open the source (raises CaptureError) and start the capture thread."""
        if self._thread is not None:
            self.close()
        self._reset()
        self.source.open()
        self._state, self._message = "running", f"{self.source.description}: running"
        self._thread = threading.Thread(
            target=self._run, name=f"locgui-capture-{self.source.kind}", daemon=True
        )
        self._thread.start()

    def pause(self) -> None:
        with self._cv:
            self._paused = True
            if self._state == "running":
                self._state = "paused"

    def resume(self) -> None:
        with self._cv:
            self._paused = False
            if self._state == "paused":
                self._state = "running"
            self._cv.notify_all()

    def step(self) -> None:
        """While paused, let one more frame through (a live source delivers its next one)."""
        with self._cv:
            self._steps += 1
            self._cv.notify_all()

    def close(self, timeout: float = 5.0) -> None:
        """Stop the thread, join it and release the source."""
        thread = self._thread
        with self._cv:
            self._stop = True
            self._cv.notify_all()
        if thread is not None:
            thread.join(timeout)
            if thread.is_alive():  # the thread releases the source itself when its read returns
                log.warning("%s: capture thread still blocked in a read", self.source.description)
            else:
                self.source.close()
        self._thread = None
        with self._cv:
            if self._state in ("running", "paused", "idle"):
                self._state = "stopped"
                self._message = f"{self.source.description}: stopped"

    def __enter__(self) -> LatestFrameCapture:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ consumer side
    def get(self, timeout: float | None = None) -> Frame | None:
        """The newest frame not taken yet; None on timeout or once the source has finished."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cv:
            while self._slot is None:
                if self._done or self._thread is None:
                    return None
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return None
                self._cv.wait(remaining)
            frame, self._slot = self._slot, None
            self._delivered += 1
            self._cv.notify_all()
            return frame

    @property
    def finished(self) -> bool:
        """The source ended, failed or was stopped, and no frame is left to take."""
        with self._cv:
            return (self._done or self._thread is None) and self._slot is None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def status(self) -> CaptureStatus:
        with self._cv:
            return CaptureStatus(
                self._state,
                self._message,
                self._read,
                self._delivered,
                self._dropped,
                self.source.skipped,
                list(self.source.problems[-5:]),
            )

    # ------------------------------------------------------------------ thread
    def _period(self) -> float:
        rate = self._rate or self.source.nominal_rate
        if self.source.live or self.lockstep or not rate:
            return 0.0
        return 1.0 / rate

    def _wait_turn(self, due: float) -> bool:
        """Block until the next frame may be read; False when asked to stop."""
        with self._cv:
            while not self._stop:
                if self._paused and self._steps == 0:
                    self._cv.wait(0.1)
                    continue
                if self.lockstep and self._slot is not None:
                    self._cv.wait(0.1)
                    continue
                wait = due - time.monotonic()
                if wait > 0 and not self._paused:
                    self._cv.wait(wait)
                    continue
                if self._paused:
                    self._steps -= 1
                return True
            return False

    def _run(self) -> None:
        period = self._period()
        due = time.monotonic()
        try:
            while self._wait_turn(due):
                frame = self.source.read()
                if frame is None:
                    self._finish("ended", f"{self.source.description}: end of stream")
                    return
                now = time.monotonic()
                # On time: keep the source's clock; late by over a frame: restart it from now.
                due = due + period if now <= due + period else now + period
                with self._cv:
                    if self._slot is not None:
                        self._dropped += 1
                    self._slot = frame
                    self._read += 1
                    self._cv.notify_all()
        except CaptureError as exc:
            self._finish("failed", str(exc))
        except Exception as exc:  # noqa: BLE001  (reported as the capture's status)
            log.exception("capture thread of %s", self.source.description)
            self._finish("failed", f"{self.source.description}: unexpected error: {exc}")
        finally:
            self.source.close()
            with self._cv:
                self._done = True
                if self._stop and self._state in ("running", "paused"):
                    self._state = "stopped"
                    self._message = f"{self.source.description}: stopped"
                self._cv.notify_all()

    def _finish(self, state: str, message: str) -> None:
        with self._cv:
            self._state, self._message = state, message
        if state == "failed":
            log.warning("%s", message)
