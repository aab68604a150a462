"""``locgui export kapture SCENE OUT``: write a map (bundle or any scene) as a kapture folder.

Cameras, images with their poses, 3D points, the images' keypoints and the observations of
the points' tracks, and for a map bundle its local descriptors; images are linked (default),
copied or left out (``--images``).
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
    from pathlib import Path

    from locgui.io import open_scene
    from locgui.io.bundle_scene import is_bundle
    from locgui.io.kapture_write import write_kapture

    descriptors = None
    if is_bundle(Path(args.scene)):
        from locgui.io.bundle import open_bundle

        bundle = open_bundle(args.scene)
        scene, kind = bundle.scene, bundle.feature_type
        descriptors = lambda image_id: bundle.feature_arrays(image_id)[1]  # noqa: E731
    else:
        scene, kind = open_scene(args.scene), "locgui"
    out = write_kapture(scene, args.out, args.images, kind, args.overwrite, descriptors)
    print(
        f"wrote kapture {out}: {len(scene.cameras)} cameras, {len(scene.images)} images "
        f"({len(scene.posed_ids())} posed), {len(scene.points)} points"
    )
    return 0
