"""The two-stage live pipeline (features of frame t+1 while frame t is tracked) and tracking
with a reduced keypoint budget while the track is healthy, on the tiny clip."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest

from locgui.io.bundle import MapBundle
from locgui.methods.live.config import TrackerConfig
from locgui.methods.live.results import TRACKED, LiveFrameResult
from locgui.methods.live.session import LiveSession, SessionOptions, open_session
from locgui.methods.live.tracking import MemoExtractor

MAX_ERROR_T = 0.10  # metres, as tests/test_live_session.py


def live_threads() -> list[threading.Thread]:
    return [
        t
        for t in threading.enumerate()
        if t.name.startswith(("locgui-capture", "live-prefetch", "rpr-reference"))
    ]


def open_tiny(bundle: MapBundle, clip: Path, pipeline: bool, keypoints: int = 1024) -> LiveSession:
    tracker = TrackerConfig(track_keypoints=keypoints)
    options = SessionOptions(lockstep=True, pipeline=pipeline, tracker=tracker)
    return open_session(bundle, clip, options)


def run_all(session: LiveSession) -> list[LiveFrameResult]:
    results: list[LiveFrameResult] = []
    summary = session.run(on_frame=results.append)
    assert summary.stopped_by == "end" and summary.frames == len(results)
    return results


@pytest.mark.parametrize("keypoints", [0, 300])
def test_pipelined_session_gives_the_sequential_results(
    keypoints: int, tiny_bundle: MapBundle, live_clip: Path
) -> None:
    sequential = run_all(open_tiny(tiny_bundle, live_clip, False, keypoints))
    session = open_tiny(tiny_bundle, live_clip, True, keypoints)
    pipelined = run_all(session)
    assert not live_threads()
    assert [r.index for r in pipelined] == [r.index for r in sequential] == list(range(15))
    assert [r.status for r in pipelined] == [r.status for r in sequential]
    assert sum(r.status == TRACKED for r in pipelined) >= 10
    for a, b in zip(sequential, pipelined, strict=True):
        assert a.num_inliers == b.num_inliers and a.num_matches == b.num_matches
        if a.cam_from_world is not None:
            assert b.cam_from_world is not None
            assert b.cam_from_world.allclose(a.cam_from_world, atol=1e-9)
            assert b.error_t < MAX_ERROR_T
        assert b.timings["total"] >= b.timings.get("extract", 0.0) > 0.0
    assert session.last_frame is not None and session.last_frame.index == 14


def test_a_healthy_track_matches_only_the_best_keypoints(
    tiny_bundle: MapBundle, live_clip: Path
) -> None:
    budget = 300
    full = run_all(open_tiny(tiny_bundle, live_clip, True, 0))
    reduced = run_all(open_tiny(tiny_bundle, live_clip, True, budget))
    assert len(full[0].keypoints) > budget  # the budget is a real reduction here
    statuses = [r.status for r in reduced]
    assert statuses.count(TRACKED) >= [r.status for r in full].count(TRACKED) - 1
    # After a healthy tracked frame, the next one matched at most ``budget`` keypoints
    # (unless the reduced set gave a weak pose and it retried with all of them: on this
    # 320x240 clip, in about half of the frames).
    after_healthy = [
        r
        for prev, r in zip(reduced, reduced[1:], strict=False)
        if prev.status == TRACKED and prev.num_inliers >= TrackerConfig().recheck_inliers
        and r.status == TRACKED
    ]  # fmt: skip
    reduced_frames = [r for r in after_healthy if r.num_matches <= budget]
    assert len(reduced_frames) >= len(after_healthy) // 2, [r.num_matches for r in after_healthy]
    assert max(r.num_matches for r in full if r.status == TRACKED) > budget
    err = [r.error_t for r in reduced if r.cam_from_world is not None]
    assert np.median(err) < MAX_ERROR_T and max(err) < 0.3


@pytest.mark.parametrize("pipeline", [False, True])
def test_stop_and_pause_work_with_the_pipeline(
    pipeline: bool, tiny_bundle: MapBundle, live_clip: Path
) -> None:
    session = open_tiny(tiny_bundle, live_clip, pipeline)
    stop = threading.Event()
    seen: list[int] = []
    paused_at: list[int] = []

    def on_frame(result: LiveFrameResult) -> None:
        seen.append(result.index)
        if len(seen) == 3:
            session.pause()
            paused_at.append(len(seen))
            threading.Timer(0.8, lambda: stepped.append(len(seen))).start()
            threading.Timer(0.8, session.request_step).start()
            threading.Timer(2.0, stop.set).start()

    stepped: list[int] = []
    summary = session.run(on_frame=on_frame, stop_event=stop)
    assert summary.stopped_by == "user" and not live_threads()
    assert seen == list(range(len(seen)))
    # Without the pipeline the frame already in the capture's slot still comes through;
    # with it, the frames the prefetch thread took wait: a pause stops the output at once.
    assert paused_at == [3] and stepped == [3 if pipeline else len(seen) - 1], (seen, stepped)
    assert len(seen) == (4 if pipeline else 5) or (not pipeline and len(seen) == 4), seen

    restarted = run_all(session)  # a stopped session starts again from the beginning
    assert [r.index for r in restarted] == list(range(15)) and not live_threads()


def test_an_error_while_tracking_stops_the_prefetch_thread(
    tiny_bundle: MapBundle, live_clip: Path
) -> None:
    session = open_tiny(tiny_bundle, live_clip, True)

    def on_frame(result: LiveFrameResult) -> None:
        if result.index == 2:
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        session.run(on_frame=on_frame)
    session.stop("error")
    assert not live_threads()


def test_memo_extractor_serves_recent_frames_from_two_threads() -> None:
    calls: list[int] = []

    class Counting:
        name, dim = "fake", 2

        def extract(self, rgb: np.ndarray) -> int:
            calls.append(int(rgb[0, 0, 0]))
            return int(rgb[0, 0, 0])

    memo = MemoExtractor(Counting(), keep=3)
    frames = [np.full((4, 4, 3), i, np.uint8) for i in range(4)]
    threads = [threading.Thread(target=memo.extract, args=(f,)) for f in frames[:3]]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(calls) == [0, 1, 2]
    assert [memo.extract(f.copy()) for f in frames[:3]] == [0, 1, 2]  # equal arrays: no call
    assert memo.extract(frames[3]) == 3 and memo.extract(frames[0]) == 0
    assert sorted(calls) == [0, 0, 1, 2, 3]  # frame 0 had left the three kept
