"""The live session and ``locgui live`` on a tiny synthetic clip with ground truth: JSON
output, the TUM trajectory, the annotated video, Ctrl-C and restart."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import numpy as np
import pytest

from locgui.core.pose import Rigid3
from locgui.io.bundle import MapBundle
from locgui.io.poses import read_poses
from locgui.methods.live.session import SessionOptions, open_session

MAX_ERROR_T = 0.10  # metres; see tests/test_live_tracking.py for how it was chosen


def capture_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("locgui-capture")]


def test_cli_json_summary_frames_and_trajectory(
    tiny_bundle_dir: Path, live_clip: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from locgui.cli import main

    traj = tmp_path / "traj.txt"
    argv = ["live", str(tiny_bundle_dir), "--source", str(live_clip), "--lockstep",
            "--max-frames", "6", "--json", "--out", str(traj)]  # fmt: skip
    assert main(argv) == 0
    captured = capsys.readouterr()
    doc = json.loads(captured.out)
    summary, frames = doc["summary"], doc["frames"]
    assert summary["frames"] == len(frames) == 6 and summary["stopped_by"] == "max_frames"
    assert [f["index"] for f in frames] == list(range(6))
    assert [line.split()[0] for line in captured.err.splitlines() if line.startswith("frame_")] == [
        f["name"] for f in frames
    ]
    localized = [f for f in frames if f["cam_from_world"] is not None]
    assert len(localized) == summary["localized"] >= 4
    assert summary["counts"]["tracked"] >= 2 and summary["gt_frames"] == len(localized)
    assert all(f["error_t"] < MAX_ERROR_T for f in localized), [f["reason"] for f in frames]
    assert summary["median_error_t"] < MAX_ERROR_T and summary["dropped"] == 0
    assert "live.camera.json beside the source" in summary["intrinsics"]
    names, poses = read_poses(traj)
    assert names == [f["name"] for f in localized]
    for pose, f in zip(poses, localized, strict=True):
        assert pose.allclose(Rigid3.from_dict(f["cam_from_world"]), atol=1e-9)


def test_ctrl_c_stops_cleanly_writes_recordings_and_restart_works(
    tiny_bundle: MapBundle, live_clip: Path, tmp_path: Path
) -> None:
    import cv2

    options = SessionOptions(
        lockstep=True,
        tum_path=tmp_path / "t.txt",
        video_path=tmp_path / "annotated.avi",
    )
    session = open_session(tiny_bundle, live_clip, options)

    def on_frame(result: object) -> None:
        if session.stats.frames == 4:
            raise KeyboardInterrupt

    summary = session.run(on_frame=on_frame)
    assert summary.stopped_by == "interrupt" and summary.frames == 4
    assert summary.source_state == "stopped" and not capture_threads()
    _, poses = read_poses(tmp_path / "t.txt")
    assert len(poses) == summary.localized == len(session.trajectory)
    assert all(
        p.allclose(q, atol=1e-9) for p, q in zip(poses, session.trajectory.poses, strict=True)
    )
    video = cv2.VideoCapture(str(tmp_path / "annotated.avi"))
    assert int(video.get(cv2.CAP_PROP_FRAME_COUNT)) == 4 == session._video.frames
    video.release()
    lines = summary.lines()
    assert "4 frames from video live.mp4 with sfm" in lines[0]
    session.start()  # a new run from the first frame, with fresh statistics
    again = session.step(timeout=30.0)
    assert again is not None and again.index == 0 and session.stats.frames == 1
    session.stop()
    assert not capture_threads()
    np.testing.assert_array_equal(session.last_frame.rgb.shape, (240, 320, 3))
