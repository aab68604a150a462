"""Registry specs of the structure-based localizers (light module: names only)."""

from __future__ import annotations

from locgui.methods.registry import MethodSpec

_CFG = "locgui.methods.localize.configs"

SPECS = [
    MethodSpec(
        name="sfm",
        title="Structure-based (retrieval + matching + PnP)",
        family="structure-based",
        config=f"{_CFG}:SfmConfig",
        factory="locgui.methods.localize.sfm:SfmLocalizer",
        requires=("sfm_points", "retrieval"),
        presets={
            # fast: no sub-pixel query alignment (its ~90 ms per query at 640x480)
            "fast": {"retrieval_k": 2, "max_keypoints": 1024, "refine_keypoints": False},
            "accurate": {"retrieval_k": 8, "max_keypoints": 4096, "triangulated_only": False},
        },
        test_config={"retrieval_k": 5, "max_keypoints": 2048},
        paper="hloc-style baseline; XFeat/SIFT/ALIKED features, pycolmap PnP-RANSAC + refinement",
    ),
    MethodSpec(
        name="points",
        title="Point-cloud features (3DFA deployment mode)",
        family="point-cloud features",
        config=f"{_CFG}:PointsConfig",
        factory="locgui.methods.localize.points:PointsLocalizer",
        requires=("sfm_points", "retrieval", "point_descriptors"),
        presets={
            "fast": {"retrieval_k": 3, "max_keypoints": 1024},
            "accurate": {"retrieval_k": 10, "max_keypoints": 4096},
        },
        test_config={"retrieval_k": 5, "max_keypoints": 2048},
        paper=(
            "3DFA: per-point descriptors are the mean of the observations' local descriptors "
            "(the paper learns them); direct 2D-3D matching with reliability threshold S"
        ),
    ),
    MethodSpec(
        name="rpr",
        title="Relative pose to a reference (essential matrix + map scale)",
        family="relative pose",
        config=f"{_CFG}:RprConfig",
        factory="locgui.methods.localize.rpr:RprLocalizer",
        requires=("sfm_points", "retrieval"),
        presets={
            "fast": {"retrieval_k": 1, "max_keypoints": 1024},
            "accurate": {"retrieval_k": 5, "max_keypoints": 4096},
        },
        test_config={"retrieval_k": 3, "max_keypoints": 2048},
        paper="the classical baseline of the RPR paper: 5-point RANSAC, scale from map depths",
    ),
]
