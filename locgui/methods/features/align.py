"""Sub-pixel refinement of matched keypoints by aligning image patches (Lucas-Kanade).

A detector's keypoints of one physical point land at slightly different places in two images
(XFeat: 0.5-1.2 px apart at 640x480). Given a point's position in one image, the position of
the same point in another image is found by aligning a small grayscale patch around it:
the patch is compared with the other image through the local affine distortion between the
two images (fitted to nearby matches) and an intensity gain and offset, and the translation
is solved for by Gauss-Newton (Lucas-Kanade, forward additive), starting from the matched
keypoint. Positions are in COLMAP pixels (centre of the top-left pixel at (0.5, 0.5)).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from locgui.methods.features.common import target_size


@dataclass(frozen=True)
class AlignConfig:
    """Settings of the patch alignment (pixels at the working resolution)."""

    window: int = 11
    """Side of the square patch aligned (odd)."""
    max_shift: float = 3.0
    """A refined position further than this from its start is rejected (start kept)."""
    min_ncc: float = 0.8
    """A patch whose normalized cross-correlation after alignment is below this is rejected:
    a wrong match, an occlusion, a specularity."""
    iterations: int = 10
    """Gauss-Newton iterations at most (a point stops when it moves less than 0.01 px)."""


def gray_image(rgb: np.ndarray, max_side: int | None) -> np.ndarray:
    """(h, w) uint8 grayscale of (H, W, 3) uint8 ``rgb``, shrunk (area averaging) so its
    longer side is at most ``max_side``, as the extractors shrink images."""
    import cv2

    gray = cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2GRAY)
    height, width = gray.shape
    w, h = target_size(width, height, max_side)
    if (w, h) != (width, height):
        gray = cv2.resize(gray, (w, h), interpolation=cv2.INTER_AREA)
    return np.ascontiguousarray(gray)


def sample(image: np.ndarray, xy: np.ndarray) -> np.ndarray:
    """Bilinear samples of a float32 (h, w) or (h, w, C) image at (..., 2) OpenCV pixels
    (centre of the top-left pixel at 0): shape (...) or (..., C); the border repeats."""
    import cv2

    flat = np.asarray(xy, np.float32).reshape(-1, 2)
    # cv2.remap wants maps under 32767 rows and columns: lay the points out 1024 a row.
    cols = 1024
    padded = np.zeros((2, -(-len(flat) // cols) * cols), np.float32)
    padded[:, : len(flat)] = flat.T
    map_x, map_y = padded.reshape(2, -1, cols)
    out = cv2.remap(image, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    channels = image.shape[2:]
    return np.asarray(out).reshape((-1, *channels))[: len(flat)].reshape(xy.shape[:-1] + channels)


def _centred_samples(
    image: np.ndarray, xy: np.ndarray, grid_x: np.ndarray, grid_y: np.ndarray
) -> np.ndarray:
    """(N, P) float32 bilinear samples of float32 ``image`` at OpenCV pixels ``xy`` (N, 2)
    plus offsets ``grid_x``, ``grid_y`` (N, P), minus each row's mean. ``cv2.remap`` takes
    the (N, P) maps as they are, in blocks of fewer than 32767 rows."""
    import cv2

    xy32 = xy.astype(np.float32)
    map_x = xy32[:, :1] + grid_x
    map_y = xy32[:, 1:] + grid_y
    out = np.empty(map_x.shape, np.float32)
    for r in range(0, len(map_x), 32766):
        rows = slice(r, r + 32766)
        cv2.remap(image, map_x[rows], map_y[rows], cv2.INTER_LINEAR, dst=out[rows],
                  borderMode=cv2.BORDER_REPLICATE)  # fmt: skip
    out -= out.mean(axis=1, keepdims=True)
    return out


def patch_offsets(window: int) -> np.ndarray:
    """(window * window, 2) float64 (dx, dy) offsets of a square patch around its centre."""
    r = (window - 1) / 2
    grid = np.meshgrid(np.arange(-r, r + 1), np.arange(-r, r + 1))
    return np.stack(grid, -1).reshape(-1, 2)


def templates(src: np.ndarray, src_xy: np.ndarray, window: int) -> tuple[np.ndarray, np.ndarray]:
    """Patches of ``src`` around ``src_xy`` with their gradients (central differences).

    Args:
        src: (h, w) grayscale (uint8 or float32).
        src_xy: (N, 2) COLMAP pixels.

    Returns:
        ((N, window * window, 3) float32: zero-mean intensity, d/dx, d/dy; (N,) bool patch
        inside the image).
    """
    xy = np.asarray(src_xy, np.float64).reshape(-1, 2)
    n, side = len(xy), window + 2
    wide = sample(src.astype(np.float32), xy[:, None, :] - 0.5 + patch_offsets(side)[None])
    wide = wide.reshape(n, side, side)
    square = np.empty((n, window, window, 3), np.float32)
    square[..., 0] = wide[:, 1:-1, 1:-1]
    square[..., 1] = (wide[:, 1:-1, 2:] - wide[:, 1:-1, :-2]) / 2
    square[..., 2] = (wide[:, 2:, 1:-1] - wide[:, :-2, 1:-1]) / 2
    patch = square.reshape(n, window * window, 3)
    patch[..., 0] -= patch[..., 0].mean(axis=1, keepdims=True)
    half = (window - 1) / 2 + 1
    h, w = src.shape[:2]
    inside = (xy[:, 0] >= half) & (xy[:, 1] >= half) & (xy[:, 0] <= w - half)
    inside &= xy[:, 1] <= h - half
    return patch, inside


def align_templates(
    template: np.ndarray,
    affine: np.ndarray | None,
    dst: np.ndarray,
    dst_xy: np.ndarray,
    config: AlignConfig | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Positions in ``dst`` where ``template`` patches appear, refined from ``dst_xy``.

    Patch ``k`` is compared with ``dst`` sampled on ``position + affine[k] @ offset`` (the
    offsets of ``patch_offsets``), normalized to the patch's mean and contrast (an intensity
    gain and offset). Inverse-compositional Lucas-Kanade: the Gauss-Newton system uses the
    template's own gradients, so each iteration samples ``dst`` once.

    Args:
        template: (N, P, 3) patches with gradients (``templates``).
        affine: (N, 2, 2) d(dst pixels) / d(template pixels) around each point (None:
            identity).
        dst: (h, w) grayscale.
        dst_xy: (N, 2) COLMAP pixels of ``dst``, the starting guesses.

    Returns:
        ((N, 2) float64 refined positions, (N,) bool accepted). Rejected points (moved more
        than ``max_shift``, correlation below ``min_ncc``, patch leaving the image) keep
        ``dst_xy``.
    """
    cfg = config or AlignConfig()
    start = np.asarray(dst_xy, np.float64).reshape(-1, 2)
    n = len(start)
    if n == 0:
        return start.copy(), np.zeros(0, bool)
    A = np.broadcast_to(np.eye(2), (n, 2, 2)) if affine is None else np.asarray(affine)
    image = np.asarray(dst, np.float32)
    offsets = patch_offsets(cfg.window).astype(np.float32)
    A = A.astype(np.float32)
    grid_x = A[:, :1, 0] * offsets[None, :, 0] + A[:, :1, 1] * offsets[None, :, 1]  # (N, P)
    grid_y = A[:, 1:, 0] * offsets[None, :, 0] + A[:, 1:, 1] * offsets[None, :, 1]
    tmpl = np.ascontiguousarray(template[..., 0])
    gx, gy = template[..., 1], template[..., 2]
    t_norm = np.sqrt((tmpl**2).sum(1)) + 1e-6  # (N,)
    # step = H^-1 grads^T r with H the 2x2 Gauss-Newton matrix of the template gradients;
    # the point then moves by -A step: precompute -A H^-1 grads^T, (N, 2, P).
    hxx, hxy, hyy = (gx * gx).sum(1) + 1e-6, (gx * gy).sum(1), (gy * gy).sum(1) + 1e-6
    det = hxx * hyy - hxy**2
    sx = (hyy[:, None] * gx - hxy[:, None] * gy) / det[:, None]  # (N, P)
    sy = (hxx[:, None] * gy - hxy[:, None] * gx) / det[:, None]
    move_of = -np.stack([A[:, i, :1] * sx + A[:, i, 1:] * sy for i in (0, 1)], 1)
    # The residual is s (I - mean I) - T with s the contrast gain, so the move is
    # s move_of (I - mean I) - move_of T: the second term is the same every iteration.
    move_tmpl = np.einsum("nkp,np->nk", move_of, tmpl)
    t = start - 0.5
    rows = np.arange(n)
    t_a, gx_a, gy_a, norm_a = t.copy(), grid_x, grid_y, t_norm
    move_a, move_tmpl_a = move_of, move_tmpl
    for _ in range(cfg.iterations):
        img = _centred_samples(image, t_a, gx_a, gy_a)  # (m, P)
        gain = norm_a / (np.sqrt(np.einsum("np,np->n", img, img)) + 1e-6)
        move = gain[:, None] * np.einsum("nkp,np->nk", move_a, img) - move_tmpl_a
        move = np.clip(move, -1.0, 1.0)
        t_a += move
        t[rows] = t_a
        moving = np.abs(move).max(axis=1) >= 0.01
        if not moving.any():
            break
        if not moving.all():
            rows, t_a, gx_a, gy_a = rows[moving], t_a[moving], gx_a[moving], gy_a[moving]
            norm_a, move_a, move_tmpl_a = norm_a[moving], move_a[moving], move_tmpl_a[moving]
    img = _centred_samples(image, t, grid_x, grid_y)
    ncc = np.einsum("np,np->n", img, tmpl) / (
        np.sqrt(np.einsum("np,np->n", img, img)) * t_norm + 1e-6
    )
    refined = t + 0.5
    ok = np.isfinite(refined).all(axis=1) & (ncc >= cfg.min_ncc)
    ok &= np.linalg.norm(refined - start, axis=1) <= cfg.max_shift
    half = np.stack([np.abs(grid_x).max(axis=1), np.abs(grid_y).max(axis=1)], 1) + 1
    h, w = image.shape
    ok &= (refined[:, 0] >= half[:, 0]) & (refined[:, 1] >= half[:, 1])
    ok &= (refined[:, 0] <= w - half[:, 0]) & (refined[:, 1] <= h - half[:, 1])
    return np.where(ok[:, None], refined, start), ok


