"""Where a COLMAP model lives: model folders, project folders and incomplete models.

A COLMAP *project* folder holds ``database.db``, ``images/`` and the mapper's output in
``sparse/0`` (``sparse/1`` ... when the mapper split the scene), ``sparse/`` or
``reconstruction/``. A *model* folder holds ``cameras``, ``images`` and ``points3D`` as ``.bin``
or ``.txt``. Everything here only looks at file names and headers (cheap enough for format
detection, never imports pycolmap).
"""

from __future__ import annotations

import logging
import struct
from pathlib import Path

from locgui.io.colmap_check import announced_text_counts

log = logging.getLogger(__name__)

MODEL_FILES = ("cameras", "images", "points3D")
MODEL_PARENTS = ("sparse", "reconstruction")
_EXTENSIONS = {"binary": ".bin", "text": ".txt"}


def model_kind(folder: Path) -> str | None:
    """ "binary" or "text" if ``folder`` holds a COLMAP model (binary wins), else None."""
    for kind, ext in _EXTENSIONS.items():
        if all((folder / f"{name}{ext}").is_file() for name in MODEL_FILES):
            return kind
    return None


def missing_model_files(folder: Path) -> list[str] | None:
    """The missing files of an incomplete model in ``folder`` (two of the three present, of
    one extension), e.g. ``["images.bin"]``; None when the folder holds no incomplete model."""
    if not folder.is_dir() or model_kind(folder) is not None:
        return None
    for ext in _EXTENSIONS.values():
        present = [name for name in MODEL_FILES if (folder / f"{name}{ext}").is_file()]
        if len(present) == 2:
            return [f"{name}{ext}" for name in MODEL_FILES if name not in present]
    return None


def num_model_images(folder: Path) -> int:
    """Registered images of the model in ``folder``, from the file header (0 if unknown)."""
    binary = folder / "images.bin"
    if binary.is_file():
        with binary.open("rb") as fh:
            head = fh.read(8)
        return struct.unpack("<Q", head)[0] if len(head) == 8 else 0
    return announced_text_counts(folder).get("images.txt", 0)


def _numbered_models(parent: Path) -> list[Path]:
    if not parent.is_dir():
        return []
    subs = [p for p in parent.iterdir() if p.name.isdigit() and p.is_dir()]
    return sorted((p for p in subs if model_kind(p) is not None), key=lambda p: int(p.name))


def candidate_dirs(path: Path) -> list[Path]:
    """Folders that may hold the model of ``path``, in the order they are tried."""
    out = [path]
    for name in MODEL_PARENTS:
        out += [path / name / "0", path / name]
    return out


def find_model_dir(path: Path, announce: bool = False) -> Path | None:
    """The model folder for ``path``: itself, ``sparse/N`` (the model with most images when
    there are several; ``announce`` logs that choice), ``sparse``, ``reconstruction/N`` or
    ``reconstruction``; None if none."""
    if model_kind(path) is not None:
        return path
    for name in MODEL_PARENTS:
        numbered = _numbered_models(path / name)
        if len(numbered) == 1:
            return numbered[0]
        if numbered:
            sizes = [num_model_images(p) for p in numbered]
            best = numbered[sizes.index(max(sizes))]
            log.log(
                logging.INFO if announce else logging.DEBUG,
                "%s holds %d models (%s images); reading the largest, %s",
                path / name,
                len(numbered),
                ", ".join(map(str, sizes)),
                best.name,
            )
            return best
        if model_kind(path / name) is not None:
            return path / name
    return None


def find_incomplete_model(path: Path) -> tuple[Path, list[str]] | None:
    """(folder, missing file names) of an incomplete model where ``path``'s model would be."""
    for folder in candidate_dirs(path):
        missing = missing_model_files(folder)
        if missing:
            return folder, missing
    return None


def is_colmap(path: Path) -> bool:
    """Detection hook: a model or project folder, or an incomplete model (so that reading it
    names the missing file instead of another format taking the folder)."""
    if not path.is_dir():
        return False
    return find_model_dir(path) is not None or find_incomplete_model(path) is not None
