"""Config dataclasses of the structure-based localizers (light: no torch, no pycolmap).

Every field has a default and ``metadata`` with ``help`` (one line), and ``min``/``max`` or
``choices`` where they apply, so the UI can generate a parameter panel from the class.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from locgui.methods.features import MATCHERS as MATCHER_REGISTRY


def param(
    default: Any,
    help: str,
    min: float | None = None,
    max: float | None = None,
    choices: tuple[str, ...] | None = None,
) -> Any:
    """A dataclass field with UI metadata."""
    meta: dict[str, Any] = {"help": help}
    if min is not None:
        meta["min"] = min
    if max is not None:
        meta["max"] = max
    if choices is not None:
        meta["choices"] = choices
    return field(default=default, metadata=meta)


MATCHERS = tuple(MATCHER_REGISTRY)
"""The matcher choices: every registered matcher."""


@dataclass
class QueryConfig:
    """Settings shared by every structure-based localizer: query features and intrinsics."""

    max_keypoints: int = param(
        2048, "query keypoints kept (highest scores first)", min=64, max=16384
    )
    max_side: int = param(
        640, "the query is shrunk so its longer side is at most this for features (px; 0: the "
        "map's own size, for maps built at full resolution)", 0, 8192,
    )  # fmt: skip
    retrieval_k: int = param(5, "database images shortlisted by global retrieval", 1, 100)
    retry_k: int = param(
        10, "when no pose is found, retry once with this many more shortlisted images "
        "(0: never)", 0, 200,
    )  # fmt: skip
    fov_deg: float = param(
        60.0, "horizontal field of view assumed when the query has no intrinsics", 10.0, 170.0
    )
    use_map_camera: bool = param(
        True, "without query intrinsics, first try a map camera of the same image size"
    )
    estimate_focal: bool = param(
        True, "estimate the focal length in PnP when intrinsics are only guessed"
    )
    ransac_threshold: float = param(
        6.0, "RANSAC inlier threshold in pixels at the feature resolution", 0.5, 64.0
    )
    min_inliers: int = param(12, "fewer pose inliers than this is a failure", 4, 1000)
    min_inlier_ratio: float = param(
        0.05, "fewer inliers than this fraction of the 2D-3D matches is a failure", 0.0, 1.0
    )
    seed: int = param(0, "random seed of RANSAC (-1: a different one each run)", -1, 2**31 - 1)


@dataclass
class SfmConfig(QueryConfig):
    """hloc-style localization: retrieval, 2D-2D matching, 2D-3D through the map, PnP."""

    matcher: str = param("mnn", "2D-2D matcher", choices=MATCHERS)
    min_similarity: float = param(
        0.5, "mutual-NN matches need at least this descriptor cosine similarity", 0.0, 1.0
    )
    ratio: float = param(
        1.0, "mutual-NN ratio test (best / second-best distance), 1 disables it", 0.1, 1.0
    )
    triangulated_only: bool = param(
        True, "match only the database keypoints that observe a 3D point (faster)"
    )
    refine: bool = param(True, "non-linear refinement of the pose on its inliers")
    refine_keypoints: bool = param(
        True, "align each matched query keypoint to its map point's database image (patch "
        "alignment) for sub-pixel 2D-3D matches",
    )  # fmt: skip
    min_aligned: int = param(
        100, "with refine_keypoints: when at least this many 2D-3D matches aligned, PnP uses "
        "only those (0: always every match)", 0, 100_000,
    )  # fmt: skip
    early_exit: bool = param(
        False, "match the best-ranked references first and skip the rest of the shortlist when "
        "their pose already passes validation with a margin (1.3-1.5x faster, errors about "
        "25% larger: fewer correspondences)",
    )  # fmt: skip
    early_exit_refs: int = param(
        2, "with early_exit: references matched before the first pose is tried", 1, 100
    )
    early_exit_inliers: int = param(
        100, "with early_exit: inliers the early pose needs to stop (the margin over "
        "min_inliers)", 4, 100_000,
    )  # fmt: skip


@dataclass
class PointsConfig(QueryConfig):
    """3DFA deployment mode: query descriptors matched directly to per-point descriptors."""

    retrieval_k: int = param(
        5, "database images whose observed points form the candidate set", 1, 100
    )
    reliability: float = param(
        0.7, "reliability threshold S on a match's score (cosine similarity)", 0.0, 1.0
    )
    ratio: float = param(
        0.95, "best / second-best descriptor distance ratio, 1 disables it", 0.1, 1.0
    )
    mutual: bool = param(True, "keep only matches that are mutual nearest neighbours")
    refine: bool = param(True, "non-linear refinement of the pose on its inliers")


@dataclass
class RprConfig(QueryConfig):
    """Classical relative pose: essential matrix to the top reference, metric scale from map."""

    retrieval_k: int = param(5, "references tried; the best-supported pose wins", 1, 20)
    retry_k: int = param(
        5, "when no reference gives a pose, retry once with this many more (0: never)", 0, 50
    )
    matcher: str = param("mnn", "2D-2D matcher", choices=MATCHERS)
    min_similarity: float = param(
        0.8, "mutual-NN matches need at least this descriptor cosine similarity", 0.0, 1.0
    )
    ratio: float = param(0.95, "mutual-NN ratio test, 1 disables it", 0.1, 1.0)
    ransac_threshold: float = param(
        1.5, "essential-matrix RANSAC threshold in pixels at the feature resolution", 0.1, 32.0
    )
    ransac_iterations: int = param(
        2000, "5-point RANSAC trials per reference at most (a reference with fewer than ~30% "
        "inliers needs more and is rarely worth it)", 100, 100_000,
    )  # fmt: skip
    relpose_estimator: str = param(
        "poselib", "relative-pose RANSAC: poselib (confidence stop; PROSAC with prosac) or "
        "pycolmap (LO-RANSAC, the previous default)", choices=("poselib", "pycolmap"),
    )  # fmt: skip
    ransac_min_iterations: int = param(
        50, "RANSAC trials per reference at least before the confidence stop (the previous "
        "default: 1000)", 1, 100_000,
    )  # fmt: skip
    ransac_confidence: float = param(
        0.9999, "RANSAC stops once an all-inlier sample was drawn with this probability",
        0.5, 0.999999,
    )  # fmt: skip
    prosac: bool = param(
        False, "draw RANSAC samples from the best-scored matches first (poselib PROSAC; "
        "measured no faster here and a little less accurate on the demo scene)",
    )  # fmt: skip
    conclusive_support: int = param(
        200, "skip the rest of the shortlist once the references solved so far agree and the "
        "best has this many supporting map points (0: always solve every reference)",
        0, 100_000,
    )  # fmt: skip
    parallel_references: int = param(
        2, "references matched and solved at the same time (threads; 1: one after another)",
        1, 16,
    )  # fmt: skip
    min_inliers: int = param(20, "fewer essential-matrix inliers than this is a failure", 5, 1000)
    min_scale_points: int = param(
        6, "matched map points needed to recover the metric scale", 2, 1000
    )
    min_agreeing: int = param(
        2, "references whose poses must agree (the best included; 1: no agreement check)",
        1, 20,
    )  # fmt: skip


def fov_guess_overrides(config_class: type, fov_deg: float) -> dict[str, Any]:
    """Config overrides for a field-of-view guess (the method then estimates the focal
    length), restricted to the fields ``config_class`` has (any method's config)."""
    fields = {f.name for f in dataclasses.fields(config_class)}
    guess = {"fov_deg": fov_deg, "use_map_camera": False}
    return {k: v for k, v in guess.items() if k in fields}
