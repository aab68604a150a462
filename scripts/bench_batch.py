"""Throughput of batch evaluation: one process, local worker processes, a local Ray and a
simulated two-node Ray cluster, on the demo scene's 20 queries x sfm, points, rpr.

Every executor runs the same 60 work items with one torch thread per worker; the script
checks that each gives the poses of the one-process run and prints items/s over the whole run
and "steady" (after the first row: workers started, models loaded), their ratios to one
process, the driver's overhead per item and each worker's resident memory. The two-node
cluster is two raylets on this host (``ray start --head`` and a second ``ray start
--address``, one CPU each, loopback only), run once with maps read from shared storage and
once with maps shipped through the object store.

    .venv/bin/python scripts/bench_batch.py [--cache DIR] [--methods sfm,points,rpr]
        [--skip-ray] [--skip-cluster]
"""

from __future__ import annotations

import argparse
import logging
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

import locgui  # noqa: F401  (zlib before pycolmap)
from locgui.methods.batch.plan import Plan, Settings, eval_map_plan
from locgui.methods.batch.runner import BatchRun, Executor, run_batch

PORT = 6391


def demo_bundle(cache: Path) -> Path:
    from locgui.io.synth import generate
    from locgui.methods.mapping.config import MapBuildConfig
    from locgui.methods.mapping.pipeline import build_map

    demo, bundle = cache / "demo", cache / "demo.locmap"
    if not (demo / "locgui_scene.json").exists():
        generate(demo, preset="demo")
    if not (bundle / "manifest.json").exists():
        build_map(demo, bundle, MapBuildConfig(), overwrite=True)
    return bundle


def line(name: str, run: BatchRun, base: BatchRun | None, wall0: float | None,
         steady0: float | None) -> str:  # fmt: skip
    f = run.figures
    workers = sorted({r["worker"] for r in run.rows})
    rss = [max(r.get("rss_mb", 0.0) for r in run.rows if r["worker"] == w) for w in workers]
    same = "-" if base is None else (
        "yes" if {r["key"]: r["cam_from_world"] for r in run.rows}
        == {r["key"]: r["cam_from_world"] for r in base.rows} else "NO")  # fmt: skip
    ratio = f"{wall0 / f['wall_s']:5.2f}x" if wall0 else "    -"
    steady = f["steady_items_per_s"] or float("nan")
    sratio = f"{steady / steady0:5.2f}x" if steady0 else "    -"
    return (f"{name:<28} {f['computed']:>5} {f['wall_s']:8.1f} {f['items_per_s']:7.2f} {ratio} "
            f"{steady:7.2f} {sratio} "
            f"{f.get('overhead_ms_per_item') or 0:9.0f} {same:>10}  "
            f"{len(workers)} x {np.mean(rss):.0f} MiB" + (
                f"  shipped {f['shipped_bytes'] / 2**20:.1f} MiB in {f['ship_s']:.2f} s"
                if f.get("shipped_bytes") else ""))  # fmt: skip


def ray_cli() -> str:
    return str(Path(sys.executable).with_name("ray"))


def start_cluster(tmp: Path) -> None:
    env = {**os.environ, "RAY_ENABLE_UV_RUN_RUNTIME_ENV": "0"}
    common = ["--num-cpus", "1", "--disable-usage-stats"]
    subprocess.run([ray_cli(), "start", "--head", "--port", str(PORT), "--node-ip-address",
                    "127.0.0.1", "--include-dashboard=false", *common], check=True, env=env,
                   stdout=subprocess.DEVNULL)  # fmt: skip
    subprocess.run([ray_cli(), "start", "--address", f"127.0.0.1:{PORT}", "--node-ip-address",
                    "127.0.0.1", *common], check=True, env=env,
                   stdout=subprocess.DEVNULL)  # fmt: skip


def stop_cluster() -> None:
    subprocess.run([ray_cli(), "stop", "--force"], stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path,
                        default=Path.home() / ".cache" / "locgui" / "bench_batch")  # fmt: skip
    parser.add_argument("--methods", default="sfm,points,rpr")
    parser.add_argument("--skip-ray", action="store_true")
    parser.add_argument("--skip-cluster", action="store_true")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    args.cache.mkdir(parents=True, exist_ok=True)
    bundle = demo_bundle(args.cache)
    plan = Plan([eval_map_plan(bundle, "demo", "test")],
                [Settings(m) for m in args.methods.split(",") if m])  # fmt: skip
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
          f"{len(plan.items)} items (demo, {len(plan.maps[0].refs)} queries x "
          f"{len(plan.settings)} methods), 1 torch thread per worker")  # fmt: skip
    print(f"{'executor':<28} {'items':>5} {'wall s':>8} {'items/s':>7} {'ratio':>6} "
          f"{'steady':>7} {'ratio':>6} "
          f"{'ovh ms/it':>9} {'same poses':>10}  workers x peak RSS")  # fmt: skip
    runs: dict[str, Any] = {}
    t = time.perf_counter()
    runs["serial"] = run_batch(plan, Executor(workers=1, threads=1))
    base = runs["serial"]
    wall0, steady0 = base.figures["wall_s"], base.figures["steady_items_per_s"]
    print(line("1 process", base, None, None, None), flush=True)
    runs["proc2"] = run_batch(plan, Executor(workers=2))
    print(line("2 worker processes", runs["proc2"], base, wall0, steady0), flush=True)
    if not args.skip_ray:
        runs["ray2"] = run_batch(plan, Executor(workers=2, ray="local"))
        print(line("local Ray, 2 actors", runs["ray2"], base, wall0, steady0), flush=True)
    if not args.skip_ray and not args.skip_cluster and shutil.which(ray_cli()):
        stop_cluster()
        start_cluster(args.cache)
        try:
            import ray

            address = f"127.0.0.1:{PORT}"
            ray.init(address=address, log_to_driver=False, logging_level=logging.ERROR)
            nodes = [n for n in ray.nodes() if n["Alive"]]
            ray.shutdown()
            print(f"# cluster: {len(nodes)} nodes x "
                  f"{[int(n['Resources'].get('CPU', 0)) for n in nodes]} CPU")  # fmt: skip
            for ship in (False, True):
                run = run_batch(plan, Executor(workers=2, ray=address, ship_maps=ship))
                name = "2-node Ray, " + ("maps shipped" if ship else "shared storage")
                print(line(name, run, base, wall0, steady0), flush=True)
                node_ids = {r["worker"].split("@")[-1] for r in run.rows}
                print(f"#   actors ran on {len(node_ids)} node(s)")
        finally:
            stop_cluster()
    import json
    import pickle

    item_bytes = np.mean([len(pickle.dumps(it)) for it in plan.items])
    row_bytes = np.mean([len(json.dumps(r)) for r in base.rows])
    cpu_s = {s.method: np.median([r["wall_ms"] for r in base.rows if r["method"] == s.method])
             for s in plan.settings}  # fmt: skip
    print(f"# per item: {item_bytes:.0f} B pickled to a worker, {row_bytes:.0f} B of JSON back; "
          "median one-thread ms per item: "
          + ", ".join(f"{m} {v:.0f}" for m, v in cpu_s.items()))  # fmt: skip
    ok = [r for r in base.rows if r["success"]]
    print(f"# {len(ok)}/{len(base.rows)} localized; total {time.perf_counter() - t:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
