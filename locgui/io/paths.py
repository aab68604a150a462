"""Paths named inside datasets and bundles stay inside their folders.

A dataset is untrusted input: an image named ``../x.png`` or ``/etc/x`` must not make locgui
read (or, with ``--copy-images``, write) outside the folder that names it. The check is on the
name itself (absolute, or ``..`` climbing above the root after normalization), so a dataset
whose image folder or files are symlinks keeps working.
"""

from __future__ import annotations

import ntpath
import os
import posixpath
from collections.abc import Iterable
from pathlib import Path

from locgui.core.errors import SceneFormatError


def is_confined(name: str) -> bool:
    """Whether the relative ``name`` stays inside the folder it is relative to."""
    if not name or "\x00" in name:
        return False
    if posixpath.isabs(name) or ntpath.isabs(name) or ntpath.splitdrive(name)[0]:
        return False
    parts = posixpath.normpath(name.replace("\\", "/")).split("/")
    return parts[0] not in ("..", ".")  # "." alone names the folder itself, not a file


def confined(root: Path, name: str, where: str = "") -> Path:
    """``root / name``; raises SceneFormatError naming the entry if ``name`` leaves ``root``.

    Args:
        root: the folder ``name`` is relative to (an image folder, a dataset root).
        name: the entry as the file spells it.
        where: what names it (a file, "frame 3"), for the message.
    """
    if not is_confined(name):
        prefix = f"{where}: " if where else ""
        raise SceneFormatError(
            f"{prefix}path {name!r} points outside its folder {root}; dataset paths must be "
            "relative and stay inside it"
        )
    return Path(root) / os.path.normpath(name)


def check_names(root: Path | None, names: Iterable[str], where: str) -> None:
    """Raise SceneFormatError for the first of ``names`` that leaves ``root``."""
    for name in names:
        confined(root or Path("."), name, where)
