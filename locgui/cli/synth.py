"""``locgui synth OUT``: write the synthetic room scene with exact ground truth.

Only light modules are imported at the top (``--help`` stays instant).
"""

from __future__ import annotations

import argparse
import sys
import time


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("out", help="folder to write (an earlier synthetic scene is replaced)")
    parser.add_argument("--seed", type=int, default=0, help="room, textures and paths (default 0)")
    parser.add_argument(
        "--preset",
        choices=("demo", "tiny"),
        default="demo",
        help="demo: 640x480, 72 mapping + 20 query images; tiny: 320x240, 16 + 4 (default demo)",
    )
    group = parser.add_argument_group("photometric changes of the query images")
    group.add_argument("--exposure", type=float, default=1.0, help="gain (default 1)")
    group.add_argument("--noise", type=float, default=0.0, help="Gaussian noise std, 8-bit levels")
    group.add_argument("--blur", type=int, default=0, help="Gaussian blur kernel size, odd pixels")
    video = parser.add_argument_group("continuous 'webcam' clip")
    video.add_argument(
        "--video",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="also write OUT/video/webcam.* of this length with ground-truth poses (TUM)",
    )
    video.add_argument("--fps", type=float, default=15.0, help="video frame rate (default 15)")


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from locgui.io.synth import Photometric, generate
    from locgui.io.synth.video import render_video

    started = time.perf_counter()
    photometric = Photometric(exposure=args.exposure, noise=args.noise, blur=args.blur)
    out = generate(
        args.out,
        seed=args.seed,
        preset=args.preset,
        photometric=None if photometric.is_identity else photometric,
    )
    summary = _summary(out)
    if args.video > 0:
        clip = render_video(
            Path(out) / "video" / "webcam", args.seed, args.preset, args.video, args.fps
        )
        summary += f", video {clip.name} ({args.video:g} s at {args.fps:g} fps)"
    elapsed = time.perf_counter() - started
    sys.stdout.write(f"{out}: {summary} in {elapsed:.1f} s\n")
    return 0


def _summary(out: object) -> str:
    """'92 images (72 map + 20 query), 5000 points, 640x480, seed 0, demo' from the files."""
    import json
    from pathlib import Path

    sidecar = json.loads((Path(str(out)) / "locgui_scene.json").read_text("utf-8"))
    splits = sidecar["splits"]
    n_map, n_query = len(splits.get("train", [])), len(splits.get("test", []))
    points_file = Path(str(out)) / "sparse" / "0" / "points3D.txt"
    n_points = sum(
        1 for line in points_file.read_text("utf-8").splitlines() if line and line[0] != "#"
    )
    meta = sidecar["meta"]
    return (
        f"{n_map + n_query} images ({n_map} map + {n_query} query), {n_points} points, "
        f"seed {meta['seed']}, preset {meta['preset']}"
    )
