"""The live job without Qt: ``run_live`` streams the newest frame through ``LiveControl`` and
``ctx.partial``, stops when its context is cancelled, reports the summary as a partial, and
leaves no capture thread behind (also when the source cannot be opened)."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

from locgui.core.errors import LocguiError
from locgui.io.bundle import MapBundle
from locgui.methods.live.session import SessionOptions
from locgui.model.live import LiveControl, LiveRequest, run_live
from locgui.model.run_log import RunLog
from locgui.runtime.context import RunContext


def _capture_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith("locgui-capture")]


def test_run_live_streams_frames_and_stops_on_cancel(tiny_bundle: MapBundle, live_clip: Path):
    control = LiveControl()
    partials: list[tuple[str, Any]] = []
    taken: list[int] = []
    cancel = threading.Event()

    def on_partial(kind: str, payload: Any) -> None:
        partials.append((kind, payload))
        if kind == "frame":  # the main thread takes the newest update
            update = control.take()
            assert update is not None
            taken.append(update.result.index)
            if len(taken) == 3:
                cancel.set()  # Stop

    ctx = RunContext(on_partial=on_partial, cancel_event=cancel)
    log = RunLog(str(live_clip), "sfm")
    request = LiveRequest(tiny_bundle, str(live_clip), SessionOptions(lockstep=True), log=log)
    summary = run_live(request, control, ctx)
    assert summary.stopped_by == "user" and summary.frames == 3
    assert [log.frame(i).index for i in range(len(log))] == [0, 1, 2]
    assert taken == [0, 1, 2] and partials[-1] == ("summary", summary)
    assert [k for k, _ in partials].count("frame") == 3 and not _capture_threads()


def test_run_live_raises_for_a_missing_source(tiny_bundle: MapBundle, tmp_path: Path):
    request = LiveRequest(tiny_bundle, str(tmp_path / "none.mp4"), SessionOptions())
    with pytest.raises(LocguiError, match="no such video file or image folder"):
        run_live(request, LiveControl(), RunContext())
    assert not _capture_threads()
