"""Fixtures for the features/matchers/retrieval tests: textured images and exact warps."""

from __future__ import annotations

import numpy as np
import pytest


def textured_image(width: int = 320, height: int = 240, seed: int = 0) -> np.ndarray:
    """(H, W, 3) uint8 RGB: multi-scale smooth noise plus small filled shapes (corners)."""
    import cv2

    rng = np.random.default_rng(seed)
    img = np.zeros((height, width, 3), np.float32)
    for cell, amplitude in ((32, 90.0), (8, 50.0), (3, 25.0)):
        base = rng.normal(0, amplitude, (height // cell + 2, width // cell + 2, 3))
        img += cv2.resize(base.astype(np.float32), (width, height), interpolation=cv2.INTER_LINEAR)
    img = np.clip(img + 128, 0, 255).astype(np.uint8)
    for _ in range(150):
        color = tuple(int(c) for c in rng.integers(0, 256, 3))
        center = rng.integers(0, [width, height])
        size = int(rng.integers(3, 16))
        if rng.random() < 0.5:
            offsets = rng.integers(-size, size + 1, (int(rng.integers(3, 6)), 2))
            cv2.fillPoly(img, [(center + offsets).astype(np.int32)], color, cv2.LINE_AA)
        else:
            cv2.circle(img, (int(center[0]), int(center[1])), size // 2 + 1, color, -1, cv2.LINE_AA)
    return img


def colmap_to_cv_homography(h_colmap: np.ndarray) -> np.ndarray:
    """A homography in COLMAP pixels (centre of first pixel 0.5) -> OpenCV pixels (0.0)."""
    shift = np.array([[1.0, 0.0, 0.5], [0.0, 1.0, 0.5], [0.0, 0.0, 1.0]])
    return np.linalg.inv(shift) @ h_colmap @ shift


def warp(rgb: np.ndarray, h_colmap: np.ndarray) -> np.ndarray:
    """``rgb`` warped by ``h_colmap`` (maps COLMAP pixels of ``rgb`` to the output's)."""
    import cv2

    height, width = rgb.shape[:2]
    return cv2.warpPerspective(
        rgb, colmap_to_cv_homography(h_colmap), (width, height), flags=cv2.INTER_LINEAR
    )


def apply_homography(h: np.ndarray, xy: np.ndarray) -> np.ndarray:
    """(N, 2) points mapped by the 3x3 homography ``h``."""
    p = np.c_[xy, np.ones(len(xy))] @ h.T
    return p[:, :2] / p[:, 2:]


# A mild perspective warp: rotation ~3 degrees, scale 0.97, shift, slight keystone.
HOMOGRAPHY = np.array(
    [[0.97, -0.05, 10.0], [0.05, 0.97, -5.0], [0.0001, 0.0, 1.0]], dtype=np.float64
)


@pytest.fixture(scope="session")
def textured_rgb() -> np.ndarray:
    return textured_image()


@pytest.fixture(scope="session")
def warped_pair(textured_rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(image, warped image, COLMAP-pixel homography from image to warped image)."""
    return textured_rgb, warp(textured_rgb, HOMOGRAPHY), HOMOGRAPHY
