"""COLMAP project folders (database.db, images/, sparse/N or reconstruction/) and incomplete
models that name their missing file."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import numpy as np
import pytest

from locgui.core import SceneFormatError, SceneMap
from locgui.io import open_scene
from locgui.io.colmap import write_colmap
from locgui.io.images import write_image


def make_project(root: Path, scene: SceneMap, model: str, binary: bool) -> Path:
    """A COLMAP project: an (empty) database.db, the images and the model at ``model``."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "database.db").write_bytes(b"SQLite format 3\0")
    for im in scene.images.values():
        write_image(root / "images" / im.name, np.zeros((4, 6, 3), np.uint8))
    write_colmap(scene, root / model, binary=binary, sidecar=False)
    return root


@pytest.mark.parametrize("binary", [True, False])
@pytest.mark.parametrize("model", ["sparse/0", "sparse", "reconstruction", "reconstruction/0"])
def test_project_folder_is_one_scene(tmp_path: Path, random_scene, model: str, binary: bool):
    scene = random_scene(seed=5)
    root = make_project(tmp_path / "project", scene, model, binary)
    back = open_scene(root)
    assert back.source_format == "colmap"
    assert back.meta["model_dir"] == str((root / model).resolve())
    assert back.meta["colmap_format"] == ("binary" if binary else "text")
    assert back.image_dir == (root / "images").resolve()
    assert back.missing_images == []
    assert sorted(back.images) == sorted(scene.posed_ids())
    for image_id in back.images:
        pose, expected = back.images[image_id].cam_from_world, scene.images[image_id].cam_from_world
        assert pose is not None and expected is not None and pose.allclose(expected, atol=1e-12)
    np.testing.assert_array_equal(back.points.xyz, scene.points.xyz)


@pytest.mark.parametrize("binary", [True, False])
def test_several_numbered_models_read_the_largest(
    tmp_path: Path, random_scene, binary: bool, caplog
) -> None:
    root = make_project(tmp_path / "p", random_scene(seed=1, n_images=3), "sparse/0", binary)
    for n, n_images in ((1, 8), (2, 2)):
        scene = random_scene(seed=n, n_images=n_images)
        write_colmap(scene, root / "sparse" / str(n), binary=binary, sidecar=False)
    with caplog.at_level(logging.INFO, logger="locgui.io.colmap_layout"):
        back = open_scene(root)
    assert back.meta["model_dir"] == str((root / "sparse" / "1").resolve())
    assert len(back.images) == 8
    logged = [r.getMessage() for r in caplog.records if r.levelno == logging.INFO]
    assert len(logged) == 1 and "3 models (3, 8, 2 images); reading the largest, 1" in logged[0]


@pytest.mark.parametrize("ext", [".bin", ".txt"])
@pytest.mark.parametrize("missing", ["cameras", "images", "points3D"])
@pytest.mark.parametrize("where", ["", "sparse/0", "sparse", "reconstruction"])
def test_incomplete_model_names_the_missing_file(
    tmp_path: Path, random_scene, ext: str, missing: str, where: str
) -> None:
    root = make_project(tmp_path / "p", random_scene(), where or ".", ext == ".bin")
    model = root / where if where else root
    (model / f"{missing}{ext}").unlink()
    with pytest.raises(SceneFormatError) as info:
        open_scene(root)
    message = str(info.value)
    assert f"incomplete COLMAP model: {missing}{ext} missing" in message
    assert message.startswith(str(model.resolve()))


def test_complete_model_wins_over_an_incomplete_one(tmp_path: Path, random_scene) -> None:
    root = make_project(tmp_path / "p", random_scene(), "sparse/0", True)
    shutil.copytree(root / "sparse" / "0", root / "sparse" / "1")
    (root / "sparse" / "1" / "images.bin").unlink()
    assert open_scene(root).meta["model_dir"] == str((root / "sparse" / "0").resolve())
