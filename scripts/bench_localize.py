"""Benchmark of the structure-based localizers against a plain pycolmap baseline.

For each dataset (the synthetic demo scene, generated into the cache; ``../shared/data/fox``
when present, every 10th image held out as a query, mapped at 640 px) it builds the maps
(XFeat for the locgui methods, SIFT for the baseline), then localizes every query with each
method in this one process and prints per-stage and end-to-end latency (median, p90), peak
memory (tracemalloc during one extra query, and the process's max RSS) and accuracy.

The baseline is what one writes with pycolmap alone: SIFT features of the query, exhaustive
matching against the descriptors of every map point (ratio test), pycolmap absolute pose.

    .venv/bin/python scripts/bench_localize.py [--cache DIR] [--threads 2] [--no-fox]
"""

from __future__ import annotations

import argparse
import logging
import platform
import resource
import sys
import time
import tracemalloc
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

import locgui  # noqa: F401  (zlib before pycolmap)

ROOT = Path(__file__).resolve().parents[1]
FOX = ROOT.parent / "shared" / "data" / "fox"
METHODS = ("sfm", "points", "rpr")


@dataclass
class Row:
    """One method on one dataset."""

    dataset: str
    method: str
    queries: int = 0
    localized: int = 0
    t_err: list[float] = field(default_factory=list)
    r_err: list[float] = field(default_factory=list)
    total_ms: list[float] = field(default_factory=list)
    cpu_ms: list[float] = field(default_factory=list)
    stages: dict[str, list[float]] = field(default_factory=dict)
    peak_mb: float = float("nan")
    rss_mb: float = float("nan")


class PycolmapBaseline:
    """SIFT (pycolmap) + exhaustive 2D-3D matching against all map points + pycolmap PnP."""

    name = "pycolmap"

    def __init__(self, bundle: Any, ratio: float = 0.8, max_side: int = 640) -> None:
        from locgui.methods.features import get_extractor

        self.bundle = bundle
        self.ratio = ratio
        self.max_side = max_side
        self.extractor = get_extractor("sift", max_side=max_side, max_num_features=4096)
        ids, desc = bundle.point_descriptors()
        self.point_desc = desc
        self.point_xyz = bundle.scene.points.xyz[bundle.scene.points.index_of(ids)]

    def localize(self, query: Any) -> tuple[Any, dict[str, float]]:
        import pycolmap

        from locgui.methods.localize.geometry import from_pycolmap_rigid, to_pycolmap_camera

        timings: dict[str, float] = {}
        t0 = time.perf_counter()
        feats = self.extractor.extract(query.image)
        t1 = time.perf_counter()
        sim = feats.descriptors @ self.point_desc.T  # exhaustive: every map point
        top2 = np.argpartition(-sim, 1, axis=1)[:, :2]
        s = np.take_along_axis(sim, top2, 1)
        order = np.argsort(-s, axis=1)
        best = np.take_along_axis(top2, order, 1)[:, 0]
        s = np.take_along_axis(s, order, 1)
        d1, d2 = np.sqrt(np.maximum(2 - 2 * s[:, 0], 0)), np.sqrt(np.maximum(2 - 2 * s[:, 1], 0))
        keep = d1 < self.ratio * d2
        t2 = time.perf_counter()
        scale = max(1.0, max(query.image.shape[:2]) / self.max_side)
        opts = pycolmap.AbsolutePoseEstimationOptions()
        opts.ransac.max_error = 6.0 * scale
        out = pycolmap.estimate_and_refine_absolute_pose(
            feats.keypoints[keep].astype(np.float64),
            self.point_xyz[best[keep]],
            to_pycolmap_camera(query.camera),
            opts,
        )
        t3 = time.perf_counter()
        timings.update({"extract": t1 - t0, "match": t2 - t1, "pnp": t3 - t2})
        ok = out is not None and out["num_inliers"] >= 12
        return (from_pycolmap_rigid(out["cam_from_world"]) if ok else None), timings


def build(source: Path, out: Path, features: str, holdout: int) -> float:
    """Build (or reuse) a map bundle; returns the build time in seconds (0 when reused)."""
    from locgui.core.errors import BundleError
    from locgui.io.bundle import open_bundle
    from locgui.methods.mapping.config import MapBuildConfig
    from locgui.methods.mapping.pipeline import build_map

    try:
        open_bundle(out)
        return 0.0
    except BundleError:
        pass
    start = time.perf_counter()
    build_map(source, out, MapBuildConfig(features=features, holdout=holdout), overwrite=True)
    return time.perf_counter() - start


