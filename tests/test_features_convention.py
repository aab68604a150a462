"""Keypoints are in COLMAP pixels (centre of the top-left pixel at (0.5, 0.5)).

SIFT (sub-pixel, scale covariant) is checked to < 0.05 px against an exact 2x block-mean
downsample: a 0-based convention would show up as a 0.5 px mean residual. XFeat keypoints are
heatmap cells (integer, or refined to sub-pixel with ``subpixel``) scaled by its internal
resize; the conversion is checked exactly (< 1e-3 px) against feeding the network the
already-resized image, and the learned detector's remaining bias is bounded statistically.
"""

from __future__ import annotations

import numpy as np
import pytest

from locgui.methods.features import Features, get_extractor, get_matcher
from tests.plugins.features import textured_image

pytestmark = pytest.mark.usefixtures("one_torch_thread")

torch = pytest.importorskip("torch")


def block_mean2(rgb: np.ndarray) -> np.ndarray:
    """Exact 2x downsample: each output pixel is the mean of a 2x2 block, (H/2, W/2, 3) float."""
    h, w = rgb.shape[:2]
    return rgb.astype(np.float64).reshape(h // 2, 2, w // 2, 2, 3).mean(axis=(1, 3))


def scale_residuals(small: Features, big: Features, matcher: str, max_err: float) -> np.ndarray:
    """(K, 2) residuals big - 2 * small of the matched keypoints within ``max_err`` px."""
    m = get_matcher(matcher, **({"ratio": 0.8} if matcher == "mnn" else {})).match(small, big)
    res = big.keypoints[m.idx1] - 2.0 * small.keypoints[m.idx0]
    return res[np.linalg.norm(res, axis=1) < max_err]


def test_sift_keypoints_are_colmap_convention() -> None:
    big = textured_image(320, 240, seed=3)
    small = np.round(block_mean2(big)).astype(np.uint8)
    sift = get_extractor("sift")
    res = scale_residuals(sift.extract(small), sift.extract(big), "mnn", 1.5)
    assert len(res) > 150
    assert np.all(np.abs(res.mean(axis=0)) < 0.05), res.mean(axis=0)


@pytest.mark.parametrize("subpixel", [False, True])
def test_xfeat_conversion_of_its_internal_resize_is_exact(subpixel: bool) -> None:
    """200x150 runs at 192x128 inside XFeat: same result as giving it that image directly."""
    import torch.nn.functional as F

    xfeat = get_extractor("xfeat", top_k=1024, subpixel=subpixel)
    rgb = textured_image(200, 150, seed=5)
    full = xfeat.extract(rgb)
    x = torch.from_numpy(rgb).permute(2, 0, 1)[None].float() / 255.0
    x = F.interpolate(x, (128, 192), mode="bilinear", align_corners=False)
    direct = xfeat.extract_tensor(x, (192, 128))  # type: ignore[attr-defined]
    assert len(full) == len(direct) > 100
    if not subpixel:  # heatmap cell i of the 192x128 input has its centre at i + 0.5 ...
        np.testing.assert_array_equal(direct.keypoints - 0.5, np.round(direct.keypoints - 0.5))
    # ... and the same (refined) cell of the 200x150 image at (i + 0.5) * (200 / 192, 150 / 128).
    np.testing.assert_allclose(full.keypoints, direct.keypoints * [200 / 192, 150 / 128], atol=1e-3)


def test_xfeat_max_side_scales_keypoints_back_exactly() -> None:
    rgb = textured_image(320, 256, seed=6)
    shrunk = get_extractor("xfeat", top_k=1024, max_side=160).extract(rgb)
    half = torch.from_numpy(block_mean2(rgb) / 255.0).float().permute(2, 0, 1)[None]
    direct = get_extractor("xfeat", top_k=1024).extract_tensor(half, (160, 128))  # type: ignore[attr-defined]
    assert shrunk.image_size == (320, 256) and len(shrunk) == len(direct) > 100
    np.testing.assert_allclose(shrunk.keypoints, 2.0 * direct.keypoints, atol=1e-3)


def test_xfeat_detections_have_no_half_pixel_bias() -> None:
    """Across a 2x scale change the mean residual is the detector's bias at the small scale;
    a 0-based convention adds 0.5 px to both axes. XFeat's learned bias measured 0.1-0.35 px
    depending on the image (see the report), hence the 0.4 px bound."""
    big = textured_image(640, 480, seed=3)
    small = np.round(block_mean2(big)).astype(np.uint8)
    xfeat = get_extractor("xfeat", top_k=2048)
    res = scale_residuals(xfeat.extract(small), xfeat.extract(big), "lighterglue", 2.5)
    assert len(res) > 200
    assert np.linalg.norm(res.mean(axis=0)) < 0.4, res.mean(axis=0)


def test_rgb_to_tensor_shrinks_by_block_means() -> None:
    """The network input: channels first in [0, 1], shrunk by an integer factor to the exact
    block means (3 x 3 here), and unchanged when the image is small enough."""
    from locgui.methods.features.common import rgb_to_tensor

    rgb = textured_image(90, 60, seed=2)
    got = rgb_to_tensor(rgb, torch.device("cpu"), 30).numpy()[0].transpose(1, 2, 0)
    blocks = rgb.astype(np.float64).reshape(20, 3, 30, 3, 3).mean(axis=(1, 3)) / 255
    np.testing.assert_allclose(got, blocks, atol=1e-6)
    same = rgb_to_tensor(rgb, torch.device("cpu"), 90).numpy()[0].transpose(1, 2, 0)
    np.testing.assert_allclose(same, rgb / 255, atol=1e-7)
