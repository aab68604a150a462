"""The method registry: one frozen spec per localization method and per trainer.

CLI, GUI and tests all enumerate ``METHODS`` and ``TRAINERS``. A method spec names its config
dataclass (whose field metadata drive the generated parameter panel), a lazy
``"module:Class"`` factory, the map capabilities it needs, presets and a tiny test config. A
trainer spec names its config, a lazy ``train`` function, the capabilities it needs and the
ones it adds to a map; ``locgui train NAME`` and the window's Train action are generated from
it. Built-in specs come from ``locgui.methods.builtin``; third-party packages add theirs
through the ``locgui.methods`` entry-point group (docs/plugins.md): each entry point names a
module (or object) with ``SPECS`` and/or ``TRAINERS`` lists.

A localizer class is constructed as ``Cls(bundle, config, device)`` and offers
``localize(query, ctx) -> LocalizationResult``; it never raises for a query that merely fails
(it returns ``success=False`` with a reason) and raises ``MethodError`` for a map or config
it cannot work with. ``MethodSpec.create`` wraps it so that every success passes the same pose
validation (``locgui.methods.localize.validation``).
"""

from __future__ import annotations

import dataclasses
import importlib
import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from locgui.core.errors import MethodError

log = logging.getLogger(__name__)

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
        _check_fields(cls, values, f"method {self.name}")
        return cls(**values)

    def missing_capabilities(self, capabilities: set[str]) -> list[str]:
        return [c for c in self.requires if c not in capabilities]

    def trainers(self) -> list[TrainerSpec]:
        """The trainers that make the capabilities this method needs (in order)."""
        return [t for c in self.requires if (t := trainer_for(c)) is not None]

    def create(self, bundle: Any, config: Any = None, device: str = "cpu") -> Localizer:
        missing = self.missing_capabilities(set(getattr(bundle, "capabilities", ())))
        if missing:
            raise MethodError(
                f"method {self.name} needs map capabilities {missing}; {_how_to_get(missing)}"
            )
        from locgui.methods.localize.validation import ValidatedLocalizer

        cls = _load(self.factory)
        inner = cls(bundle, config if config is not None else self.make_config(), device)
        return ValidatedLocalizer(inner, bundle)


@dataclass(frozen=True)
class TrainerSpec:
    """How a per-scene model is trained into a map bundle.

    Attributes:
        name: ``locgui train NAME`` (also the checkpoint's name).
        title: what it trains, for menus and help.
        config: ``"module:TrainConfig"`` dataclass (one command-line flag per field).
        train: ``"module:function"`` called as ``train(source, config, ctx, out=, device=,
            resume=)``; returns the metrics dict (with ``"checkpoint"``, the folder).
        provides: capabilities a finished run adds to the bundle.
        requires: capabilities the bundle needs first (e.g. NeRFMatch needs "nerf").
        tiny: config overrides for a seconds-long run (``--tiny``, tests).
        resumable: whether ``resume=True`` continues a stored run.
        summary: metric names printed after a run (all of them with ``--json``).
        renderer: ``"module:function"`` called as ``f(bundle, device)`` returning an object
            with ``render_view(camera, cam_from_world, appearance_rgb=None, ctx=None)``, for
            trainers whose model renders views (the NeRF view shows it).
    """

    name: str
    title: str
    config: str
    train: str
    provides: tuple[str, ...]
    requires: tuple[str, ...] = ()
    tiny: dict[str, Any] = field(default_factory=dict)
    resumable: bool = False
    summary: tuple[str, ...] = ()
    renderer: str = ""

    def config_class(self) -> type:
        return _load(self.config)

    def make_config(self, tiny: bool = False, **overrides: Any) -> Any:
        values = {**(self.tiny if tiny else {}), **overrides}
        cls = self.config_class()
        _check_fields(cls, values, f"trainer {self.name}")
        try:
            return cls(**values)
        except (TypeError, ValueError) as exc:
            raise MethodError(f"bad {self.name} training parameters: {exc}") from exc

    def run(
        self, source: Any, config: Any, ctx: RunContext, *, out: Any = None,
        device: str = "auto", resume: bool = False,
    ) -> dict[str, Any]:  # fmt: skip
        """Train; raises MethodError when the map lacks what training needs."""
        if resume and not self.resumable:
            raise MethodError(f"{self.name} training cannot resume; train it again")
        caps = getattr(source, "capabilities", None)
        missing = [] if caps is None else [c for c in self.requires if c not in caps]
        if missing:
            raise MethodError(
                f"training {self.name} needs map capabilities {missing}; {_how_to_get(missing)}"
            )
        result: dict[str, Any] = _load(self.train)(
            source, config, ctx, out=out, device=device, resume=resume
        )
        return result

    def make_renderer(self, bundle: Any, device: str) -> Any:
        if not self.renderer:
            raise MethodError(f"{self.name} does not render views")
        return _load(self.renderer)(bundle, device)


