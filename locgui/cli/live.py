"""``locgui live SCENE.locmap --source 0|video.mp4|folder/``: live relocalization.

Prints one status line per frame (tracked / relocalized / lost, latency, inliers, the error
when the source has ground truth, and the reason) and a summary; Ctrl-C stops cleanly and
still writes the trajectory and the summary. With ``--json`` the per-frame lines go to
stderr and stdout gets one JSON document ``{"summary": {...}, "frames": [...]}``.

Exit status: 0 when the run ended normally (end of source, --max-frames, Ctrl-C), 1 when the
source failed while running (the summary says why), 2 for bad arguments, map or source.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("bundle", help="map bundle folder (SCENE.locmap)")
    parser.add_argument(
        "--source", required=True, metavar="0|VIDEO|FOLDER",
        help="webcam index, video file, or image folder (played at --rate)",
    )  # fmt: skip
    parser.add_argument("--method", default="sfm", help="relocalizing method (`locgui methods`)")
    parser.add_argument("--preset", default=None, help="the method's named settings")
    parser.add_argument(
        "--set", action="append", default=[], metavar="KEY=VALUE",
        help="override one field of the method's config (repeatable)",
    )  # fmt: skip
    parser.add_argument(
        "--track", action="append", default=[], metavar="KEY=VALUE",
        help="override one tracking setting (repeatable), e.g. --track smoothing=0",
    )  # fmt: skip
    parser.add_argument(
        "--intrinsics", default=None, metavar="FILE|fov:DEG",
        help="OpenCV calibration YAML, COLMAP cameras.txt / camera.json, or a field-of-view "
        "guess (default: a <stem>.camera.json beside the video, else the method's choice)",
    )  # fmt: skip
    parser.add_argument(
        "--rate", type=float, default=None, metavar="FPS",
        help="play a folder (default 10) or a video (default: its own rate) at this rate",
    )  # fmt: skip
    parser.add_argument(
        "--lockstep", action="store_true",
        help="file sources: localize every frame, as fast as possible (no drops)",
    )  # fmt: skip
    parser.add_argument("--max-frames", type=int, default=None, metavar="N")
    parser.add_argument("--out", default=None, metavar="TRAJ.txt", help="trajectory (TUM)")
    parser.add_argument("--video", default=None, metavar="OUT.mp4", help="annotated video")
    parser.add_argument("--device", default="cpu", help="torch device (cpu, cuda, auto)")
    parser.add_argument("--json", action="store_true", help="one JSON document on stdout")
    parser.add_argument("--quiet", action="store_true", help="no per-frame lines")


class _TrackerSpec:
    name = "live tracking"

    @staticmethod
    def config_class() -> type:
        from locgui.methods.live.config import TrackerConfig

        return TrackerConfig


def run(args: argparse.Namespace) -> int:
    from locgui.cli.localize import parse_overrides
    from locgui.methods.live.config import TrackerConfig
    from locgui.methods.live.session import SessionOptions, open_session
    from locgui.methods.registry import get_method

    if args.max_frames is not None and args.max_frames < 1:
        raise _usage("--max-frames must be at least 1")
    if args.rate is not None and args.rate <= 0:
        raise _usage("--rate must be positive")
    options = SessionOptions(
        method=args.method,
        preset=args.preset,
        method_overrides=parse_overrides(get_method(args.method), args.set),
        intrinsics=args.intrinsics,
        rate=args.rate,
        lockstep=args.lockstep,
        tracker=TrackerConfig(**parse_overrides(_TrackerSpec(), args.track)),
        device=args.device,
        tum_path=args.out,
        video_path=args.video,
    )
    session = open_session(args.bundle, args.source, options)
    frames: list[dict[str, Any]] = []
    lines = sys.stderr if args.json else sys.stdout

    def on_frame(result: Any) -> None:
        if args.json:
            frames.append(result.summary())
        if not args.quiet:
            print(result.line(), file=lines, flush=True)

    summary = session.run(max_frames=args.max_frames, on_frame=on_frame)
    if args.json:
        json.dump({"summary": summary.to_dict(), "frames": frames}, sys.stdout, indent=1)
        sys.stdout.write("\n")
    else:
        print("\n".join(summary.lines()))
        if summary.trajectory_path:
            print(f"trajectory: {summary.trajectory_path}")
    return 1 if summary.stopped_by == "source_failed" else 0


def _usage(message: str) -> Exception:
    from locgui.core.errors import LocguiError

    return LocguiError(message)
