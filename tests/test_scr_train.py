"""SCR training on the tiny synthetic map: fit, checkpoint safety, scene check, cancel/resume."""

from __future__ import annotations

import json
import shutil
import threading
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from locgui.core.errors import BundleError, Cancelled, MethodError
from locgui.core.pose import Rigid3
from locgui.io.bundle import MapBundle, open_bundle
from locgui.methods.scr.checkpoint import load_checkpoint, scene_fingerprint
from locgui.methods.scr.config import ScrTrainConfig
from locgui.runtime.context import RunContext
from tests.plugins.scr import TINY_SCR_CONFIG

pytestmark = pytest.mark.learned

# Measured with TINY_SCR_CONFIG: median error 0.12 m on the training views' cells (the room is
# 8 x 6 x 3 m; predicting its centre everywhere gives ~2.5 m).
TRAIN_ERROR_M = 0.25
# The two held-out views are new viewpoints for a head trained on 14 tiny images: measured
# 1.9-2.4 m over seeds, thread counts and kernel sets (scripts/test_spread.py): about what
# predicting the room centre everywhere gives (~2.5 m), so the tiny head does not generalize
# (the SCR issue is about that). The bound only checks that the error is measured in the map's
# frame and units: a wrong frame or scale puts predictions off by the room's size (5-10 m).
VALIDATION_ERROR_M = 3.5
QUICK = replace(TINY_SCR_CONFIG, epochs=2.0, batch_size=256, log_every=10)


def _metrics(folder: Path) -> dict:
    return json.loads((folder / "metrics.json").read_text())


def test_training_fits_the_mapping_views(tiny_scr_bundle: MapBundle, figures) -> None:
    folder = tiny_scr_bundle.checkpoint_dir("scr")
    m = _metrics(folder)
    assert "scr" in tiny_scr_bundle.capabilities
    assert m["completed"] and m["step"] == m["total_steps"] and m["supervision"] == "depth"
    curve = np.array(m["loss_curve"])
    assert figures.below("final / first loss", curve[-1, 1] / curve[0, 1], 0.5)
    assert figures.below("training-view median error (m)", m["train_median_error"], TRAIN_ERROR_M)
    # two of the 16 views are held out: new viewpoints are predicted less well
    assert m["images"] == 14 and m["validation_images"] == 2
    assert m["train_median_error"] < m["validation_median_error"]
    assert figures.below("validation median error (m)", m["validation_median_error"],
                         VALIDATION_ERROR_M)  # fmt: skip
    weights = np.array(m["frequency_weights"])
    assert weights.shape == (3, 6) and weights.max() == 1.0


def test_checkpoint_is_weights_only_and_names_its_scene(tiny_scr_bundle: MapBundle) -> None:
    import torch

    folder = tiny_scr_bundle.checkpoint_dir("scr")
    for name in ("weights.pt", "train_state.pt"):
        state = torch.load(folder / name, weights_only=True)
        assert isinstance(state, dict)
    weights = torch.load(folder / "weights.pt", weights_only=True)
    assert all(isinstance(v, torch.Tensor) for v in weights.values())
    config = json.loads((folder / "config.json").read_text())
    assert config["scene"]["fingerprint"] == scene_fingerprint(tiny_scr_bundle.scene)
    assert config["model"]["encoding"] == "cosine" and config["model"]["out_dim"] == 36
    loaded = load_checkpoint(folder, tiny_scr_bundle.scene, "cpu")
    assert loaded.meta.search_lo < loaded.meta.search_hi


def test_checkpoint_of_another_scene_is_refused(tiny_scr_bundle: MapBundle) -> None:
    scene = tiny_scr_bundle.scene.subset(list(tiny_scr_bundle.scene.images))
    first = min(scene.images)
    im = scene.images[first]
    assert im.cam_from_world is not None
    moved = Rigid3(im.cam_from_world.rotation, im.cam_from_world.translation + [0.0, 0.0, 0.5])
    scene.images = {**scene.images, first: replace(im, cam_from_world=moved)}
    with pytest.raises(MethodError, match="trained for another scene"):
        load_checkpoint(tiny_scr_bundle.checkpoint_dir("scr"), scene, "cpu")


