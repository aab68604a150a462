"""Benchmark of the NeRF area: training, rendering, and the NeRF-based localizers next to sfm.

For the synthetic demo scene (generated into the cache; 72 mapping + 20 query images at
640x480 with exact poses) it trains the NeRF on the mapping images (held-out PSNR on the 20
queries), times rendering at 160 px and 480 px, trains the NeRFMatch heads and the pose
regressor into a map bundle, then localizes every query with ``sfm``, ``nerfmatch`` (errors
after each iterative refinement step) and ``apr`` (plain and render-and-match refined).
With ``../shared/data/fox`` present it also trains a NeRF on fox (every 8th image held out).

    .venv/bin/python scripts/bench_nerf.py [--cache DIR] [--device cpu|cuda] [--threads 1]
        [--steps 2000] [--max-side 160] [--no-fox] [--quick]

torch threads default to 1: on a busy 2-core machine two OpenMP threads spend most of their
time waiting for each other (a NeRF step measured 35 ms with one thread, 1.7 s with two).
"""

from __future__ import annotations

import argparse
import json
import logging
import platform
import shutil
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

import locgui  # noqa: F401  (zlib before pycolmap)

ROOT = Path(__file__).resolve().parents[1]
FOX = ROOT.parent / "shared" / "data" / "fox"
log = logging.getLogger("bench_nerf")


def demo_scene(cache: Path) -> Path:
    from locgui.io.synth import generate

    scene = cache / "demo"
    if not (scene / "locgui_scene.json").exists() and not (scene / "sparse").exists():
        generate(scene, seed=0, preset="demo")
    return scene


def demo_bundle(scene: Path, cache: Path) -> Path:
    from locgui.core.errors import BundleError
    from locgui.io.bundle import open_bundle
    from locgui.methods.mapping.config import MapBuildConfig
    from locgui.methods.mapping.pipeline import build_map

    out = cache / "demo_nerf.locmap"
    try:
        open_bundle(out)
    except BundleError:
        build_map(scene, out, MapBuildConfig(features="xfeat"), overwrite=True)
    return out


def train_nerf_timed(source: Path, out: Path, cfg: Any, device: str) -> dict[str, Any]:
    from locgui.methods.nerf.train import train_nerf

    result = train_nerf(source, cfg, out=out, device=device)
    m = result.metrics
    return {k: m[k] for k in ("psnr_heldout", "depth_median_abs_error", "train_seconds",
                              "steps", "resolution", "train_images")}  # fmt: skip


def render_times(nerf: Any, scene: Any, sides: tuple[int, ...], repeats: int) -> dict[str, float]:
    """Median seconds to render a whole view with its longer side at each size."""
    from locgui.methods.nerf.data import fit_size, resize_camera

    image_id = scene.posed_ids()[0]
    cam, pose = scene.camera_of(image_id), scene.images[image_id].cam_from_world
    out = {}
    for side in sides:
        w, h = fit_size(cam.width, cam.height, side)
        small = resize_camera(cam, w, h)
        nerf.render_view(small, pose)  # warm-up
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            nerf.render_view(small, pose)
            if nerf.device.type == "cuda":
                import torch

                torch.cuda.synchronize()
            times.append(time.perf_counter() - start)
        out[f"{w}x{h}"] = float(np.median(times))
    return out


def localize_all(name: str, bundle: Any, queries: list[Any], device: str, **cfg: Any) -> dict:
    from locgui.core.metrics import pose_error
    from locgui.methods.registry import get_method
    from locgui.runtime.context import RunContext

    spec = get_method(name)
    loc = spec.create(bundle, spec.make_config(**cfg), device)
    loc.localize(queries[0], RunContext())  # warm-up
    t_err, r_err, ms, steps = [], [], [], []
    for q in queries:
        start = time.perf_counter()
        res = loc.localize(q, RunContext())
        ms.append(1000 * (time.perf_counter() - start))
        if res.success:
            t, r = pose_error(res.cam_from_world, q.gt_cam_from_world)
        else:
            t, r = float("inf"), float("inf")
        t_err.append(t)
        r_err.append(r)
        hist = res.extras.get("pose_history", []) if res.success else []
        steps.append([pose_error(p, q.gt_cam_from_world) for _, p in hist])
    t, r = np.array(t_err), np.array(r_err)
    return {
        "method": name,
        "config": cfg,
        "localized": int(np.isfinite(t).sum()),
        "queries": len(queries),
        "median_t_cm": float(100 * np.median(t)),
        "median_r_deg": float(np.median(r)),
        "recall_5cm_5deg": float(np.mean((t <= 0.05) & (r <= 5))),
        "recall_25cm_2deg": float(np.mean((t <= 0.25) & (r <= 2))),
        "median_ms": float(np.median(ms)),
        "step_errors": steps,
    }


