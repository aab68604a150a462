"""Helpers shared by the extractors: device choice, input checks, resizing.

torch is imported inside the functions so that importing this module stays light.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from locgui.core.errors import MethodError

if TYPE_CHECKING:
    import torch


def resolve_device(device: str) -> torch.device:
    """``"auto"`` -> CUDA when available else CPU; otherwise the named torch device.

    Raises MethodError for a CUDA device on a machine without CUDA.
    """
    import torch

    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    dev = torch.device(device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise MethodError(f"device {device!r} requested but CUDA is not available")
    return dev


def check_rgb(rgb: np.ndarray, who: str) -> None:
    """Raise MethodError unless ``rgb`` is an (H, W, 3) uint8 image."""
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
        raise MethodError(
            f"{who}: expected an (H, W, 3) uint8 RGB image, got {rgb.shape} {rgb.dtype}"
        )
    if min(rgb.shape[:2]) < 8:
        raise MethodError(f"{who}: image {rgb.shape[1]}x{rgb.shape[0]} is too small")


def target_size(width: int, height: int, max_side: int | None) -> tuple[int, int]:
    """(width, height) after shrinking so the longer side is at most ``max_side``.

    Images are never enlarged; ``None`` or 0 keeps the size.
    """
    if not max_side or max(width, height) <= max_side:
        return width, height
    scale = max_side / max(width, height)
    return max(1, round(width * scale)), max(1, round(height * scale))


def rgb_to_tensor(rgb: np.ndarray, device: torch.device, max_side: int | None) -> torch.Tensor:
    """(H, W, 3) uint8 -> (1, 3, h, w) float32 in [0, 1] on ``device``, shrunk to ``max_side``.

    Shrinking uses area averaging (an exact block mean for integer factors). Keypoints found in
    the shrunk image map back to the original by multiplying COLMAP-convention coordinates by
    ``(W / w, H / h)``: pixel edges of both images line up. The shrinking is OpenCV's, before
    the copy to ``device``: a 1920x1080 image took 32 ms in torch's area interpolation on 2 CPU
    cores, 5 ms in OpenCV's.
    """
    import cv2
    import torch

    height, width = rgb.shape[:2]
    image: np.ndarray = np.ascontiguousarray(rgb).astype(np.float32)
    w, h = target_size(width, height, max_side)
    if (w, h) != (width, height):
        image = cv2.resize(image, (w, h), interpolation=cv2.INTER_AREA)
    x = torch.from_numpy(image).to(device)
    return x.permute(2, 0, 1)[None].div_(255.0)


def to_numpy32(t: torch.Tensor) -> np.ndarray:
    """A torch tensor as a contiguous float32 numpy array on the CPU."""
    return np.ascontiguousarray(t.detach().float().cpu().numpy(), dtype=np.float32)