def _check_fields(cls: type, values: dict[str, Any], owner: str) -> None:
    """Raise MethodError naming the keys of ``values`` that are no field of ``cls``."""
    unknown = set(values) - {f.name for f in dataclasses.fields(cls)}
    if unknown:
        raise MethodError(f"{owner} has no parameter(s) {sorted(unknown)}")


def _how_to_get(missing: list[str]) -> str:
    parts = [f"train it with `locgui train {t.name} SCENE.locmap`"
             for m in missing if (t := trainer_for(m)) is not None]  # fmt: skip
    return "; ".join(dict.fromkeys(parts)) if parts else "rebuild the map with `locgui map build`"


def _load(ref: str) -> Any:
    module, _, name = ref.partition(":")
    return getattr(importlib.import_module(module), name)


METHODS: dict[str, MethodSpec] = {}
TRAINERS: dict[str, TrainerSpec] = {}
ENTRY_POINT_GROUP = "locgui.methods"


def register(spec: MethodSpec) -> MethodSpec:
    if spec.name in METHODS:
        raise ValueError(f"method {spec.name!r} registered twice")
    METHODS[spec.name] = spec
    return spec


def register_trainer(spec: TrainerSpec) -> TrainerSpec:
    if spec.name in TRAINERS:
        raise ValueError(f"trainer {spec.name!r} registered twice")
    TRAINERS[spec.name] = spec
    return spec


def register_module(module: Any) -> None:
    """Register a module's (or object's) ``SPECS`` and ``TRAINERS`` (names seen are skipped)."""
    for spec in getattr(module, "SPECS", ()):
        if spec.name not in METHODS:
            register(spec)
    for trainer in getattr(module, "TRAINERS", ()):
        if trainer.name not in TRAINERS:
            register_trainer(trainer)


def get_method(name: str) -> MethodSpec:
    _ensure_loaded()
    if name not in METHODS:
        raise MethodError(f"unknown method {name!r} (known: {', '.join(sorted(METHODS))})")
    return METHODS[name]


def all_methods() -> list[MethodSpec]:
    _ensure_loaded()
    return list(METHODS.values())


def get_trainer(name: str) -> TrainerSpec:
    _ensure_loaded()
    if name not in TRAINERS:
        raise MethodError(f"nothing trains {name!r} (trainers: {', '.join(sorted(TRAINERS))})")
    return TRAINERS[name]


def all_trainers() -> list[TrainerSpec]:
    _ensure_loaded()
    return list(TRAINERS.values())


def trainer_for(capability: str) -> TrainerSpec | None:
    """The trainer whose run adds ``capability`` to a map, if any."""
    _ensure_loaded()
    return next((t for t in TRAINERS.values() if capability in t.provides), None)


PLUGIN_ERRORS: list[str] = []  # entry points that failed to load, with the reason


def load_plugins() -> list[str]:
    """Register the specs of every installed ``locgui.methods`` entry point (names already
    registered are kept: a plug-in cannot replace a built-in). Returns the entry points that
    failed, with the reason; they are logged and listed in ``PLUGIN_ERRORS``."""
    from importlib.metadata import entry_points

    failed = []
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        try:
            register_module(ep.load())
        except Exception as exc:  # a broken plug-in must not take the app down
            failed.append(f"plug-in {ep.name} ({ep.value}): {type(exc).__name__}: {exc}")
            log.warning("%s", failed[-1])
    PLUGIN_ERRORS[:] = failed
    return failed


def _ensure_loaded() -> None:
    # The built-in specs live in a light module (no torch/pycolmap imports); plug-ins are
    # loaded once, after them.
    importlib.import_module("locgui.methods.builtin")
    if not _PLUGINS_SCANNED:
        _PLUGINS_SCANNED.append(True)
        load_plugins()


_PLUGINS_SCANNED: list[bool] = []
