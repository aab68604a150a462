"""Registry specs and localizer configs of ``nerfmatch`` and ``apr`` (light module)."""

from __future__ import annotations

from dataclasses import dataclass

from locgui.methods.nerf.config import TINY_APR, TINY_NERF, TINY_NERFMATCH, param
from locgui.methods.registry import MethodSpec, TrainerSpec


@dataclass
class NerfMatchConfig:
    """NeRFMatch-Mini localization settings."""

    retrieval: str = param(
        "auto",
        "reference pose from: bundle (its global index on map images), nerf (descriptors of "
        "NeRF renderings: the NeRF is the only map), auto (bundle when it has an index)",
        choices=("auto", "bundle", "nerf"),
    )
    num_references: int = param(1, "retrieved reference poses tried (best PnP kept)", min=1, max=20)
    match_threshold: float = param(0.01, "minimum dual-softmax score of a match", min=0.0, max=1.0)
    subpixel: bool = param(True, "refine match positions within the neighbouring patches")
    refine_steps: int = param(2, "iterative refinement: re-render at the estimate, re-match", min=0)
    photometric_steps: int = param(
        0, "iNeRF photometric refinement steps before the last matching (0: off)", min=0
    )
    photometric_lr: float = param(0.003, "photometric refinement learning rate", min=1e-6)
    photometric_side: int = param(80, "image side for photometric refinement (pixels)", min=16)
    ransac_threshold_px: float = param(
        6.0, "PnP RANSAC threshold in encoder pixels (matches are 8x8 patch centres)", min=0.5
    )
    min_inliers: int = param(20, "fewest PnP inliers for a success", min=4)
    min_inlier_ratio: float = param(0.25, "fewest inliers as a share of the matches", min=0.0)
    render_side: int = param(240, "longer side of the rendering at the estimate (views)", min=0)
    fov_deg: float = param(60.0, "horizontal field of view assumed without intrinsics", min=10)


@dataclass
class AprConfig:
    """DFNet-style absolute pose regression settings."""

    refine: str = param(
        "none",
        "refinement of the regressed pose: none, or match (XFeat matches between the query "
        "and the NeRF rendering at the pose, lifted to 3D by the rendered depth, PnP)",
        choices=("none", "match"),
    )
    refine_steps: int = param(1, "render-and-match rounds when refine = match", min=1, max=10)
    refine_side: int = param(320, "longer side of the rendering matched against (pixels)", min=64)
    max_keypoints: int = param(1024, "XFeat keypoints per image for refinement", min=64)
    ransac_threshold_px: float = param(4.0, "PnP RANSAC threshold (refinement image pixels)")
    min_inliers: int = param(12, "fewest PnP inliers to accept a refinement", min=4)
    render_side: int = param(240, "longer side of the rendering at the estimate (views)", min=0)
    fov_deg: float = param(60.0, "horizontal field of view assumed without intrinsics", min=10)


_NERF = "locgui.methods.nerf"

SPECS = [
    MethodSpec(
        name="nerfmatch",
        title="NeRFMatch-Mini (NeRF features, dual-softmax 2D-3D matching)",
        family="NeRF map",
        config=f"{_NERF}.spec:NerfMatchConfig",
        factory=f"{_NERF}.nerfmatch:NerfMatchLocalizer",
        requires=("nerf", "nerfmatch"),
        presets={
            "fast": {"refine_steps": 0, "render_side": 160},
            "accurate": {"refine_steps": 3, "num_references": 3},
            "photometric": {"refine_steps": 1, "photometric_steps": 30},
        },
        test_config={"refine_steps": 1, "render_side": 64},
        paper=(
            "NeRFMatch-Mini (Zhou et al.): reference pose by retrieval, NeRF points + "
            "intermediate features rendered at 8x8 patch centres (eq. 2), dual-softmax mutual "
            "matching, PnP, iterative and optional iNeRF refinement. Substitutes: a K-Planes "
            "NeRF instead of Mip-NeRF, frozen XFeat + a trained head instead of ConvFormer, a "
            "learned projection of the NeRF features"
        ),
    ),
    MethodSpec(
        name="apr",
        title="Absolute pose regression (DFNet-style)",
        family="pose regression",
        config=f"{_NERF}.spec:AprConfig",
        factory=f"{_NERF}.apr:AprLocalizer",
        requires=("apr",),
        presets={"refined": {"refine": "match", "refine_steps": 2}},
        test_config={"render_side": 64},
        paper=(
            "DFNet (Chen et al.): pose regressed from frozen pretrained features (XFeat instead "
            "of VGG/EfficientNet), trained on map images plus NeRF-rendered random views (RVS); "
            "optional refinement by feature matching against the NeRF rendering at the "
            "regressed pose (DFNet's direct feature matching is a training-time loss; here it "
            "refines at query time)"
        ),
    ),
]

TRAINERS = [
    TrainerSpec(
        name="nerf",
        title="the scene's NeRF (K-Planes field)",
        config=f"{_NERF}.config:NerfConfig",
        train=f"{_NERF}.trainers:train_field",
        provides=("nerf",),
        tiny=TINY_NERF,
        resumable=True,
        summary=("steps", "train_seconds", "psnr_heldout", "device"),
        renderer=f"{_NERF}.trainers:field_renderer",
    ),
    TrainerSpec(
        name="nerfmatch",
        title="NeRFMatch-Mini's image and point heads",
        config=f"{_NERF}.config:NerfMatchTrainConfig",
        train=f"{_NERF}.trainers:train_match_heads",
        provides=("nerfmatch",),
        requires=("nerf",),
        tiny=TINY_NERFMATCH,
        summary=("steps", "train_seconds", "final_patch_accuracy", "pairs"),
    ),
    TrainerSpec(
        name="apr",
        title="the absolute pose regressor (DFNet-style)",
        config=f"{_NERF}.config:AprTrainConfig",
        train=f"{_NERF}.trainers:train_regressor",
        provides=("apr",),
        tiny=TINY_APR,
        summary=("train_seconds", "train_images", "synthetic_views", "train_centre_error",
                 "train_rotation_error_deg"),  # fmt: skip
    ),
]