def local_affines(
    src_xy: np.ndarray, dst_xy: np.ndarray, at_xy: np.ndarray | None = None, k: int = 12
) -> np.ndarray:
    """Local affine maps src -> dst from matched points: at each position of ``at_xy``, a
    least-squares fit to the ``k`` matches nearest to it in ``src``, fitted again without
    the matches far off (2.5 x the median residual, then 2 px); identity where fewer than 4
    matches fit.

    Args:
        src_xy, dst_xy: (M, 2) matched positions (outliers allowed).
        at_xy: (N, 2) positions in ``src`` (default: ``src_xy``).

    Returns:
        (N, 2, 2) d(dst) / d(src) at each position.
    """
    import cv2

    src = np.asarray(src_xy, np.float64).reshape(-1, 2)
    dst = np.asarray(dst_xy, np.float64).reshape(-1, 2)
    at = src if at_xy is None else np.asarray(at_xy, np.float64).reshape(-1, 2)
    n = len(at)
    out = np.broadcast_to(np.eye(2), (n, 2, 2)).copy()
    if len(src) < 4 or n == 0:
        return out
    k = min(k, len(src))
    # OpenCV's brute-force k nearest: 5x faster than a distance matrix and argpartition, and
    # no matrix product to wake BLAS's threads, which then spin against the caller's.
    _, nb = cv2.batchDistance(
        at.astype(np.float32), src.astype(np.float32), cv2.CV_32F, normType=cv2.NORM_L2SQR, K=k
    )  # (N, k) nearest matches
    dx, dy = src[nb, 0] - at[:, :1], src[nb, 1] - at[:, 1:]  # (N, k)
    Y = dst[nb]  # (N, k, 2)
    w = np.ones((n, k))
    for final in (False, False, True):
        # Weighted least squares Y = [dx dy 1] M through the 3x3 normal equations.
        wx, wy = w * dx, w * dy
        normal = np.stack([
            np.stack([(wx * dx).sum(1), (wx * dy).sum(1), wx.sum(1)], -1),
            np.stack([(wx * dy).sum(1), (wy * dy).sum(1), wy.sum(1)], -1),
            np.stack([wx.sum(1), wy.sum(1), w.sum(1)], -1),
        ], 1)  # fmt: skip
        rhs = np.stack([(wx[..., None] * Y).sum(1), (wy[..., None] * Y).sum(1),
                        (w[..., None] * Y).sum(1)], 1)  # fmt: skip
        M = np.linalg.solve(normal + 1e-6 * np.eye(3), rhs)  # (N, 3, 2)
        fit = dx[..., None] * M[:, None, 0] + dy[..., None] * M[:, None, 1] + M[:, None, 2]
        resid = np.linalg.norm(fit - Y, axis=-1)
        # First drop what is far off compared with the typical residual, then what is > 2 px.
        limit = 2.0 if final else np.maximum(2.0, 2.5 * np.median(resid, axis=1, keepdims=True))
        w = (resid <= limit).astype(np.float64)
    good = w.sum(1) >= 4
    out[good] = M[good, :2, :].transpose(0, 2, 1)
    return out
