"""Settings of live tracking (light module: no numpy, no torch).

Every field has a default and UI metadata (``help``, ``min``/``max``), so the live dock can
generate its parameter panel from the class as the methods panel does.
"""

from __future__ import annotations

from dataclasses import dataclass

from locgui.methods.localize.configs import param


@dataclass
class TrackerConfig:
    """Frame-to-map tracking between relocalizations, motion prior and acceptance rules."""

    search_radius: float = param(
        40.0, "tracking: a keypoint matches map points projected within this radius (px at "
        "640 px image width)", 4.0, 400.0,
    )  # fmt: skip
    min_similarity: float = param(
        0.6, "tracking: minimum cosine similarity of a keypoint and a map point", 0.0, 1.0
    )
    ratio: float = param(
        0.95, "tracking: best / second-best descriptor distance ratio, 1 disables it", 0.1, 1.0
    )
    max_view_angle: float = param(
        70.0, "tracking: skip map points seen at more than this angle from their mapping "
        "views (degrees)", 10.0, 180.0,
    )  # fmt: skip
    max_distance_ratio: float = param(
        3.0, "tracking: skip map points this many times nearer or farther than in mapping",
        1.1, 100.0,
    )  # fmt: skip
    track_keypoints: int = param(
        1024, "tracking: while the track is healthy, match only this many of the frame's "
        "best keypoints (all of them when that gives a weak pose; 0: always all)", 0, 100_000,
    )  # fmt: skip
    ransac_threshold: float = param(
        4.0, "tracking: PnP inlier threshold (px at 640 px image width)", 0.5, 64.0
    )
    min_track_inliers: int = param(
        30, "tracking: fewer PnP inliers than this falls back to relocalization", 6, 2000
    )
    min_track_ratio: float = param(
        0.2, "tracking: fewer inliers than this fraction of its matches falls back", 0.0, 1.0
    )
    recheck_inliers: int = param(
        60, "tracked poses with fewer inliers are re-checked by relocalization (the pose with "
        "more inliers wins)", 6, 5000,
    )  # fmt: skip
    strong_inliers: int = param(
        60, "a relocalization with at least this many inliers is trusted without a prior "
        "or a second agreeing frame", 6, 5000,
    )  # fmt: skip
    jump_translation: float = param(
        0.1, "a measured pose this far from the predicted one is a jump (fraction of the "
        "map radius)", 0.001, 10.0,
    )  # fmt: skip
    jump_rotation: float = param(
        10.0, "a measured pose turned this much from the predicted one is a jump (degrees)",
        0.1, 180.0,
    )  # fmt: skip
    smoothing: float = param(
        0.3, "weight of the constant-velocity prediction in the output pose (0: raw poses); "
        "never applied across a jump", 0.0, 0.95,
    )  # fmt: skip
    max_gap: float = param(
        1.0, "seconds after the last good pose during which tracking is still tried", 0.0, 60.0
    )
    confident_inliers: int = param(150, "inliers for a full pose-confidence gauge", 10, 10000)
    seed: int = param(0, "RANSAC seed", -1, 2**31 - 1)