def step_table(row: dict) -> list[str]:
    """Median error after each refinement step (the last accepted pose carried forward)."""
    steps = [s for s in row["step_errors"] if s]
    if not steps:
        return []
    n = max(len(s) for s in steps)
    lines = []
    for k in range(n):
        errs = np.array([s[min(k, len(s) - 1)] for s in steps])
        lines.append(f"    after step {k}: median {100 * np.median(errs[:, 0]):.1f} cm "
                     f"{np.median(errs[:, 1]):.2f} deg over {len(steps)} localized")  # fmt: skip
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cache", type=Path, default=Path.home() / ".cache" / "locgui-bench")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--max-side", type=int, default=160)
    parser.add_argument("--no-fox", action="store_true")
    parser.add_argument("--quick", action="store_true", help="fewer steps/epochs (minutes)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    import torch

    torch.set_num_threads(min(args.threads, 2))
    from locgui.io import open_scene
    from locgui.io.bundle import open_bundle
    from locgui.io.queries import refs_for_eval
    from locgui.methods.checkpoint import read_config
    from locgui.methods.nerf.apr_train import train_apr
    from locgui.methods.nerf.checkpoint import load_nerf
    from locgui.methods.nerf.config import AprTrainConfig, NerfConfig, NerfMatchTrainConfig
    from locgui.methods.nerf.train_match import train_nerfmatch
    from locgui.runtime.context import resolve_device

    device = resolve_device(args.device)
    steps = 400 if args.quick else args.steps
    report: dict[str, Any] = {
        "machine": f"{platform.processor() or platform.machine()}, {torch.get_num_threads()} "
        f"torch threads, device {device}"
        + (f" ({torch.cuda.get_device_name()})" if device == "cuda" else ""),
    }
    args.cache.mkdir(parents=True, exist_ok=True)
    scene_dir = demo_scene(args.cache)
    bundle_dir = demo_bundle(scene_dir, args.cache)
    nerf_cfg = NerfConfig(steps=steps, max_side=args.max_side, eval_every=0, eval_views=20)
    out = args.cache / "demo_nerf_ckpt"
    shutil.rmtree(out, ignore_errors=True)
    report["demo_nerf"] = train_nerf_timed(scene_dir, out, nerf_cfg, device)
    log.info("demo NeRF: %s", report["demo_nerf"])
    bundle = open_bundle(bundle_dir)
    src = out / "nerf"
    bundle.add_checkpoint("nerf", {"nerf.pt": src / "nerf.pt"}, read_config(src),
                          json.loads((src / "metrics.json").read_text()))  # fmt: skip
    nerf = load_nerf(bundle, device)
    report["render_seconds"] = render_times(nerf, bundle.scene, (160, 480), 3)
    log.info("render: %s", report["render_seconds"])
    nm_cfg = NerfMatchTrainConfig(epochs=10 if args.quick else 40)
    report["nerfmatch_train"] = train_nerfmatch(bundle, nm_cfg, device=device)
    apr_cfg = AprTrainConfig(epochs=20 if args.quick else 60)
    report["apr_train"] = train_apr(bundle, apr_cfg, device=device)
    bundle = open_bundle(bundle_dir)
    refs, _ = refs_for_eval(bundle, "test")
    queries = [r.load() for r in refs]
    rows = [
        localize_all("sfm", bundle, queries, device),
        localize_all("nerfmatch", bundle, queries, device, refine_steps=3, render_side=0),
        localize_all(
            "nerfmatch", bundle, queries, device, refine_steps=1, render_side=0, num_references=3
        ),  # fmt: skip
        localize_all("apr", bundle, queries, device, render_side=0),
        localize_all(
            "apr", bundle, queries, device, refine="match", refine_steps=2, render_side=0
        ),  # fmt: skip
    ]
    report["localization"] = rows
    if FOX.exists() and not args.no_fox:
        fox_cfg = NerfConfig(steps=steps, max_side=args.max_side, eval_every=0, eval_views=6)
        fox_out = args.cache / "fox_nerf_ckpt"
        shutil.rmtree(fox_out, ignore_errors=True)
        report["fox_nerf"] = train_nerf_timed(FOX, fox_out, fox_cfg, device)
        report["fox_scene"] = {"images": len(open_scene(FOX).posed_ids())}
    (args.cache / "bench_nerf.json").write_text(json.dumps(report, indent=1, default=str))
    print_report(report)
    return 0


def print_report(report: dict[str, Any]) -> None:
    print(f"machine: {report['machine']}")
    for key in ("demo_nerf", "fox_nerf"):
        if key in report:
            m = report[key]
            print(f"{key}: {m['steps']} steps at {m['resolution']} on {m['train_images']} images "
                  f"in {m['train_seconds']:.0f} s, held-out PSNR {m['psnr_heldout']:.2f} dB, "
                  f"median depth error {m['depth_median_abs_error']}")  # fmt: skip
    print(
        "render:", ", ".join(f"{k} {v * 1000:.0f} ms" for k, v in report["render_seconds"].items())
    )
    for key in ("nerfmatch_train", "apr_train"):
        stats = {k: v for k, v in report[key].items() if "error" in k or "accuracy" in k}
        print(f"{key}: {report[key]['train_seconds']:.0f} s {stats}")
    for row in report["localization"]:
        cfg = ",".join(f"{k}={v}" for k, v in row["config"].items())
        print(f"{row['method']:<10} {cfg:<45} {row['localized']:>2}/{row['queries']} "
              f"median {row['median_t_cm']:.1f} cm {row['median_r_deg']:.2f} deg  "
              f"recall(5cm,5deg) {row['recall_5cm_5deg']:.2f} (25cm,2deg) "
              f"{row['recall_25cm_2deg']:.2f}  {row['median_ms']:.0f} ms")  # fmt: skip
        for line in step_table(row):
            print(line)


if __name__ == "__main__":
    sys.exit(main())