def run_method(dataset: str, name: str, bundle: Any, queries: list[Any]) -> Row:
    from locgui.core.metrics import pose_error
    from locgui.methods.registry import get_method
    from locgui.runtime.context import RunContext

    row = Row(dataset, name, len(queries))
    if name == "pycolmap":
        loc: Any = PycolmapBaseline(bundle)
        call = loc.localize
    else:
        spec = get_method(name)
        loc = spec.create(bundle, spec.make_config(), "cpu")

        def call(q: Any) -> tuple[Any, dict[str, float]]:
            res = loc.localize(q, RunContext())
            return (res.cam_from_world if res.success else None), res.timings

    call(queries[0])  # warm-up: model load, caches
    for q in queries:
        start, cpu = time.perf_counter(), time.process_time()
        pose, timings = call(q)
        row.total_ms.append(1000 * (time.perf_counter() - start))
        row.cpu_ms.append(1000 * (time.process_time() - cpu))
        for k, v in timings.items():
            row.stages.setdefault(k, []).append(1000 * v)
        if pose is not None:
            row.localized += 1
            t, r = pose_error(pose, q.gt_cam_from_world)
            row.t_err.append(t)
            row.r_err.append(r)
        else:
            row.t_err.append(float("inf"))
            row.r_err.append(float("inf"))
    tracemalloc.start()
    call(queries[0])
    row.peak_mb = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    row.rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return row


def load_queries(bundle: Any, spec: str = "test") -> list[Any]:
    from locgui.io.queries import refs_for_eval

    refs, _ = refs_for_eval(bundle, spec)
    return [r.load() for r in refs]


def bench_dataset(
    name: str, source: Path, cache: Path, holdout: int, methods: list[str]
) -> tuple[list[Row], dict[str, float], float]:
    from locgui.io.bundle import open_bundle

    builds = {
        "xfeat": build(source, cache / f"{name}_xfeat.locmap", "xfeat", holdout),
        "sift": build(source, cache / f"{name}_sift.locmap", "sift", holdout),
    }
    xfeat = open_bundle(cache / f"{name}_xfeat.locmap")
    sift = open_bundle(cache / f"{name}_sift.locmap")
    queries = load_queries(xfeat)
    rows = [run_method(name, m, xfeat, queries) for m in methods]
    rows.append(run_method(name, "pycolmap", sift, queries))
    return rows, builds, xfeat.scene.scene_radius()


HEADER = (
    f"{'data':<5} {'method':<8} {'ok':>6} {'med t':>9} {'med R':>8} {'recall':>7} "
    f"{'ms med':>7} {'ms p90':>7} {'cpu med':>7} {'peakMB':>6} {'rssMB':>6} {'worst':>7}  "
    "stages (median ms)"
)


def fmt_row(row: Row, radius: float, metric: bool) -> str:
    """One table line; ``recall`` is within 5 cm / 5 deg (metric) or 1% of the radius;
    ``worst`` is the largest error of a reported success in % of the radius (every success
    must stay under 25 %)."""
    t, r = np.array(row.t_err), np.array(row.r_err)
    ok = t[np.isfinite(t)]
    worst = f"{100 * ok.max() / radius:6.2f}%" if len(ok) else "      -"
    within = (t <= 0.05) & (r <= 5) if metric else (t <= 0.01 * radius)
    med_t = float(np.median(t))
    t_txt = f"{100 * med_t:7.2f}cm" if metric else f"{100 * med_t / radius:7.3f}%R"
    stage = " ".join(f"{k}={np.median(v):.0f}" for k, v in row.stages.items())
    tot, cpu = np.array(row.total_ms), np.array(row.cpu_ms)
    return (
        f"{row.dataset:<5} {row.method:<8} {row.localized:>3}/{row.queries:<2} {t_txt} "
        f"{np.median(r):5.3f}deg {100 * np.mean(within):6.1f}% {np.median(tot):7.1f} "
        f"{np.percentile(tot, 90):7.1f} {np.median(cpu):7.1f} {row.peak_mb:6.1f} "
        f"{row.rss_mb:6.0f} {worst}  {stage}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, default=Path.home() / ".cache" / "locgui" / "bench")
    parser.add_argument("--threads", type=int, default=2, help="torch threads (2)")
    parser.add_argument("--methods", default=",".join(METHODS))
    parser.add_argument("--no-fox", action="store_true")
    args = parser.parse_args()
    from locgui.runtime.threads import sleep_when_idle

    sleep_when_idle()  # as the app does, before torch loads
    import torch

    torch.set_num_threads(args.threads)
    logging.basicConfig(level=logging.WARNING)
    from locgui.io.synth import generate

    args.cache.mkdir(parents=True, exist_ok=True)
    demo = args.cache / "demo"
    if not (demo / "locgui_scene.json").exists():
        generate(demo, preset="demo")
    methods = [m for m in args.methods.split(",") if m]
    print(
        f"machine: {platform.processor() or platform.machine()}, {torch.get_num_threads()} "
        f"torch threads, python {sys.version.split()[0]}"
    )
    datasets = [("demo", demo, 0, True)]
    if FOX.exists() and not args.no_fox:
        datasets.append(("fox", FOX, 10, False))
    lines = []
    for name, source, holdout, metric in datasets:
        rows, builds, radius = bench_dataset(name, source, args.cache, holdout, methods)
        lines.append(
            f"# {name}: map build xfeat {builds['xfeat']:.1f} s, sift {builds['sift']:.1f} s"
            f" (0 = cached), scene radius {radius:.3f}"
        )
        lines += [fmt_row(r, radius, metric) for r in rows]
        base = next(r for r in rows if r.method == "pycolmap")
        for r in rows:
            if r.method == "sfm":
                speedup = np.median(base.total_ms) / np.median(r.total_ms)
                lines.append(f"# {name}: sfm is {speedup:.1f}x faster than the pycolmap baseline")
    print(HEADER)
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
