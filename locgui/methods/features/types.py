"""Contract types of local features and matches (numpy only, no torch here).

See docs/DEVELOPING.md, "features, matchers, retrieval".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from locgui.core.errors import MethodError

FEATURE_KINDS = ("xfeat", "sift", "aliked")


@dataclass
class Features:
    """Local features of one image.

    Attributes:
        keypoints: (N, 2) float32, pixels, COLMAP convention (centre of the top-left pixel is
            (0.5, 0.5)), in the frame of the image given to the extractor (not a resized copy).
        descriptors: (N, D) float32, L2-normalized rows.
        scores: (N,) float32 detection scores, higher is better.
        image_size: (width, height) of the image they came from.
        kind: the extractor family, "xfeat" | "sift" | "aliked".
    """

    keypoints: np.ndarray
    descriptors: np.ndarray
    scores: np.ndarray
    image_size: tuple[int, int]
    kind: str

    def __post_init__(self) -> None:
        n = len(self.keypoints)
        if self.keypoints.shape != (n, 2) or self.descriptors.ndim != 2:
            raise MethodError(
                f"{self.kind} features: keypoints {self.keypoints.shape} must be (N, 2) and "
                f"descriptors {self.descriptors.shape} (N, D)"
            )
        if len(self.descriptors) != n or self.scores.shape != (n,):
            raise MethodError(
                f"{self.kind} features: {n} keypoints but descriptors "
                f"{self.descriptors.shape} and scores {self.scores.shape}"
            )

    def __len__(self) -> int:
        return len(self.keypoints)

    @property
    def dim(self) -> int:
        """Descriptor dimension D."""
        return int(self.descriptors.shape[1])

    def subset(self, index: np.ndarray) -> Features:
        """The features selected by ``index`` (integer indices or a boolean mask)."""
        return Features(
            keypoints=self.keypoints[index],
            descriptors=self.descriptors[index],
            scores=self.scores[index],
            image_size=self.image_size,
            kind=self.kind,
        )


@dataclass
class MatchIndices:
    """Correspondences between two feature sets.

    Attributes:
        idx0: (M,) int64 indices into the first ``Features``.
        idx1: (M,) int64 indices into the second ``Features``.
        scores: (M,) float32 match confidence in [0, 1] (cosine similarity for nearest-neighbour
            matchers, assignment probability for LightGlue-type matchers).
    """

    idx0: np.ndarray
    idx1: np.ndarray
    scores: np.ndarray

    def __len__(self) -> int:
        return len(self.idx0)

    @staticmethod
    def empty() -> MatchIndices:
        return MatchIndices(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.float32))


class Extractor(Protocol):
    """Detects and describes local features in one image."""

    name: str
    dim: int

    def extract(self, rgb: np.ndarray) -> Features:
        """Features of ``rgb``: (H, W, 3) uint8 RGB."""
        ...


class Matcher(Protocol):
    """Matches two feature sets of accepted kinds."""

    name: str
    kinds: tuple[str, ...]

    def match(self, f0: Features, f1: Features) -> MatchIndices: ...


def check_kinds(matcher: str, kinds: tuple[str, ...], f0: Features, f1: Features) -> None:
    """Raise MethodError unless both feature sets are of a kind ``matcher`` accepts."""
    for f in (f0, f1):
        if f.kind not in kinds:
            raise MethodError(f"matcher {matcher} accepts {'/'.join(kinds)} features, got {f.kind}")
    if f0.dim != f1.dim:
        raise MethodError(f"matcher {matcher}: descriptor dimensions differ ({f0.dim} vs {f1.dim})")


def bundle_features(bundle: Any, image_id: int) -> Features:
    """The stored ``Features`` of a mapping image of a map bundle (read lazily)."""
    kp, desc, scores = bundle.feature_arrays(image_id)
    return Features(kp, desc, scores, bundle.feature_image_size(image_id), bundle.feature_type)
