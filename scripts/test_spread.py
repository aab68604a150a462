"""The spread of the learned-method tests' figures over seeds, torch thread counts and CPU
kernel sets, against each test's bound (tests/plugins/learned.py records them).

Each configuration runs ``pytest -m learned`` in a fresh process with LOCGUI_TEST_SEED,
LOCGUI_TEST_THREADS and ATEN_CPU_CAPABILITY set (the last makes torch use the AVX2 or
AVX-512 kernels a different CPU would pick), then one line per figure prints the worst value
over all runs and the headroom left to the bound.

    .venv/bin/python scripts/test_spread.py     # seeds 0-2 x 1, 2 threads x 2 kernel sets
    .venv/bin/python scripts/test_spread.py --seeds 0 --threads 1 2 -k nerf
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run_one(seed: int, threads: int, kernels: str, select: str | None, log: Path) -> dict:
    """One pytest run; returns its figures and outcome."""
    with tempfile.NamedTemporaryFile(suffix=".jsonl", delete=False) as f:
        figures = Path(f.name)
    env = {**os.environ, "LOCGUI_TEST_SEED": str(seed), "LOCGUI_TEST_THREADS": str(threads),
           "LOCGUI_TEST_FIGURES": str(figures), "QT_QPA_PLATFORM": "offscreen"}  # fmt: skip
    if kernels != "default":
        env["ATEN_CPU_CAPABILITY"] = kernels
    cmd = [sys.executable, "-m", "pytest", "-m", "learned", "-q", "-p", "no:cacheprovider"]
    if select:
        cmd += ["-k", select]
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    log.write_text(proc.stdout + proc.stderr)
    rows = [json.loads(line) for line in figures.read_text().splitlines() if line.strip()]
    figures.unlink()
    summary = (proc.stdout.strip().splitlines() or ["(no output)"])[-1]
    return {"rows": rows, "rc": proc.returncode, "summary": summary,
            "seconds": time.perf_counter() - start}  # fmt: skip


def headroom(value: float, bound: float, op: str) -> float:
    """How far inside its bound a value is, as a fraction of the bound (negative: outside)."""
    scale = abs(bound) or 1.0
    return (bound - value) / scale if op == "<" else (value - bound) / scale


def report(rows: list[dict]) -> None:
    groups: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for row in rows:
        groups[(row["test"], row["figure"])].append(row)
    print(f"\n{'test / figure':74s} {'bound':>9s} {'min':>9s} {'median':>9s} {'max':>9s} "
          f"{'headroom':>8s}  runs")  # fmt: skip
    for (test, figure), items in sorted(groups.items()):
        values = sorted(r["value"] for r in items)
        op, bound = items[0]["op"], items[0]["bound"]
        worst = values[-1] if op == "<" else values[0]
        name = f"{test.split('::', 1)[1]} / {figure}"
        print(f"{name[:74]:74s} {op}{bound:8.4g} {values[0]:9.4g} {values[len(values) // 2]:9.4g}"
              f" {values[-1]:9.4g} {headroom(worst, bound, op):8.0%}  {len(items)}")  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--kernels", nargs="+", default=["default", "avx2"],
                        help="ATEN_CPU_CAPABILITY values (default = what torch picks)")  # fmt: skip
    parser.add_argument("-k", dest="select", help="pytest -k expression")
    parser.add_argument("--logs", type=Path, default=Path(tempfile.gettempdir()) / "test_spread")
    parser.add_argument("--json", type=Path, help="also write every figure here")
    args = parser.parse_args()
    args.logs.mkdir(parents=True, exist_ok=True)
    all_rows, failed = [], []
    for seed, threads, kernels in itertools.product(args.seeds, args.threads, args.kernels):
        log = args.logs / f"seed{seed}_t{threads}_{kernels}.log"
        out = run_one(seed, threads, kernels, args.select, log)
        all_rows += out["rows"]
        print(f"seed {seed} threads {threads} kernels {kernels:8s} {out['seconds']:6.0f} s  "
              f"{out['summary']}", flush=True)  # fmt: skip
        if out["rc"] != 0:
            failed.append(str(log))
    report(all_rows)
    if args.json:
        args.json.write_text(json.dumps(all_rows, indent=1))
    if failed:
        print("\nfailing runs (logs):", *failed, sep="\n  ")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
