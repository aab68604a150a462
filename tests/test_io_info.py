"""`locgui info`: JSON schema, human summary, user errors (exit 2), and the real datasets.

The real-data tests compare with independent numpy conversions of the raw files written here,
not with locgui's converters.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from locgui.cli import main
from locgui.io.colmap import write_colmap

ROOT = Path(__file__).resolve().parents[1]


def expected_cam_from_world(c2w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Independent conversion of an OpenCV camera-to-world matrix read from a file.

    The files' rotations are not exactly orthonormal (fox ~1e-8, 7-Scenes ~1e-4); locgui keeps
    the camera centre and uses the nearest rotation (polar decomposition), so this does too.
    """
    u, _, vt = np.linalg.svd(c2w[:3, :3])
    rotation = (u @ vt).T
    return rotation, -rotation @ c2w[:3, 3]


def run_info(capsys, *args: str) -> tuple[int, str, str]:
    code = main(["info", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_json_schema_on_a_colmap_model(tmp_path: Path, random_scene, capsys) -> None:
    scene = random_scene(seed=11)
    write_colmap(scene, tmp_path / "sparse" / "0")
    code, out, _ = run_info(capsys, str(tmp_path), "--json")
    assert code == 0
    info = json.loads(out)
    assert info["schema"] == "locgui.info/1" and info["format"] == "colmap"
    assert info["units"] == "metres" and info["num_images"] == len(scene.images)
    assert info["num_posed"] == len(scene.posed_ids())
    assert info["splits"] == scene.splits()
    assert info["cameras"] == [c.to_dict() for _, c in sorted(scene.cameras.items())]
    assert info["points"]["count"] == len(scene.points)
    assert info["points"]["observations"] == len(scene.points.track_point)
    by_id = {im["image_id"]: im for im in info["images"]}
    for image_id, im in scene.images.items():
        entry = by_id[image_id]
        assert (entry["name"], entry["camera_id"], entry["split"]) == (
            im.name,
            im.camera_id,
            im.split,
        )
        if im.cam_from_world is None:
            assert entry["cam_from_world"] is None
            continue
        pose = entry["cam_from_world"]
        np.testing.assert_allclose(pose["rotation"], im.cam_from_world.rotation, atol=1e-15)
        np.testing.assert_array_equal(pose["translation"], im.cam_from_world.translation)
        np.testing.assert_allclose(pose["qvec_wxyz"], im.cam_from_world.quat(), atol=1e-15)
    lo, hi = scene.bounds()
    np.testing.assert_allclose(info["bounds"]["min"], lo, atol=1e-12)
    np.testing.assert_allclose(info["bounds"]["max"], hi, atol=1e-12)


def test_human_summary(tmp_path: Path, random_scene, capsys) -> None:
    write_colmap(random_scene(seed=12), tmp_path)
    code, out, _ = run_info(capsys, str(tmp_path))
    assert code == 0
    assert "format:   colmap" in out and "units:    metres" in out
    assert "images:   7 (6 with poses)" in out and "splits:   test 2, train 5" in out
    assert "camera 1: OPENCV 640x480 fx=500.5 fy=510.25" in out
    assert "points:   12 (mean track length 2.00" in out


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "locgui", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )


def test_cli_errors_exit_2_with_one_line(tmp_path: Path, random_scene) -> None:
    proc = run_cli("info", str(tmp_path / "missing"))
    assert proc.returncode == 2
    assert proc.stderr.strip() == f"error: {tmp_path / 'missing'}: no such file or folder"
    model = write_colmap(random_scene(), tmp_path / "m", binary=True)
    (model / "images.bin").write_bytes((model / "images.bin").read_bytes()[:100])
    proc = run_cli("info", str(tmp_path / "m"), "--json")
    assert proc.returncode == 2 and proc.stdout == ""
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("error: ") and "images.bin: corrupt COLMAP binary file" in last


def test_cli_error_for_bad_json(tmp_path: Path, capsys) -> None:
    (tmp_path / "transforms.json").write_text('{"frames": [}')
    code, out, err = run_info(capsys, str(tmp_path))
    assert code == 2 and out == ""
    assert err.startswith(f"error: {tmp_path / 'transforms.json'}: invalid JSON")


# ------------------------------------------------------------------------------ real data
@pytest.mark.realdata
def test_fox_poses_match_an_independent_conversion(fox_path: Path, capsys) -> None:
    code, out, _ = run_info(capsys, str(fox_path), "--json")
    assert code == 0
    info = json.loads(out)
    raw = json.loads((fox_path / "transforms.json").read_text())
    present = [f for f in raw["frames"] if (fox_path / f["file_path"]).is_file()]
    absent = [f["file_path"] for f in raw["frames"] if not (fox_path / f["file_path"]).is_file()]
    assert len(raw["frames"]) == 67 and len(present) == 50 and len(absent) == 17
    assert info["num_images"] == info["num_posed"] == 50
    assert sorted(info["missing_images"]) == sorted(absent)
    by_name = {im["name"]: im for im in info["images"]}
    assert sorted(by_name) == sorted(f["file_path"] for f in present)
    for f in present:
        c2w = np.array(f["transform_matrix"])
        c2w[:3, 1:3] *= -1  # OpenGL (y up, z back) -> OpenCV (y down, z forward) camera axes
        rotation, translation = expected_cam_from_world(c2w)
        pose = by_name[f["file_path"]]["cam_from_world"]
        np.testing.assert_allclose(pose["rotation"], rotation, rtol=0, atol=1e-12)
        np.testing.assert_allclose(pose["translation"], translation, rtol=0, atol=1e-12)
        np.testing.assert_allclose(pose["rotation"], np.linalg.inv(c2w)[:3, :3], atol=1e-5)
    (cam,) = info["cameras"]
    assert cam["model"] == "OPENCV" and (cam["width"], cam["height"]) == (1080, 1920)
    assert cam["params"] == [raw[k] for k in ("fl_x", "fl_y", "cx", "cy", "k1", "k2", "p1", "p2")]


@pytest.mark.realdata
def test_stairs_poses_splits_and_depth(stairs_path: Path, capsys) -> None:
    code, out, _ = run_info(capsys, str(stairs_path), "--json")
    assert code == 0
    info = json.loads(out)
    split_of = {}
    for file_name, split in (("TrainSplit.txt", "train"), ("TestSplit.txt", "test")):
        for line in (stairs_path / file_name).read_text().split():
            split_of[f"seq-{int(line.removeprefix('sequence')):02d}"] = split
    pose_files = sorted(stairs_path.glob("seq-*/frame-*.pose.txt"))
    assert info["num_images"] == len(pose_files) == 12 and info["units"] == "metres"
    assert info["has_depth"] is True
    by_name = {im["name"]: im for im in info["images"]}
    for pose_file in pose_files:
        name = f"{pose_file.parent.name}/{pose_file.name.replace('.pose.txt', '.color.jpg')}"
        entry = by_name[name]
        rotation, translation = expected_cam_from_world(np.loadtxt(pose_file))
        pose = entry["cam_from_world"]
        np.testing.assert_allclose(pose["rotation"], rotation, rtol=0, atol=1e-12)
        np.testing.assert_allclose(pose["translation"], translation, rtol=0, atol=1e-12)
        assert entry["split"] == split_of[pose_file.parent.name]
    assert info["splits"] == {"test": 6, "train": 6}


@pytest.mark.realdata
def test_stairs_depth_reads_in_metres(stairs_path: Path) -> None:
    import cv2

    from locgui.io import open_scene
    from locgui.io.images import read_depth

    scene = open_scene(stairs_path)
    image = scene.images[1]
    assert image.depth is not None
    raw = cv2.imread(str(image.depth.path), cv2.IMREAD_UNCHANGED)
    depth = read_depth(image.depth)
    valid = (raw != 0) & (raw != 65535)
    np.testing.assert_array_equal(np.isnan(depth), ~valid)
    np.testing.assert_allclose(depth[valid], raw[valid] / 1000.0, rtol=1e-7)


def test_io_and_info_imports_stay_light() -> None:
    """Detecting formats and `locgui info --help` must not import pycolmap, cv2 or open3d."""
    code = (
        "import sys, locgui.io, locgui.cli.info\n"
        "heavy = {'pycolmap', 'cv2', 'open3d', 'torch'} & set(sys.modules)\n"
        "assert not heavy, heavy\n"
        "print('light')"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120
    )
    assert proc.returncode == 0 and proc.stdout.strip() == "light", proc.stderr[-1000:]
