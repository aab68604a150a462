"""`locgui info X.locmap`: a map bundle reads as a scene with a summary of what it holds."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from locgui.cli import main
from locgui.core import BundleError, SceneMap
from locgui.io import open_scene
from locgui.io.bundle import MANIFEST, open_bundle, write_bundle


@dataclass
class FakeFeatures:
    keypoints: np.ndarray
    descriptors: np.ndarray
    scores: np.ndarray
    image_size: tuple[int, int]
    kind: str = "xfeat"


def write_small_bundle(out: Path, scene: SceneMap) -> Path:
    """A bundle of ``scene``'s posed images with made-up features and a retrieval index."""
    scene = scene.subset(scene.posed_ids())
    features = {}
    for image_id, im in scene.images.items():
        assert im.keypoints is not None
        n = len(im.keypoints)
        descriptors = np.arange(n * 8, dtype=np.float32).reshape(n, 8) + image_id
        keypoints = im.keypoints.astype(np.float32)
        features[image_id] = FakeFeatures(
            keypoints, descriptors, np.ones(n, np.float32), (640, 480)
        )
    return write_bundle(
        out, scene, features, {"type": "xfeat", "config": {}},
        retrieval_state={"descriptors": np.zeros((len(features), 4), np.float32)},
    )  # fmt: skip


def test_open_scene_reads_a_bundle(tmp_path: Path, random_scene) -> None:
    scene = random_scene(seed=2)
    path = write_small_bundle(tmp_path / "m.locmap", scene)
    back = open_scene(path)
    assert back.source_format == "locmap" and back.source_path == path
    assert sorted(back.images) == sorted(scene.posed_ids())
    summary = back.meta["map_bundle"]
    assert summary["features"] == "xfeat" and summary["num_feature_images"] == len(back.images)
    assert summary["capabilities"] == ["features:xfeat", "retrieval", "sfm_points"]
    assert summary["checkpoints"] == {}


def test_info_prints_the_bundle_summary(tmp_path: Path, random_scene, capsys) -> None:
    scene = random_scene(seed=3)
    path = write_small_bundle(tmp_path / "m.locmap", scene)
    open_bundle(path).add_checkpoint("scr", {"weights.bin": b"\0"}, {"a": 1}, {"loss": 0.5})
    assert main(["info", str(path)]) == 0
    out = capsys.readouterr().out
    assert "format:   locmap" in out
    assert f"images:   {len(scene.posed_ids())} ({len(scene.posed_ids())} with poses)" in out
    assert "camera 1: OPENCV 640x480 fx=500.5 fy=510.25" in out
    assert "camera 4: PINHOLE 320x240 fx=300 fy=301" in out
    assert f"points:   {len(scene.points)} " in out
    assert "features: xfeat (6 images)" in out
    assert "holds:    features:xfeat, retrieval, scr, sfm_points" in out
    assert "trained:  scr" in out
    methods = out.split("methods:  ")[1].splitlines()[0].split(", ")
    assert {"sfm", "rpr", "scr"} <= set(methods) and "points" not in methods

    assert main(["info", str(path), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["format"] == "locmap" and "map_bundle" not in info["meta"]
    assert info["map_bundle"]["checkpoints"]["scr"]["capabilities"] == ["scr"]
    assert info["map_bundle"]["features"] == "xfeat"
    assert "sfm" in info["map_bundle"]["methods"]


def test_other_scenes_have_no_bundle_entry(tmp_path: Path, random_scene, capsys) -> None:
    from locgui.io.colmap import write_colmap

    write_colmap(random_scene(), tmp_path)
    assert main(["info", str(tmp_path), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["map_bundle"] is None


def test_incomplete_bundle_says_so(tmp_path: Path, random_scene, capsys) -> None:
    path = write_small_bundle(tmp_path / "m.locmap", random_scene())
    (path / MANIFEST).unlink()
    with pytest.raises(BundleError, match="incomplete map bundle"):
        open_scene(path)
    assert main(["info", str(path)]) == 2
    assert "incomplete map bundle" in capsys.readouterr().err
