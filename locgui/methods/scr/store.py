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

    A run in progress (periodic saves, a cancelled run) is stored under its own name, the
    work folder ``.train/scr/`` of the bundle or folder; the checkpoint itself is replaced
    only by a run that finishes, which then removes the work folder. Resuming continues the
    unfinished run when there is one, else the checkpoint.

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

    @property
    def work(self) -> Path:
        """The folder of the unfinished run (``.train/scr``; not created here)."""
        base = self.bundle.path if self.bundle is not None else self.folder
        assert base is not None
        return Path(base) / ".train" / NAME

    def unfinished(self) -> Path | None:
        """The stored unfinished run, if there is a complete one of it."""
        names = (ckpt.WEIGHTS, ckpt.TRAIN_STATE, "config.json")
        return self.work if all((self.work / n).is_file() for n in names) else None

    def load_for_resume(self, device: str) -> SavedRun:
        folder = self.unfinished() or self.existing()
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
        completed: bool = True,
    ) -> Path:
        """Store a finished run as the checkpoint (atomically), or an unfinished one in the
        work folder (the checkpoint stays as it was); return the folder written."""
        import torch

        with tempfile.TemporaryDirectory(prefix="locgui-scr-") as tmp:
            files = {ckpt.WEIGHTS: Path(tmp) / ckpt.WEIGHTS, ckpt.TRAIN_STATE: Path(tmp) / "ts"}
            torch.save(weights, files[ckpt.WEIGHTS])
            torch.save(train_state, files[ckpt.TRAIN_STATE])
            if not completed:
                return _write_folder(self.work, files, config, metrics)
            if self.bundle is not None:
                folder = Path(self.bundle.add_checkpoint(NAME, files, config, metrics))
            else:
                assert self.folder is not None
                folder = _replace_folder(self.folder, files, config, metrics)
        shutil.rmtree(self.work, ignore_errors=True)  # the finished run replaces it
        return folder


def _write_folder(
    folder: Path, files: dict[str, Path], config: dict[str, Any], metrics: dict[str, Any]
) -> Path:
    """Each file written beside its target and renamed over it (weights before config; the
    config is removed first, so a half-replaced folder is never taken for a whole one).
    Used for the work folder of an unfinished run only."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.json").unlink(missing_ok=True)
    for name, src in files.items():
        shutil.copyfile(src, folder / f".{name}.tmp")
        os.replace(folder / f".{name}.tmp", folder / name)
    for name, data in (("metrics.json", metrics), ("config.json", config)):
        (folder / f".{name}.tmp").write_text(json.dumps(data, indent=2) + "\n")
        os.replace(folder / f".{name}.tmp", folder / name)
    return folder


CHECKPOINT_FILES = (ckpt.WEIGHTS, ckpt.TRAIN_STATE, "config.json", "metrics.json")


def _replace_folder(
    folder: Path, files: dict[str, Path], config: dict[str, Any], metrics: dict[str, Any]
) -> Path:
    """Replace the checkpoint folder as a whole: the new one is written beside it and swapped
    in by ``staging_dir``, so a kill at any point leaves the previous complete checkpoint.

    Other entries of the folder (a user's notes) are copied over; the work folder of the
    unfinished run is not (the finished run replaces it).
    """
    from locgui.io.bundle_safety import staging_dir

    with staging_dir(folder, overwrite=True) as tmp:
        if folder.is_dir():
            for entry in folder.iterdir():
                if entry.name in CHECKPOINT_FILES or entry.name == ".train":
                    continue
                if entry.is_dir() and not entry.is_symlink():
                    shutil.copytree(entry, tmp / entry.name, symlinks=True)
                else:
                    shutil.copy2(entry, tmp / entry.name, follow_symlinks=False)
        for name, src in files.items():
            shutil.copyfile(src, tmp / name)
        for name, data in (("metrics.json", metrics), ("config.json", config)):
            (tmp / name).write_text(json.dumps(data, indent=2) + "\n")
        tmp.chmod(0o755)  # mkdtemp makes it private
    return folder


def check_output_folder(folder: Path) -> None:
    """Raise MethodError unless ``folder`` may hold an SCR checkpoint: missing, empty, or
    already one (its files, an unfinished run, or an SCR config.json). A finished run
    replaces the whole folder, so it must not be someone's other data."""
    folder = Path(folder)
    if not folder.exists():
        return
    if not folder.is_dir():
        raise MethodError(f"{folder}: exists and is not a folder; give --out a folder")
    names = {p.name for p in folder.iterdir()}
    if names <= {*CHECKPOINT_FILES, ".train"}:
        return
    try:
        ckpt.read_config(folder)
    except MethodError:
        raise MethodError(
            f"{folder}: folder is not empty and holds no SCR checkpoint; give --out a new or "
            "empty folder"
        ) from None


def open_store(source: Any, out_dir: str | Path | None) -> CheckpointStore:
    """A bundle (or its path), or a SceneMap (or a scene's path) with ``out_dir``."""
    if isinstance(source, SceneMap):
        if out_dir is None:
            raise MethodError("training SCR on a scene without a map bundle needs an output folder")
        check_output_folder(Path(out_dir))
        return CheckpointStore(source, folder=Path(out_dir))
    if isinstance(source, str | Path):
        from locgui.io.bundle import MANIFEST, open_bundle

        if out_dir is not None and not (Path(source) / MANIFEST).is_file():
            from locgui.io import open_scene  # a scene folder: the checkpoint goes to out_dir

            return open_store(open_scene(source), out_dir)
        source = open_bundle(source)
    if not hasattr(source, "add_checkpoint"):
        raise MethodError(f"cannot train SCR on {type(source).__name__}; give a map bundle")
    return CheckpointStore(source.scene, bundle=source)
