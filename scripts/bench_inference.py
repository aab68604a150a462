"""Time XFeat's inference backends, torch and ONNX Runtime, in the same run at 640x480.

    .venv/bin/python scripts/bench_inference.py [--threads 2] [--runs 20] [--top-k 4096]
        [--image PATH] [--glue]

Prints, per backend, the median and 90th percentile of the dense pass alone (the CNN, heatmap
and local maxima: what the backend runs) and of the whole extraction (``extract``: that plus
keypoint selection and descriptor sampling in torch), then the torch / onnx ratios. The two
backends alternate run by run, so a change of machine load hits both alike. The graph is
exported into the user cache on first use (the time is printed); later runs load it.
The image is the first fox photo in ../shared/data if present, else a procedural texture.

``--glue`` also times LighterGlue on 2048 x 2048 keypoints (the image and its homography
warp): locgui's matcher (kornia's LightGlue, point pruning on), the same without pruning, and
an ONNX graph of the network without pruning exported here (a measurement, not a backend:
pruning keeps a data-dependent number of points per layer, which one graph cannot). Its
attention is written as ``scaled_dot_product_attention`` calls: exported as kornia writes
it (einsum), the graph took 2.5x longer in onnxruntime.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from typing import Any

import numpy as np
from bench_features import H, load_image, machine

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
    parser.add_argument("--glue", action="store_true", help="also time LighterGlue")
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
    if args.glue:
        bench_glue(rgb, onnx.model, args.runs)


def glue_core(net: Any) -> Any:
    """kornia's LightGlue ``net`` without early stopping or pruning, as one module:
    (normalized keypoints (1, M, 2), descriptors (1, M, 64), the same for N) ->
    (best match in image 1 (1, M), its probability where mutual else 0 (1, M))."""
    import torch
    import torch.nn.functional as F
    from kornia.feature.lightglue import apply_cached_rotary_emb

    def self_block(blk: Any, x: Any, enc: Any) -> Any:
        qkv = blk.Wqkv(x).unflatten(-1, (blk.num_heads, -1, 3)).transpose(1, 2)
        q, k, v = qkv[..., 0], qkv[..., 1], qkv[..., 2]
        q, k = apply_cached_rotary_emb(enc, q), apply_cached_rotary_emb(enc, k)
        context = F.scaled_dot_product_attention(q, k, v)
        message = blk.out_proj(context.transpose(1, 2).flatten(start_dim=-2))
        return x + blk.ffn(torch.cat([x, message], -1))

    def cross_block(blk: Any, x0: Any, x1: Any) -> tuple[Any, Any]:
        qk0, qk1, v0, v1 = (
            t.unflatten(-1, (blk.heads, -1)).transpose(1, 2)
            for t in (blk.to_qk(x0), blk.to_qk(x1), blk.to_v(x0), blk.to_v(x1))
        )
        m0 = F.scaled_dot_product_attention(qk0, qk1, v1, scale=blk.scale)
        m1 = F.scaled_dot_product_attention(qk1, qk0, v0, scale=blk.scale)
        m0, m1 = (blk.to_out(t.transpose(1, 2).flatten(start_dim=-2)) for t in (m0, m1))
        return x0 + blk.ffn(torch.cat([x0, m0], -1)), x1 + blk.ffn(torch.cat([x1, m1], -1))

    class GlueCore(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.net = net

        def forward(self, kpts0: Any, desc0: Any, kpts1: Any, desc1: Any) -> tuple[Any, Any]:
            d0, d1 = net.input_proj(desc0), net.input_proj(desc1)
            e0, e1 = net.posenc(kpts0), net.posenc(kpts1)
            for layer in net.transformers:
                d0, d1 = self_block(layer.self_attn, d0, e0), self_block(layer.self_attn, d1, e1)
                d0, d1 = cross_block(layer.cross_attn, d0, d1)
            head = net.log_assignment[-1]
            md0, md1 = head.final_proj(d0), head.final_proj(d1)
            md0, md1 = md0 / md0.shape[-1] ** 0.25, md1 / md1.shape[-1] ** 0.25
            scores = (
                F.log_softmax(md0 @ md1.transpose(-1, -2), -1)
                + F.log_softmax(md1 @ md0.transpose(-1, -2), -1).transpose(-1, -2)
                + F.logsigmoid(head.matchability(d0))
                + F.logsigmoid(head.matchability(d1)).transpose(1, 2)
            )
            max0, max1 = scores.max(2), scores.max(1)
            mutual = torch.arange(max0.indices.shape[1])[None] == max1.indices.gather(
                1, max0.indices
            )
            return max0.indices, torch.where(mutual, max0.values.exp(), 0.0)

    return GlueCore().eval()


def bench_glue(rgb: np.ndarray, network: Any, runs: int) -> None:
    import tempfile
    from pathlib import Path

    import cv2
    import torch
    from kornia.feature.lightglue import normalize_keypoints

    from locgui.methods.features import get_extractor, get_matcher
    from locgui.methods.features.onnx_backend import OnnxGraph, export_graph

    shift = np.array([[1.0, 0, 0.5], [0, 1.0, 0.5], [0, 0, 1.0]])
    warped = cv2.warpPerspective(rgb, np.linalg.inv(shift) @ H @ shift, (640, 480))
    xfeat = get_extractor("xfeat", top_k=2048, network=network)
    f0, f1 = xfeat.extract(rgb), xfeat.extract(warped)
    pruned, full = get_matcher("lighterglue"), get_matcher("lighterglue", width_confidence=-1)
    core = glue_core(full.net)

    def graph_inputs(f: Any) -> tuple[Any, Any]:
        size = torch.tensor([f.image_size], dtype=torch.float32)
        kpts = normalize_keypoints(torch.from_numpy(f.keypoints)[None] - 0.5, size)
        return kpts, torch.from_numpy(f.descriptors)[None]

    inputs = (*graph_inputs(f0), *graph_inputs(f1))
    m, n = torch.export.Dim("m", min=1, max=65536), torch.export.Dim("n", min=1, max=65536)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "lighterglue.onnx"
        t0 = time.perf_counter()
        export_graph(
            core, inputs, path, ["kpts0", "desc0", "kpts1", "desc1"], ["match0", "score0"],
            ({1: m}, {1: m}, {1: n}, {1: n}),
        )  # fmt: skip
        print(f"LighterGlue graph exported in {time.perf_counter() - t0:.1f} s")
        graph = OnnxGraph(path)
    feed = dict(zip(["kpts0", "desc0", "kpts1", "desc1"], [t.numpy() for t in inputs], strict=True))
    figures = alternate(
        {
            "torch, pruning": lambda: pruned.match(f0, f1),
            "torch, none": lambda: full.match(f0, f1),
            "onnx, none": lambda: graph.run(feed),
        },
        max(3, runs // 2),
    )
    match0, score0 = graph.run(feed)
    expected = full.match(f0, f1)
    keep = score0[0] > full.config.min_confidence
    same = np.array_equal(np.nonzero(keep)[0], expected.idx0) and np.array_equal(
        match0[0][keep], expected.idx1
    )
    print(f"LighterGlue {len(f0)} x {len(f1)} keypoints, {max(3, runs // 2)} runs "
          f"(onnx matches {'==' if same else '!='} torch without pruning)")  # fmt: skip
    for name, (median, p90) in figures.items():
        print(f"  {name:<15} median {median:6.1f} ms   p90 {p90:6.1f} ms")
    best = figures["torch, pruning"][0] / figures["onnx, none"][0]
    print(f"  torch with pruning / onnx: {best:.2f}x")


if __name__ == "__main__":
    main()
