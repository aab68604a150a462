"""XFeat's dense pass, the part that both inference backends (torch, ONNX Runtime) run.

``XFeatDense`` is XFeat's CNN plus the dense post-processing that costs as much again in torch
on the CPU (the keypoint heatmap and its 5x5 local maxima); keypoint selection, scoring and
descriptor sampling stay in torch. The same module is what torch runs and what is exported,
so the two backends differ only in who executes the graph.

Loaded graphs are shared process-wide by file. The file's name is the hash of the weights
(``onnx_backend.graph_file``), so a shared graph cannot be stale the way a map's resources can.
"""

from __future__ import annotations

import threading
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from locgui.methods.features.onnx_backend import OnnxGraph, export_graph, graph_file, load_graph

GRAPH_VERSION = 1
"""Bump when ``XFeatDense.forward`` changes: cached graphs of older versions are not used."""

OUTPUTS = ["descriptor_map", "heatmap", "reliability", "local_max"]

_graphs: dict[Path, OnnxGraph | Exception] = {}  # a failed export is not retried
_graphs_lock = threading.Lock()


class XFeatDense(nn.Module):
    """XFeat's dense outputs for a batch of images whose sides are multiples of 32.

    Input: ``image`` (B, 3, H, W) float in [0, 1]. Outputs:

    - ``descriptor_map`` (B, 64, H/8, W/8): L2-normalized dense descriptors;
    - ``heatmap`` (B, 1, H, W): keypoint probability per pixel (softmax over XFeat's 8x8 cells);
    - ``reliability`` (B, 1, H/8, W/8): XFeat's reliability map;
    - ``local_max`` (B, 1, H, W) bool: the heatmap equals its 5x5 maximum there (XFeat's NMS
      before the detection threshold, which the caller applies).
    """

    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net = net

    def forward(self, image: torch.Tensor) -> tuple[torch.Tensor, ...]:
        feats, logits, reliability = self.net(image)
        scores = F.softmax(logits, 1)[:, :64]
        b, _, h, w = scores.shape
        heatmap = scores.permute(0, 2, 3, 1).reshape(b, h, w, 8, 8)
        heatmap = heatmap.permute(0, 1, 3, 2, 4).reshape(b, 1, h * 8, w * 8)
        local_max = heatmap == F.max_pool2d(heatmap, kernel_size=5, stride=1, padding=2)
        return F.normalize(feats, dim=1), heatmap, reliability, local_max


def export_xfeat_dense(dense: XFeatDense, path: Path) -> None:
    """Export ``dense`` with a fixed batch of 1 and dynamic height and width."""
    height = torch.export.Dim("height", min=32, max=16384)
    width = torch.export.Dim("width", min=32, max=16384)
    example = torch.rand(1, 3, 480, 640)
    export_graph(
        dense,
        (example,),
        path,
        input_names=["image"],
        output_names=OUTPUTS,
        dynamic_shapes=({2: height, 3: width},),
    )


def xfeat_graph(dense: XFeatDense, directory: Path | None = None) -> OnnxGraph:
    """The exported graph of ``dense`` (a CPU module), exported on first use into the cache
    (``directory``; default ``onnx_backend.cache_dir()``) and shared within the process.

    Raises what the export or onnxruntime raised; again, without a second try, for the rest of
    the process (an export that failed once would fail again, after seconds of work).
    """
    path = graph_file("xfeat-dense", dense, GRAPH_VERSION, directory)
    with _graphs_lock:
        if path not in _graphs:
            try:
                _graphs[path] = load_graph(path, lambda p: export_xfeat_dense(dense, p))
            except Exception as exc:  # onnxruntime and the exporter raise many types
                _graphs[path] = exc
        graph = _graphs[path]
    if isinstance(graph, Exception):
        raise RuntimeError(f"{type(graph).__name__}: {graph}") from graph
    return graph


def run_graph(graph: OnnxGraph, image: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """``XFeatDense``'s outputs computed by ``graph`` for ``image`` (1, 3, H, W) on the CPU,
    as torch tensors sharing the arrays onnxruntime returned."""
    array = image.detach().cpu().float().contiguous().numpy()
    return tuple(torch.from_numpy(out) for out in graph.run({"image": array}))
