"""Limits on untrusted input, each configurable through an environment variable.

A dataset, a query folder or a bundle may come from anyone: a folder of a million entries or
a multi-gigabyte JSON file must be refused with a message, not read until memory runs out.

=====================  =========================  =========================================
limit                  variable                   default
=====================  =========================  =========================================
image pixels           ``LOCGUI_MAX_PIXELS``      64 MP (see ``image_header``)
entries of a folder    ``LOCGUI_MAX_FILES``       100000
size of a JSON file    ``LOCGUI_MAX_JSON_BYTES``  64 MiB
=====================  =========================  =========================================
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from locgui.core.errors import InputLimitError

DEFAULT_MAX_FILES = 100_000
"""Most entries a listed folder (images, queries, a 7-Scenes sequence) may hold."""

ENV_MAX_FILES = "LOCGUI_MAX_FILES"

DEFAULT_MAX_JSON_BYTES = 64 * 2**20
"""Largest JSON file read from user data (transforms.json, manifests, calibration, sidecars)."""

ENV_MAX_JSON_BYTES = "LOCGUI_MAX_JSON_BYTES"


def env_limit(name: str, default: int) -> int:
    """``$name`` when set to a positive number (``1e6`` is accepted), else ``default``."""
    text = os.environ.get(name, "").strip()
    try:
        value = int(float(text)) if text else default
    except (ValueError, OverflowError):
        return default
    return value if value > 0 else default


def max_files() -> int:
    return env_limit(ENV_MAX_FILES, DEFAULT_MAX_FILES)


def max_json_bytes() -> int:
    return env_limit(ENV_MAX_JSON_BYTES, DEFAULT_MAX_JSON_BYTES)


def list_folder(folder: Path) -> list[Path]:
    """The entries of ``folder`` (unsorted), stopping at the file limit.

    Raises:
        InputLimitError: the folder holds more than ``max_files()`` entries.
        OSError: the folder cannot be listed.
    """
    folder = Path(folder)
    limit = max_files()
    entries: list[Path] = []
    with os.scandir(folder) as it:
        for entry in it:
            if len(entries) >= limit:
                raise InputLimitError(
                    f"{folder}: more than {limit} entries exceeds the file limit "
                    f"(set {ENV_MAX_FILES} to raise it)"
                )
            entries.append(folder / entry.name)
    return entries


def read_json_text(path: Path) -> str:
    """The UTF-8 text of a JSON file, refused before reading when over the size limit.

    At most limit + 1 bytes are read, so a file that grows or never ends (a FIFO,
    ``/dev/zero``) is refused too.

    Raises:
        InputLimitError: the file is larger than ``max_json_bytes()``.
        OSError, UnicodeDecodeError: as ``Path.read_text`` does.
    """
    path = Path(path)
    limit = max_json_bytes()
    with path.open("rb") as fh:
        size = os.fstat(fh.fileno()).st_size
        data = b"" if size > limit else fh.read(limit + 1)
    if size > limit or len(data) > limit:
        raise InputLimitError(
            f"{path}: {max(size, len(data))} bytes exceeds the JSON size limit of {limit} "
            f"bytes (set {ENV_MAX_JSON_BYTES} to raise it)"
        )
    return data.decode("utf-8")


def load_json(path: Path) -> Any:
    """``read_json_text`` parsed. Nesting too deep for the parser (``[[[[...``, which raises
    RecursionError in ``json``) is reported as a ``json.JSONDecodeError`` like other bad JSON.

    Raises:
        InputLimitError, OSError, UnicodeDecodeError, json.JSONDecodeError.
    """
    text = read_json_text(path)
    try:
        return json.loads(text)
    except RecursionError:
        raise json.JSONDecodeError("nested too deeply", text[:100], 0) from None
