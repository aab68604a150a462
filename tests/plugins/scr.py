"""Fixtures of scene coordinate regression: the tiny map bundle with a tiny SCR checkpoint."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from locgui.io.bundle import MapBundle, open_bundle
from locgui.methods.scr.config import ScrTrainConfig
from tests.plugins.learned import SEED, learned_run

# About 20 s on one CPU core: 160 px images (20 x 16 cells), one augmented copy, a small head.
TINY_SCR_CONFIG = ScrTrainConfig(
    max_side=160,
    head_width=128,
    head_blocks=1,
    epochs=40.0,
    batch_size=256,
    learning_rate=1.5e-2,
    augmentations=1,
    log_every=100,
    seed=SEED,
)


@pytest.fixture(scope="session")
def tiny_scr_bundle_dir(tiny_bundle_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the tiny map bundle with checkpoint "scr" (``TINY_SCR_CONFIG``)."""
    from locgui.methods.scr.train import train_scr

    out = tmp_path_factory.mktemp("scr") / "tiny_scr.locmap"
    shutil.copytree(tiny_bundle_dir, out)
    with learned_run():
        train_scr(out, TINY_SCR_CONFIG, device="cpu")
    return out


@pytest.fixture(scope="session")
def tiny_scr_bundle(tiny_scr_bundle_dir: Path) -> MapBundle:
    """The opened tiny bundle with an SCR checkpoint (shared: do not modify it)."""
    return open_bundle(tiny_scr_bundle_dir)
