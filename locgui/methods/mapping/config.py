"""Settings of a map build (one dataclass; the CLI and the UI both fill it)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from locgui.methods.features import EXTRACTORS, MATCHERS
from locgui.methods.localize.configs import param


@dataclass
class MapBuildConfig:
    """How to build a map bundle from a scene or an image folder."""

    features: str = param("xfeat", "local features", choices=tuple(EXTRACTORS))
    matcher: str = param("mnn", "pair matcher", choices=tuple(MATCHERS))
    max_keypoints: int = param(2048, "keypoints per mapping image", 256, 16384)
    max_side: int = param(640, "images are shrunk to this longer side for features (px)", 160, 4096)
    upscale: bool = param(
        True, "enlarge smaller images (and queries) to max_side for sub-pixel keypoints"
    )
    exhaustive_below: int = param(
        30, "match every pair when there are at most this many images", 2, 1000
    )
    retrieval_pairs: int = param(10, "pairs per image from global retrieval", 1, 100)
    pose_pairs: int = param(10, "pairs per image from camera-pose covisibility", 0, 100)
    min_similarity: float = param(0.5, "mutual-NN minimum cosine similarity", 0.0, 1.0)
    ratio: float = param(
        1.0, "mutual-NN ratio test, 1 disables it (verification follows)", 0.1, 1.0
    )
    sfm_ratio: float = param(
        0.95, "ratio test when poses come from SfM (no known-pose check follows)", 0.1, 1.0
    )
    sfm_verify_threshold: float = param(
        1.5, "SfM two-view RANSAC threshold (px at feature resolution)", 0.5, 20.0
    )
    epipolar_threshold: float = param(
        2.0, "known-pose verification: max epipolar distance (px at feature resolution)", 0.5, 50
    )
    min_triangulation_angle: float = param(
        1.5, "points need at least this angle between their rays (degrees)", 0.1, 30.0
    )
    two_view_tracks: bool = param(True, "keep points observed by only two images")
    refine_tracks: bool = param(
        True, "align the matched keypoints of each track to one of them (patch alignment) "
        "before triangulation, for sub-pixel consistent tracks",
    )  # fmt: skip
    min_pair_matches: int = param(15, "pairs with fewer verified matches are dropped", 5, 1000)
    retrieval_clusters: int = param(64, "visual words of the retrieval vocabulary", 8, 1024)
    holdout: int = param(
        0, "hold every N-th image out of the map as a query (0: none); they form split 'test'",
        0, 1000,
    )  # fmt: skip
    sfm: str = param(
        "auto", "poses: 'auto' (triangulate known poses, else SfM), 'triangulate', 'sfm'",
        choices=("auto", "triangulate", "sfm"),
    )  # fmt: skip
    intrinsics: str = param(
        "", "SfM cameras: a calibration file or fov:DEG used as is (never refined); empty: "
        "priors from EXIF, else 1.2 x the longer side, refined within bounds",
    )  # fmt: skip
    calibrate_min_images: int = param(
        3, "SfM refines an EXIF focal only when at least this many images share the camera "
        "(a camera without EXIF is always refined, within bounds)", 1, 1000,
    )
    copy_images: bool = param(False, "copy the mapping images into the bundle")
    device: str = param("auto", "torch device for features and matching")
    seed: int = param(0, "random seed (k-means, RANSAC)", 0, 2**31 - 1)
    extra: dict[str, Any] = field(default_factory=dict, metadata={"help": "extractor options"})

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
