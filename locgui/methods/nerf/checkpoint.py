"""Loading the trained NeRF of a map bundle or checkpoint folder."""

from __future__ import annotations

import logging
from typing import Any

from locgui.core.errors import MethodError
from locgui.core.scene import SceneMap
from locgui.methods.checkpoint import (
    check_fingerprint,
    checkpoint_folder,
    file_id,
    is_bundle,
    load_state,
    read_config,
    shared_checkpoint,
)

log = logging.getLogger(__name__)


def bundle_nerf(bundle: Any, device: Any = "cpu") -> Any:
    """The bundle's NeRF on ``device``, loaded once and shared (the bundle's resources)."""
    return shared_checkpoint(bundle, "nerf", "nerf.pt", device, lambda: load_nerf(bundle, device))


def load_nerf(source: Any, device: Any = "cpu", scene: SceneMap | None = None) -> Any:
    """The trained NeRF of a bundle (or checkpoint folder) as a ``NerfModel``.

    Args:
        source: an opened MapBundle or a checkpoint folder.
        device: torch device for the model.
        scene: check the checkpoint against this scene (default: the bundle's scene).
    Raises:
        MethodError: no checkpoint, unreadable, or trained for another scene.
    """
    from locgui.methods.nerf.model import NerfMeta, NerfModel

    folder = checkpoint_folder(source, "nerf")
    config = read_config(folder)
    if scene is None and is_bundle(source):
        scene = source.scene
    check_fingerprint(config.get("scene_fingerprint"), scene, folder, "locgui train nerf")
    try:
        meta = NerfMeta.from_dict(config)
    except (KeyError, TypeError, ValueError) as exc:
        raise MethodError(f"{folder / 'config.json'}: not a NeRF config ({exc})") from exc
    model = NerfModel(meta, device)
    state = load_state(folder / "nerf.pt", model.device)
    model.weights_id = file_id(folder / "nerf.pt")
    try:
        model.field.load_state_dict(state)
    except RuntimeError as exc:
        raise MethodError(f"{folder / 'nerf.pt'}: weights do not fit the config ({exc})") from exc
    model.field.eval()
    log.info("loaded NeRF from %s", folder)
    return model
