"""Photo sets SfM cannot make a good map of: a clear message, never a map of garbage."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from locgui.core.errors import MethodError, SceneFormatError
from locgui.io import open_scene
from locgui.io.images import write_image
from locgui.methods.mapping.config import MapBuildConfig
from locgui.methods.mapping.pipeline import build_map
from locgui.methods.mapping.source import select_images


def _copy(tiny_scene_dir: Path, folder: Path, n: int) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    files = sorted((tiny_scene_dir / "images").glob("map_*"))[:n]
    return [Path(shutil.copy(f, folder / f.name)) for f in files]


def test_a_single_photo_is_refused(tiny_scene_dir: Path, tmp_path: Path) -> None:
    _copy(tiny_scene_dir, tmp_path / "one", 1)
    with pytest.raises(SceneFormatError, match="1 mapping images; need 2"):
        build_map(tmp_path / "one", tmp_path / "m.locmap", MapBuildConfig(device="cpu"))


def test_duplicates_and_panoramas_are_left_out_with_the_reason(
    tiny_scene_dir: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "set"
    first = _copy(tiny_scene_dir, folder, 3)[0]
    shutil.copy(first, folder / "zz_copy.png")
    write_image(folder / "pano.png", np.full((100, 1000, 3), 128, np.uint8))
    inp = select_images(open_scene(folder))
    assert inp.left_out == {
        "pano.png": "1000x100 looks like a panorama (aspect > 4:1), which no pinhole camera "
        "model describes",
        "zz_copy.png": f"an exact duplicate of {first.name}",
    }
    assert len(inp.map_ids) == 3


def test_photos_without_overlap_give_no_map(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    for k in range(4):  # unrelated random textures: nothing to register
        texture = rng.integers(0, 255, (60, 80, 3), dtype=np.uint8)
        write_image(tmp_path / "set" / f"{k}.png", np.kron(texture, np.ones((4, 4, 1), np.uint8)))
    with pytest.raises(MethodError, match="SfM registered no images"):
        build_map(tmp_path / "set", tmp_path / "m.locmap", MapBuildConfig(device="cpu"))
    assert not (tmp_path / "m.locmap").exists()
