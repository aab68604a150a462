"""Fixtures of live relocalization: a short synthetic "webcam" clip of the tiny scene's room
(same seed and preset as ``tiny_scene_dir`` / ``tiny_bundle``), small coded videos and image
folders with exact ground truth, and a fake webcam whose reads stop working."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from locgui.core.pose import Rigid3, axis_angle_to_rotmat
from locgui.io.poses import write_poses
from locgui.io.synth import render_video
from tests.plugins.synth import TINY_SEED

LIVE_CLIP_FPS = 10.0
LIVE_CLIP_SECONDS = 1.5  # 15 frames: t = 0.0, 0.1, ..., 1.4


@pytest.fixture(scope="session")
def live_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``render_video(seed=TINY_SEED, preset="tiny")``: 15 frames at 10 frames/s, 320x240,
    with ``live.tum.txt`` (ground truth) and ``live.camera.json`` beside it."""
    out = tmp_path_factory.mktemp("live") / "live.mp4"
    return render_video(out, TINY_SEED, "tiny", LIVE_CLIP_SECONDS, LIVE_CLIP_FPS)


def numbered_frame(i: int, size: tuple[int, int] = (64, 48)) -> np.ndarray:
    """(H, W, 3) uint8 RGB of grey level ``6 * i`` (i < 43): frames identify themselves
    through lossy codecs."""
    return np.full((size[1], size[0], 3), 6 * i, np.uint8)


def frame_number(rgb: np.ndarray) -> int:
    return int(round(float(rgb.mean()) / 6))


def pose_of(i: int) -> Rigid3:
    """A distinct exact pose per frame number."""
    return Rigid3(axis_angle_to_rotmat(np.array([0.0, 0.01 * i, 0.0])), [0.1 * i, 0.0, 1.0])


def write_numbered_video(path: Path, n: int, fps: float = 20.0) -> Path:
    """An MJPG .avi of ``n`` numbered frames and ``<stem>.tum.txt`` with ``pose_of(i)`` at
    ``i / fps``."""
    import cv2

    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"MJPG"), fps, (64, 48))
    for i in range(n):
        writer.write(numbered_frame(i)[:, :, ::-1])
    writer.release()
    stamps = [i / fps for i in range(n)]
    write_poses(path.with_suffix(".tum.txt"), [f"f{i}" for i in range(n)],
                [pose_of(i) for i in range(n)], "tum", stamps)  # fmt: skip
    # write_poses names frames in comments; a video's ground truth is looked up by time.
    return path


@pytest.fixture
def numbered_video(tmp_path: Path) -> Path:
    """30 numbered frames at 20 frames/s with exact ground truth (``pose_of``)."""
    return write_numbered_video(tmp_path / "clip.avi", 30)


class FakeCapture:
    """A ``cv2.VideoCapture`` stand-in for tests: ``good`` frames, then reads fail (the
    camera was unplugged)."""

    def __init__(self, good: int, opened: bool = True) -> None:
        self.good, self.opened, self.reads, self.released = good, opened, 0, False

    def isOpened(self) -> bool:  # noqa: N802  (OpenCV's name)
        return self.opened

    def read(self) -> tuple[bool, np.ndarray | None]:
        self.reads += 1
        if self.reads <= self.good:
            return True, numbered_frame(self.reads - 1)[:, :, ::-1].copy()
        return False, None

    def get(self, prop: int) -> float:
        return 30.0

    def set(self, prop: int, value: float) -> bool:
        return True

    def release(self) -> None:
        self.released = True
