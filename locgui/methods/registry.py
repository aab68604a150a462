"""The method registry: one frozen spec per localization method.

CLI, GUI and tests all enumerate ``METHODS``. A spec names its config dataclass (whose field
docstrings/metadata drive the generated parameter panel), a lazy ``"module:Class"`` factory,
the map capabilities it needs, presets and a tiny test config.

A localizer class is constructed as ``Cls(bundle, config, device)`` and offers
``localize(query, ctx) -> LocalizationResult``; it never raises for a query that merely fails
(it returns ``success=False`` with a reason) and raises ``MethodError`` for a map or config
it cannot work with.
"""

from __future__ import annotations

import dataclasses
import importlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from locgui.core.errors import MethodError

if TYPE_CHECKING:
    from locgui.core.results import LocalizationResult, Query
    from locgui.runtime.context import RunContext


class Localizer(Protocol):
    def localize(self, query: Query, ctx: RunContext) -> LocalizationResult: ...


@dataclass(frozen=True)
class MethodSpec:
    """Description of a localization method.

    Attributes:
        name: registry id used on the command line (``--method NAME``).
        title: human name shown in the UI.
        family: structure-based, point-cloud features, scene coordinate regression, ...
        config: ``"module:ConfigClass"`` of a dataclass with defaults for every field.
        factory: ``"module:LocalizerClass"``.
        requires: bundle capabilities that must be present (e.g. ``"sfm_points"``).
        presets: named config overrides (e.g. {"fast": {...}}).
        test_config: overrides that make it run in about a second on the tiny synthetic scene.
        paper: where the method comes from, and what locgui substitutes.
    """

    name: str
    title: str
    family: str
    config: str
    factory: str
    requires: tuple[str, ...] = ()
    presets: dict[str, dict[str, Any]] = field(default_factory=dict)
    test_config: dict[str, Any] = field(default_factory=dict)
    paper: str = ""

    def config_class(self) -> type:
        return _load(self.config)

    def make_config(self, preset: str | None = None, **overrides: Any) -> Any:
        """A config instance: defaults, then the preset, then ``overrides``."""
        values: dict[str, Any] = {}
        if preset:
            if preset not in self.presets:
                raise MethodError(f"method {self.name} has no preset {preset!r}")
            values.update(self.presets[preset])
        values.update(overrides)
        cls = self.config_class()
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = set(values) - names
        if unknown:
            raise MethodError(f"method {self.name} has no parameter(s) {sorted(unknown)}")
        return cls(**values)

    def missing_capabilities(self, capabilities: set[str]) -> list[str]:
        return [c for c in self.requires if c not in capabilities]

    def create(self, bundle: Any, config: Any = None, device: str = "cpu") -> Localizer:
        missing = self.missing_capabilities(set(getattr(bundle, "capabilities", ())))
        if missing:
            raise MethodError(
                f"method {self.name} needs map capabilities {missing}; {_how_to_get(missing)}"
            )
        cls = _load(self.factory)
        return cls(bundle, config if config is not None else self.make_config(), device)


def _how_to_get(missing: list[str]) -> str:
    hints = {
        "scr": "train it with `locgui train scr SCENE`",
        "nerf": "train it with `locgui train nerf SCENE`",
        "apr": "train it with `locgui train apr SCENE`",
        "nerfmatch": "train it with `locgui train nerfmatch SCENE`",
    }
    parts = [hints[m] for m in missing if m in hints]
    return "; ".join(parts) if parts else "rebuild the map with `locgui map build`"


def _load(ref: str) -> Any:
    module, _, name = ref.partition(":")
    return getattr(importlib.import_module(module), name)


METHODS: dict[str, MethodSpec] = {}


def register(spec: MethodSpec) -> MethodSpec:
    if spec.name in METHODS:
        raise ValueError(f"method {spec.name!r} registered twice")
    METHODS[spec.name] = spec
    return spec


def get_method(name: str) -> MethodSpec:
    _ensure_builtin()
    if name not in METHODS:
        raise MethodError(f"unknown method {name!r} (known: {', '.join(sorted(METHODS))})")
    return METHODS[name]


def all_methods() -> list[MethodSpec]:
    _ensure_builtin()
    return list(METHODS.values())


def _ensure_builtin() -> None:
    # The built-in specs live in a light module (no torch/pycolmap imports).
    importlib.import_module("locgui.methods.builtin")
