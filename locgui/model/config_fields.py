"""Describe a method's config dataclass as editable fields (what the parameter panel shows).

Field metadata understood (the convention of every locgui config): ``help`` (tooltip),
``min``, ``max``, ``step``, ``choices``. ``Literal[...]`` types are choices too. Help falls back
to the class docstring's ``Attributes:`` entry for the field.
"""

from __future__ import annotations

import dataclasses
import re
import types
import typing
from dataclasses import dataclass
from typing import Any

KINDS = ("bool", "int", "float", "choice", "str")


@dataclass(frozen=True)
class FieldSpec:
    """One editable parameter.

    Attributes:
        name: the dataclass field name.
        kind: "bool", "int", "float", "choice" or "str".
        default: the value of a default-constructed config.
        help: one line for the tooltip.
        minimum, maximum: numeric bounds (None: unbounded).
        step: spin-box step (None: let the panel choose).
        choices: allowed values of a "choice" field.
        optional: the type admits None (an empty text field means None).
    """

    name: str
    kind: str
    default: Any
    help: str = ""
    minimum: float | None = None
    maximum: float | None = None
    step: float | None = None
    choices: tuple[Any, ...] = ()
    optional: bool = False

    @property
    def label(self) -> str:
        return self.name.replace("_", " ")


def config_fields(cls: type) -> list[FieldSpec]:
    """The editable fields of a config dataclass, in declaration order.

    Fields whose type is not a scalar (lists, dicts, nested configs) are left out: the panel
    keeps their current value untouched.
    """
    if not dataclasses.is_dataclass(cls):
        raise TypeError(f"{cls!r} is not a dataclass")
    hints = typing.get_type_hints(cls)
    docs = attribute_docs(cls)
    out = []
    for f in dataclasses.fields(cls):
        if not f.init:
            continue
        spec = _field_spec(f, hints.get(f.name, Any), docs.get(f.name, ""))
        if spec is not None:
            out.append(spec)
    return out


def _field_spec(f: dataclasses.Field, tp: Any, doc: str) -> FieldSpec | None:
    meta = dict(f.metadata)
    default = _default_of(f)
    kind, choices, optional = _kind_of(tp)
    if "choices" in meta:
        kind, choices = "choice", tuple(meta["choices"])
    if kind is None:
        return None
    return FieldSpec(
        name=f.name,
        kind=kind,
        default=default,
        help=str(meta.get("help", doc)),
        minimum=_num(meta.get("min")),
        maximum=_num(meta.get("max")),
        step=_num(meta.get("step")),
        choices=choices,
        optional=optional,
    )


def _default_of(f: dataclasses.Field) -> Any:
    if f.default is not dataclasses.MISSING:
        return f.default
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    return None


def _num(v: Any) -> float | None:
    return None if v is None else float(v)


def _kind_of(tp: Any) -> tuple[str | None, tuple[Any, ...], bool]:
    """(kind, choices, optional) of a type annotation; kind None for non-scalar types."""
    optional = False
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        optional = len(args) < len(typing.get_args(tp))
        if len(args) != 1:
            return None, (), optional
        tp = args[0]
        origin = typing.get_origin(tp)
    if origin is typing.Literal:
        return "choice", tuple(typing.get_args(tp)), optional
    for kind, py in (("bool", bool), ("int", int), ("float", float), ("str", str)):
        if tp is py:
            return kind, (), optional
    return None, (), optional


_ATTR_LINE = re.compile(r"^\s{4,}(\w+)(?:\s*\(.*?\))?:\s*(.+)$")


def attribute_docs(cls: type) -> dict[str, str]:
    """Field name -> first line of its entry in the class docstring's ``Attributes:``."""
    doc = cls.__doc__ or ""
    out: dict[str, str] = {}
    in_attrs = False
    for line in doc.splitlines():
        if line.strip() == "Attributes:":
            in_attrs = True
            continue
        if in_attrs:
            m = _ATTR_LINE.match(line)
            if m:
                for name in m.group(1).split(","):
                    out[name.strip()] = m.group(2).strip()
            elif line.strip() and not line.startswith(" " * 8):
                in_attrs = False
    return out


def coerce(spec: FieldSpec, value: Any) -> Any:
    """Convert an edited value to the field's type (strings from text fields included)."""
    if value is None or (spec.optional and value == ""):
        return None
    if spec.kind == "bool":
        return bool(value)
    if spec.kind == "int":
        return int(value)
    if spec.kind == "float":
        return float(value)
    if spec.kind == "choice":
        if value not in spec.choices:
            raise ValueError(f"{spec.name}: {value!r} is not one of {spec.choices}")
        return value
    return str(value)


def config_values(config: Any) -> dict[str, Any]:
    """Field name -> value of a config instance (only the fields the panel edits)."""
    return {s.name: getattr(config, s.name) for s in config_fields(type(config))}


def with_values(config: Any, values: dict[str, Any]) -> Any:
    """A copy of ``config`` with ``values`` applied (works for frozen dataclasses)."""
    specs = {s.name: s for s in config_fields(type(config))}
    unknown = set(values) - set(specs)
    if unknown:
        raise KeyError(f"{type(config).__name__} has no editable field(s) {sorted(unknown)}")
    return dataclasses.replace(config, **{k: coerce(specs[k], v) for k, v in values.items()})
