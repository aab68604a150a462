"""Config dataclasses described as editable fields (what the generated parameter panel shows)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Literal

import pytest

from locgui.methods.registry import all_methods
from locgui.model.config_fields import attribute_docs, coerce, config_fields, with_values


@dataclass(frozen=True)
class DemoConfig:
    """A config like the methods' ones.

    Attributes:
        mode: documented only in the docstring.
    """

    enabled: bool = field(default=True, metadata={"help": "turn it on"})
    steps: int = field(default=10, metadata={"help": "how many", "min": 1, "max": 100})
    lr: float = field(default=0.01, metadata={"min": 1e-5, "max": 1.0, "step": 0.001})
    matcher: str = field(default="mnn", metadata={"choices": ("mnn", "lighterglue")})
    mode: Literal["fast", "slow"] = "fast"
    note: str | None = None
    tags: tuple[str, ...] = ()


def test_fields_kinds_bounds_help():
    specs = {s.name: s for s in config_fields(DemoConfig)}
    assert list(specs) == ["enabled", "steps", "lr", "matcher", "mode", "note"]  # tags: not scalar
    assert specs["enabled"].kind == "bool" and specs["enabled"].help == "turn it on"
    assert (specs["steps"].kind, specs["steps"].minimum, specs["steps"].maximum) == ("int", 1, 100)
    assert specs["lr"].kind == "float" and specs["lr"].step == 0.001
    assert specs["matcher"].kind == "choice" and specs["matcher"].choices == ("mnn", "lighterglue")
    assert specs["mode"].kind == "choice" and specs["mode"].choices == ("fast", "slow")
    assert specs["mode"].help == "documented only in the docstring."
    assert specs["note"].kind == "str" and specs["note"].optional


def test_with_values_round_trips_a_frozen_config():
    cfg = DemoConfig()
    new = with_values(cfg, {"enabled": False, "steps": "42", "lr": 0.5, "mode": "slow", "note": ""})
    assert new == dataclasses.replace(cfg, enabled=False, steps=42, lr=0.5, mode="slow", note=None)
    with pytest.raises(ValueError, match="not one of"):
        with_values(cfg, {"matcher": "magic"})
    with pytest.raises(KeyError, match="tags"):
        with_values(cfg, {"tags": ("a",)})
    spec = next(s for s in config_fields(DemoConfig) if s.name == "steps")
    assert coerce(spec, 3.0) == 3 and isinstance(coerce(spec, 3.0), int)


def test_attribute_docs_parses_google_style():
    assert attribute_docs(DemoConfig) == {"mode": "documented only in the docstring."}


def test_every_registered_method_config_is_described():
    """Every method's config (whatever area wrote it) yields a panel with help on each field."""
    specs = all_methods()
    for spec in specs:
        cfg = spec.make_config()
        fields = config_fields(type(cfg))
        assert fields, f"{spec.name}: no editable fields"
        for f in fields:
            assert f.help, f"{spec.name}.{f.name} has no help text"
            assert f.default == getattr(cfg, f.name)
        assert with_values(cfg, {f.name: f.default for f in fields}) == cfg
