"""A continuous "webcam" clip through the synthetic room, with exact ground truth.

Writes ``<out>.mp4`` (MPEG-4 part 2, ``mp4v``, which opencv-python-headless can write; or
``.avi`` with MJPG when asked), ``<out>.tum.txt`` with one line per frame
``timestamp tx ty tz qx qy qz qw`` (``world_from_cam``, TUM RGB-D convention, metres) and
``<out>.camera.json`` with the intrinsics (``Camera.to_dict``).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np

from locgui.core.errors import LocguiError
from locgui.core.pose import Rigid3
from locgui.io.synth.room import SyntheticRoom
from locgui.io.synth.trajectories import get_preset, video_pose

log = logging.getLogger(__name__)

_CODECS = {".mp4": "mp4v", ".avi": "MJPG"}


def render_video(
    out_path: str | Path,
    seed: int = 0,
    preset: str = "demo",
    seconds: float = 10.0,
    fps: float = 15.0,
) -> Path:
    """Render ``seconds`` of a smooth camera path at ``fps`` frames per second.

    Args:
        out_path: the video file; without a suffix (or with an unknown one) ``.mp4``.
        seed: the room (same as ``generate``'s seed to relocalize against that scene).
        preset: image size and intrinsics of that preset.
    Returns:
        The video path. Beside it: ``<stem>.tum.txt`` (poses) and ``<stem>.camera.json``.
    """
    import cv2

    out_path = Path(out_path)
    if out_path.suffix.lower() not in _CODECS:
        out_path = out_path.with_name(out_path.name + ".mp4")
    if seconds <= 0 or fps <= 0:
        raise LocguiError(f"{out_path}: video length and frame rate must be positive")
    spec = get_preset(preset)
    camera = spec.camera()
    room = SyntheticRoom(seed)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    fourcc = cv2.VideoWriter.fourcc(*_CODECS[out_path.suffix.lower()])
    writer = cv2.VideoWriter(str(out_path), fourcc, fps, (camera.width, camera.height))
    if not writer.isOpened():
        raise LocguiError(f"{out_path}: OpenCV cannot open a video writer for this format")
    lines = ["# timestamp tx ty tz qx qy qz qw (world_from_cam, metres)"]
    try:
        for frame in range(int(round(seconds * fps))):
            timestamp = frame / fps
            pose = video_pose(timestamp, seed)
            rgb, _ = room.render(camera, pose)
            writer.write(np.ascontiguousarray(rgb[:, :, ::-1]))
            lines.append(_tum_line(timestamp, pose.inverse()))
    finally:
        writer.release()
    stem = out_path.with_suffix("")
    Path(f"{stem}.tum.txt").write_text("\n".join(lines) + "\n", "utf-8")
    Path(f"{stem}.camera.json").write_text(json.dumps(camera.to_dict(), indent=1) + "\n", "utf-8")
    log.info("video %s: %d frames", out_path, len(lines) - 1)
    return out_path


def _tum_line(timestamp: float, world_from_cam: Rigid3) -> str:
    w, x, y, z = world_from_cam.quat()
    tx, ty, tz = world_from_cam.translation
    return f"{timestamp:.6f} {tx:.9f} {ty:.9f} {tz:.9f} {x:.9f} {y:.9f} {z:.9f} {w:.9f}"
