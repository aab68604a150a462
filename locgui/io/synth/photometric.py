"""Photometric changes applied to query images (the map stays clean)."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from locgui.core.errors import LocguiError


@dataclass(frozen=True)
class Photometric:
    """Camera effects applied in this order: blur, exposure gain, sensor noise.

    Attributes:
        exposure: multiplicative gain on 8-bit intensities (1 = unchanged).
        noise: standard deviation of additive Gaussian noise, 8-bit levels (0 = none).
        blur: Gaussian blur kernel size in pixels, odd (0 or 1 = none).
    """

    exposure: float = 1.0
    noise: float = 0.0
    blur: int = 0

    def __post_init__(self) -> None:
        if self.exposure <= 0:
            raise LocguiError(f"exposure gain must be positive, got {self.exposure}")
        if self.noise < 0:
            raise LocguiError(f"noise level must be >= 0, got {self.noise}")
        if self.blur < 0 or (self.blur > 1 and self.blur % 2 == 0):
            raise LocguiError(f"blur kernel size must be odd (or 0 for none), got {self.blur}")

    @property
    def is_identity(self) -> bool:
        return self.exposure == 1.0 and self.noise == 0.0 and self.blur <= 1

    def to_dict(self) -> dict[str, float]:
        return {k: float(v) for k, v in asdict(self).items()}

    def apply(self, rgb: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """(H, W, 3) uint8 -> (H, W, 3) uint8 with the effects applied."""
        if self.is_identity:
            return rgb
        image = rgb.astype(np.float32)
        if self.blur > 1:
            import cv2

            image = np.asarray(cv2.GaussianBlur(image, (self.blur, self.blur), 0), np.float32)
        image *= np.float32(self.exposure)
        if self.noise > 0:
            image += rng.normal(0.0, self.noise, image.shape).astype(np.float32)
        return np.clip(np.rint(image), 0, 255).astype(np.uint8)