def test_cancel_keeps_the_last_step_and_resume_finishes(
    tiny_bundle_dir: Path, tmp_path: Path
) -> None:
    from locgui.methods.scr.train import train_scr

    bundle_dir = tmp_path / "b.locmap"
    shutil.copytree(tiny_bundle_dir, bundle_dir)
    reports: list[str] = []
    cancel = threading.Event()

    def on_progress(stage: str, fraction: float, message: str) -> None:
        if stage == "scr training":
            reports.append(message)
            if len(reports) == 2:
                cancel.set()  # as the UI's cancel button does

    ctx = RunContext(on_progress=on_progress, cancel_event=cancel)
    with pytest.raises(Cancelled):
        train_scr(bundle_dir, QUICK, ctx, device="cpu")
    with pytest.raises(BundleError):  # no complete checkpoint yet
        open_bundle(bundle_dir).checkpoint_dir("scr")
    m = _metrics(bundle_dir / ".train" / "scr")  # the unfinished run, under its own name
    assert not m["completed"] and m["step"] == 2 * QUICK.log_every < m["total_steps"]
    total = m["total_steps"]
    done = train_scr(bundle_dir, None, RunContext(), device="cpu", resume=True)
    m = _metrics(done)
    assert m["completed"] and m["step"] == m["total_steps"] == total
    steps = [row[0] for row in m["loss_curve"]]
    assert steps[:2] == [QUICK.log_every, 2 * QUICK.log_every] and steps == sorted(steps)


def test_sfm_supervision_and_xyz_encoding_on_a_scene_without_depth(
    tiny_bundle: MapBundle, tmp_path: Path
) -> None:
    from locgui.methods.scr.train import train_scr

    scene = tiny_bundle.scene.subset(list(tiny_bundle.scene.images))
    scene.images = {i: replace(im, depth=None) for i, im in scene.images.items()}
    cfg = replace(QUICK, encoding="xyz", epochs=2.0)
    folder = train_scr(scene, cfg, RunContext(), device="cpu", out_dir=tmp_path / "ckpt")
    m = _metrics(folder)
    config = json.loads((folder / "config.json").read_text())
    assert m["supervision"] == "sfm" and m["completed"]
    assert config["model"]["out_dim"] == 3 and m["frequency_weights"] is None
    # SfM points triangulated from exact poses: a few hundred labelled cells per view; the
    # reprojection loss trains the unlabelled cells of the views too
    assert 16 * 50 < m["labelled_cells"] < m["cells"] <= 16 * 300 * 2


def test_unknown_encoding_and_resume_without_checkpoint(tiny_bundle_dir: Path, tmp_path: Path):
    from locgui.methods.scr.train import train_scr

    bundle_dir = tmp_path / "b.locmap"
    shutil.copytree(tiny_bundle_dir, bundle_dir)
    with pytest.raises(MethodError, match="unknown encoding"):
        train_scr(bundle_dir, ScrTrainConfig(encoding="polar"), device="cpu")
    with pytest.raises(MethodError, match="no SCR checkpoint to resume"):
        train_scr(bundle_dir, QUICK, device="cpu", resume=True)


@pytest.mark.parametrize(
    ("edit", "message"),
    [({"version": 1}, "format version 1"), ({"encoder": "xfeat-v0"}, "trained on the encoder")],
)
def test_checkpoint_of_an_older_format_or_encoder_is_refused(
    tiny_scr_bundle: MapBundle, tmp_path: Path, edit: dict, message: str
) -> None:
    folder = tmp_path / "ckpt"
    shutil.copytree(tiny_scr_bundle.checkpoint_dir("scr"), folder)
    config = json.loads((folder / "config.json").read_text())
    (folder / "config.json").write_text(json.dumps({**config, **edit}))
    with pytest.raises(MethodError, match=message):
        load_checkpoint(folder, tiny_scr_bundle.scene, "cpu")
