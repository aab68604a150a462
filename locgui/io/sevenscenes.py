"""Microsoft 7-Scenes layout -> ``SceneMap``.

A scene folder holds ``seq-XX/frame-XXXXXX.color.png`` (or ``.jpg``), ``.depth.png`` (uint16
millimetres, 65535 and 0 invalid) and ``.pose.txt`` (4x4 camera-to-world, metres, OpenCV
camera axes; the rotations are off orthonormal by ~1e-4 and are projected onto SO(3)), plus
``TrainSplit.txt`` / ``TestSplit.txt`` listing ``sequenceN`` lines. The colour camera is the
dataset's documented standard: PINHOLE fx = fy = 585, cx = 320, cy = 240 at 640x480. The depth
maps come from the Kinect depth camera and are NOT registered to the colour camera (a known
offset of a few pixels); ``meta["depth_registered"]`` says so.
"""

from __future__ import annotations

import logging
import re
import warnings
from pathlib import Path

import numpy as np

from locgui.core.camera import Camera
from locgui.core.errors import SceneFormatError
from locgui.core.pose import Rigid3
from locgui.core.scene import DepthInfo, SceneImage, SceneMap
from locgui.io.conventions import c2w_to_cam_from_world, is_degenerate_rotation
from locgui.io.limits import list_folder

log = logging.getLogger(__name__)

COLOR_CAMERA = Camera.pinhole(585.0, 585.0, 320.0, 240.0, 640, 480, camera_id=1)
DEPTH_SCALE = 0.001  # millimetres -> metres
DEPTH_INVALID = 65535.0
_SEQ = re.compile(r"^seq-(\d+)$")
_SPLIT_LINE = re.compile(r"^sequence(\d+)$")
_FRAME = re.compile(r"^(frame-\d+)\.color\.(png|jpg)$")


def _sequences(path: Path) -> list[Path]:
    return sorted(p for p in list_folder(path) if _SEQ.match(p.name) and p.is_dir())


def is_7scenes(path: Path) -> bool:
    """Detection hook: a folder with ``seq-XX`` folders holding ``frame-*.pose.txt`` files."""
    if not path.is_dir():
        return False
    seqs = _sequences(path)
    return bool(seqs) and any(seqs[0].glob("frame-*.pose.txt"))


def read_split_file(path: Path) -> list[str]:
    """Sequence folder names (``seq-01``) listed in a ``TrainSplit.txt``-style file."""
    names = []
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise SceneFormatError(f"{path}: not a UTF-8 text file ({exc.reason})") from exc
    for n, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line:
            continue
        match = _SPLIT_LINE.match(line)
        if match is None:
            raise SceneFormatError(f"{path}: line {n} is not 'sequenceN': {line!r}")
        names.append(f"seq-{int(match.group(1)):02d}")
    return names


def read_pose_file(path: Path) -> Rigid3 | None:
    """``cam_from_world`` from a 4x4 camera-to-world ``.pose.txt``; None if not finite."""
    try:
        with warnings.catch_warnings():  # an empty file: the shape check below reports it
            warnings.simplefilter("ignore", UserWarning)
            matrix = np.loadtxt(path, dtype=np.float64)
    except (OSError, ValueError) as exc:
        raise SceneFormatError(f"{path}: not a 4x4 pose matrix ({exc})") from exc
    if matrix.shape != (4, 4):
        raise SceneFormatError(f"{path}: expected a 4x4 matrix, got shape {matrix.shape}")
    if not np.isfinite(matrix).all():
        log.warning("%s: pose is not finite; the frame is left unposed", path)
        return None
    if is_degenerate_rotation(matrix[:3, :3]):
        raise SceneFormatError(f"{path}: the pose's rotation is degenerate (e.g. all zeros)")
    return c2w_to_cam_from_world(matrix)


def _splits(path: Path) -> dict[str, str]:
    """Sequence folder name -> "train" / "test" from the split files present."""
    out: dict[str, str] = {}
    for file_name, split in (("TrainSplit.txt", "train"), ("TestSplit.txt", "test")):
        if (path / file_name).is_file():
            out.update(dict.fromkeys(read_split_file(path / file_name), split))
    return out


def read_7scenes(path: str | Path) -> SceneMap:
    """Read a 7-Scenes scene folder (all ``seq-XX``; split from the split files)."""
    path = Path(path)
    if not is_7scenes(path):
        raise SceneFormatError(f"{path}: not a 7-Scenes folder (no seq-XX/frame-*.pose.txt)")
    splits = _splits(path)
    scene = SceneMap(
        cameras={1: COLOR_CAMERA},
        image_dir=path,
        units="metres",
        source_format="7scenes",
        source_path=path,
        meta={
            "depth_registered": False,
            "depth_note": "7-Scenes depth is from the depth camera, not registered to colour",
            "intrinsics": "documented standard 585/585/320/240 at 640x480",
        },
    )
    image_id = 0
    for seq in _sequences(path):
        split = splits.get(seq.name)
        if split is None and splits:
            log.warning("%s: %s is in neither split file; marked train", path, seq.name)
        for color in sorted(list_folder(seq)):
            match = _FRAME.match(color.name)
            if match is None:
                continue
            stem = match.group(1)
            pose_file = seq / f"{stem}.pose.txt"
            pose = read_pose_file(pose_file) if pose_file.is_file() else None
            depth_file = seq / f"{stem}.depth.png"
            depth = (
                DepthInfo(depth_file, DEPTH_SCALE, DEPTH_INVALID) if depth_file.is_file() else None
            )
            image_id += 1
            scene.images[image_id] = SceneImage(
                image_id,
                f"{seq.name}/{color.name}",
                1,
                pose,
                split=split or "train",
                depth=depth,
            )
    if not scene.images:
        raise SceneFormatError(f"{path}: 7-Scenes folder without frame-*.color images")
    return scene
