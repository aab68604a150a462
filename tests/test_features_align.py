"""Patch alignment of matched keypoints: sub-pixel positions under a known warp, and local
affine fits."""

from __future__ import annotations

import numpy as np

from locgui.methods.features.align import (
    AlignConfig,
    align_templates,
    gray_image,
    local_affines,
    templates,
)
from tests.plugins.features import HOMOGRAPHY, apply_homography, textured_image, warp


def homography_jacobians(h: np.ndarray, xy: np.ndarray) -> np.ndarray:
    """(N, 2, 2) derivative of the homography ``h`` at (N, 2) points."""
    p = np.c_[xy, np.ones(len(xy))] @ h.T
    w = p[:, 2]
    out = h[None, :2, :2] / w[:, None, None]
    return out - (p[:, :2, None] / w[:, None, None] ** 2) * h[None, 2:3, :2]


def align_affine(
    src: np.ndarray,
    dst: np.ndarray,
    src_xy: np.ndarray,
    dst_xy: np.ndarray,
    affine: np.ndarray | None,
    config: AlignConfig | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Positions in ``dst`` of the points at ``src_xy`` in ``src``, as refine_query_points
    aligns them: a patch leaving ``src`` is rejected too."""
    cfg = config or AlignConfig()
    patch, inside = templates(src, src_xy, cfg.window)
    got, ok = align_templates(patch, affine, dst, dst_xy, cfg)
    ok &= inside
    return np.where(ok[:, None], got, dst_xy), ok


def textured_points(n: int, width: int, height: int, seed: int) -> np.ndarray:
    """(n, 2) random COLMAP pixels at least 20 px inside the image."""
    rng = np.random.default_rng(seed)
    return rng.uniform([20, 20], [width - 20, height - 20], (n, 2))


def test_align_affine_recovers_sub_pixel_positions_under_a_warp() -> None:
    """Points of an image found in its exact perspective warp, starting up to 1.5 px off:
    refined within a few hundredths of a pixel (median), where the start is 0.9 px off and
    alignment without the affine (identity) is several times worse."""
    rgb = textured_image(320, 240, seed=3)
    warped = warp(rgb, HOMOGRAPHY)
    src, dst = gray_image(rgb, None), gray_image(warped, None)
    xy = textured_points(300, 320, 240, seed=0)
    truth = apply_homography(HOMOGRAPHY, xy)
    start = truth + np.random.default_rng(1).uniform(-1.5, 1.5, truth.shape)
    affine = homography_jacobians(HOMOGRAPHY, xy)
    got, ok = align_affine(src, dst, xy, start, affine)
    err = np.linalg.norm(got - truth, axis=1)
    err_start = np.linalg.norm(start - truth, axis=1)
    assert ok.mean() > 0.8, ok.mean()
    assert np.median(err_start) > 0.7
    assert np.median(err[ok]) < 0.1, np.median(err[ok])
    np.testing.assert_array_equal(got[~ok], start[~ok])  # rejected points keep their start
    got_id, ok_id = align_affine(src, dst, xy, start, None)
    assert np.median(err[ok]) < 0.5 * np.median(np.linalg.norm(got_id - truth, axis=1)[ok_id])


def test_align_affine_rejects_points_that_do_not_match() -> None:
    """Patches of another image: low correlation, every point rejected and left in place."""
    src = gray_image(textured_image(320, 240, seed=3), None)
    other = gray_image(textured_image(320, 240, seed=4), None)
    xy = textured_points(100, 320, 240, seed=2)
    got, ok = align_affine(src, other, xy, xy, None, AlignConfig(min_ncc=0.8))
    assert ok.mean() < 0.1
    np.testing.assert_array_equal(got[~ok], xy[~ok])


def test_local_affines_fit_through_outliers() -> None:
    rng = np.random.default_rng(0)
    src = rng.uniform(0, 300, (200, 2))
    A = np.array([[0.9, -0.2], [0.15, 1.1]])
    dst = src @ A.T + [5.0, -3.0]
    dst[::10] += rng.uniform(20, 50, (20, 2))  # one match in ten is wrong
    fitted = local_affines(src, dst, src[1::10])
    np.testing.assert_allclose(fitted, np.broadcast_to(A, fitted.shape), atol=1e-4)
    too_few = local_affines(src[:3], dst[:3])
    np.testing.assert_array_equal(too_few, np.broadcast_to(np.eye(2), (3, 2, 2)))


def test_align_affine_is_the_same_past_the_remap_row_limit() -> None:
    """Over 32766 points (cv2.remap's row limit, so sampled in blocks): the points past the
    limit refine exactly as they do alone."""
    rgb = textured_image(320, 240, seed=3)
    src, dst = gray_image(rgb, None), gray_image(warp(rgb, HOMOGRAPHY), None)
    xy = np.tile(textured_points(300, 320, 240, seed=0), (110, 1))  # 33000 points
    start = apply_homography(HOMOGRAPHY, xy) + 0.7
    cfg = AlignConfig(iterations=2)
    got, ok = align_affine(src, dst, xy, start, None, cfg)
    tail, tail_ok = align_affine(src, dst, xy[-50:], start[-50:], None, cfg)
    assert tail_ok.any()
    np.testing.assert_array_equal(ok[-50:], tail_ok)
    np.testing.assert_array_equal(got[-50:], tail)
