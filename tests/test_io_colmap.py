"""COLMAP model round trips through pycolmap, the sidecar, and layout detection."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from locgui.core import DepthInfo, SceneFormatError, SceneMap, UnsupportedCameraModel
from locgui.io import open_scene
from locgui.io.colmap import find_model_dir, read_colmap, write_colmap
from locgui.io.sidecar import SIDECAR_NAME


def assert_same_scene(a: SceneMap, b: SceneMap, posed_only: bool = False) -> None:
    """Exact equality of everything COLMAP stores; rotations to 1e-15 (stored as quaternions)."""
    assert b.cameras == a.cameras
    ids_a = [i for i, im in a.images.items() if not posed_only or im.cam_from_world is not None]
    assert sorted(b.images) == sorted(ids_a)
    for image_id in ids_a:
        ia, ib = a.images[image_id], b.images[image_id]
        assert (ib.name, ib.camera_id, ib.split) == (ia.name, ia.camera_id, ia.split)
        if ia.cam_from_world is None:
            assert ib.cam_from_world is None
            continue
        assert ib.cam_from_world is not None
        np.testing.assert_allclose(
            ib.cam_from_world.rotation, ia.cam_from_world.rotation, rtol=0, atol=1e-15
        )
        np.testing.assert_array_equal(ib.cam_from_world.translation, ia.cam_from_world.translation)
        np.testing.assert_array_equal(ib.keypoints, ia.keypoints)
        np.testing.assert_array_equal(ib.point3D_ids, ia.point3D_ids)
    pa, pb = a.points, b.points
    np.testing.assert_array_equal(pb.ids, pa.ids)
    np.testing.assert_array_equal(pb.xyz, pa.xyz)
    np.testing.assert_array_equal(pb.rgb, pa.rgb)
    np.testing.assert_array_equal(pb.error, pa.error)  # NaN == NaN here
    obs_a = sorted(zip(pa.track_point, pa.track_image, pa.track_keypoint, strict=True))
    obs_b = sorted(zip(pb.track_point, pb.track_image, pb.track_keypoint, strict=True))
    assert obs_b == obs_a


@pytest.mark.parametrize("binary", [False, True])
def test_colmap_round_trip_is_exact(tmp_path: Path, random_scene, binary: bool) -> None:
    scene = random_scene(seed=3)
    model = write_colmap(scene, tmp_path / "sparse" / "0", binary=binary)
    back = read_colmap(tmp_path)
    assert back.meta["colmap_format"] == ("binary" if binary else "text")
    assert back.units == "metres" and back.meta["origin"] == "random"
    assert_same_scene(scene, back)
    assert (model / SIDECAR_NAME).is_file()


def test_without_sidecar_only_posed_images_survive(tmp_path: Path, random_scene) -> None:
    scene = random_scene(seed=4)
    write_colmap(scene, tmp_path, sidecar=False)
    back = read_colmap(tmp_path)
    assert back.units == "arbitrary"
    assert sorted(back.images) == scene.posed_ids()
    assert set(back.splits()) == {"train"}


def test_writing_text_removes_a_stale_binary_model(tmp_path: Path, random_scene) -> None:
    write_colmap(random_scene(seed=1), tmp_path, binary=True)
    newer = random_scene(seed=2)
    write_colmap(newer, tmp_path, binary=False)
    assert not (tmp_path / "images.bin").exists()
    assert_same_scene(newer, read_colmap(tmp_path))


def test_sidecar_at_scene_root_sets_images_depth_and_splits(tmp_path: Path, random_scene) -> None:
    scene = random_scene(seed=5)
    write_colmap(scene, tmp_path / "sparse" / "0", sidecar=False)
    (tmp_path / "images").mkdir()
    for im in scene.images.values():
        (tmp_path / "images" / im.name).write_bytes(b"")
    sidecar = {
        "format": "locgui-scene",
        "version": 1,
        "units": "metres",
        "image_dir": "images",
        "depth": {"dir": "depth", "suffix": ".npy", "scale": 0.5, "invalid": 0.0},
        "splits": {"test": ["img_002.png"], "train": ["img_001.png"]},
        "meta": {"generator": "test"},
    }
    (tmp_path / SIDECAR_NAME).write_text(json.dumps(sidecar))
    back = open_scene(tmp_path)
    assert back.source_format == "colmap" and back.units == "metres"
    assert back.image_dir == (tmp_path / "images").resolve()
    assert back.images[2].split == "test" and back.images[1].split == "train"
    assert back.images[2].depth == DepthInfo(
        (tmp_path / "depth" / "img_002.npy").resolve(), scale=0.5, invalid=0.0
    )
    assert back.meta["generator"] == "test"
    assert back.missing_images == []


def test_sidecar_records_depth_and_relative_image_dir(tmp_path: Path, random_scene) -> None:
    scene = random_scene(seed=6)
    scene.image_dir = tmp_path / "images"
    scene.image_dir.mkdir()
    for im in scene.images.values():
        im.depth = DepthInfo(tmp_path / "depth" / f"{Path(im.name).stem}.png", 0.001, 65535.0)
    write_colmap(scene, tmp_path / "sparse" / "0")
    data = json.loads((tmp_path / "sparse" / "0" / SIDECAR_NAME).read_text())
    assert data["image_dir"] == "../../images"
    assert data["depth"] == {
        "dir": "../../depth",
        "suffix": ".png",
        "scale": 0.001,
        "invalid": 65535,
    }
    back = open_scene(tmp_path)
    assert back.image_dir == scene.image_dir.resolve()
    assert back.images[1].depth == DepthInfo(
        (tmp_path / "depth" / "img_001.png").resolve(), 0.001, 65535.0
    )
    assert sorted(back.missing_images) == sorted(im.name for im in scene.images.values())


def test_model_folder_detection(tmp_path: Path, random_scene) -> None:
    write_colmap(random_scene(), tmp_path / "a" / "sparse", sidecar=False)
    write_colmap(random_scene(), tmp_path / "b" / "sparse" / "0", sidecar=False)
    assert find_model_dir(tmp_path / "a") == tmp_path / "a" / "sparse"
    assert find_model_dir(tmp_path / "b") == tmp_path / "b" / "sparse" / "0"
    assert find_model_dir(tmp_path) is None


# ------------------------------------------------------------------------------ bad input
CORRUPT_READER = """
import json, sys
import locgui
from locgui.core.errors import LocguiError
from locgui.io.colmap import read_colmap
for folder in sys.argv[1:]:
    try:
        read_colmap(folder)
        print(json.dumps([folder, "loaded", ""]), flush=True)
    except LocguiError as exc:
        print(json.dumps([folder, type(exc).__name__, str(exc)]), flush=True)
