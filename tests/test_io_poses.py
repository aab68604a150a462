"""Pose list files (TUM, COLMAP-style): round trips, independent parsing, bad lines."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from locgui.core import SceneFormatError
from locgui.core.pose import Rigid3, axis_angle_to_rotmat, quat_to_rotmat
from locgui.io.poses import read_poses, write_poses


def random_poses(n: int, seed: int) -> list[Rigid3]:
    rng = np.random.default_rng(seed)
    return [Rigid3(axis_angle_to_rotmat(rng.normal(size=3)), rng.normal(size=3)) for _ in range(n)]


@pytest.mark.parametrize("fmt", ["tum", "colmap"])
def test_round_trip(tmp_path: Path, fmt: str) -> None:
    poses = random_poses(15, 1)
    names = [f"seq/{i:04d}.png" for i in range(15)]
    path = write_poses(tmp_path / "poses.txt", names, poses, fmt)
    back_names, back = read_poses(path, fmt)
    assert back_names == names
    for a, b in zip(poses, back, strict=True):
        np.testing.assert_allclose(b.rotation, a.rotation, rtol=0, atol=1e-15)
        np.testing.assert_allclose(b.translation, a.translation, rtol=0, atol=1e-13)


def test_tum_columns_are_centre_and_camera_to_world_xyzw(tmp_path: Path) -> None:
    poses = random_poses(3, 2)
    path = write_poses(tmp_path / "t.txt", ["a", "b", "c"], poses, "tum", timestamps=[0.5, 1, 2])
    rows = np.loadtxt(path, comments="#")
    np.testing.assert_array_equal(rows[:, 0], [0.5, 1.0, 2.0])
    for row, pose in zip(rows, poses, strict=True):
        np.testing.assert_allclose(row[1:4], -pose.rotation.T @ pose.translation, atol=1e-13)
        qx, qy, qz, qw = row[4:]
        np.testing.assert_allclose(quat_to_rotmat([qw, qx, qy, qz]), pose.rotation.T, atol=1e-15)


def test_colmap_columns_are_name_qvec_tvec(tmp_path: Path) -> None:
    poses = random_poses(2, 3)
    path = write_poses(tmp_path / "c.txt", ["q1.jpg", "q2.jpg"], poses, "colmap")
    lines = [ln.split() for ln in path.read_text().splitlines() if not ln.startswith("#")]
    for tokens, pose in zip(lines, poses, strict=True):
        values = np.array(tokens[1:], float)
        np.testing.assert_allclose(quat_to_rotmat(values[:4]), pose.rotation, atol=1e-15)
        np.testing.assert_array_equal(values[4:], pose.translation)


def test_foreign_tum_file_names_are_timestamps(tmp_path: Path) -> None:
    path = tmp_path / "foreign.txt"
    path.write_text("# comment\n1305031102.175304 1 2 3 0 0 0 1\n")
    names, poses = read_poses(path, "tum")
    assert names == ["1305031102.175304"]
    np.testing.assert_array_equal(poses[0].center, [1.0, 2.0, 3.0])


@pytest.mark.parametrize(
    ("text", "message"),
    [("a 1 2 3\n", "expected 8 values"), ("a 1 0 0 0 x 0 0\n", "non-numeric"),
     ("a 1 0 0 0 nan 0 0\n", "pose value is not finite")],
)  # fmt: skip
def test_bad_lines(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.txt"
    path.write_text("# header\n" + text)
    with pytest.raises(SceneFormatError, match=f"bad.txt: line 2: {message}"):
        read_poses(path, "colmap")


def test_names_with_spaces_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="whitespace"):
        write_poses(tmp_path / "x.txt", ["a b.png"], random_poses(1, 0), "colmap")


@pytest.mark.parametrize(
    "line",
    ["0 1 2 3 0 0 0 0", "0 0 0 0 1 2 3", "7 0 0 0 0 1 2 3 1 a.png", "0 1 2 3 0 0 inf 1"],
)
def test_render_pose_lines_with_a_zero_quaternion_or_infinity_are_refused(line: str) -> None:
    from locgui.cli.render import parse_pose_line
    from locgui.core.errors import LocguiError

    with pytest.raises(LocguiError, match="--pose: (quaternion is zero|pose value is not finite)"):
        parse_pose_line(line)
