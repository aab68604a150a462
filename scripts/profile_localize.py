"""Per-stage latency profile of the structure localizers, with same-run A/B of config variants.

Where a query's time goes (extract, retrieve, match, refine, pnp, and the rest: validation
and Python glue), wall and CPU time per stage (CPU above wall x threads, or CPU far above wall
in a single-threaded stage, points at thread oversubscription), and accuracy. Variants are
config overrides of one method, run on the same queries in this one process, alternating the
order query by query so that a noisy, shared machine biases neither; the ratios at the end
compare each variant to the first.

    .venv/bin/python scripts/profile_localize.py [--cache DIR] [--threads 2] \
        [--methods sfm,points] [--datasets demo,fox] \
        [--variant old:early_exit=false --variant new:early_exit=true] [--cprofile 10] \
        [--omp-wait passive]

Maps come from ``bench_localize.py``'s cache layout (``DIR/demo_xfeat.locmap``,
``DIR/fox_xfeat.locmap``) and are built there when missing. ``--cprofile N`` prints the
functions that take the most cumulative time over N queries of each method's first variant.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import logging
import os
import pstats
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

import locgui  # noqa: F401  (zlib before pycolmap)

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_localize import FOX, build, load_queries  # noqa: E402

STAGES = ("extract", "retrieve", "match", "refine", "pnp")


@dataclass
class Tally:
    """One (dataset, method, variant): per-query figures."""

    total: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    wall: dict[str, list[float]] = field(default_factory=dict)
    stage_cpu: dict[str, list[float]] = field(default_factory=dict)
    t_err: list[float] = field(default_factory=list)
    r_err: list[float] = field(default_factory=list)
    matched: list[float] = field(default_factory=list)


_STAGE_CPU: dict[str, float] = {}


def _patch_stage_cpu() -> None:
    """Make ``RunContext.stage`` also record process CPU time per stage (``_STAGE_CPU``)."""
    from locgui.runtime.context import RunContext

    original = RunContext.stage

    @contextmanager
    def stage(self: Any, name: str) -> Iterator[None]:
        start = time.process_time()
        try:
            with original(self, name):
                yield
        finally:
            _STAGE_CPU[name] = _STAGE_CPU.get(name, 0.0) + time.process_time() - start

    RunContext.stage = stage  # type: ignore[method-assign]


def parse_value(text: str) -> Any:
    low = text.lower()
    if low in ("true", "false"):
        return low == "true"
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def parse_variant(text: str) -> tuple[str, dict[str, Any]]:
    """``name:key=value,key=value`` -> (name, overrides)."""
    name, _, rest = text.partition(":")
    pairs = [p.split("=", 1) for p in rest.split(",") if p]
    return name, {k: parse_value(v) for k, v in pairs}


def make_localizer(method: str, bundle: Any, overrides: dict[str, Any]) -> Any:
    from locgui.methods.registry import get_method

    spec = get_method(method)
    config = spec.make_config()
    fields = set(vars(config))
    for key, value in overrides.items():
        if key in fields:
            setattr(config, key, value)
    return spec.create(bundle, config, "cpu")


def run_query(loc: Any, query: Any, tally: Tally) -> None:
    from locgui.core.metrics import pose_error
    from locgui.runtime.context import RunContext

    _STAGE_CPU.clear()
    start, cpu = time.perf_counter(), time.process_time()
    res = loc.localize(query, RunContext())
    tally.total.append(1000 * (time.perf_counter() - start))
    tally.cpu.append(1000 * (time.process_time() - cpu))
    for k, v in res.timings.items():
        tally.wall.setdefault(k, []).append(1000 * v)
        tally.stage_cpu.setdefault(k, []).append(1000 * _STAGE_CPU.get(k, 0.0))
    tally.wall.setdefault("other", []).append(tally.total[-1] - 1000 * sum(res.timings.values()))
    tally.matched.append(float(res.extras.get("references_matched", len(res.retrieved))))
    if res.success and res.cam_from_world is not None:
        t, r = pose_error(res.cam_from_world, query.gt_cam_from_world)
    else:
        t, r = float("inf"), float("inf")
    tally.t_err.append(t)
    tally.r_err.append(r)


def summary(name: str, tally: Tally, radius: float, metric: bool) -> str:
    t, r = np.array(tally.t_err), np.array(tally.r_err)
    ok = int(np.isfinite(t).sum())
    within = (t <= 0.05) & (r <= 5) if metric else (t <= 0.01 * radius)
    med_t = float(np.median(t))
    t_txt = f"{100 * med_t:7.3f}cm" if metric else f"{100 * med_t / radius:7.3f}%R"
    order = [s for s in (*STAGES, "relative_pose") if s in tally.wall] + [
        s for s in tally.wall if s not in (*STAGES, "relative_pose", "other")
    ]
    stages = " ".join(
        f"{s}={np.median(tally.wall[s]):.1f}/{np.median(tally.stage_cpu[s]):.0f}" for s in order
    )
    return (
        f"  {name:<10} ok {ok:>3}/{len(t):<3} med t {t_txt} med R {np.median(r):6.3f}deg "
        f"recall {100 * np.mean(within):5.1f}%  ms med {np.median(tally.total):6.1f} "
        f"p90 {np.percentile(tally.total, 90):6.1f} cpu {np.median(tally.cpu):6.1f}  "
        f"refs {np.mean(tally.matched):.1f}\n"
        f"  {'':<10} stages wall/cpu ms: {stages} other={np.median(tally.wall['other']):.1f}"
    )


def cprofile(loc: Any, queries: list[Any], top: int = 25) -> str:
    from locgui.runtime.context import RunContext

    prof = cProfile.Profile()
    prof.enable()
    for q in queries:
        loc.localize(q, RunContext())
    prof.disable()
    out = io.StringIO()
    pstats.Stats(prof, stream=out).sort_stats("cumulative").print_stats(top)
    return out.getvalue()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, default=Path.home() / ".cache" / "locgui" / "bench")
    parser.add_argument("--threads", type=int, default=2, help="torch threads (2)")
    parser.add_argument("--methods", default="sfm,points")
    parser.add_argument("--datasets", default="demo,fox")
    parser.add_argument(
        "--variant",
        action="append",
        default=[],
        help="NAME:key=value,... (repeatable; default: 'default', no change)",
    )
    parser.add_argument(
        "--omp-wait",
        choices=("passive", "active"),
        default=None,
        help="OMP_WAIT_POLICY for torch's threads (set before torch loads; default: the "
        "app's, sleep_when_idle)",
    )
    parser.add_argument("--repeat", type=int, default=1, help="passes over the queries")
    parser.add_argument("--cprofile", type=int, default=0, help="queries to cProfile")
    args = parser.parse_args()
    if args.omp_wait:
        os.environ["OMP_WAIT_POLICY"] = args.omp_wait.upper()
    from locgui.runtime.threads import sleep_when_idle

    sleep_when_idle()
    import torch

    torch.set_num_threads(args.threads)
    logging.basicConfig(level=logging.WARNING)
    _patch_stage_cpu()
    from locgui.io.bundle import open_bundle
    from locgui.io.synth import generate

    variants = [parse_variant(v) for v in args.variant] or [("default", {})]
    args.cache.mkdir(parents=True, exist_ok=True)
    demo = args.cache / "demo"
    if "demo" in args.datasets and not (demo / "locgui_scene.json").exists():
        generate(demo, preset="demo")
    sources = {"demo": (demo, 0, True), "fox": (FOX, 10, False)}
    wait = os.environ.get("OMP_WAIT_POLICY", "(unset)")
    load = Path("/proc/loadavg").read_text().strip()
    print(f"torch threads {torch.get_num_threads()}, OMP_WAIT_POLICY {wait}, loadavg {load}")
    print("stages: median wall/cpu ms per query; other = total - stages (validation, glue)")
    for dataset in [d for d in args.datasets.split(",") if d]:
        source, holdout, metric = sources[dataset]
        path = args.cache / f"{dataset}_xfeat.locmap"
        build(source, path, "xfeat", holdout)
        bundle = open_bundle(path)
        queries = load_queries(bundle)
        radius = bundle.scene.scene_radius()
        for method in [m for m in args.methods.split(",") if m]:
            locs = [(name, make_localizer(method, bundle, o)) for name, o in variants]
            tallies = {name: Tally() for name, _ in variants}
            for _, loc in locs:  # warm-up: models, caches, reference images
                for q in queries[:3]:
                    run_query(loc, q, Tally())
            for rep in range(args.repeat):
                for i, q in enumerate(queries):
                    order = locs if (i + rep) % 2 == 0 else locs[::-1]
                    for name, loc in order:
                        run_query(loc, q, tallies[name])
            print(f"# {dataset} {method}: {len(queries)} queries x {args.repeat}, "
                  f"loadavg {Path('/proc/loadavg').read_text().split()[0]}")  # fmt: skip
            for name, _ in variants:
                print(summary(name, tallies[name], radius, metric))
            first = variants[0][0]
            for name, _ in variants[1:]:
                ratio = np.median(tallies[name].total) / np.median(tallies[first].total)
                paired = np.median(np.array(tallies[name].total) / np.array(tallies[first].total))
                print(f"  {name}/{first}: median time ratio {ratio:.3f}, "
                      f"median per-query ratio {paired:.3f}")  # fmt: skip
            if args.cprofile:
                print(cprofile(locs[0][1], queries[: args.cprofile]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
