"""``locgui eval SCENE.locmap --queries SOURCE_OR_SPLIT``: accuracy, recall and latency of a
method on queries with ground truth; optionally writes per-query rows and estimated poses.

Several maps, ``--method a,b,c``, ``--preset x,y`` or ``--sweep`` evaluate every combination
in one run (the batch engine, ``locgui.methods.batch``): ``--workers N`` local processes or
``--ray`` actors, results streamed into ``--out``/results.jsonl (a rerun resumes), then one
summary table and the plots in ``--out``."""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path
from typing import Any

from locgui.cli.batch_args import add_batch_arguments, wants_batch
from locgui.cli.localize import add_method_arguments


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("bundle", nargs="+", help="map bundle folder(s) (SCENE.locmap)")
    parser.add_argument(
        "--queries", default="test", metavar="SOURCE_OR_SPLIT",
        help="split of the map's source scene (default: test, incl. --holdout images), "
        "a scene path, or PATH:SPLIT",
    )  # fmt: skip
    add_method_arguments(parser)
    parser.add_argument("--limit", type=int, default=0, help="evaluate only the first N queries")
    parser.add_argument("--json", action="store_true", help="print the summary and rows as JSON")
    parser.add_argument("--out", default=None, help="folder for rows and estimated poses")
    parser.add_argument(
        "--sweep", action="store_true",
        help="every map x --method list x --preset list: summary table and plots in --out",
    )  # fmt: skip
    add_batch_arguments(parser)


def format_summary(summary: dict[str, Any]) -> str:
    metric, rel = summary["metric"], summary["relative_to_radius"]
    unit = "m" if summary["units"] == "metres" else " map units"
    lines = [
        f"method {summary['method']}: {summary['localized']}/{summary['queries']} localized, "
        f"{metric['failures']} failed",
        f"median error: {metric['median_translation']:.4f}{unit}, "
        f"{metric['median_rotation_deg']:.3f} deg "
        f"({100 * rel['median_translation']:.3f}% of the scene radius "
        f"{summary['scene_radius']:.3f})",
        f"scene radius R = {summary['scene_radius']:.4g}{unit}: median distance of "
        f"{summary.get('scene_radius_cameras', '?')} ground-truth cameras (map + queries) from "
        "their centroid",
        "recall: " + ", ".join(f"{k} {100 * v:.1f}%" for k, v in metric["recall"].items()),
        "recall (R = scene radius): "
        + ", ".join(f"{k} {100 * v:.1f}%" for k, v in rel["recall"].items()),
        "latency (ms): median {median}, p90 {p90}, max {max}".format(**summary["latency_ms"]),
        "per stage (median ms): "
        + ", ".join(f"{k} {v['median']}" for k, v in summary["stage_latency_ms"].items()),
    ]
    return "\n".join(lines)


def write_outputs(folder: Path, summary: dict[str, Any], report: Any) -> list[Path]:
    """summary.json, rows.csv and the estimated poses (TUM and COLMAP images.txt)."""
    import csv

    from locgui.io.poses import write_poses

    folder.mkdir(parents=True, exist_ok=True)
    rows = [r.to_dict() for r in report.rows]
    (folder / "summary.json").write_text(json.dumps({"summary": summary, "rows": rows}, indent=2))
    with (folder / "rows.csv").open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["query", "success", "t_err", "r_err_deg", "inliers", "total_ms", "reason"])
        for r in rows:
            writer.writerow([r["query"], r["success"], r["t_err"], r["r_err_deg"],
                             r["num_inliers"], r["total_ms"], r["reason"]])  # fmt: skip
    names, poses, stamps = [], [], []
    for k, row in enumerate(report.rows):
        if row.success and row.result is not None and row.result.cam_from_world is not None:
            names.append(row.name.replace(" ", "_"))
            poses.append(row.result.cam_from_world)
            stamps.append(float(k))
    tum = write_poses(folder / "poses_tum.txt", names, poses, "tum", stamps)
    colmap = write_poses(folder / "poses_colmap.txt", names, poses, "colmap")
    return [folder / "summary.json", folder / "rows.csv", tum, colmap]


def is_sweep(args: argparse.Namespace) -> bool:
    """Several maps, methods or presets, or batch options: the batch engine runs it."""
    several = len(args.bundle) > 1 or "," in args.method or "," in (args.preset or "")
    return bool(args.sweep or several or wants_batch(args))


def run(args: argparse.Namespace) -> int:
    from locgui.cli.localize import fov_of, make_localizer
    from locgui.io.bundle import open_bundle
    from locgui.io.calibration import parse_intrinsics
    from locgui.io.queries import refs_for_eval
    from locgui.methods.localize.evaluation import evaluate, evaluation_radius, gt_alignment
    from locgui.runtime.context import RunContext

    if is_sweep(args):
        from locgui.cli.sweep import run_sweep

        return run_sweep(args)
    bundle = open_bundle(args.bundle[0])
    refs, gt_scene = refs_for_eval(bundle, args.queries)
    if args.limit > 0:
        refs = refs[: args.limit]
    align = gt_alignment(bundle, gt_scene)
    radius, n_cameras = evaluation_radius(bundle, gt_scene, refs, align is not None)
    spec, localizer = make_localizer(args, bundle)
    fov = fov_of(args.intrinsics)
    if fov is not None:  # evaluate the field-of-view guess: drop the known intrinsics
        refs = [dataclasses.replace(ref, camera=None) for ref in refs]
    report = evaluate(
        localizer, spec.name, refs, gt_scene.units, radius, RunContext(),
        parse_intrinsics(args.intrinsics) if args.intrinsics and not fov else None, align=align,
    )  # fmt: skip
    summary = report.summary()
    summary["scene_radius_cameras"] = n_cameras
    written = write_outputs(Path(args.out), summary, report) if args.out else []
    if args.json:
        print(
            json.dumps({"summary": summary, "rows": [r.to_dict() for r in report.rows]}, indent=2)
        )
    else:
        print(format_summary(summary))
        for path in written:
            print(f"wrote {path}", file=sys.stderr)
    return 0
