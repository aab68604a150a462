"""The synthetic "webcam" clip: frames are the renders at the ground-truth TUM poses."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from locgui.core.camera import Camera
from locgui.core.pose import Rigid3
from locgui.io.synth import SyntheticRoom, get_preset, render_video
from locgui.io.synth.trajectories import video_pose


def test_video_frames_match_ground_truth_poses(tmp_path: Path, tiny_room: SyntheticRoom) -> None:
    import cv2

    path = render_video(tmp_path / "clip", seed=0, preset="tiny", seconds=0.6, fps=5)
    assert path.suffix == ".mp4" and path.is_file()
    rows = np.loadtxt(tmp_path / "clip.tum.txt")
    assert rows.shape == (3, 8)
    np.testing.assert_allclose(rows[:, 0], [0.0, 0.2, 0.4])
    camera = Camera.from_dict(json.loads((tmp_path / "clip.camera.json").read_text()))
    assert camera == get_preset("tiny").camera()
    capture = cv2.VideoCapture(str(path))
    for t, tx, ty, tz, qx, qy, qz, qw in rows:
        ok, bgr = capture.read()
        assert ok
        world_from_cam = Rigid3.from_quat(np.array([qw, qx, qy, qz]), np.array([tx, ty, tz]))
        assert world_from_cam.inverse().allclose(video_pose(t, 0), atol=1e-7)
        rgb, _ = tiny_room.render(camera, video_pose(t, 0))
        error = np.abs(bgr[:, :, ::-1].astype(float) - rgb.astype(float)).mean()
        assert error < 12, error  # lossy codec, but the same picture
    assert not capture.read()[0]
    capture.release()


def test_video_path_is_smooth() -> None:
    centres = np.array([video_pose(t, 0).center for t in np.arange(0, 20, 1 / 15)])
    steps = np.linalg.norm(np.diff(centres, axis=0), axis=1)
    assert steps.max() < 0.05  # metres per frame at 15 fps
    assert np.ptp(centres[:, 0]) > 2.0  # it does travel round the room
