"""Registry spec of the scene coordinate regression localizer (light module: names only)."""

from __future__ import annotations

from locgui.methods.registry import MethodSpec, TrainerSpec

SPECS = [
    MethodSpec(
        name="scr",
        title="Scene coordinate regression (SACReg cosine encoding)",
        family="scene coordinate regression",
        config="locgui.methods.scr.config:ScrConfig",
        factory="locgui.methods.scr.localizer:ScrLocalizer",
        requires=("scr",),
        presets={
            "fast": {"max_correspondences": 1024, "ransac_iterations": 1000},
            "accurate": {"max_correspondences": 8192, "keep_fraction": 0.5},
        },
        test_config={"max_correspondences": 1024, "ransac_iterations": 2000},
        paper=(
            "SACReg (scene-agnostic, transformer over database images) is not available; "
            "locgui trains a per-scene head on frozen XFeat features that regresses the paper's "
            "cosine point encoding with its confidence loss, inverts it by probing (eq. 15-20), "
            "keeps the 50% most confident pixels and runs PnP-RANSAC + refinement"
        ),
    ),
]

TRAINERS = [
    TrainerSpec(
        name="scr",
        title="the scene coordinate regression head",
        config="locgui.methods.scr.config:ScrTrainConfig",
        train="locgui.methods.scr.trainer:train",
        provides=("scr",),
        tiny={"epochs": 1.0, "max_side": 160, "head_width": 64, "augmentations": 0},
        resumable=True,
        summary=(
            "step",
            "train_seconds",
            "train_median_error",
            "validation_median_error",
            "supervision",
            "device",
        ),  # fmt: skip
    ),
]
