"""Time XFeat's inference backends, torch and ONNX Runtime, in the same run at 640x480.

    .venv/bin/python scripts/bench_inference.py [--threads 2] [--runs 20] [--top-k 4096]
        [--image PATH]

Prints, per backend, the median and 90th percentile of the dense pass alone (the CNN, heatmap
and local maxima: what the backend runs) and of the whole extraction (``extract``: that plus
keypoint selection and descriptor sampling in torch), then the torch / onnx ratios. The two
backends alternate run by run, so a change of machine load hits both alike. The graph is
exported into the user cache on first use (the time is printed); later runs load it.
The image is the first fox photo in ../shared/data if present, else a procedural texture.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from typing import Any

import numpy as np
from bench_features import load_image, machine

import locgui  # noqa: F401  (zlib before pycolmap)


def alternate(fns: dict[str, Callable[[], Any]], runs: int) -> dict[str, tuple[float, float]]:
    """{name: (median ms, p90 ms)} of ``runs`` calls of each function, taking turns, after
    two warm-up calls each."""
    for fn in fns.values():
        fn()
        fn()
    times: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(runs):
        for name, fn in fns.items():
            t0 = time.perf_counter()
            fn()
            times[name].append(1000.0 * (time.perf_counter() - t0))
    return {k: (float(np.median(v)), float(np.percentile(v, 90))) for k, v in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--top-k", type=int, default=4096)
    parser.add_argument("--image", default=None)
    args = parser.parse_args()

    import torch

    from locgui.methods.features import get_extractor
    from locgui.methods.features.xfeat_dense import run_graph

    torch.set_num_threads(args.threads)
    rgb = load_image(args.image)
    print(machine("cpu"))
    t0 = time.perf_counter()
    onnx = get_extractor("xfeat", top_k=args.top_k, backend="onnx")
    print(f"onnx graph ready in {time.perf_counter() - t0:.2f} s (export on first use, then load)")
    if onnx.backend != "onnx":
        raise SystemExit("the onnx backend did not load (see the warning above)")
    ref = get_extractor("xfeat", top_k=args.top_k, backend="torch", network=onnx.model)

    x32, _, _ = ref.model.preprocess_tensor(
        torch.from_numpy(rgb).permute(2, 0, 1)[None].float() / 255.0
    )

    def dense_torch() -> Any:
        with torch.inference_mode():
            return ref.dense(x32)

    figures = alternate(
        {
            "dense torch": dense_torch,
            "dense onnx": lambda: run_graph(onnx.graph, x32),
            "extract torch": lambda: ref.extract(rgb),
            "extract onnx": lambda: onnx.extract(rgb),
        },
        args.runs,
    )
    n_ref, n_onnx = len(ref.extract(rgb)), len(onnx.extract(rgb))
    print(f"XFeat 640x480, top_k {args.top_k} ({n_ref} / {n_onnx} keypoints), {args.runs} runs")
    for name, (median, p90) in figures.items():
        print(f"  {name:<14} median {median:6.1f} ms   p90 {p90:6.1f} ms")
    for stage in ("dense", "extract"):
        ratio = figures[f"{stage} torch"][0] / figures[f"{stage} onnx"][0]
        print(f"  {stage} torch / onnx: {ratio:.2f}x")


if __name__ == "__main__":
    main()
