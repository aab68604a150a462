"""Fixtures of the mapping/localization engine: the tiny synthetic scene's map bundle."""

from __future__ import annotations

from pathlib import Path

import pytest

from locgui.io.bundle import MapBundle, open_bundle
from locgui.methods.mapping.config import MapBuildConfig
from locgui.methods.mapping.pipeline import build_map

TINY_MAP_CONFIG = MapBuildConfig(max_keypoints=2048, device="cpu")


@pytest.fixture(scope="session")
def tiny_bundle_dir(tiny_scene_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``locgui map build`` of the tiny scene (XFeat, mutual NN, known poses triangulated)."""
    out = tmp_path_factory.mktemp("engine") / "tiny.locmap"
    build_map(tiny_scene_dir, out, TINY_MAP_CONFIG)
    return out


@pytest.fixture(scope="session")
def tiny_bundle(tiny_bundle_dir: Path) -> MapBundle:
    """The opened tiny map bundle (shared: do not modify it)."""
    return open_bundle(tiny_bundle_dir)
