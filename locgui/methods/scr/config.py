"""Config dataclasses of SCR training and the ``scr`` localizer (light: no torch, no numpy).

Every field has a default and ``metadata`` with ``help`` (one line), and ``min``/``max`` or
``choices`` where they apply, so the UI can generate a parameter panel from the class.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

ENCODINGS = ("cosine", "xyz")


def param(
    default: Any,
    help: str,
    min: float | None = None,
    max: float | None = None,
    choices: tuple[Any, ...] | None = None,
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


@dataclass
class ScrTrainConfig:
    """Training of the per-scene SCR head on the map's mapping images."""

    encoding: str = param(
        "cosine", "output space: SACReg cosine encoding, or plain xyz regression", choices=ENCODINGS
    )
    frequencies: int = param(6, "F, frequencies per axis (paper Table 11)", choices=(4, 6, 8))
    unit_scale: float = param(
        0.0, "metres per map unit for the encoding (0: 1 for metric maps, else auto)", 0.0, 1e6
    )
    max_side: int = param(640, "images are resized so the longer side is at most this", 64, 2048)
    head_width: int = param(256, "channels of the head's hidden layers", 16, 1024)
    head_blocks: int = param(2, "residual blocks of the head (two 1x1 layers each)", 0, 8)
    colour: bool = param(True, "feed colour statistics beside XFeat's grayscale features")
    epochs: float = param(
        0.0, "passes over the pixel buffer (0: from the number of mapping images)", 0.0, 1000.0
    )
    batch_size: int = param(1024, "pixels per training step", 32, 65536)
    learning_rate: float = param(1e-2, "peak learning rate (one-cycle schedule)", 1e-5, 1e-1)
    reprojection: bool = param(
        True, "xyz output: ACE's reprojection loss from the posed images (depth or SfM "
        "coordinates where present add to it); cosine output trains on coordinates only",
    )  # fmt: skip
    threshold_start: float = param(
        50.0, "robust reprojection threshold at the start of training, pixels", 1.0, 1000.0
    )
    threshold_end: float = param(
        1.0, "robust reprojection threshold at the end (ACE's curriculum), pixels", 0.1, 1000.0
    )
    augmentations: int = param(
        2, "augmented copies of each image in the buffer (besides the original)", 0, 16
    )
    photometric: float = param(0.25, "strength of brightness/contrast/colour jitter", 0.0, 1.0)
    scale_jitter: float = param(0.2, "relative image scale change of augmented copies", 0.0, 0.5)
    rotation: float = param(15.0, "in-plane rotation of augmented copies, degrees", 0.0, 180.0)
    validation_fraction: float = param(
        0.1, "mapping images held out to measure generalization and weight the inverse's "
        "frequencies (none below 8 images)", 0.0, 0.5,
    )  # fmt: skip
    max_pixels: int = param(
        1_000_000, "pixel buffer size (cells are subsampled beyond it)", 1000, 100_000_000
    )
    seed: int = param(0, "random seed of sampling and initialization", 0, 2**31 - 1)
    log_every: int = param(50, "report the loss every this many steps", 1, 100_000)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> ScrTrainConfig:
        """From a config.json dict (unknown keys ignored: older/newer checkpoints)."""
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in names})


@dataclass
class ScrConfig:
    """The ``scr`` localizer: dense scene coordinates, top-confidence pixels, PnP-RANSAC."""

    keep_fraction: float = param(
        0.5, "keep this fraction of the most confident pixels for PnP (paper: 50%)", 0.01, 1.0
    )
    max_correspondences: int = param(
        4096, "at most this many of them, sampled at random (paper: 4096)", 16, 1_000_000
    )
    ransac_threshold: float = param(
        8.0, "RANSAC inlier threshold in pixels of the query image", 0.5, 64.0
    )
    ransac_iterations: int = param(
        10_000, "RANSAC trials at most (paper: 10,000; 1,000 is ~10x faster)", 10, 1_000_000
    )
    min_inliers: int = param(12, "fewer pose inliers than this is a failure", 4, 100_000)
    refine: bool = param(True, "non-linear refinement of the pose on its inliers")
    fov_deg: float = param(
        60.0, "horizontal field of view assumed when the query has no intrinsics", 10.0, 170.0
    )
    use_map_camera: bool = param(
        True, "without query intrinsics, first try a map camera of the same image size"
    )
    estimate_focal: bool = param(
        True, "estimate the focal length in PnP when intrinsics are only guessed"
    )
    search_margin: float = param(
        0.1, "the inverse searches the training coordinates' range widened by this fraction "
        "of its extent on each side", 0.0, 10.0,
    )  # fmt: skip
    seed: int = param(0, "random seed of sampling and RANSAC (-1: a different one)", -1, 2**31 - 1)
