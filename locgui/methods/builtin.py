"""Where the built-in method specs come from. Light module: no heavy imports here.

Each listed module defines ``SPECS: list[MethodSpec]`` and/or ``TRAINERS: list[TrainerSpec]``
and imports nothing heavy at module level (torch, pycolmap, ... are imported by the localizer
classes and trainers themselves).
"""

from __future__ import annotations

import importlib

from locgui.methods.registry import register_module

SPEC_MODULES = (
    "locgui.methods.localize.specs",  # sfm, points, rpr
    "locgui.methods.scr.spec",  # scr
    "locgui.methods.nerf.spec",  # nerfmatch, apr
)

for _name in SPEC_MODULES:
    try:
        _mod = importlib.import_module(_name)
    except ModuleNotFoundError as _exc:  # an area not built yet in this checkout
        if _exc.name is None or not _name.startswith(_exc.name):
            raise
        continue
    register_module(_mod)
