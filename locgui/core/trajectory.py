"""Camera trajectories: timestamped poses, stored compactly (a live run appends one per frame
for hours: 64 bytes a pose in numpy rows, not a Python object with two arrays each)."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from locgui.core.pose import Rigid3


class GrowableRows:
    """An (N, k) float64 array that grows by appending rows (capacity doubles)."""

    def __init__(self, width: int, dtype: type = np.float64) -> None:
        self._data: np.ndarray = np.empty((16, width), dtype)
        self._n = 0

    def __len__(self) -> int:
        return self._n

    def append(self, row: Iterable[float]) -> None:
        if self._n == len(self._data):
            grown = np.empty((2 * len(self._data), self._data.shape[1]), self._data.dtype)
            grown[: self._n] = self._data
            self._data = grown
        self._data[self._n] = np.asarray(row, self._data.dtype)
        self._n += 1

    @property
    def rows(self) -> np.ndarray:
        """The (N, k) rows so far (a view: copy before keeping it)."""
        return self._data[: self._n]


class Trajectory:
    """An ordered list of timestamped camera poses.

    Attributes (read-only views built on access):
        timestamps: seconds (or frame indices) per pose.
        poses: ``cam_from_world`` per entry.
        names: label per entry (image name, frame id; "" when none).
    """

    def __init__(
        self,
        timestamps: Iterable[float] = (),
        poses: Iterable[Rigid3] = (),
        names: Iterable[str] | None = None,
    ) -> None:
        self._rows = GrowableRows(8)  # t, qw, qx, qy, qz, tx, ty, tz
        self._names: list[str] = []
        poses = list(poses)
        labels = list(names) if names is not None else [""] * len(poses)
        for t, pose, name in zip(timestamps, poses, labels, strict=True):
            self.append(t, pose, name)

    def __len__(self) -> int:
        return len(self._rows)

    def append(self, timestamp: float, cam_from_world: Rigid3, name: str = "") -> None:
        self._rows.append([float(timestamp), *cam_from_world.quat(), *cam_from_world.translation])
        self._names.append(name)

    @property
    def timestamps(self) -> list[float]:
        return self._rows.rows[:, 0].tolist()

    @property
    def poses(self) -> list[Rigid3]:
        return [Rigid3.from_quat(r[1:5], r[5:8]) for r in self._rows.rows]

    @property
    def names(self) -> list[str]:
        return list(self._names)

    def centers(self) -> np.ndarray:
        """(N, 3) camera centres in world coordinates."""
        return np.array([p.center for p in self.poses]).reshape(-1, 3)

    def length(self) -> float:
        """Path length of the camera centres, map units."""
        c = self.centers()
        return float(np.linalg.norm(np.diff(c, axis=0), axis=1).sum()) if len(c) > 1 else 0.0