"""


def corrupt_variants(tmp_path: Path, scene: SceneMap, binary: bool) -> dict[str, Path]:
    """Copies of a model with one file truncated or overwritten, by a short label."""
    import shutil

    ext = ".bin" if binary else ".txt"
    orig = write_colmap(scene, tmp_path / f"orig{ext}", binary=binary, sidecar=False)
    variants: dict[str, Path] = {}
    for name in ("cameras", "images", "points3D", "frames", "rigs"):
        data = (orig / f"{name}{ext}").read_bytes()
        cuts = {"empty": b"", "cut4": data[:4], "cut30": data[:30], "half": data[: len(data) // 2]}
        if not binary:
            cuts = {"half": data[: len(data) // 2], "junk": data + b"\n1 2 x y z\n"}
        for label, content in cuts.items():
            folder = tmp_path / f"{name}{ext}-{label}"
            shutil.copytree(orig, folder)
            (folder / f"{name}{ext}").write_bytes(content)
            variants[f"{name}{ext}-{label}"] = folder
    return variants


@pytest.mark.parametrize("binary", [True, False])
def test_corrupt_models_raise_without_crashing_the_interpreter(
    tmp_path: Path, random_scene, binary: bool
) -> None:
    """pycolmap hangs or aborts on some of these (checked in 4.2.1): the pre-checks must stop
    them first. A fresh interpreter runs the reads so that a crash fails the test cleanly."""
    import subprocess
    import sys

    variants = corrupt_variants(tmp_path, random_scene(seed=8), binary)
    proc = subprocess.run(
        [sys.executable, "-c", CORRUPT_READER, *map(str, variants.values())],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    results = {
        Path(folder).name: (kind, msg)
        for folder, kind, msg in map(json.loads, proc.stdout.splitlines())
    }
    assert set(results) == set(variants)
    for label, (kind, message) in results.items():
        if label.startswith(("rigs.txt-", "frames.txt-")) and kind == "loaded":
            continue  # a text rig/frame file cut at a line boundary can still be valid
        assert kind == "SceneFormatError", (label, kind, message)
        assert "\n" not in message and str(tmp_path) in message


def test_truncated_binary_names_the_file(tmp_path: Path, random_scene) -> None:
    model = write_colmap(random_scene(), tmp_path, binary=True)
    data = (model / "points3D.bin").read_bytes()
    (model / "points3D.bin").write_bytes(data[:-3])
    with pytest.raises(SceneFormatError, match=r"points3D.bin: corrupt COLMAP binary file \(trunc"):
        read_colmap(tmp_path)


def test_truncated_text_is_caught_by_the_header_count(tmp_path: Path, random_scene) -> None:
    model = write_colmap(random_scene(), tmp_path)
    lines = (model / "points3D.txt").read_text().splitlines(keepends=True)
    (model / "points3D.txt").write_text("".join(lines[:-2]))
    with pytest.raises(SceneFormatError, match=r"points3D.txt: truncated or corrupt \(header"):
        read_colmap(tmp_path)


@pytest.mark.parametrize("model", ["OPENCV_FISHEYE", "FISHEYE", "FULL_OPENCV"])
def test_unsupported_camera_model_is_named(tmp_path: Path, random_scene, model: str) -> None:
    import pycolmap

    folder = write_colmap(random_scene(), tmp_path)
    n_params = pycolmap.Camera.create_from_model_name(1, model, 100.0, 64, 48).params.size
    lines = (folder / "cameras.txt").read_text().splitlines()
    data = [ln for ln in lines if not ln.startswith("#")]
    params = " ".join(["100", "100", "32", "24", *["0"] * (n_params - 4)][:n_params])
    data[0] = f"{data[0].split()[0]} {model} 640 480 {params}"
    (folder / "cameras.txt").write_text("\n".join(data) + "\n")
    with pytest.raises(UnsupportedCameraModel, match=f"cameras.txt: camera 1 uses model {model}"):
        read_colmap(tmp_path)


def test_missing_and_empty_folders(tmp_path: Path) -> None:
    with pytest.raises(SceneFormatError, match="absent: no such file or folder"):
        read_colmap(tmp_path / "absent")
    with pytest.raises(SceneFormatError, match="no COLMAP model"):
        read_colmap(tmp_path)


def test_param_count_table_matches_pycolmap() -> None:
    import pycolmap

    from locgui.io.colmap_check import CAMERA_MODEL_NUM_PARAMS

    for model_id, n in CAMERA_MODEL_NUM_PARAMS.items():
        model = pycolmap.CameraModelId(model_id)
        assert pycolmap.Camera.create_from_model_id(1, model, 1.0, 10, 10).params.size == n
