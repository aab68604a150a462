"""``locgui export kapture SCENE OUT``: write a map (bundle or any scene) as a kapture folder.

Cameras, images with their poses, 3D points, and the keypoints and observations of their
tracks; images are linked (default), copied or left out (``--images``).
"""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("scene", help="map bundle (SCENE.locmap) or any scene `locgui info` reads")
    parser.add_argument("out", help="kapture folder to create")
    parser.add_argument(
        "--images", choices=("link", "copy", "none"), default="link",
        help="image files in sensors/records_data: symbolic links (default), copies or none",
    )  # fmt: skip
    parser.add_argument(
        "--overwrite", action="store_true", help="write into an existing kapture folder"
    )


def run(args: argparse.Namespace) -> int:
    from locgui.io import open_scene
    from locgui.io.kapture_write import write_kapture

    scene = open_scene(args.scene)
    kind = scene.meta.get("map_bundle", {}).get("features", "locgui")
    out = write_kapture(scene, args.out, args.images, str(kind), args.overwrite)
    print(
        f"wrote kapture {out}: {len(scene.cameras)} cameras, {len(scene.images)} images "
        f"({len(scene.posed_ids())} posed), {len(scene.points)} points"
    )
    return 0
