"""Thin launcher used by packaging (packaging/build.sh, PyInstaller): the same entry point as
`locgui`."""

import multiprocessing
import sys

import locgui  # noqa: F401  (zlib before pycolmap: before anything that may load pycolmap)
from locgui.cli import main

if __name__ == "__main__":
    # Map builds and the demo run in spawned children (locgui.model.building.run_in_child). A
    # frozen app has no separate python to spawn: the child re-runs this executable, and this
    # call turns it into the child instead of a second app.
    multiprocessing.freeze_support()
    sys.exit(main())
