"""Camera trajectories: timestamped poses."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from locgui.core.pose import Rigid3


@dataclass
class Trajectory:
    """An ordered list of timestamped camera poses.

    Attributes:
        timestamps: seconds (or frame indices) per pose.
        poses: ``cam_from_world`` per entry.
        names: optional label per entry (image name, frame id).
    """

    timestamps: list[float] = field(default_factory=list)
    poses: list[Rigid3] = field(default_factory=list)
    names: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.poses)

    def append(self, timestamp: float, cam_from_world: Rigid3, name: str = "") -> None:
        self.timestamps.append(float(timestamp))
        self.poses.append(cam_from_world)
        self.names.append(name)

    def centers(self) -> np.ndarray:
        """(N, 3) camera centres in world coordinates."""
        return np.array([p.center for p in self.poses]).reshape(-1, 3)

    def length(self) -> float:
        """Path length of the camera centres, map units."""
        c = self.centers()
        return float(np.linalg.norm(np.diff(c, axis=0), axis=1).sum()) if len(c) > 1 else 0.0
