"""Thin launcher used by packaging (PyInstaller etc.): the same entry point as `locgui`."""

import sys

import locgui  # noqa: F401  (zlib before pycolmap: must be the first import)
from locgui.cli import main

if __name__ == "__main__":
    sys.exit(main())
