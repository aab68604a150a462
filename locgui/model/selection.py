"""The selection: the single source of truth that links every view.

A view that is clicked changes the selection; every view (including the one clicked) redraws
its highlight from the selection. Nothing else carries "what is selected".
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from locgui.model.events import Signal


@dataclass(frozen=True)
class Selection:
    """What the user is looking at.

    Attributes:
        query: name of the current query (key of ``AppState.queries``).
        method: registry name of the focused result row (its matches are the ones shown).
        match_index: row in that result's ``matches_2d3d``.
        point3D_id: the selected map point (``Points3D.ids`` value).
        image_id: the database image shown in the image view.
        pixel: (x, y) pixel (COLMAP convention) of the last click in an image view.
        source: which view made the last change ("3d", "matches", "results", ...).
    """

    query: str | None = None
    method: str | None = None
    match_index: int | None = None
    point3D_id: int | None = None
    image_id: int | None = None
    pixel: tuple[float, float] | None = None
    source: str = ""


class SelectionModel:
    """Holds the current ``Selection`` and emits ``changed(new, old)`` when it changes."""

    def __init__(self) -> None:
        self.changed = Signal("selection.changed")
        self._current = Selection()

    @property
    def current(self) -> Selection:
        return self._current

    def update(self, source: str = "", **changes: Any) -> bool:
        """Change some fields; emits once if anything differs. Returns whether it changed."""
        new = dataclasses.replace(self._current, source=source, **changes)
        if dataclasses.replace(new, source="") == dataclasses.replace(self._current, source=""):
            return False
        old, self._current = self._current, new
        self.changed.emit(new, old)
        return True

    def clear_links(self, source: str = "") -> bool:
        """Forget the match/point/pixel selection (query, method and image stay)."""
        return self.update(source, match_index=None, point3D_id=None, pixel=None)

    def reset(self) -> None:
        """Back to nothing selected (a new scene)."""
        old, self._current = self._current, Selection()
        if old != self._current:
            self.changed.emit(self._current, old)
