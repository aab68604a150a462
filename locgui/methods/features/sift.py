"""SIFT keypoints with RootSIFT descriptors from pycolmap (COLMAP's CPU SIFT)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np

from locgui.core.errors import MethodError
from locgui.methods.features.common import check_rgb, target_size
from locgui.methods.features.types import Features

log = logging.getLogger(__name__)

_LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32) / 255.0


@dataclass(frozen=True)
class SiftConfig:
    max_num_features: int = 4096
    """COLMAP keeps the features of the largest scales up to this count."""
    peak_threshold: float = 0.02 / 3
    """Difference-of-Gaussians peak threshold (COLMAP default)."""
    edge_threshold: float = 10.0
    """Edge response rejection threshold (COLMAP default)."""
    upright: bool = False
    """Skip orientation estimation (one upright descriptor per keypoint)."""
    max_side: int | None = None
    """Shrink the image so its longer side is at most this many pixels (None: full size)."""
    num_threads: int = 2
    """CPU threads of the COLMAP extractor."""


def rgb_to_gray(rgb: np.ndarray) -> np.ndarray:
    """(H, W, 3) uint8 RGB -> (H, W) float32 luminance in [0, 1]."""
    return np.ascontiguousarray(rgb.astype(np.float32) @ _LUMA)


def root_normalize(desc: np.ndarray) -> np.ndarray:
    """COLMAP's quantized RootSIFT (uint8) -> float32 rows of unit L2 norm."""
    out = desc.astype(np.float32)
    norm = np.linalg.norm(out, axis=1, keepdims=True)
    return np.ascontiguousarray(out / np.maximum(norm, 1e-12), dtype=np.float32)


class SiftExtractor:
    """COLMAP SIFT on the CPU: 128-D RootSIFT descriptors (L1-root, then L2-normalized).

    pycolmap returns keypoints already in COLMAP convention (its SIFT adds 0.5 to the
    detector's 0-based coordinates); the test against an exact 2x block-mean downsample checks
    it. ``scores`` hold the keypoint scale in pixels (SIFT reports no detection score; COLMAP
    ranks by scale when it caps the count).
    """

    name = "sift"
    dim = 128

    def __init__(self, device: str = "cpu", **cfg: Any) -> None:
        self.config = SiftConfig(**cfg)
        if not str(device).startswith(("cpu", "auto", "cuda")):
            raise MethodError(f"sift: unknown device {device!r}")
        self.device = "cpu"  # the PyPI pycolmap wheel has no CUDA SIFT
        self._extractor = self._create()

    def _create(self) -> Any:
        import pycolmap

        cfg = self.config
        options = pycolmap.FeatureExtractionOptions()
        options.num_threads = cfg.num_threads
        options.sift.max_num_features = cfg.max_num_features
        options.sift.peak_threshold = cfg.peak_threshold
        options.sift.edge_threshold = cfg.edge_threshold
        options.sift.upright = cfg.upright
        options.sift.normalization = pycolmap.Normalization.L1_ROOT
        return pycolmap.FeatureExtractor.create(options, device=pycolmap.Device.cpu)

    def extract(self, rgb: np.ndarray) -> Features:
        """Features of ``rgb`` ((H, W, 3) uint8), keypoints in its pixel frame (COLMAP)."""
        import cv2

        check_rgb(rgb, "sift")
        height, width = rgb.shape[:2]
        gray = rgb_to_gray(rgb)
        w, h = target_size(width, height, self.config.max_side)
        if (w, h) != (width, height):
            gray = cv2.resize(gray, (w, h), interpolation=cv2.INTER_AREA)
        keypoints, descriptors = self._extractor.extract_from_float32_array(gray)
        n = len(keypoints)
        geometry = np.array(
            [(k.x, k.y, k.compute_scale()) for k in keypoints], dtype=np.float32
        ).reshape(n, 3)
        xy = geometry[:, :2] * np.array([width / w, height / h], dtype=np.float32)
        scale = geometry[:, 2] * np.float32(width / w)
        feats = Features(
            keypoints=np.ascontiguousarray(xy),
            descriptors=root_normalize(np.asarray(descriptors.data).reshape(n, 128)),
            scores=np.ascontiguousarray(scale),
            image_size=(width, height),
            kind="sift",
        )
        log.debug("sift: %d keypoints in %dx%d", n, width, height)
        return feats
