"""Fixtures of the NeRF area: a tiny NeRF of the tiny synthetic scene, and a copy of the tiny
map bundle with a NeRF, NeRFMatch heads and a pose regressor trained into it.

Training runs under the learned-test settings (tests/plugins/learned.py): seeded by
LOCGUI_TEST_SEED, LOCGUI_TEST_THREADS torch threads (default one: on a shared 2-core machine
two OpenMP threads spend most of their time waiting for each other, measured 35 ms vs 1.7 s
per NeRF step), deterministic algorithms.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.plugins.learned import SEED, learned_run

# Small enough for seconds on one CPU core, big enough to localize against (see the tests).
TINY_NERF_TEST = {
    "steps": 400,
    "batch_rays": 512,
    "max_side": 64,
    "grid_levels": 3,
    "grid_base_res": 32,
    "grid_channels": 8,
    "hidden": 32,
    "coarse_samples": 24,
    "fine_samples": 24,
    "eval_every": 0,
    "eval_views": 2,
}
TINY_NERFMATCH_TEST = {"epochs": 20, "lr": 5e-4, "image_side": 160, "refs_per_image": 2, "dim": 64}
TINY_APR_TEST = {"epochs": 60, "image_side": 128, "synthetic_views": 1, "batch": 8}


@pytest.fixture(scope="session")
def tiny_nerf_dir(tiny_scene_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A checkpoints folder with ``nerf/`` trained on the tiny scene (not a bundle)."""
    from locgui.methods.nerf.config import NerfConfig
    from locgui.methods.nerf.train import train_nerf

    out = tmp_path_factory.mktemp("nerf") / "checkpoints"
    with learned_run():
        train_nerf(tiny_scene_dir, NerfConfig(**TINY_NERF_TEST, seed=SEED), out=out, device="cpu")
    return out


@pytest.fixture(scope="session")
def nerf_bundle_dir(
    tiny_bundle_dir: Path, tiny_nerf_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """A copy of the tiny map bundle with checkpoints nerf, nerfmatch and apr."""
    from locgui.io.bundle import open_bundle
    from locgui.methods.checkpoint import read_config
    from locgui.methods.nerf.apr_train import train_apr
    from locgui.methods.nerf.config import AprTrainConfig, NerfMatchTrainConfig
    from locgui.methods.nerf.train_match import train_nerfmatch

    path = tmp_path_factory.mktemp("nerfmap") / "tiny.locmap"
    shutil.copytree(tiny_bundle_dir, path)
    bundle = open_bundle(path)
    src = tiny_nerf_dir / "nerf"
    bundle.add_checkpoint(
        "nerf", {"nerf.pt": src / "nerf.pt"}, read_config(src), {"copied_from": str(src)}
    )
    with learned_run():
        match_config = NerfMatchTrainConfig(**TINY_NERFMATCH_TEST, seed=SEED)
        train_nerfmatch(bundle, match_config, device="cpu")
        train_apr(bundle, AprTrainConfig(**TINY_APR_TEST, seed=SEED), device="cpu")
    return path
