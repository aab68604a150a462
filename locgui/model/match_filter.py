"""Which matches the match view draws: filters that compose (fate, error range, line budget)
and the counts of what each one hides, plus the one inlier count every view shows."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from locgui.core.results import LocalizationResult
from locgui.model.linking import MatchTable

FATES = ("inlier", "outlier", "no3d")


def fates(table: MatchTable) -> dict[str, np.ndarray]:
    """(N,) masks: a PnP inlier, a 2D-3D match PnP rejected, a 2D-2D match without 3D."""
    has3d = table.m3d_index >= 0
    return {"inlier": has3d & table.inlier, "outlier": has3d & ~table.inlier, "no3d": ~has3d}


def inlier_counts(result: LocalizationResult | None) -> tuple[int, int]:
    """(inliers, 2D-3D matches) as every view shows them: the matches' inlier flags under the
    estimated pose (for rpr: the map points that fix its scale; its essential-matrix inliers
    are 2D-2D and stay in the reason). Without 2D-3D matches: (``num_inliers``, 0)."""
    if result is None:
        return 0, 0
    m3d = result.matches_2d3d
    if m3d is None or len(m3d) == 0:
        return int(result.num_inliers), 0
    return int(np.count_nonzero(m3d.inliers)), len(m3d)


@dataclass(frozen=True)
class MatchFilter:
    """What to draw.

    Attributes:
        show: the fates ticked (see ``FATES``).
        min_error, max_error: reprojection error range in pixels (inclusive); a match without
            an error (no 3D point, no pose) is never hidden by it.
        max_lines: draw at most this many (evenly subsampled, in table order); 0 = all.
    """

    show: frozenset[str] = frozenset(FATES)
    min_error: float = 0.0
    max_error: float = float("inf")
    max_lines: int = 0

    def apply(self, table: MatchTable) -> tuple[np.ndarray, dict[str, int]]:
        """(N,) mask of the rows drawn, and how many rows each filter hid (fate first, then
        error range, then the line budget; each counted once)."""
        n = len(table)
        keep = np.zeros(n, bool)
        for fate, mask in fates(table).items():
            if fate in self.show:
                keep |= mask
        hidden = {"fate": int(n - keep.sum())}
        err = table.error
        known = np.isfinite(err)
        in_range = ~known | ((err >= self.min_error) & (err <= self.max_error))
        hidden["error"] = int(np.sum(keep & ~in_range))
        keep &= in_range
        hidden["budget"] = 0
        if self.max_lines and keep.sum() > self.max_lines:
            rows = np.flatnonzero(keep)
            pick = rows[np.linspace(0, len(rows) - 1, self.max_lines).round().astype(int)]
            hidden["budget"] = int(len(rows) - len(pick))
            keep = np.zeros(n, bool)
            keep[pick] = True
        return keep, hidden


def describe(table: MatchTable, keep: np.ndarray, hidden: dict[str, int]) -> str:
    """The footer: what is shown, its inliers, and what each filter hides."""
    f = fates(table)
    n_in = int(np.count_nonzero(f["inlier"]))
    shown_in = int(np.count_nonzero(f["inlier"] & keep))
    parts = [f"{int(keep.sum())} of {len(table)} matches shown",
             f"{shown_in} of {n_in} inliers"]  # fmt: skip
    why = {"fate": "by fate", "error": "by error range", "budget": "by the line budget"}
    hid = [f"{v} {why[k]}" for k, v in hidden.items() if v]
    if hid:
        parts.append("hidden: " + ", ".join(hid))
    return " · ".join(parts)
