"""Shared test configuration. Area-specific fixtures live in tests/plugins/*.py."""

from __future__ import annotations

import os

# Widget tests render offscreen unless a GL test run under Xvfb sets the platform itself.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import locgui  # noqa: E402,F401  (zlib before pycolmap, as at every entry point)

pytest_plugins = [
    "tests.plugins.data",
    "tests.plugins.learned",
    "tests.plugins.features",
    "tests.plugins.io",
    "tests.plugins.synth",
    "tests.plugins.qt",
    "tests.plugins.engine",
    "tests.plugins.nerf",
    "tests.plugins.live",
    "tests.plugins.scr",
]
