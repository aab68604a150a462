"""Benchmark scene coordinate regression (``scr``) on the synthetic demo scene.

Reports training time (and time to convergence), checkpoint size, per-query latency by stage
(network, inverse, PnP), median scene-coordinate error and localization accuracy next to
``sfm`` on the same queries. Not part of the test suite (minutes of CPU).

    .venv/bin/python scripts/bench_scr.py                      # demo scene, default config
    .venv/bin/python scripts/bench_scr.py --encoding xyz       # xyz, ACE reprojection loss
    .venv/bin/python scripts/bench_scr.py --encoding xyz --no-reprojection  # xyz on depth only
    .venv/bin/python scripts/bench_scr.py --translate 1000     # the scene 1 km from the origin

Scene and map are cached under --work (generated / built on first use).
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import sys
import time
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np

import locgui  # noqa: F401  (zlib before pycolmap)


def main() -> int:
    args = _parser().parse_args()
    import torch

    torch.set_num_threads(args.threads)
    work = Path(args.work)
    scene_dir, bundle_dir = _ensure_map(work, args.preset)
    from locgui.io import open_scene
    from locgui.io.bundle import open_bundle
    from locgui.methods.scr.config import ScrTrainConfig

    source = open_scene(scene_dir)
    config = ScrTrainConfig(
        encoding=args.encoding, frequencies=args.frequencies, epochs=args.epochs,
        head_width=args.width, head_blocks=args.blocks, max_side=args.max_side,
        reprojection=not args.no_reprojection,
    )  # fmt: skip
    tag = f"{args.encoding}{args.frequencies if args.encoding == 'cosine' else ''}"
    if args.translate:
        bundle = _translated(open_bundle(bundle_dir), args.translate)
        source = _translate_scene(source, args.translate)
        folder = _train(bundle.scene, config, args.device, out_dir=work / f"scr_{tag}_far")
        bundle.checkpoint_dir = lambda name: folder
    else:
        target = work / f"scr_{tag}.locmap"
        if args.reuse and (target / "checkpoints" / "scr" / "weights.pt").is_file():
            folder = target / "checkpoints" / "scr"
        else:
            shutil.rmtree(target, ignore_errors=True)
            shutil.copytree(bundle_dir, target)
            folder = _train(target, config, args.device)
        bundle = open_bundle(target)
    report: dict[str, Any] = {"machine": _machine(args), "inverse": _inverse_speed()}
    report["training"] = _training(folder)
    report["scr"] = _evaluate("scr", bundle, source, args.device)
    if not args.skip_sfm and not args.translate:
        report["sfm"] = _evaluate("sfm", open_bundle(bundle_dir), source, args.device)
    _print(report)
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2) + "\n")
    return 0


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--work", default="/tmp/locgui-bench-scr", help="cache folder")
    p.add_argument("--preset", default="demo", choices=("demo", "tiny"))
    p.add_argument("--encoding", default="cosine", choices=("cosine", "xyz"))
    p.add_argument("--frequencies", type=int, default=6, choices=(4, 6, 8))
    p.add_argument("--epochs", type=float, default=0.0, help="0: the automatic budget")
    p.add_argument("--width", type=int, default=256)
    p.add_argument("--blocks", type=int, default=2)
    p.add_argument("--no-reprojection", action="store_true", help="xyz: coordinate loss only")
    p.add_argument("--max-side", type=int, default=640)
    p.add_argument("--device", default="cpu")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--translate", type=float, default=0.0, help="move the world by (d, d, d) m")
    p.add_argument("--skip-sfm", action="store_true")
    p.add_argument("--reuse", action="store_true", help="evaluate the last trained checkpoint")
    p.add_argument("--json", help="also write the report here")
    return p


def _inverse_speed(n: int = 100_000) -> dict[str, float]:
    """psi^-1 milliseconds per 100k values, per F, over a 10 m range (a room)."""
    from locgui.methods.scr.encoding import decode, encode, frequency_set

    out = {}
    x = np.random.default_rng(0).uniform(-5.0, 5.0, n)
    for count in (4, 6, 8):
        f = frequency_set(count).frequencies()
        y = encode(x, f).astype(np.float32)
        start = time.perf_counter()
        decode(y, f, -5.0, 5.0)
        out[f"F{count}_ms_per_100k"] = round((time.perf_counter() - start) * 1000 * 1e5 / n, 1)
    return out


def _ensure_map(work: Path, preset: str) -> tuple[Path, Path]:
    from locgui.io.synth import generate
    from locgui.methods.mapping.config import MapBuildConfig
    from locgui.methods.mapping.pipeline import build_map

    scene_dir, bundle_dir = work / preset, work / f"{preset}.locmap"
    if not (scene_dir / "locgui_scene.json").is_file():
        print(f"generating the {preset} scene in {scene_dir}", file=sys.stderr)
        generate(scene_dir, seed=0, preset=preset)
    if not (bundle_dir / "manifest.json").is_file():
        print(f"building {bundle_dir}", file=sys.stderr)
        build_map(scene_dir, bundle_dir, MapBuildConfig(device="cpu"), overwrite=True)
    return scene_dir, bundle_dir


def _train(source: Any, config: Any, device: str, out_dir: Path | None = None) -> Path:
    from locgui.methods.scr.train import train_scr
    from locgui.runtime.context import RunContext

    def progress(stage: str, fraction: float, message: str) -> None:
        if stage == "scr training":
            print(f"  {message}", file=sys.stderr)

    return train_scr(source, config, RunContext(on_progress=progress), device=device,
                     out_dir=out_dir)  # fmt: skip


def _training(folder: Path) -> dict[str, Any]:
    m = json.loads((folder / "metrics.json").read_text())
    curve = np.array(m["loss_curve"], dtype=float)
    loss = np.convolve(curve[:, 1], np.ones(3) / 3, mode="same") if len(curve) > 3 else curve[:, 1]
    # converged: the smoothed loss is within 5% (of its total decrease) of the final value
    span = loss[0] - loss[-1]
    first = int(np.argmax(loss - loss[-1] <= 0.05 * span)) if span > 0 else len(loss) - 1
    per_step = m["train_seconds"] / max(m["step"], 1)
    sizes = {p.name: p.stat().st_size for p in folder.iterdir() if p.is_file()}
    return {
        "cells": m["cells"], "steps": m["step"], "buffer_s": m.get("buffer_seconds"),
        "train_s": m["train_seconds"], "converged_s": round(curve[first, 0] * per_step, 1),
        "final_loss": curve[-1, 1], "train_median_error_m": m["train_median_error"],
        "validation_median_error_m": m.get("validation_median_error"),
        "weights_kb": round(sizes.get("weights.pt", 0) / 1024, 1),
        "checkpoint_kb": round(sum(sizes.values()) / 1024, 1),
        "frequency_weights": m.get("frequency_weights"),
    }  # fmt: skip


def _evaluate(method: str, bundle: Any, source: Any, device: str) -> dict[str, Any]:
    from locgui.core.metrics import pose_error
    from locgui.core.results import Query
    from locgui.io.images import read_image
    from locgui.methods.registry import get_method
    from locgui.runtime.context import RunContext

    spec = get_method(method)
    localizer = spec.create(bundle, spec.make_config(), device)
    rows = []
    for image_id in source.split_ids("test"):
        im = source.images[image_id]
        q = Query(im.name, read_image(source.image_path(image_id)), source.camera_of(image_id),
                  im.cam_from_world, source.image_path(image_id))  # fmt: skip
        localizer.localize(q, RunContext()) if not rows else None  # warm-up
        res = localizer.localize(q, RunContext())
        t, r = pose_error(res.cam_from_world, im.cam_from_world) if res.success else (np.inf,) * 2
        row = {"query": im.name, "t_m": t, "r_deg": r, "inliers": res.num_inliers,
               "ms": {k: 1000 * v for k, v in res.timings.items()}}  # fmt: skip
        sc = res.scene_coordinates
        if sc is not None and sc.gt_xyz is not None:
            err = np.linalg.norm(sc.xyz - sc.gt_xyz, axis=-1)
            top = sc.confidence >= np.median(sc.confidence)
            row["sc_m"] = float(np.nanmedian(err))
            row["sc_top50_m"] = float(np.nanmedian(err[top]))
        rows.append(row)
    return _summarize(rows)


def _summarize(rows: list[dict[str, Any]]) -> dict[str, Any]:
    t = np.array([r["t_m"] for r in rows])
    r = np.array([r["r_deg"] for r in rows])
    stages = {k for row in rows for k in row["ms"]}
    out: dict[str, Any] = {
        "queries": len(rows),
        "median_t_m": float(np.median(t)),
        "median_r_deg": float(np.median(r)),
        "within_5cm_5deg": float(np.mean((t < 0.05) & (r < 5))),
        "within_25cm_5deg": float(np.mean((t < 0.25) & (r < 5))),
        "within_50cm_10deg": float(np.mean((t < 0.5) & (r < 10))),
        "median_ms": {k: round(float(np.median([x["ms"].get(k, 0) for x in rows])), 1)
                      for k in sorted(stages)},
    }  # fmt: skip
    if all("sc_m" in x for x in rows):
        out["median_sc_error_m"] = float(np.median([x["sc_m"] for x in rows]))
        out["median_sc_error_top50_m"] = float(np.median([x["sc_top50_m"] for x in rows]))
    out["per_query"] = rows
    return out


def _translate_scene(scene: Any, d: float) -> Any:
    """The same scene with the world moved by (d, d, d): poses and points re-expressed."""
    from locgui.core.pose import Sim3

    shift = Sim3(1.0, np.eye(3), np.full(3, d))
    out = scene.subset(list(scene.images))
    out.images = {
        i: replace(im, cam_from_world=shift.transform_pose(im.cam_from_world))
        for i, im in scene.images.items()
    }
    out.points = replace(scene.points, xyz=scene.points.xyz + d)
    return out


def _translated(bundle: Any, d: float) -> Any:
    """A stand-in for a bundle of the translated scene (what ``ScrLocalizer`` reads)."""
    return SimpleNamespace(
        scene=_translate_scene(bundle.scene, d), manifest=bundle.manifest,
        capabilities=set(bundle.capabilities) | {"scr"}, path=bundle.path,
    )  # fmt: skip


def _machine(args: argparse.Namespace) -> dict[str, Any]:
    import torch

    return {
        "cpu": platform.processor() or platform.machine(), "threads": args.threads,
        "device": args.device, "torch": torch.__version__, "cuda": torch.cuda.is_available(),
        "date": time.strftime("%Y-%m-%d %H:%M"),
        "config": {k: getattr(args, k) for k in ("encoding", "frequencies", "epochs", "width",
                                                  "blocks", "no_reprojection", "max_side",
                                                  "translate")},
    }  # fmt: skip


def _print(report: dict[str, Any]) -> None:
    tr = report["training"]
    print(json.dumps(report["machine"]))
    print(f"inverse psi^-1 (10 m range): {report['inverse']}")
    print(f"training: {tr['cells']} cells, {tr['steps']} steps, buffer {tr['buffer_s']} s, "
          f"train {tr['train_s']} s (converged ~{tr['converged_s']} s), final loss "
          f"{tr['final_loss']:.3f}, median error training views {tr['train_median_error_m']} m, "
          f"validation views {tr['validation_median_error_m']} m, "
          f"weights {tr['weights_kb']} KiB, checkpoint {tr['checkpoint_kb']} KiB")  # fmt: skip
    for name in ("scr", "sfm"):
        if name not in report:
            continue
        s = report[name]
        sc = ""
        if "median_sc_error_m" in s:
            sc = (f", scene coords median {s['median_sc_error_m']:.3f} m "
                  f"(top 50%: {s['median_sc_error_top50_m']:.3f} m)")  # fmt: skip
        print(f"{name}: {s['queries']} queries, median {s['median_t_m']:.3f} m / "
              f"{s['median_r_deg']:.2f} deg, <5cm5deg {s['within_5cm_5deg']:.0%}, "
              f"<25cm5deg {s['within_25cm_5deg']:.0%}, <50cm10deg {s['within_50cm_10deg']:.0%}, "
              f"stage ms {s['median_ms']}{sc}")  # fmt: skip


if __name__ == "__main__":
    sys.exit(main())
