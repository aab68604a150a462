"""Trajectories keep poses exactly and compactly (a live run appends one per frame for hours)."""

from __future__ import annotations

import tracemalloc

import numpy as np

from locgui.core.pose import Rigid3, axis_angle_to_rotmat
from locgui.core.trajectory import Trajectory


def _poses(n: int) -> list[Rigid3]:
    rng = np.random.default_rng(0)
    return [Rigid3(axis_angle_to_rotmat(rng.normal(size=3)), rng.normal(size=3)) for _ in range(n)]


def test_poses_come_back_as_they_went_in() -> None:
    poses = _poses(100)
    traj = Trajectory()
    for k, pose in enumerate(poses):
        traj.append(0.1 * k, pose, f"frame_{k:06d}")
    assert len(traj) == 100 and traj.names[7] == "frame_000007"
    assert traj.timestamps[3] == 0.30000000000000004
    assert all(p.allclose(q, atol=1e-12) for p, q in zip(poses, traj.poses, strict=True))
    np.testing.assert_allclose(traj.centers(), [p.center for p in poses], atol=1e-12)
    copy = Trajectory(traj.timestamps, traj.poses, traj.names)
    assert copy.names == traj.names and len(copy) == 100


def test_an_hour_of_poses_takes_a_few_megabytes() -> None:
    """54,000 poses (an hour at 15 frames/s): under 200 bytes each with the frame name."""
    pose = _poses(1)[0]
    traj = Trajectory()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    for k in range(54_000):
        traj.append(k / 15.0, pose, f"frame_{k:06d}")
    used = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    assert used / 54_000 < 200, f"{used / 54_000:.0f} bytes per pose"
