"""Saving and loading trained parts (NeRF, NeRFMatch encoder, pose regressor).

A checkpoint is a folder with weight files (``torch.save(state_dict)``, loaded with
``weights_only=True``), ``config.json`` and ``metrics.json``. Inside a map bundle it is
``checkpoints/<name>/`` written by ``MapBundle.add_checkpoint``; elsewhere any folder.
``config.json`` holds the scene fingerprint; loading refuses a checkpoint made for another
scene.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from locgui.core.errors import BundleError, MethodError
from locgui.core.scene import SceneMap

log = logging.getLogger(__name__)


def is_bundle(obj: Any) -> bool:
    """Whether ``obj`` looks like an opened ``MapBundle`` (has a scene and checkpoints)."""
    return hasattr(obj, "scene") and hasattr(obj, "add_checkpoint")


def checkpoint_folder(source: Any, name: str) -> Path:
    """The folder of checkpoint ``name``: in a bundle, else ``source/name`` (or ``source``
    itself when it holds a ``config.json``)."""
    if is_bundle(source):
        try:
            return Path(source.checkpoint_dir(name))
        except BundleError as exc:
            raise MethodError(
                f"{source.path}: no {name} checkpoint; train it with `locgui train {name}`"
            ) from exc
    folder = Path(source)
    if (folder / name / "config.json").is_file():
        return folder / name
    if (folder / "config.json").is_file():
        return folder
    raise MethodError(f"{folder}: no {name} checkpoint (config.json missing)")


def read_config(folder: Path) -> dict[str, Any]:
    try:
        return dict(json.loads((folder / "config.json").read_text()))
    except (OSError, ValueError) as exc:
        raise MethodError(
            f"{folder / 'config.json'}: unreadable checkpoint config ({exc})"
        ) from exc


def check_fingerprint(config: dict[str, Any], scene: SceneMap | None, folder: Path) -> None:
    """Raise MethodError when the checkpoint was trained on a different scene."""
    from locgui.methods.nerf.data import scene_fingerprint

    if scene is None:
        return
    stored = config.get("scene_fingerprint")
    actual = scene_fingerprint(scene)
    if stored != actual:
        raise MethodError(
            f"{folder}: checkpoint was trained for another scene "
            f"(fingerprint {stored}, this map {actual}); retrain it"
        )


def load_state(path: Path, device: Any) -> dict[str, Any]:
    """A state dict saved with torch.save, loaded safely (weights_only=True)."""
    import torch

    try:
        return dict(torch.load(path, map_location=device, weights_only=True))
    except (OSError, RuntimeError, EOFError) as exc:
        raise MethodError(f"{path}: unreadable weights ({exc})") from exc


def file_id(path: Path) -> str:
    """A short content hash of a weight file (ties dependent heads to the NeRF they used)."""
    import hashlib

    h = hashlib.sha1()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()[:16]


def write_checkpoint(
    target: Any,
    name: str,
    files: dict[str, Path],
    config: dict[str, Any],
    metrics: dict[str, Any],
) -> Path:
    """Store a checkpoint in a bundle (atomically, adds capability ``name``) or a folder.

    Args:
        target: an opened MapBundle, or a folder outside a bundle (the checkpoint goes into
            its sub-folder ``name``).
        files: file name -> path of the file to copy in.
    Returns:
        The checkpoint folder.
    """
    import shutil

    if is_bundle(target):
        return Path(target.add_checkpoint(name, files, config, metrics))
    folder = Path(target) / name
    folder.mkdir(parents=True, exist_ok=True)
    for fname, src in files.items():
        if Path(src).resolve() != (folder / fname).resolve():
            shutil.copy2(src, folder / fname)
    (folder / "config.json").write_text(json.dumps(config, indent=2) + "\n")
    (folder / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    return folder


def work_dir(target: Any, name: str) -> Path:
    """Where resumable training state of ``name`` lives (outside the final checkpoint)."""
    base = Path(target.path) / ".train" if is_bundle(target) else Path(target) / ".train"
    folder = base / name
    folder.mkdir(parents=True, exist_ok=True)
    return folder


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
    check_fingerprint(config, scene, folder)
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
