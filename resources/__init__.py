"""Package data: the app icon (``icon/``), the style sheet (``style.qss``) and the images it
uses (``theme/``). Qt-free helpers so the CLI, packaging and tests can find them.

``style.qss`` holds the placeholder ``@RES@`` wherever it names a file of this folder;
:func:`stylesheet` replaces it with the folder's absolute path (``url()`` in a Qt style sheet
needs a file on disk).
"""

from __future__ import annotations

import atexit
import contextlib
import functools
from importlib import resources
from pathlib import Path

PLACEHOLDER = "@RES@"
ICON_SIZES = (16, 32, 48, 64, 128, 256, 512)

_files = contextlib.ExitStack()
atexit.register(_files.close)


@functools.cache
def folder() -> Path:
    """This folder on disk (a wheel install or a PyInstaller bundle: already a real path)."""
    return _files.enter_context(resources.as_file(resources.files(__name__)))


def stylesheet() -> str:
    """The application style sheet with every ``@RES@`` replaced by :func:`folder`."""
    text = resources.files(__name__).joinpath("style.qss").read_text(encoding="utf-8")
    return text.replace(PLACEHOLDER, folder().as_posix())


def icon_files() -> list[Path]:
    """The app icon's PNG renderings, smallest first (``icon/locgui-<size>.png``)."""
    return [folder() / "icon" / f"locgui-{size}.png" for size in ICON_SIZES]
