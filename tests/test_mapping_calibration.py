"""Bounded self-calibration in SfM, on the tiny synthetic scene's photos without poses or
intrinsics (true focal 251.15 px for 320 x 240; the default prior is 1.2 x 320 = 384 px)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from locgui.core.scene import SceneMap
from locgui.io import open_scene
from locgui.methods.mapping.calibration import calibration_policy
from locgui.methods.mapping.config import MapBuildConfig
from locgui.methods.mapping.pipeline import build_map

CONFIG = MapBuildConfig(device="cpu")


@pytest.fixture(scope="module")
def photos(tiny_scene_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny scene's images as a plain folder: no poses, no EXIF."""
    folder = tmp_path_factory.mktemp("photos")
    for file in sorted((tiny_scene_dir / "images").iterdir()):
        shutil.copy(file, folder / file.name)
    return folder


def _truth(tiny_scene_dir: Path) -> float:
    return float(open_scene(tiny_scene_dir).cameras[1].focal[0])


def _build(source: Path | SceneMap, out: Path, **overrides: object) -> dict:
    cfg = MapBuildConfig(**{**CONFIG.to_dict(), **overrides})
    report = build_map(source, out, cfg)
    assert len(report.cameras) == 1
    return report.cameras[0]


def test_sfm_recovers_the_focal_from_the_default_prior(
    photos: Path, tiny_scene_dir: Path, tmp_path: Path
) -> None:
    cam = _build(photos, tmp_path / "m.locmap")
    assert (cam["source"], cam["prior_focal"], cam["refined"]) == ("default", 384.0, True)
    assert cam["registered"] == cam["images"] == 20
    assert abs(cam["final_focal"] / _truth(tiny_scene_dir) - 1) < 0.05


def test_only_exif_cameras_shared_by_enough_images_are_refined(photos: Path) -> None:
    scene = open_scene(photos)
    ids = sorted(scene.images)
    assert calibration_policy(scene, ids, min_images=21).plans[1].refine  # default prior
    scene.meta["camera_priors"][1]["source"] = "exif"
    plan = calibration_policy(scene, ids, min_images=21).plans[1]
    assert not plan.refine and "only 20 image(s) share it" in plan.note
    assert calibration_policy(scene, ids, min_images=20).plans[1].refine
    scene.meta["camera_priors"][1]["source"] = "calibration"
    assert not calibration_policy(scene, ids, min_images=1).plans[1].refine


def test_a_focal_leaving_its_bounds_is_held_at_the_prior(photos: Path, tmp_path: Path) -> None:
    scene = open_scene(photos)
    scene.meta["camera_priors"][1]["bounds"] = 1.1  # 384 px +-10 %: the truth is 35 % below
    cam = _build(scene, tmp_path / "m.locmap")
    assert not cam["refined"] and cam["final_focal"] == pytest.approx(384.0)
    assert "held at the prior: focal" in cam["note"] and "left [349, 422]" in cam["note"]

