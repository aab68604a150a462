"""Where SCR training reads and writes its checkpoint: a map bundle, or a plain folder."""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from locgui.core.errors import BundleError, MethodError
from locgui.core.scene import SceneMap
from locgui.methods.scr import checkpoint as ckpt
from locgui.methods.scr.config import ScrTrainConfig

log = logging.getLogger(__name__)

NAME = "scr"


@dataclass
class SavedRun:
    """A stored checkpoint read back for ``resume``."""

    train: ScrTrainConfig
    meta: ckpt.ModelMeta
    weights: dict[str, Any]
    optimizer: dict[str, Any] | None
    step: int = 0
    total: int = 0
    seconds: float = 0.0
    losses: list[tuple[int, float, float]] = field(default_factory=list)


class CheckpointStore:
    """Reads and writes checkpoint "scr" of a bundle, or the files of a folder.

    Args:
        scene: the scene trained on (the bundle's scene for a bundle).
        bundle: a ``MapBundle``, or None.
        folder: the checkpoint folder when there is no bundle.
    """

    def __init__(self, scene: SceneMap, bundle: Any = None, folder: Path | None = None) -> None:
        self.scene, self.bundle, self.folder = scene, bundle, folder

    def existing(self) -> Path | None:
        if self.bundle is not None:
            try:
                return Path(self.bundle.checkpoint_dir(NAME))
            except BundleError:
                return None
        assert self.folder is not None
        return self.folder if (self.folder / ckpt.WEIGHTS).is_file() else None

    def load_for_resume(self, device: str) -> SavedRun:
        folder = self.existing()
        if folder is None:
            where = self.bundle.path if self.bundle is not None else self.folder
            raise MethodError(f"{where}: no SCR checkpoint to resume; train without --resume")
        config = ckpt.read_config(folder)
        ckpt.check_scene(config, self.scene, folder)
        saved = SavedRun(
            train=ScrTrainConfig.from_dict(config["train"]),
            meta=ckpt.ModelMeta(**config["model"]),
            weights=ckpt.load_state(folder / ckpt.WEIGHTS, device),
            optimizer=None,
        )
        state_path = folder / ckpt.TRAIN_STATE
        if state_path.is_file():
            state = ckpt.load_state(state_path, device)
            saved.optimizer = state.get("optimizer")
            saved.step, saved.total = int(state["step"]), int(state["total"])
            saved.seconds = float(state.get("seconds", 0.0))
            losses = state.get("losses")
            if losses is not None:
                saved.losses = [(int(r[0]), float(r[1]), float(r[2])) for r in losses.tolist()]
        log.info("scr: resuming %s at step %d/%d", folder, saved.step, saved.total)
        return saved

    def save(
        self,
        weights: dict[str, Any],
        train_state: dict[str, Any],
        config: dict[str, Any],
        metrics: dict[str, Any],
    ) -> Path:
        """Store the checkpoint atomically and return its folder."""
        import torch

        with tempfile.TemporaryDirectory(prefix="locgui-scr-") as tmp:
            files = {ckpt.WEIGHTS: Path(tmp) / ckpt.WEIGHTS, ckpt.TRAIN_STATE: Path(tmp) / "ts"}
            torch.save(weights, files[ckpt.WEIGHTS])
            torch.save(train_state, files[ckpt.TRAIN_STATE])
            if self.bundle is not None:
                return Path(self.bundle.add_checkpoint(NAME, files, config, metrics))
            assert self.folder is not None
            return _write_folder(self.folder, files, config, metrics)


def _write_folder(
    folder: Path, files: dict[str, Path], config: dict[str, Any], metrics: dict[str, Any]
) -> Path:
    """Each file written beside its target and renamed over it (weights before config)."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, src in files.items():
        shutil.copyfile(src, folder / f".{name}.tmp")
        os.replace(folder / f".{name}.tmp", folder / name)
    for name, data in (("metrics.json", metrics), ("config.json", config)):
        (folder / f".{name}.tmp").write_text(json.dumps(data, indent=2) + "\n")
        os.replace(folder / f".{name}.tmp", folder / name)
    return folder


def open_store(source: Any, out_dir: str | Path | None) -> CheckpointStore:
    """A bundle (or its path), or a SceneMap with ``out_dir``."""
    if isinstance(source, SceneMap):
        if out_dir is None:
            raise MethodError("training SCR on a scene without a map bundle needs an output folder")
        return CheckpointStore(source, folder=Path(out_dir))
    if isinstance(source, str | Path):
        from locgui.io.bundle import open_bundle

        source = open_bundle(source)
    if not hasattr(source, "add_checkpoint"):
        raise MethodError(f"cannot train SCR on {type(source).__name__}; give a map bundle")
    return CheckpointStore(source.scene, bundle=source)
