"""The scene format registry and ``open_scene``.

A format is a name, a cheap ``detect(path) -> bool`` (looks at file names, never decodes
images) and ``read(path) -> SceneMap``. Readers are referenced as ``"module:function"`` strings
so that detecting a layout never imports pycolmap, OpenCV or open3d. The first format whose
``detect`` accepts the path wins, so specific layouts come before generic ones.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from locgui.core.errors import InputLimitError, SceneFormatError
from locgui.core.scene import SceneMap
from locgui.io.paths import check_names

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SceneFormat:
    """A readable scene layout.

    Attributes:
        name: short id shown to users and stored in ``SceneMap.source_format``.
        detect: ``path -> bool``; must be cheap and must not raise.
        reader: ``"module:function"`` taking the path and returning a ``SceneMap``.
        description: one line for help texts.
    """

    name: str
    detect: Callable[[Path], bool]
    reader: str
    description: str = ""

    def read(self, path: Path) -> SceneMap:
        module, func = self.reader.split(":")
        scene: SceneMap = getattr(importlib.import_module(module), func)(path)
        return scene


FORMATS: list[SceneFormat] = []


def register_format(fmt: SceneFormat, before: str | None = None) -> None:
    """Add a format (replacing one of the same name), optionally ahead of format ``before``."""
    FORMATS[:] = [f for f in FORMATS if f.name != fmt.name]
    names = [f.name for f in FORMATS]
    FORMATS.insert(names.index(before) if before in names else len(FORMATS), fmt)


def detect_format(path: str | Path) -> SceneFormat | None:
    """The first registered format that accepts ``path``, or None.

    Raises:
        InputLimitError: no format accepts it and a detector hit a limit of ``io.limits``
            (says which limit, rather than "not a recognized scene").
    """
    path = Path(path)
    over_limit: InputLimitError | None = None
    for fmt in FORMATS:
        try:
            if fmt.detect(path):
                return fmt
        except OSError as exc:  # unreadable folders: let the next format try
            log.debug("detect %s failed on %s: %s", fmt.name, path, exc)
        except InputLimitError as exc:  # another format may not need that listing
            over_limit = over_limit or exc
    if over_limit is not None:
        raise over_limit
    return None


def open_scene(path: str | Path) -> SceneMap:
    """Open any supported scene (see ``FORMATS``).

    Raises:
        SceneFormatError: the path is missing or empty, or no format recognizes it (the message
            names the path and what was looked for), or the files are corrupt.
        UnsupportedCameraModel, ImageDecodeError: from the format's reader.
    """
    path = Path(path).expanduser()
    if not path.exists():
        raise SceneFormatError(f"{path}: no such file or folder")
    path = path.resolve()
    if path.is_dir() and not any(path.iterdir()):
        raise SceneFormatError(f"{path}: folder is empty")
    fmt = detect_format(path)
    if fmt is None:
        from locgui.io.layout_hints import layout_hints

        known = ", ".join(f.name for f in FORMATS)
        notes = "".join(f"; {note}" for note in layout_hints(path))
        raise SceneFormatError(f"{path}: not a recognized scene (looked for: {known}){notes}")
    log.debug("opening %s as %s", path, fmt.name)
    scene = fmt.read(path)
    check_names(scene.image_dir, (im.name for im in scene.images.values()), str(path))
    return scene
