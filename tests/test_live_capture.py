"""Frame sources and the newest-frame capture thread: order, timestamps, ground truth,
failures with a clear status, drop counting, pause/step, clean shutdown and restart."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np
import pytest

from locgui.io.capture import (
    CaptureError,
    FolderSource,
    LatestFrameCapture,
    VideoSource,
    WebcamSource,
    open_source,
)
from locgui.io.images import write_image
from locgui.io.poses import write_poses
from tests.plugins.live import (
    FakeCapture,
    frame_number,
    numbered_frame,
    pose_of,
    write_numbered_video,
)


def capture_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("locgui-capture")]


def drain(capture: LatestFrameCapture, timeout: float = 5.0) -> list:
    frames = []
    while (frame := capture.get(timeout)) is not None:
        frames.append(frame)
    return frames


def test_video_lockstep_delivers_every_frame_with_time_and_ground_truth(
    numbered_video: Path,
) -> None:
    source = VideoSource(numbered_video)
    with LatestFrameCapture(source, lockstep=True) as capture:
        frames = drain(capture)
        status = capture.status()
    assert [f.index for f in frames] == list(range(30))
    assert [frame_number(f.rgb) for f in frames] == list(range(30))
    np.testing.assert_allclose([f.timestamp for f in frames], np.arange(30) / 20.0)
    for f in frames:
        assert f.gt_cam_from_world is not None
        assert f.gt_cam_from_world.allclose(pose_of(f.index), atol=1e-12)
    assert (status.state, status.frames_read, status.delivered, status.dropped) == (
        "ended", 30, 30, 0,
    )  # fmt: skip
    assert not capture_threads()


def test_folder_natural_order_skips_unreadable_and_odd_sized_frames(tmp_path: Path) -> None:
    folder = tmp_path / "frames"
    names = [f"img_{i}.png" for i in range(12)]  # natural order: img_2 before img_10
    for i, name in enumerate(names):
        write_image(folder / name, numbered_frame(i))
    (folder / "img_4.png").write_bytes(b"not a png")
    write_image(folder / "img_7.png", numbered_frame(7, size=(32, 24)))
    write_poses(tmp_path / "frames.tum.txt", names, [pose_of(i) for i in range(12)])
    source = open_source(folder, rate=50.0)
    assert isinstance(source, FolderSource)
    with LatestFrameCapture(source, lockstep=True) as capture:
        frames = drain(capture)
        status = capture.status()
    kept = [i for i in range(12) if i not in (4, 7)]
    assert [f.name for f in frames] == [names[i] for i in kept]
    assert [frame_number(f.rgb) for f in frames] == kept
    np.testing.assert_allclose([f.timestamp for f in frames], np.array(kept) / 50.0)
    assert all(f.gt_cam_from_world.allclose(pose_of(i)) for f, i in zip(frames, kept, strict=True))
    assert status.skipped == 2 and status.state == "ended"
    assert "img_4.png" in status.problems[0] and "unreadable" in status.problems[0]
    assert "img_7.png: 32x24 but the stream is 64x48" in status.problems[1]


def test_truncated_video_fails_with_a_clear_status(tmp_path: Path) -> None:
    path = write_numbered_video(tmp_path / "long.avi", 40)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with LatestFrameCapture(VideoSource(path), lockstep=True) as capture:
        frames = drain(capture)
        status = capture.status()
    assert 0 < len(frames) < 40
    assert status.state == "failed"
    assert f"video ended at frame {len(frames)} of 40 (truncated" in status.message
    assert not capture_threads()


def test_unopenable_sources_raise_capture_errors(tmp_path: Path) -> None:
    with pytest.raises(CaptureError, match="no such video file or image folder"):
        open_source(tmp_path / "missing.mp4")
    (tmp_path / "empty").mkdir()
    with pytest.raises(CaptureError, match="no images in this folder"):
        open_source(tmp_path / "empty")
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"\x00" * 1000)
    with pytest.raises(CaptureError, match="cannot open this video"):
        LatestFrameCapture(VideoSource(bad)).start()
    webcam = WebcamSource(3, capture_factory=lambda i: FakeCapture(0, opened=False))
    with pytest.raises(CaptureError, match="webcam 3: cannot open it"):
        LatestFrameCapture(webcam).start()
    assert not capture_threads()


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("0.0 1 2 3 0 0 0 0", "line 2: quaternion is zero"),
        ("0.0 1 nan 3 0 0 0 1", "line 2: pose value is not finite"),
        ("0.0 1 2 3 0 0 1", "line 2: expected 8 values, got 7"),
        ("0.0 1 2 x 0 0 0 1", "line 2: non-numeric"),
    ],
)
def test_bad_ground_truth_lines_raise_capture_errors_naming_the_line(
    tmp_path: Path, line: str, message: str
) -> None:
    folder = tmp_path / "clip"
    folder.mkdir()
    write_image(folder / "a.png", numbered_frame(0))
    (tmp_path / "clip.tum.txt").write_text(f"# image 0.0 a.png\n{line}\n")
    with pytest.raises(CaptureError, match=message) as info:
        open_source(folder)
    assert "clip.tum.txt" in str(info.value)


def test_unreadable_ground_truth_raises_a_capture_error(tmp_path: Path) -> None:
    folder = tmp_path / "clip"
    folder.mkdir()
    write_image(folder / "a.png", numbered_frame(0))
    (tmp_path / "clip.tum.txt").write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(CaptureError, match="clip.tum.txt: cannot read"):
        open_source(folder)


def test_unplugged_webcam_stops_with_a_clear_status() -> None:
    fake = FakeCapture(good=3)
    source = WebcamSource(0, max_failures=5, capture_factory=lambda i: fake)
    capture = LatestFrameCapture(source)
    capture.start()
    got = []
    deadline = time.monotonic() + 5
    while not capture.finished and time.monotonic() < deadline:
        frame = capture.get(0.5)
        if frame is not None:
            got.append(frame)
    status = capture.status()
    capture.close()
    assert status.state == "failed"
    assert "webcam 0 stopped delivering frames (5 failed reads in a row)" in status.message
    assert status.frames_read == 3 and fake.reads == 3 + 5 and fake.released
    assert len(got) + status.dropped == 3 and got[-1].index == 2
    assert not capture_threads()


def test_slow_consumer_gets_the_newest_frame_and_drops_are_counted(tmp_path: Path) -> None:
    path = write_numbered_video(tmp_path / "fast.avi", 40, fps=200.0)
    with LatestFrameCapture(VideoSource(path)) as capture:  # paced at 200 frames/s
        frames = []
        while (frame := capture.get(5.0)) is not None:
            frames.append(frame)
            time.sleep(0.03)  # a consumer at ~30 frames/s
        status = capture.status()
    indices = [f.index for f in frames]
    assert indices == sorted(set(indices)) and indices[-1] == 39  # newest, in order
    assert status.frames_read == 40 and status.dropped > 5
    assert status.delivered + status.dropped == 40 == len(frames) + status.dropped


def test_pause_step_resume_and_restart(numbered_video: Path) -> None:
    capture = LatestFrameCapture(VideoSource(numbered_video), lockstep=True)
    capture.start()
    assert capture.get(2.0).index == 0
    capture.pause()
    time.sleep(0.05)  # a frame read just before the pause may still be waiting
    pending = capture.get(0.2)
    assert pending is None or pending.index == 1
    assert capture.get(0.3) is None and capture.status().state == "paused"
    capture.step()
    stepped = capture.get(2.0)
    assert stepped is not None and stepped.index == (2 if pending else 1)
    assert capture.get(0.3) is None
    capture.resume()
    rest = drain(capture)
    assert rest[-1].index == 29 and len(rest) == 29 - stepped.index
    capture.close()
    assert not capture.running and not capture_threads()
    capture.start()  # restart plays the source again from its first frame
    assert capture.get(2.0).index == 0
    capture.close()
    assert capture.status().state == "stopped" and not capture_threads()
