"""``locgui localize SCENE.locmap QUERY...``: localize images against a map bundle.

Exit status: 0 when every query was localized, 1 when some failed (each failure is reported
with its reason; the batch goes on; a query image that cannot be read is also reported on
stderr as an ``error:`` line), 2 for a bad map or bad arguments.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any


def add_method_arguments(parser: argparse.ArgumentParser) -> None:
    """--method, --preset, --set, --intrinsics, --device (shared with ``locgui eval``)."""
    parser.add_argument("--method", default="sfm", help="registered method (see `locgui methods`)")
    parser.add_argument("--preset", default=None, help="named settings, e.g. fast / accurate")
    parser.add_argument(
        "--set", action="append", default=[], metavar="KEY=VALUE",
        help="override one config field (repeatable), e.g. --set retrieval_k=5",
    )  # fmt: skip
    parser.add_argument(
        "--intrinsics", default=None, metavar="FILE|fov:DEG",
        help="calibration file (OpenCV YAML/XML, COLMAP cameras.txt or camera.json; scaled "
        "to the image size) or a field-of-view guess",
    )  # fmt: skip
    parser.add_argument("--device", default="auto", help="torch device (auto: CUDA if present)")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("bundle", help="map bundle folder (SCENE.locmap)")
    parser.add_argument("queries", nargs="+", metavar="QUERY", help="image files or folders")
    add_method_arguments(parser)
    parser.add_argument("--json", action="store_true", help="print one JSON list of results")
    parser.add_argument(
        "--out", default=None, metavar="FOLDER",
        help="stream results into FOLDER/results.jsonl (a rerun skips the finished queries)",
    )  # fmt: skip
    from locgui.cli.batch_args import add_batch_arguments

    add_batch_arguments(parser)


def parse_overrides(spec: Any, items: list[str]) -> dict[str, Any]:
    """``["retrieval_k=5", ...]`` -> typed values for the method's config fields."""
    import dataclasses

    from locgui.core.errors import MethodError

    fields = {f.name: f for f in dataclasses.fields(spec.config_class())}
    out: dict[str, Any] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep or key not in fields:
            raise MethodError(
                f"--set {item}: expected KEY=VALUE with KEY one of {', '.join(sorted(fields))}"
            )
        default = fields[key].default
        try:
            if isinstance(default, bool):
                if raw.lower() not in ("true", "false", "1", "0", "yes", "no"):
                    raise ValueError(raw)
                out[key] = raw.lower() in ("true", "1", "yes")
            elif isinstance(default, int | float):
                out[key] = type(default)(raw)
            else:
                out[key] = raw
        except ValueError as exc:
            raise MethodError(f"--set {item}: {raw!r} is not a valid {key}") from exc
    return out


def fov_of(intrinsics: str | None) -> float | None:
    """The DEG of ``--intrinsics fov:DEG`` (validated), else None."""
    from locgui.io.calibration import parse_intrinsics

    if intrinsics is None or not intrinsics.lower().startswith("fov:"):
        return None
    return parse_intrinsics(intrinsics).fov_deg  # raises a clear error for a bad value


def make_localizer(args: argparse.Namespace, bundle: Any) -> tuple[Any, Any]:
    """(spec, localizer) for the parsed --method/--preset/--set/--device."""
    from locgui.methods.localize.configs import fov_guess_overrides
    from locgui.methods.registry import get_method
    from locgui.runtime.context import resolve_device

    spec = get_method(args.method)
    overrides = parse_overrides(spec, args.set)
    fov = fov_of(args.intrinsics)
    if fov is not None:
        overrides.update(fov_guess_overrides(spec.config_class(), fov))
    config = spec.make_config(args.preset, **overrides)
    return spec, spec.create(bundle, config, resolve_device(args.device))


def pose_and_timings(summary: dict[str, Any]) -> tuple[str, str]:
    """("cam_from_world q(wxyz)=[...] t=[...]", "stage ms, ...") of a result summary or row."""
    pose = summary["cam_from_world"]
    q = " ".join(f"{v:+.5f}" for v in pose["qvec_wxyz"])
    t = " ".join(f"{v:+.4f}" for v in pose["translation"])
    timings = ", ".join(f"{k} {v:.0f}" for k, v in summary["timings_ms"].items())
    return f"cam_from_world q(wxyz)=[{q}] t=[{t}]", timings


def format_result(summary: dict[str, Any]) -> str:
    """One human-readable block per query."""
    name = summary["query"]
    if not summary["success"]:
        return f"{name}: FAILED - {summary['reason']}"
    pose, timings = pose_and_timings(summary)
    retrieved = " ".join(r["name"] for r in summary["retrieved"])
    sigma = summary.get("uncertainty") or {}
    spread = ""
    if "position" in sigma:
        spread = (f"\n  uncertainty (1 sigma): position {sigma['position']:.3g}, rotation "
                  f"{sigma['rotation_deg']:.2g} deg")  # fmt: skip
    return (
        f"{name}: OK - {summary['reason']}\n"
        f"  {pose}{spread}\n"
        f"  retrieved: {retrieved}\n"
        f"  timings (ms): {timings} (total {summary['total_ms']:.0f})"
    )


def run(args: argparse.Namespace) -> int:
    from locgui.cli.batch_args import wants_batch
    from locgui.core.results import LocalizationResult
    from locgui.io.bundle import open_bundle
    from locgui.io.calibration import parse_intrinsics
    from locgui.io.queries import expand_paths, iter_queries, refs_from_files
    from locgui.runtime.context import RunContext

    if wants_batch(args) or args.out or "," in args.method or "," in (args.preset or ""):
        from locgui.cli.sweep import run_localize_batch

        return run_localize_batch(args)
    bundle = open_bundle(args.bundle)
    intrinsics = parse_intrinsics(None if fov_of(args.intrinsics) else args.intrinsics)
    refs = refs_from_files(expand_paths(args.queries))  # before the model loads: fail fast
    spec, localizer = make_localizer(args, bundle)
    ctx = RunContext()
    summaries: list[dict[str, Any]] = []
    for ref, query, error in iter_queries(refs, intrinsics):
        if query is None:  # the input failed, not the method: an error, and the rest goes on
            print(f"error: {error}", file=sys.stderr, flush=True)
            result = LocalizationResult(spec.name, ref.name, False, reason=error)
        else:
            result = localizer.localize(query, ctx)
        summary = result.summary()
        summaries.append(summary)
        if not args.json:
            print(format_result(summary), flush=True)
    if args.json:
        print(json.dumps(summaries, indent=2))
    return 0 if summaries and all(s["success"] for s in summaries) else 1
