"""View settings as plain values with change events; the Qt layer persists them."""

from __future__ import annotations

from typing import Any

from locgui.model.events import Signal

LAYERS = (
    "points", "cameras", "ground_truth", "estimates", "trajectories", "links", "grid", "live",
)  # fmt: skip
"""Toggleable layers of the 3D view."""

DEFAULTS: dict[str, Any] = {
    "point_size": 2.5,
    "point_colouring": "neutral",  # locgui.model.colours.POINT_COLOURINGS
    "frustum_scale": 1.0,
    "lod": True,
    "lod_budget": 40_000,
    "link_on_hover": True,
    "max_reproj_error": 0.0,  # the match view's error filter upper end (0: any)
    "device": "cpu",
    "methods": ["sfm"],
    "hidden_methods": [],  # methods whose estimates the 3D view does not draw
    **{f"layer.{name}": True for name in LAYERS},
}


class Settings:
    """Key/value settings with defaults; ``changed(key, value)`` fires on every change."""

    def __init__(self, values: dict[str, Any] | None = None) -> None:
        self.changed = Signal("settings.changed")
        self._values: dict[str, Any] = dict(DEFAULTS)
        if values:
            self._values.update({k: v for k, v in values.items() if k in DEFAULTS})

    def __getitem__(self, key: str) -> Any:
        return self._values[key]

    def get(self, key: str, default: Any = None) -> Any:
        return self._values.get(key, default)

    def set(self, key: str, value: Any) -> None:
        if key not in DEFAULTS:
            raise KeyError(f"unknown setting {key!r}")
        if self._values.get(key) == value:
            return
        self._values[key] = value
        self.changed.emit(key, value)

    def layer_visible(self, layer: str) -> bool:
        return bool(self._values[f"layer.{layer}"])

    def as_dict(self) -> dict[str, Any]:
        return dict(self._values)
