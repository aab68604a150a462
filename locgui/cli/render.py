"""``locgui render SCENE.locmap``: render the scene's NeRF at a pose.

The pose is a map image's (``--image NAME``) or one text line (``--pose``):

- TUM: ``timestamp tx ty tz qx qy qz qw`` (camera-to-world, i.e. the camera centre and
  world_from_cam rotation);
- COLMAP images.txt: ``IMAGE_ID QW QX QY QZ TX TY TZ CAMERA_ID NAME`` or just the seven
  numbers ``QW QX QY QZ TX TY TZ`` (cam_from_world).
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import Any

from locgui.core.errors import LocguiError

log = logging.getLogger(__name__)

DEPTH_PNG_SCALE = 1000.0  # 16-bit depth PNG: stored value = depth * 1000 (mm for metres)


def parse_pose_line(line: str) -> Any:
    """``cam_from_world`` (Rigid3) from a TUM or COLMAP pose line (see the module doc)."""
    import numpy as np

    from locgui.core.pose import Rigid3, quat_to_rotmat
    from locgui.io.conventions import check_pose_values

    tokens = line.replace(",", " ").split()

    def floats(parts: list[str]) -> np.ndarray:
        try:
            return np.array([float(p) for p in parts])
        except ValueError as exc:
            raise LocguiError(f"--pose: cannot read numbers from {line!r}") from exc

    def checked(position: np.ndarray, quat: np.ndarray) -> None:
        try:
            check_pose_values(position, quat)
        except ValueError as exc:  # a zero quaternion would render from a NaN pose
            raise LocguiError(f"--pose: {exc} in {line!r}") from None

    if len(tokens) == 8:  # TUM: timestamp tx ty tz qx qy qz qw (world_from_cam)
        v = floats(tokens)
        checked(v[:4], v[4:])
        q_wxyz = np.array([v[7], v[4], v[5], v[6]])
        return Rigid3(quat_to_rotmat(q_wxyz), v[1:4]).inverse()
    if len(tokens) == 7 or len(tokens) >= 9:  # qw qx qy qz tx ty tz, or a COLMAP images.txt line
        v = floats(tokens if len(tokens) == 7 else tokens[1:8])
        checked(v[4:], v[:4])
        return Rigid3.from_quat(v[:4], v[4:])
    raise LocguiError(
        f"--pose: expected a TUM line (8 values) or a COLMAP line (7 or 10 values), got {line!r}"
    )


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("scene", help="a map bundle (SCENE.locmap) with a trained NeRF")
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--pose", help="a TUM or COLMAP pose line (see `locgui render --help`)")
    where.add_argument("--image", help="render at the pose of this map image (its name)")
    parser.add_argument(
        "--camera-of", help="use this map image's intrinsics (default: --image's, or the first)"
    )
    parser.add_argument("--width", type=int, default=None, help="output width in pixels")
    parser.add_argument("--out", required=True, help="output colour image (.png or .jpg)")
    parser.add_argument(
        "--depth",
        help=f"also write z-depth: .npy (float32, map units) or .png (16-bit, depth x "
        f"{DEPTH_PNG_SCALE:g}, 0 = none)",
    )
    parser.add_argument("--nerf", help="checkpoint folder (default: the bundle's)")
    parser.add_argument("--device", default="auto", help="cpu, cuda or auto (default)")


def _pick(scene: Any, name: str) -> Any:
    im = scene.image_by_name(name)
    if im is None:
        raise LocguiError(f"no image named {name!r} in the map")
    return im


def run(args: argparse.Namespace) -> int:
    import time

    import cv2
    import numpy as np

    from locgui.io.bundle import open_bundle
    from locgui.methods.nerf.checkpoint import load_nerf
    from locgui.methods.nerf.data import fit_size, resize_camera
    from locgui.runtime.context import resolve_device

    bundle = open_bundle(args.scene)
    scene = bundle.scene
    model = load_nerf(Path(args.nerf) if args.nerf else bundle, resolve_device(args.device),
                      scene=scene)  # fmt: skip
    if args.image:
        im = _pick(scene, args.image)
        pose = im.cam_from_world
        if pose is None:
            raise LocguiError(f"image {args.image} has no pose")
    else:
        pose = parse_pose_line(args.pose)
    cam_name = args.camera_of or args.image
    camera = (
        scene.camera_of(_pick(scene, cam_name).image_id)
        if cam_name
        else scene.cameras[min(scene.cameras)]
    )
    if args.width:
        height = max(1, round(camera.height * args.width / camera.width))
        camera = resize_camera(camera, args.width, height)
    w, h = fit_size(camera.width, camera.height, None)
    start = time.perf_counter()
    out = model.render_view(camera, pose)
    seconds = time.perf_counter() - start
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(args.out), np.ascontiguousarray(out.rgb[:, :, ::-1])):
        raise LocguiError(f"{args.out}: could not write the image")
    if args.depth:
        depth = out.depth
        if str(args.depth).endswith(".npy"):
            np.save(args.depth, depth.astype(np.float32))
        else:
            scaled = np.nan_to_num(depth * DEPTH_PNG_SCALE, nan=0.0)
            cv2.imwrite(str(args.depth), np.clip(scaled, 0, 65535).astype(np.uint16))
    print(f"rendered {w}x{h} in {seconds * 1000:.0f} ms -> {args.out}")
    return 0
