"""Mapping and localization on real photos (fox, ../shared/data): skipped where absent."""

from __future__ import annotations

from pathlib import Path

import pytest

from locgui.core.metrics import pose_error
from locgui.io import open_scene
from locgui.io.bundle import open_bundle
from locgui.io.queries import refs_for_eval
from locgui.methods.mapping.config import MapBuildConfig
from locgui.methods.mapping.pipeline import build_map
from locgui.methods.registry import get_method
from locgui.runtime.context import RunContext


@pytest.mark.slow
@pytest.mark.realdata
def test_fox_subset_map_localizes_held_out_photos(fox_path: Path, tmp_path: Path) -> None:
    scene = open_scene(fox_path)
    names = sorted(im.name for im in scene.images.values())[:15]  # neighbouring photos
    subset = scene.subset([i for i, im in scene.images.items() if im.name in names])
    cfg = MapBuildConfig(holdout=5, max_keypoints=1024, max_side=480, device="cpu")
    report = build_map(subset, tmp_path / "fox.locmap", cfg)
    bundle = open_bundle(report.path)
    assert report.images == 12 and report.points > 1000 and bundle.units == "arbitrary"
    refs, gt_scene = refs_for_eval(bundle, "test")
    assert [r.name for r in refs] == [names[0], names[5], names[10]]
    spec = get_method("sfm")
    localizer = spec.create(bundle, spec.make_config(max_side=480))
    radius = gt_scene.scene_radius()
    for ref in refs:
        result = localizer.localize(ref.load(), RunContext())
        assert result.success, result.reason
        t, r = pose_error(result.cam_from_world, ref.gt_cam_from_world)  # type: ignore[arg-type]
        assert t < 0.01 * radius and r < 1.0, (ref.name, t / radius, r)
