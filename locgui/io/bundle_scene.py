"""A map bundle (``SCENE.locmap``) as a scene for ``open_scene`` and ``locgui info``.

The scene is the bundle's mapping model; ``meta["map_bundle"]`` summarizes what else the bundle
holds (local feature type, capabilities, trained checkpoints, when and by what it was built).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from locgui.core.scene import SceneMap

BUNDLE_SUFFIX = ".locmap"


def is_bundle(path: Path) -> bool:
    """Detection hook: a ``*.locmap`` folder, or a folder whose manifest says it is a map
    bundle (an incomplete ``.locmap`` is taken too, so that reading it says so)."""
    if not path.is_dir():
        return False
    if path.suffix == BUNDLE_SUFFIX:
        return True
    manifest = path / "manifest.json"
    if not manifest.is_file() or manifest.stat().st_size > 1 << 24:
        return False
    try:
        data = json.loads(manifest.read_text())
    except (UnicodeDecodeError, ValueError):
        return False
    return isinstance(data, dict) and data.get("format") == "locgui-map"


def bundle_summary(bundle: Any) -> dict[str, Any]:
    """JSON-ready facts of an opened ``MapBundle`` beyond its scene."""
    manifest = bundle.manifest
    checkpoints = {
        name: {"created": entry.get("created"), "capabilities": entry.get("capabilities", [])}
        for name, entry in sorted(bundle.checkpoints().items())
        if isinstance(entry, dict)
    }
    images = manifest.get("images") if isinstance(manifest.get("images"), dict) else {}
    return {
        "features": bundle.feature_type,
        "num_feature_images": len(bundle.feature_image_ids()),
        "capabilities": sorted(bundle.capabilities),
        "checkpoints": checkpoints,
        "created": manifest.get("created"),
        "locgui_version": manifest.get("locgui_version"),
        "images_copied": bool(images.get("copied", False)),
    }


def read_bundle_scene(path: str | Path) -> SceneMap:
    """The mapping scene of the bundle at ``path`` with ``meta["map_bundle"]`` set.

    Raises:
        BundleError: incomplete, of an unknown version or corrupt (from ``open_bundle``).
    """
    from locgui.io.bundle import open_bundle

    bundle = open_bundle(path)
    scene = bundle.scene
    scene.source_format = "locmap"
    scene.source_path = bundle.path
    scene.meta = {**scene.meta, "map_bundle": bundle_summary(bundle)}
    return scene
