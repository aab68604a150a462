"""Relative pose from 2D-2D matches: two RANSAC back ends behind one function.

``poselib`` (the default) stops at the confidence bound after as few as ``min_trials``
hypotheses (tens for a reference with many inliers, instead of pycolmap's default floor of
1000) and refines the pose on its inliers; with ``progressive`` and match scores it runs
PROSAC (hypotheses drawn from the best-scored matches first). ``pycolmap`` is the previous
behaviour: 5-point LO-RANSAC with at least 1000 trials (its default), then
``refine_relative_pose`` on the inliers.

Both return ``query_from_ref`` with a unit translation. poselib and pycolmap are imported
inside the functions (heavy imports; see docs/DEVELOPING.md).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from locgui.core.camera import Camera
from locgui.core.pose import Rigid3
from locgui.methods.localize.geometry import from_pycolmap_rigid, to_pycolmap_camera

ESTIMATORS = ("poselib", "pycolmap")


@dataclass(frozen=True)
class RansacSettings:
    """How hard relative-pose RANSAC tries.

    Attributes:
        estimator: one of ``ESTIMATORS``.
        threshold: inlier threshold (px, full-image pixels of the query).
        max_trials / min_trials: bounds on the number of hypotheses (the confidence stop
            decides in between).
        confidence: probability of having drawn an all-inlier sample before stopping.
        progressive: PROSAC (best-scored matches first) when scores are given (poselib only).
        seed: random seed.
    """

    estimator: str = "poselib"
    threshold: float = 1.5
    max_trials: int = 2000
    min_trials: int = 50
    confidence: float = 0.9999
    progressive: bool = False
    seed: int = 0


def relative_pose(
    cam_ref: Camera,
    xy_ref: np.ndarray,
    cam_q: Camera,
    xy_q: np.ndarray,
    settings: RansacSettings,
    scores: np.ndarray | None = None,
) -> tuple[Rigid3, np.ndarray] | None:
    """``query_from_ref`` with unit translation and the (N,) bool inlier mask, or None.

    Args:
        cam_ref, cam_q: the two cameras (any COLMAP model of ``locgui.core.camera``).
        xy_ref, xy_q: (N, 2) matched pixels (COLMAP convention) in each image.
        scores: (N,) match scores, higher is better; they order PROSAC's sampling.
    """
    if settings.estimator == "pycolmap":
        return _pycolmap(cam_ref, xy_ref, cam_q, xy_q, settings)
    if settings.estimator != "poselib":
        raise ValueError(f"unknown relative-pose estimator {settings.estimator!r}")
    return _poselib(cam_ref, xy_ref, cam_q, xy_q, settings, scores)


def _poselib(
    cam_ref: Camera,
    xy_ref: np.ndarray,
    cam_q: Camera,
    xy_q: np.ndarray,
    s: RansacSettings,
    scores: np.ndarray | None,
) -> tuple[Rigid3, np.ndarray] | None:
    import poselib

    n = len(xy_ref)
    if n < 5:
        return None
    progressive = s.progressive and scores is not None and len(scores) == n
    order = np.argsort(-np.asarray(scores), kind="stable") if progressive else np.arange(n)
    a = np.ascontiguousarray(xy_ref[order], np.float64)
    b = np.ascontiguousarray(xy_q[order], np.float64)
    ransac = {
        "max_epipolar_error": float(s.threshold),
        "max_iterations": int(s.max_trials),
        "min_iterations": int(min(s.min_trials, s.max_trials)),
        "success_prob": float(s.confidence),
        "seed": s.seed if s.seed >= 0 else int(np.random.default_rng().integers(2**31 - 1)),
        "progressive_sampling": bool(progressive),
        "max_prosac_iterations": int(s.max_trials),
    }
    pose, info = poselib.estimate_relative_pose(
        a, b, _poselib_camera(cam_ref), _poselib_camera(cam_q), ransac, {}
    )
    sorted_mask = np.asarray(info.get("inliers", []), bool).reshape(-1)
    if len(sorted_mask) != n or not sorted_mask.any():
        return None
    mask = np.zeros(n, bool)
    mask[order] = sorted_mask
    t = np.asarray(pose.t, np.float64).reshape(3)
    norm = float(np.linalg.norm(t))
    if not np.isfinite(norm) or norm < 1e-12:
        return None
    return Rigid3(np.asarray(pose.R, np.float64), t / norm), mask


def _poselib_camera(camera: Camera) -> dict[str, object]:
    return {
        "model": camera.model,
        "width": int(camera.width),
        "height": int(camera.height),
        "params": [float(p) for p in camera.params],
    }


def _pycolmap(
    cam_ref: Camera, xy_ref: np.ndarray, cam_q: Camera, xy_q: np.ndarray, s: RansacSettings
) -> tuple[Rigid3, np.ndarray] | None:
    import pycolmap

    opts = pycolmap.RANSACOptions()
    opts.max_error = float(s.threshold)
    opts.random_seed = int(s.seed)
    opts.max_num_trials = int(s.max_trials)
    opts.min_num_trials = int(min(s.min_trials, s.max_trials))
    opts.confidence = float(s.confidence)
    c_ref, c_q = to_pycolmap_camera(cam_ref), to_pycolmap_camera(cam_q)
    a = np.ascontiguousarray(xy_ref, np.float64)
    b = np.ascontiguousarray(xy_q, np.float64)
    out = pycolmap.estimate_relative_pose(c_ref, a, c_q, b, opts)
    if out is None:
        return None
    mask = np.asarray(out["inlier_mask"], bool).reshape(-1)
    refined = pycolmap.refine_relative_pose(out["cam2_from_cam1"], c_ref, a, c_q, b, mask)
    rigid = refined["cam2_from_cam1"] if isinstance(refined, dict) else out["cam2_from_cam1"]
    return from_pycolmap_rigid(rigid), mask
