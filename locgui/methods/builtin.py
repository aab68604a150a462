"""Specs of the built-in methods. Light module: no heavy imports here."""

from __future__ import annotations

from locgui.methods.registry import MethodSpec, register

# Each method module adds its spec here when it lands (engine issue: sfm, points, rpr;
# SCR, NeRF issues: scr, nerfmatch, apr).
_SPECS: list[MethodSpec] = []

for _spec in _SPECS:
    register(_spec)
