"""``generate``: write the synthetic scene to disk (images, depth, COLMAP model, sidecar).

Layout of ``out_dir``::

    images/map_0000.png ... query_0000.png     rendered RGB
    depth/map_0000.npy ...                     float32 z-depth, metres (0 = none)
    sparse/0/{cameras,images,points3D}.txt     exact PINHOLE intrinsics, poses, 3D points
    locgui_scene.json                          units, image/depth folders, splits, meta

Everything is written into a hidden temporary folder beside ``out_dir`` and renamed into
place at the end, so a half-written scene never looks complete.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import time
import uuid
from pathlib import Path

import numpy as np

from locgui.core.camera import Camera
from locgui.core.errors import LocguiError
from locgui.core.pose import Rigid3
from locgui.core.scene import DepthInfo, SceneImage, SceneMap
from locgui.io.synth.photometric import Photometric
from locgui.io.synth.points import SurfaceSamples, build_tracks, sample_surface_points
from locgui.io.synth.room import SyntheticRoom
from locgui.io.synth.trajectories import Preset, get_preset, mapping_poses, query_poses
from locgui.runtime.context import RunContext

log = logging.getLogger(__name__)

GENERATOR = "locgui.io.synth"
GENERATOR_VERSION = 1


def generate(
    out_dir: str | Path,
    seed: int = 0,
    preset: str = "demo",
    photometric: Photometric | None = None,
    ctx: RunContext | None = None,
) -> Path:
    """Render the synthetic room and write it as a scene ``open_scene`` reads.

    Args:
        out_dir: folder to create (an earlier synthetic scene there is replaced; any other
            non-empty folder is refused).
        seed: selects room, textures and trajectories; the same seed writes identical files.
        preset: "tiny" (320x240, 16 mapping + 4 query images) or "demo" (640x480, 72 + 20).
        photometric: changes applied to the query images only.
        ctx: gets ``("generate", fraction, image name)`` progress per rendered image, and
            its cancellation is checked between images.
    Returns:
        ``out_dir``.
    """
    out_dir = Path(out_dir)
    spec = get_preset(preset)
    _check_replaceable(out_dir)
    started = time.perf_counter()
    tmp = out_dir.parent / f".{out_dir.name}.partial-{uuid.uuid4().hex[:8]}"
    tmp.mkdir(parents=True)
    try:
        scene = _write_scene(tmp, seed, spec, photometric, ctx or RunContext())
        _swap_into_place(tmp, out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    log.info(
        "synthetic scene %s: %d images, %d points in %.1f s",
        out_dir,
        len(scene.images),
        len(scene.points),
        time.perf_counter() - started,
    )
    return out_dir


def _write_scene(root: Path, seed: int, spec: Preset, photometric: Photometric | None,
                 ctx: RunContext) -> SceneMap:  # fmt: skip
    """Render and write everything into ``root``; returns the scene as written."""
    total = spec.num_map + len(query_poses(spec, seed))
    room = SyntheticRoom(seed)
    camera = spec.camera()
    rng = np.random.default_rng([seed, 0xD07])
    scene = SceneMap(cameras={1: camera}, image_dir=root / "images", units="metres")
    per_image = int(np.ceil(spec.points / spec.num_map))
    samples: list[SurfaceSamples] = []
    map_poses: dict[int, Rigid3] = {}
    for k, pose in enumerate(mapping_poses(spec, seed)):
        image_id = k + 1
        ctx.check_cancelled()
        ctx.progress("generate", k / total, f"map_{k:04d}")
        rgb = _render_and_write(root, scene, room, camera, pose, image_id, f"map_{k:04d}", "train")
        samples.append(sample_surface_points(room, camera, pose, rgb, per_image, rng))
        map_poses[image_id] = pose
    noise_rng = np.random.default_rng([seed, 0x9015E])
    for k, pose in enumerate(query_poses(spec, seed)):
        image_id = len(map_poses) + k + 1
        ctx.check_cancelled()
        ctx.progress("generate", (len(map_poses) + k) / total, f"query_{k:04d}")
        rgb, depth = room.render(camera, pose)
        if photometric is not None:
            rgb = photometric.apply(rgb, noise_rng)
        _write_image(root, scene, camera, pose, image_id, f"query_{k:04d}", "test", rgb, depth)
    merged = SurfaceSamples(
        *(np.concatenate([getattr(s, f) for s in samples]) for f in ("xyz", "rgb", "normal"))
    )
    scene.points, keypoints = build_tracks(room, camera, map_poses, merged)
    for image_id, (kps, point_ids) in keypoints.items():
        scene.images[image_id].keypoints = kps
        scene.images[image_id].point3D_ids = point_ids
    scene.meta = {
        "generator": GENERATOR,
        "generator_version": GENERATOR_VERSION,
        "seed": int(seed),
        "preset": spec.name,
        "photometric": None if photometric is None else photometric.to_dict(),
        "room_bounds_m": [b.tolist() for b in room.bounds],
    }
    _write_model(root, scene)
    return scene


def _render_and_write(
    root: Path,
    scene: SceneMap,
    room: SyntheticRoom,
    camera: Camera,
    pose: Rigid3,
    image_id: int,
    stem: str,
    split: str,
) -> np.ndarray:
    rgb, depth = room.render(camera, pose)
    _write_image(root, scene, camera, pose, image_id, stem, split, rgb, depth)
    return rgb


def _write_image(
    root: Path,
    scene: SceneMap,
    camera: Camera,
    pose: Rigid3,
    image_id: int,
    stem: str,
    split: str,
    rgb: np.ndarray,
    depth: np.ndarray,
) -> None:
    """Write the PNG and its depth map; register the image in ``scene``."""
    from locgui.io.images import write_depth, write_image

    name = f"{stem}.png"
    write_image(root / "images" / name, rgb)
    depth_file = root / "depth" / f"{stem}.npy"
    write_depth(depth_file, depth)
    scene.images[image_id] = SceneImage(
        image_id=image_id,
        name=name,
        camera_id=camera.camera_id,
        cam_from_world=pose,
        split=split,
        keypoints=np.zeros((0, 2)),
        point3D_ids=np.zeros(0, np.int64),
        depth=DepthInfo(depth_file, scale=1.0, invalid=0.0),
    )


def _write_model(root: Path, scene: SceneMap) -> None:
    from locgui.io.colmap import write_colmap
    from locgui.io.sidecar import write_sidecar

    write_colmap(scene, root / "sparse" / "0", binary=False, sidecar=False)
    write_sidecar(scene, root)


def _check_replaceable(out_dir: Path) -> None:
    """Refuse to overwrite a non-empty folder that is not an earlier synthetic scene."""
    if not out_dir.exists():
        return
    if not out_dir.is_dir():
        raise LocguiError(f"{out_dir}: exists and is not a folder")
    if not any(out_dir.iterdir()):
        return
    sidecar = out_dir / "locgui_scene.json"
    try:
        meta = json.loads(sidecar.read_text("utf-8")).get("meta", {})
    except (OSError, ValueError, AttributeError):
        meta = {}
    if meta.get("generator") != GENERATOR:
        raise LocguiError(
            f"{out_dir}: folder is not empty and is not a synthetic scene; choose another folder"
        )


def _swap_into_place(tmp: Path, out_dir: Path) -> None:
    """Rename ``tmp`` to ``out_dir``, replacing an earlier scene there."""
    old = None
    if out_dir.exists():
        old = out_dir.parent / f".{out_dir.name}.old-{uuid.uuid4().hex[:8]}"
        os.replace(out_dir, old)
    os.replace(tmp, out_dir)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
