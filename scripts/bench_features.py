"""Time the local feature extractors and matchers at 640x480 and print the machine.

    .venv/bin/python scripts/bench_features.py [--device cpu|cuda|auto] [--threads 2]
        [--runs 10] [--image PATH]

Each figure is the median and 90th percentile of ``--runs`` timed runs after one warm-up.
The image defaults to the first fox photo in ../shared/data (else a procedural texture); the
second image of each pair is an exact homography warp of the first.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

import locgui  # noqa: F401  (zlib before pycolmap)

FOX = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "fox" / "images"
H = np.array([[0.97, -0.05, 20.0], [0.05, 0.97, -10.0], [0.0001, 0.0, 1.0]])


def load_image(path: str | None) -> np.ndarray:
    """(480, 640, 3) uint8 RGB: the image given, a fox photo, or a procedural texture."""
    import cv2

    candidates = [Path(path)] if path else sorted(FOX.glob("*.jpg"))[:1]
    for p in candidates:
        bgr = cv2.imread(str(p))
        if bgr is not None:
            h, w = bgr.shape[:2]
            side = min(w / 640, h / 480)  # centre crop to 4:3, then area resize
            cw, ch = int(640 * side), int(480 * side)
            crop = bgr[(h - ch) // 2 : (h - ch) // 2 + ch, (w - cw) // 2 : (w - cw) // 2 + cw]
            small = cv2.resize(crop, (640, 480), interpolation=cv2.INTER_AREA)
            return np.ascontiguousarray(small[:, :, ::-1])
    rng = np.random.default_rng(0)
    base = rng.uniform(0, 255, (61, 81, 3)).astype(np.float32)
    return np.clip(cv2.resize(base, (640, 480), interpolation=cv2.INTER_CUBIC), 0, 255).astype(
        np.uint8
    )


def timed(fn: Callable[[], Any], runs: int) -> tuple[float, float, Any]:
    """(median ms, p90 ms, last result) of ``runs`` calls after one warm-up call."""
    out = fn()
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        out = fn()
        times.append(1000.0 * (time.perf_counter() - t0))
    return float(np.median(times)), float(np.percentile(times, 90)), out


def machine(device: str) -> str:
    import torch

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no CUDA"
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return (
        f"{cpu}, {os.cpu_count()} cores (load {load:.1f}), torch {torch.__version__} with "
        f"{torch.get_num_threads()} threads, {gpu}, device {device}, Python "
        f"{platform.python_version()}"
    )


def main() -> None:
    import cv2
    import torch

    from locgui.methods.features import get_extractor, get_matcher
    from locgui.methods.features.common import resolve_device

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--image")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    device = str(resolve_device(args.device))
    img0 = load_image(args.image)
    shift = np.array([[1, 0, 0.5], [0, 1, 0.5], [0, 0, 1.0]])
    img1 = cv2.warpPerspective(img0, np.linalg.inv(shift) @ H @ shift, (640, 480))
    print(f"machine: {machine(device)}")
    print(f"{'what':44s} {'median ms':>10s} {'p90 ms':>8s}  result")

    setups = [
        ("xfeat", {"top_k": 4096}, ["mnn", "lighterglue"]),
        ("xfeat", {"top_k": 2048}, ["mnn", "lighterglue"]),
        ("sift", {"max_num_features": 4096, "num_threads": args.threads}, ["mnn"]),
        ("aliked", {"top_k": 2048}, ["mnn", "lightglue"]),
    ]
    for name, cfg, matchers in setups:
        try:
            extractor = get_extractor(name, device=device, **cfg)
        except Exception as exc:  # an optional extra missing: say so and go on
            print(f"{name}: skipped ({exc})")
            continue
        label = f"{name} {cfg.get('top_k', cfg.get('max_num_features'))} extract 640x480"
        med, p90, f0 = timed(partial(extractor.extract, img0), args.runs)
        print(f"{label:44s} {med:10.1f} {p90:8.1f}  {len(f0)} keypoints")
        f1 = extractor.extract(img1)
        for mname in matchers:
            matcher = get_matcher(mname, device=device)
            med, p90, m = timed(partial(matcher.match, f0, f1), args.runs)
            err = f1.keypoints[m.idx1] - _apply(H, f0.keypoints[m.idx0])
            good = float(np.mean(np.linalg.norm(err, axis=1) < 3.0)) if len(m) else 0.0
            what = f"  {mname} {len(f0)} x {len(f1)}"
            print(f"{what:44s} {med:10.1f} {p90:8.1f}  {len(m)} matches, {good:.0%} within 3 px")


def _apply(h: np.ndarray, xy: np.ndarray) -> np.ndarray:
    p = np.c_[xy, np.ones(len(xy))] @ h.T
    return p[:, :2] / p[:, 2:]


if __name__ == "__main__":
    main()
