"""Checkpoints of every trained method: one format, one scene fingerprint.

A checkpoint is a folder with weight files (``torch.save(state_dict)``, loaded with
``weights_only=True``), ``config.json`` and ``metrics.json``. Inside a map bundle it is
``checkpoints/<name>/`` written atomically by ``MapBundle.add_checkpoint``; elsewhere any
folder. ``config.json`` holds the scene fingerprint (``scene_fingerprint``); loading refuses
a checkpoint made for another scene.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from locgui.core.errors import BundleError, MethodError
from locgui.core.scene import SceneMap
from locgui.io.limits import load_json

T = TypeVar("T")

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
        return dict(load_json(folder / "config.json"))
    except (OSError, ValueError) as exc:
        raise MethodError(
            f"{folder / 'config.json'}: unreadable checkpoint config ({exc})"
        ) from exc


def scene_fingerprint(scene: SceneMap) -> str:
    """A short hash of the map's posed mapping images (the "train" split; a bundle holds only
    those, a scene folder may add queries): names, camera centres, viewing directions and
    intrinsics.

    Centres are rounded to 1e-3 of the scene radius, directions to 1e-3 and intrinsics to
    1e-3 of the image width, so re-reading the same map (text or binary) gives the same
    fingerprint while a re-built or different map does not.
    """
    import hashlib

    import numpy as np

    posed = scene.posed_ids()
    mapping = sorted([i for i in posed if scene.images[i].split == "train"] or posed)
    if not mapping:
        return "0" * 16
    centres = scene.camera_centers(mapping)
    radius = float(np.median(np.linalg.norm(centres - centres.mean(axis=0), axis=1))) or 1.0
    h = hashlib.sha1()
    for image_id, centre in zip(mapping, centres, strict=True):
        im = scene.images[image_id]
        cam = scene.cameras[im.camera_id]
        assert im.cam_from_world is not None
        direction = im.cam_from_world.rotation[2]  # the optical axis in world coordinates
        h.update(im.name.encode())
        h.update(np.round(np.concatenate([centre / radius, direction]), 3).tobytes())
        h.update(np.round(np.array([cam.width, cam.height, *cam.params]) / cam.width, 3).tobytes())
    return h.hexdigest()[:16]


def check_fingerprint(
    stored: str | None, scene: SceneMap | None, folder: Path, retrain: str = ""
) -> None:
    """Raise MethodError when a checkpoint's ``stored`` fingerprint is not ``scene``'s.

    Args:
        retrain: the command that makes a new one (named in the message).
    """
    if scene is None:
        return
    actual = scene_fingerprint(scene)
    if stored != actual:
        how = f" with `{retrain}`" if retrain else ""
        raise MethodError(
            f"{folder}: checkpoint was trained for another scene "
            f"(fingerprint {stored}, this map {actual}); retrain it{how}"
        )


def load_state(path: Path, device: Any) -> dict[str, Any]:
    """A state dict saved with torch.save, loaded safely (weights_only=True)."""
    import pickle
    import warnings

    import torch

    try:
        with warnings.catch_warnings():  # torch warns about pickle protocols of crafted files
            warnings.simplefilter("ignore")
            state = torch.load(path, map_location=device, weights_only=True)
    except pickle.UnpicklingError as exc:
        raise MethodError(
            f"{path}: refused: not a plain weights file ({_unpickler_reason(exc)})"
        ) from exc
    except (OSError, RuntimeError, EOFError, ValueError, KeyError, IndexError) as exc:
        raise MethodError(f"{path}: unreadable weights file ({_first_line(exc)})") from exc
    if not isinstance(state, dict):
        raise MethodError(f"{path}: unexpected content (not a state dict)")
    return state


_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _first_line(exc: BaseException) -> str:
    text = _ANSI.sub("", str(exc)).strip()
    return text.splitlines()[0].strip() if text else type(exc).__name__


def _unpickler_reason(exc: BaseException) -> str:
    """What torch's safe loader objected to, without its advice to load the file unsafely
    (which we must not repeat: the file may be hostile)."""
    text = _ANSI.sub("", str(exc))
    _, marker, detail = text.partition("WeightsUnpickler error:")
    lines = [line.strip() for line in detail.splitlines() if line.strip()] if marker else []
    reason = lines[0].split(". Please")[0].rstrip(".") if lines else ""
    return reason or "it holds Python objects beyond tensors"


def shared_checkpoint(
    bundle: Any, name: str, weights: str, device: Any, load: Callable[[], T]
) -> T:
    """``load()`` once per device for checkpoint ``name`` of ``bundle`` as it is stored now,
    shared through the bundle's resource cache: a retrained checkpoint (another size or
    modification time of ``weights`` or config.json) is loaded again.

    Raises:
        MethodError: the bundle has no checkpoint ``name``.
    """
    from locgui.runtime.resources import file_version

    folder = checkpoint_folder(bundle, name)
    version = file_version(folder / weights, folder / "config.json")
    value: T = bundle.resources.get(name, str(device), load, version)
    return value


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
    """Store a checkpoint atomically in a bundle (adds capability ``name``) or a folder: a
    reader sees the old checkpoint or the new one, never a mix.

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
    from locgui.io.bundle_safety import staging_dir

    folder = Path(target) / name
    with staging_dir(folder, overwrite=True) as tmp:  # the old folder stays until the swap
        for fname, src in files.items():
            shutil.copy2(src, tmp / fname)
        (tmp / "config.json").write_text(json.dumps(config, indent=2) + "\n")
        (tmp / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
        tmp.chmod(0o755)  # mkdtemp makes it private
    return folder


def work_dir(target: Any, name: str) -> Path:
    """Where resumable training state of ``name`` lives (outside the final checkpoint)."""
    base = Path(target.path) / ".train" if is_bundle(target) else Path(target) / ".train"
    folder = base / name
    folder.mkdir(parents=True, exist_ok=True)
    return folder
