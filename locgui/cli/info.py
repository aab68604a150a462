"""``locgui info PATH [--json]``: summarize any scene ``open_scene`` reads.

The JSON form follows the versioned schema in docs/info-schema.md (``"schema":
"locgui.info/1"``). Only light modules are imported at the top (``--help`` stays instant).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from locgui.core.scene import SceneMap

SCHEMA = "locgui.info/1"
MAX_LISTED_MISSING = 10


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("path", help="scene folder or file (COLMAP, transforms.json, ...)")
    parser.add_argument(
        "--json", action="store_true", help=f"print JSON (schema {SCHEMA}, docs/info-schema.md)"
    )


def run(args: argparse.Namespace) -> int:
    from locgui.io import open_scene

    scene = open_scene(args.path)
    info = scene_info(scene)
    if info["map_bundle"] is not None:
        info["map_bundle"]["methods"] = usable_methods(info["map_bundle"]["capabilities"])
    text = json.dumps(info, indent=1, allow_nan=False) + "\n" if args.json else format_summary(info)
    try:
        sys.stdout.write(text)
        sys.stdout.flush()
    except BrokenPipeError:  # e.g. piped into `head`: not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 0


def _finite_or_none(x: float) -> float | None:
    return float(x) if math.isfinite(x) else None


def _jsonable(value: Any) -> Any:
    """Meta values as JSON: NaN/inf -> None, unknown objects -> str."""
    if isinstance(value, float):
        return _finite_or_none(value)
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if value is None or isinstance(value, bool | int | str):
        return value
    return str(value)


def _points_info(scene: SceneMap) -> dict[str, Any]:
    import numpy as np

    pts = scene.points
    n = len(pts)
    errors = pts.error[np.isfinite(pts.error)] if len(pts.error) else pts.error
    return {
        "count": n,
        "observations": int(len(pts.track_point)),
        "mean_track_length": (len(pts.track_point) / n) if n and len(pts.track_point) else None,
        "mean_error_px": _finite_or_none(float(errors.mean())) if len(errors) else None,
    }


def usable_methods(capabilities: list[str]) -> list[str]:
    """The registered localization methods a map with ``capabilities`` can run."""
    from locgui.methods.registry import all_methods

    return [m.name for m in all_methods() if not m.missing_capabilities(set(capabilities))]


def scene_info(scene: SceneMap) -> dict[str, Any]:
    """The ``locgui.info/1`` dictionary for a scene (JSON-ready, no NaN)."""
    bounds = scene.bounds()
    images = []
    for im in scene.images.values():
        images.append(
            {
                "image_id": im.image_id,
                "name": im.name,
                "camera_id": im.camera_id,
                "split": im.split,
                "cam_from_world": None
                if im.cam_from_world is None
                else im.cam_from_world.to_dict(),
                "depth": None if im.depth is None else str(im.depth.path),
            }
        )
    return {
        "schema": SCHEMA,
        "path": str(scene.source_path) if scene.source_path is not None else None,
        "format": scene.source_format,
        "units": scene.units,
        "image_dir": str(scene.image_dir) if scene.image_dir is not None else None,
        "cameras": [cam.to_dict() for _, cam in sorted(scene.cameras.items())],
        "num_images": len(scene.images),
        "num_posed": len(scene.posed_ids()),
        "splits": dict(sorted(scene.splits().items())),
        "has_depth": scene.has_depth(),
        "points": _points_info(scene),
        "bounds": None
        if bounds is None
        else {"min": bounds[0].tolist(), "max": bounds[1].tolist()},
        "missing_images": list(scene.missing_images),
        "meta": _jsonable({k: v for k, v in scene.meta.items() if k != "map_bundle"}),
        "map_bundle": _jsonable(scene.meta.get("map_bundle")),
        "images": images,
    }


def _camera_line(cam: dict[str, Any]) -> str:
    params = " ".join(
        f"{n}={v:.6g}" for n, v in zip(cam["param_names"], cam["params"], strict=True)
    )
    return f"  camera {cam['camera_id']}: {cam['model']} {cam['width']}x{cam['height']} {params}"


def format_summary(info: dict[str, Any]) -> str:
    """Human-readable summary of a ``scene_info`` dictionary."""
    lines = [
        f"scene:    {info['path']}",
        f"format:   {info['format']}",
        f"units:    {info['units']}",
        f"images:   {info['num_images']} ({info['num_posed']} with poses)"
        + (f" in {info['image_dir']}" if info["image_dir"] else ""),
        "splits:   " + (", ".join(f"{k} {v}" for k, v in info["splits"].items()) or "none"),
        f"cameras:  {len(info['cameras'])}",
    ]
    lines += [_camera_line(c) for c in info["cameras"][:10]]
    if len(info["cameras"]) > 10:
        lines.append(f"  ... and {len(info['cameras']) - 10} more")
    pts = info["points"]
    point_line = f"points:   {pts['count']}"
    if pts["mean_track_length"] is not None:
        point_line += f" (mean track length {pts['mean_track_length']:.2f}"
        point_line += (
            f", mean error {pts['mean_error_px']:.3f} px)"
            if pts["mean_error_px"] is not None
            else ")"
        )
    lines.append(point_line)
    lines.append(f"depth:    {'yes' if info['has_depth'] else 'no'}")
    if info["bounds"] is not None:
        lo, hi = info["bounds"]["min"], info["bounds"]["max"]
        lines.append(
            "bounds:   min ("
            + ", ".join(f"{v:.3f}" for v in lo)
            + ") max ("
            + ", ".join(f"{v:.3f}" for v in hi)
            + f") {info['units']}"
        )
    missing = info["missing_images"]
    if missing:
        shown = ", ".join(missing[:MAX_LISTED_MISSING])
        more = f" ... and {len(missing) - MAX_LISTED_MISSING} more" if len(missing) > 10 else ""
        lines.append(f"missing:  {len(missing)} listed images absent: {shown}{more}")
    if info["map_bundle"] is not None:
        lines += _bundle_lines(info["map_bundle"])
    if info["meta"].get("intrinsics_guessed"):
        lines.append("note:     intrinsics are guessed (no calibration in the files)")
    for note in info["meta"].get("layout_notes", []):
        lines.append(f"note:     {note}")
    return "\n".join(lines) + "\n"


def _bundle_lines(bundle: dict[str, Any]) -> list[str]:
    checkpoints = ", ".join(bundle["checkpoints"]) or "none"
    lines = [
        f"features: {bundle['features']} ({bundle['num_feature_images']} images)",
        f"holds:    {', '.join(bundle['capabilities'])}",
        f"trained:  {checkpoints}",
    ]
    if "methods" in bundle:
        lines.append(f"methods:  {', '.join(bundle['methods']) or 'none'}")
    lines.append(f"built:    {bundle['created']} by locgui {bundle['locgui_version']}")
    return lines
