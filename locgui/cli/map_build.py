"""``locgui map build SOURCE --out SCENE.locmap``: build a map bundle."""

from __future__ import annotations

import argparse
import json
import sys
import time

from locgui.cli.progress import end_progress_line, write_progress


class ProgressPrinter:
    """A RunContext ``on_progress`` callback that rewrites one stderr line per stage."""

    def __init__(self, interval_s: float = 0.25) -> None:
        self.interval_s = interval_s
        self._last = 0.0
        self._stage = ""

    def __call__(self, stage: str, fraction: float, message: str) -> None:
        now = time.monotonic()
        if stage == self._stage and now - self._last < self.interval_s and fraction < 1.0:
            return
        if stage != self._stage and self._stage:
            end_progress_line()
        self._stage, self._last = stage, now
        pct = f"{100 * fraction:5.1f}%" if fraction >= 0 else "   ..."
        write_progress(f"\r{stage:>12} {pct} {message[:60]:<60}", open_line=True)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from locgui.methods.features import EXTRACTORS, MATCHERS  # light: implementations are lazy

    parser.add_argument("source", help="a scene any reader loads, or a folder of images")
    parser.add_argument("--out", required=True, help="bundle folder to write (NAME.locmap)")
    parser.add_argument("--features", default="xfeat", choices=tuple(EXTRACTORS))
    parser.add_argument("--matcher", default="mnn", choices=tuple(MATCHERS))
    parser.add_argument("--max-keypoints", type=int, default=2048, help="per image (2048)")
    parser.add_argument(
        "--max-side", type=int, default=640, help="longer image side for features, px (640)"
    )
    parser.add_argument(
        "--no-upscale", action="store_true",
        help="do not enlarge images smaller than --max-side before extracting features",
    )  # fmt: skip
    parser.add_argument(
        "--holdout", type=int, default=0, metavar="N",
        help="hold every N-th image out as a query (split 'test'; for `locgui eval`)",
    )  # fmt: skip
    parser.add_argument(
        "--poses", default="auto", choices=("auto", "triangulate", "sfm"),
        help="auto: triangulate known poses, else incremental SfM",
    )  # fmt: skip
    parser.add_argument(
        "--intrinsics", default="", metavar="FILE|fov:DEG",
        help="calibration used as is for SfM (OpenCV YAML, cameras.txt, camera.json, a 3x3 K "
        "text file); default: EXIF focal, else 1.2 x the longer side, refined within bounds",
    )  # fmt: skip
    parser.add_argument(
        "--calibrate-min-images", type=int, default=3, metavar="N",
        help="SfM refines an EXIF focal only when N+ photos share the camera (3); cameras "
        "without EXIF are always refined, within bounds of the prior",
    )  # fmt: skip
    parser.add_argument("--copy-images", action="store_true", help="copy images into the map")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing bundle")
    parser.add_argument("--device", default="auto", help="torch device (auto: CUDA if present)")
    parser.add_argument("--json", action="store_true", help="print the build report as JSON")


def run(args: argparse.Namespace) -> int:
    from locgui.methods.mapping.config import MapBuildConfig
    from locgui.methods.mapping.pipeline import build_map
    from locgui.runtime.context import RunContext

    cfg = MapBuildConfig(
        features=args.features,
        matcher=args.matcher,
        max_keypoints=args.max_keypoints,
        max_side=args.max_side,
        upscale=not args.no_upscale,
        holdout=args.holdout,
        sfm=args.poses,
        copy_images=args.copy_images,
        device=args.device,
        intrinsics=args.intrinsics,
        calibrate_min_images=args.calibrate_min_images,
    )
    start = time.perf_counter()
    ctx = RunContext(on_progress=None if args.json else ProgressPrinter())
    report = build_map(args.source, args.out, cfg, ctx, overwrite=args.overwrite)
    elapsed = time.perf_counter() - start
    info = {
        "bundle": str(report.path),
        "images": report.images,
        "points": report.points,
        "pairs_matched": report.pairs[0],
        "pairs_kept": report.pairs[1],
        "mean_track_length": round(report.mean_track_length, 2),
        "queries_held_out": len(report.queries),
        "seconds": round(elapsed, 2),
        "stage_seconds": {k: round(v, 2) for k, v in report.timings.items()},
        "cameras": report.cameras,
        "warnings": report.warnings,
    }
    if args.json:
        print(json.dumps(info, indent=2))
    else:
        print(file=sys.stderr)
        for key, value in info.items():
            if key not in ("cameras", "warnings"):
                print(f"{key:>18}: {value}")
        for line in camera_lines(report.cameras):
            print(line)
        for warning in report.warnings:
            print(f"{'warning':>18}: {warning}")
    return 0


def camera_lines(cameras: list[dict]) -> list[str]:
    """One line per SfM camera: prior vs final focal, and why it was held."""
    lines = []
    for c in cameras:
        final = "-" if c["final_focal"] is None else f"{c['final_focal']:.1f}"
        change = "" if c["change"] is None else f" ({100 * c['change']:+.1f}%)"
        held = f"; {c['note']}" if c["note"] else ""
        lines.append(
            f"{'camera ' + str(c['camera_id']):>18}: {c['source']} prior {c['prior_focal']:.1f} px"
            f" -> {final} px{change}, {c['registered']}/{c['images']} images registered{held}"
        )
    return lines
