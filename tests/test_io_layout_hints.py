"""A folder read as plain images says so when it looks like a failed attempt at another
layout; a folder with nothing readable names what was looked for and what was found."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest

from locgui.cli import main
from locgui.core import SceneFormatError
from locgui.io import open_scene
from locgui.io.images import write_image


def with_images(root: Path) -> Path:
    for name in ("a.png", "b.png"):
        write_image(root / "images" / name, np.zeros((4, 6, 3), np.uint8))
    return root


@pytest.mark.parametrize(
    ("files", "note"),
    [
        (["sparse/"], "sparse/ holds no COLMAP model"),
        (["sparse/0/"], "sparse/ holds no COLMAP model"),
        (["database.db"], "database.db without a COLMAP model"),
        (["cameras.txt"], "cameras.txt alone is not a COLMAP model"),
        (["sparse/0/points3D.bin"], "sparse/0/points3D.bin alone is not a COLMAP model"),
        (["transforms_train.json"], "transforms_train.json is not read"),
        (["sensors/records_camera.txt"], "sensors/ without sensors.txt is not a kapture"),
        (["model.nvm"], "an .nvm file without dataset_train.txt"),
        (["seq-01/"], "seq-* folders without frame-*.pose.txt"),
    ],
)
def test_fallback_to_plain_images_is_noted(
    tmp_path: Path, files: list[str], note: str, caplog, capsys
) -> None:
    root = with_images(tmp_path / "scene")
    for name in files:
        if name.endswith("/"):
            (root / name).mkdir(parents=True)
        else:
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            (root / name).write_text("x")
    with caplog.at_level(logging.WARNING, logger="locgui.io.folder"):
        scene = open_scene(root)
    assert scene.source_format == "images"
    assert any(note in n for n in scene.meta["layout_notes"]), scene.meta["layout_notes"]
    assert any("read as plain images" in r.getMessage() and note in r.getMessage()
               for r in caplog.records)  # fmt: skip
    assert main(["info", str(root)]) == 0
    assert f"note:     {note}" in capsys.readouterr().out


def test_clean_image_folder_has_no_notes(tmp_path: Path, caplog) -> None:
    root = with_images(tmp_path / "scene")
    with caplog.at_level(logging.WARNING):
        scene = open_scene(root)
    assert "layout_notes" not in scene.meta and not caplog.records


def test_nothing_readable_names_what_was_looked_for_and_found(tmp_path: Path) -> None:
    (tmp_path / "sparse").mkdir()
    (tmp_path / "sparse" / "cameras.txt").write_text("# nothing\n")
    with pytest.raises(SceneFormatError) as info:
        open_scene(tmp_path)
    message = str(info.value)
    assert "not a recognized scene (looked for: locmap, kapture, colmap," in message
    assert "images)" in message
    assert "sparse/cameras.txt alone is not a COLMAP model" in message
