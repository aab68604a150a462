"""A/B benchmark of ``rpr`` settings in one process: the variants alternate query by query,
so a shared, noisy machine slows each of them alike.

Maps and queries are prepared as in ``bench_localize.py`` (the synthetic demo scene; fox from
``../shared/data/fox`` when present, every 10th image held out). Printed per dataset and
variant: localized queries, median error, recall, latency median/p90 (and the ratio to the
first variant), median stage times, and the load average before and after.

    .venv/bin/python scripts/bench_rpr.py [--cache DIR] [--threads 2] [--no-fox] [--rounds 1]
        [--variants old,new]
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

import locgui  # noqa: F401  (zlib before pycolmap)

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_localize import FOX, build, load_queries  # noqa: E402

VARIANTS: dict[str, dict[str, Any]] = {
    # The behaviour before: pycolmap LO-RANSAC (>= 1000 trials), every reference, one by one.
    "old": {
        "relpose_estimator": "pycolmap",
        "ransac_min_iterations": 1000,
        "conclusive_support": 0,
        "parallel_references": 1,
    },
    # One change at a time: poselib RANSAC with a confidence stop, ...
    "poselib": {"conclusive_support": 0, "parallel_references": 1},
    # ... then PROSAC (off by default: no faster, a little less accurate on the demo), ...
    "prosac": {"prosac": True, "conclusive_support": 0, "parallel_references": 1},
    # ... then stopping once the first references are conclusive, ...
    "early": {"parallel_references": 1},
    "new": {},  # ... and two references at a time: the defaults.
}


def run(name: str, bundle: Any, queries: list[Any], variants: list[str], rounds: int) -> None:
    from locgui.core.metrics import pose_error
    from locgui.methods.registry import get_method
    from locgui.runtime.context import RunContext

    spec = get_method("rpr")
    locs = {v: spec.create(bundle, spec.make_config(**VARIANTS[v]), "cpu") for v in variants}
    for loc in locs.values():
        loc.localize(queries[0], RunContext())  # warm-up
    rows: dict[str, dict[str, list[float]]] = {v: {} for v in variants}
    load_before = os.getloadavg()
    for r in range(rounds):
        for i, q in enumerate(queries):
            order = variants if (i + r) % 2 == 0 else variants[::-1]
            for v in order:
                start = time.perf_counter()
                res = locs[v].localize(q, RunContext())
                row = rows[v]
                row.setdefault("ms", []).append(1000 * (time.perf_counter() - start))
                for k, s in res.timings.items():
                    row.setdefault(k, []).append(1000 * s)
                t, rot = (
                    pose_error(res.cam_from_world, q.gt_cam_from_world)
                    if res.success and res.cam_from_world is not None
                    else (float("inf"), float("inf"))
                )
                row.setdefault("t", []).append(t)
                row.setdefault("r", []).append(rot)
    radius = bundle.scene.scene_radius()
    metric = name == "demo"
    print(f"# {name}: {len(queries)} queries x {rounds}, load {load_before} -> {os.getloadavg()}")
    base = float(np.median(rows[variants[0]]["ms"]))
    for v in variants:
        row = rows[v]
        t, rot, ms = np.array(row["t"]), np.array(row["r"]), np.array(row["ms"])
        within = (t <= 0.05) & (rot <= 5) if metric else (t <= 0.01 * radius)
        med_t = float(np.median(t))
        t_txt = f"{100 * med_t:.3f}cm" if metric else f"{100 * med_t / radius:.3f}%R"
        stages = " ".join(
            f"{k}={np.median(x):.0f}" for k, x in row.items() if k not in ("ms", "t", "r")
        )
        print(
            f"{name:<5} {v:<9} ok {np.isfinite(t).sum():>3}/{len(t):<3} med t {t_txt:>9} "
            f"med R {np.median(rot):.3f}deg recall {100 * within.mean():5.1f}%  ms med "
            f"{np.median(ms):6.1f} p90 {np.percentile(ms, 90):6.1f} (x{np.median(ms) / base:.2f})"
            f"  {stages}"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, default=Path.home() / ".cache" / "locgui" / "bench")
    parser.add_argument("--threads", type=int, default=2, help="torch threads (2)")
    parser.add_argument("--variants", default="old,new")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--no-fox", action="store_true")
    args = parser.parse_args()
    import torch

    torch.set_num_threads(args.threads)
    from locgui.io.bundle import open_bundle
    from locgui.io.synth import generate

    args.cache.mkdir(parents=True, exist_ok=True)
    demo = args.cache / "demo"
    if not (demo / "locgui_scene.json").exists():
        generate(demo, preset="demo")
    datasets = [("demo", demo, 0)]
    if FOX.exists() and not args.no_fox:
        datasets.append(("fox", FOX, 10))
    variants = [v for v in args.variants.split(",") if v]
    for name, source, holdout in datasets:
        build(source, args.cache / f"{name}_xfeat.locmap", "xfeat", holdout)
        bundle = open_bundle(args.cache / f"{name}_xfeat.locmap")
        queries = load_queries(bundle)
        # On a worker thread, as the workbench runs queries: on a loaded machine, torch's
        # two-thread kernels called from the main thread ran up to 10x slower here.
        worker = threading.Thread(target=run, args=(name, bundle, queries, variants, args.rounds))
        worker.start()
        worker.join()
    return 0


if __name__ == "__main__":
    sys.exit(main())
