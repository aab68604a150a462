"""Pose-error metrics, recall at thresholds, and similarity alignment of pose sets."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from locgui.core.pose import Rigid3, Sim3

# (translation in map units, rotation in degrees): the standard thresholds.
STANDARD_THRESHOLDS: tuple[tuple[float, float], ...] = (
    (0.05, 5.0),
    (0.25, 2.0),
    (0.5, 5.0),
    (5.0, 10.0),
)


def rotation_error_deg(R_est: np.ndarray, R_gt: np.ndarray) -> float:
    """Angle of ``R_est @ R_gt.T`` in degrees."""
    cos = (np.trace(R_est @ R_gt.T) - 1) / 2
    return float(np.degrees(np.arccos(np.clip(cos, -1.0, 1.0))))


def pose_error(est_cam_from_world: Rigid3, gt_cam_from_world: Rigid3) -> tuple[float, float]:
    """(camera-centre distance in map units, rotation error in degrees)."""
    dt = float(np.linalg.norm(est_cam_from_world.center - gt_cam_from_world.center))
    return dt, rotation_error_deg(est_cam_from_world.rotation, gt_cam_from_world.rotation)


def recall(
    t_err: np.ndarray, r_err: np.ndarray, thresholds: tuple[tuple[float, float], ...]
) -> list[float]:
    """Fraction of queries within each (translation, rotation-degrees) threshold.

    Failed queries should be passed as ``inf`` errors so they count against recall.
    """
    t_err, r_err = np.asarray(t_err, float), np.asarray(r_err, float)
    if len(t_err) == 0:
        return [0.0 for _ in thresholds]
    return [float(np.mean((t_err <= t) & (r_err <= r))) for t, r in thresholds]


@dataclass
class ErrorSummary:
    """Aggregate pose errors over a query set."""

    count: int
    failures: int
    median_t: float
    median_r_deg: float
    recalls: dict[str, float]

    def to_dict(self) -> dict:
        return {
            "count": self.count,
            "failures": self.failures,
            "median_translation": self.median_t,
            "median_rotation_deg": self.median_r_deg,
            "recall": self.recalls,
        }


def summarize_errors(
    t_err: np.ndarray,
    r_err: np.ndarray,
    thresholds: tuple[tuple[float, float], ...] = STANDARD_THRESHOLDS,
    unit: str = "m",
) -> ErrorSummary:
    """Median errors (over all queries, failures as inf) and recall per threshold."""
    t_err, r_err = np.asarray(t_err, float), np.asarray(r_err, float)
    failures = int(np.sum(~np.isfinite(t_err)))
    labels = [f"{_fmt(t)}{unit}/{_fmt(r)}deg" for t, r in thresholds]
    recalls = dict(zip(labels, recall(t_err, r_err, thresholds), strict=True))
    med_t = float(np.median(t_err)) if len(t_err) else float("nan")
    med_r = float(np.median(r_err)) if len(r_err) else float("nan")
    return ErrorSummary(len(t_err), failures, med_t, med_r, recalls)


def _fmt(x: float) -> str:
    return f"{x:g}"


def umeyama(src: np.ndarray, dst: np.ndarray, with_scale: bool = True) -> Sim3:
    """Least-squares similarity ``dst_from_src`` (Umeyama 1991).

    Args:
        src: (N, 3) points, N >= 3, not collinear.
        dst: (N, 3) corresponding points.
    """
    src, dst = np.asarray(src, float), np.asarray(dst, float)
    mu_s, mu_d = src.mean(0), dst.mean(0)
    xs, xd = src - mu_s, dst - mu_d
    cov = xd.T @ xs / len(src)
    U, S, Vt = np.linalg.svd(cov)
    D = np.eye(3)
    if np.linalg.det(U) * np.linalg.det(Vt) < 0:
        D[2, 2] = -1
    R = U @ D @ Vt
    var_s = (xs**2).sum() / len(src)
    scale = float(np.trace(np.diag(S) @ D) / var_s) if with_scale and var_s > 0 else 1.0
    t = mu_d - scale * R @ mu_s
    return Sim3(scale, R, t)


def robust_align(
    src: np.ndarray,
    dst: np.ndarray,
    inlier_threshold: float | None = None,
    iterations: int = 500,
    seed: int = 0,
    with_scale: bool = True,
) -> tuple[Sim3, np.ndarray]:
    """RANSAC similarity ``dst_from_src`` over point pairs (e.g. camera centres), refit on inliers.

    Args:
        src, dst: (N, 3) corresponding points.
        inlier_threshold: distance in ``dst`` units; default 5% of dst's median spread.
    Returns:
        The transform and the (N,) bool inlier mask.
    """
    src, dst = np.asarray(src, float), np.asarray(dst, float)
    n = len(src)
    if n < 3:
        raise ValueError("need at least 3 point pairs to align")
    if inlier_threshold is None:
        spread = np.median(np.linalg.norm(dst - dst.mean(0), axis=1))
        inlier_threshold = 0.05 * spread if spread > 0 else 1e-6
    rng = np.random.default_rng(seed)
    best = np.ones(n, bool)
    best_count = -1
    for _ in range(iterations if n > 3 else 1):
        idx = rng.choice(n, 3, replace=False) if n > 3 else np.arange(3)
        try:
            T = umeyama(src[idx], dst[idx], with_scale)
        except np.linalg.LinAlgError:
            continue
        if not np.isfinite(T.scale) or T.scale <= 0:
            continue
        inl = np.linalg.norm(T.apply(src) - dst, axis=1) < inlier_threshold
        if inl.sum() > best_count:
            best, best_count = inl, int(inl.sum())
    if best.sum() < 3:
        best = np.ones(n, bool)
    T = umeyama(src[best], dst[best], with_scale)
    inl = np.linalg.norm(T.apply(src) - dst, axis=1) < inlier_threshold
    if inl.sum() >= 3:
        T = umeyama(src[inl], dst[inl], with_scale)
        best = inl
    return T, best


def spread_radius(points: np.ndarray) -> float:
    """Median distance of ``points`` (N, 3) from their mean: the scene radius relative errors
    are stated in; 1.0 when it is zero or there are no points."""
    points = np.asarray(points, float).reshape(-1, 3)
    if len(points) == 0:
        return 1.0
    r = float(np.median(np.linalg.norm(points - points.mean(axis=0), axis=1)))
    return r if r > 0 else 1.0
