"""``locgui methods``: the registered localization methods and their settings."""

from __future__ import annotations

import argparse
import dataclasses
import json
from typing import Any


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name", nargs="?", help="show only this method")
    parser.add_argument("--json", action="store_true", help="machine-readable output")


def describe(spec: Any) -> dict[str, Any]:
    """A JSON-ready description of a spec and its config fields."""
    fields = []
    for f in dataclasses.fields(spec.config_class()):
        default = f.default if f.default is not dataclasses.MISSING else None
        fields.append({"name": f.name, "default": default, **dict(f.metadata)})
    return {
        "name": spec.name,
        "title": spec.title,
        "family": spec.family,
        "requires": list(spec.requires),
        "presets": spec.presets,
        "paper": spec.paper,
        "config": fields,
    }


def run(args: argparse.Namespace) -> int:
    from locgui.methods.registry import all_methods, get_method

    specs = [get_method(args.name)] if args.name else all_methods()
    info = [describe(s) for s in specs]
    if args.json:
        print(json.dumps(info, indent=2, default=str))
        return 0
    for d in info:
        print(f"{d['name']:<10} {d['title']}  [{d['family']}]")
        print(f"{'':<10} needs map capabilities: {', '.join(d['requires']) or '-'}")
        if d["presets"]:
            print(f"{'':<10} presets: {', '.join(d['presets'])}")
        for f in d["config"]:
            rng = ""
            if "choices" in f:
                rng = f" {{{'|'.join(map(str, f['choices']))}}}"
            elif "min" in f or "max" in f:
                rng = f" [{f.get('min', '')}..{f.get('max', '')}]"
            print(f"{'':<12}{f['name']} = {f['default']!r}{rng}  {f.get('help', '')}")
        print()
    return 0
