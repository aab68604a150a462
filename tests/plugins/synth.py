"""Fixtures for the synthetic room: the tiny scene on disk (generated once per session)."""

from __future__ import annotations

from pathlib import Path

import pytest

from locgui.io.synth import SyntheticRoom, generate

TINY_SEED = 0


@pytest.fixture(scope="session")
def tiny_scene_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A ``generate(..., preset="tiny", seed=0)`` scene: 16 mapping + 4 query images at
    320x240 with depth, exact poses and a sparse COLMAP model (see docs/DEVELOPING.md)."""
    return generate(tmp_path_factory.mktemp("synth") / "tiny", seed=TINY_SEED, preset="tiny")


@pytest.fixture(scope="session")
def tiny_room() -> SyntheticRoom:
    """The room the tiny scene was rendered from (render any view with ``.render``)."""
    return SyntheticRoom(TINY_SEED)
