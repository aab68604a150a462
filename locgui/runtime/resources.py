"""Loaded resources (weights, indexes, networks) shared by everything that reads one map.

A map bundle owns one ``ResourceCache``: localizers, the NeRF view, live mode and trainers ask
it for a resource by (name, device, version) and it loads each once, whatever config the
asker has. The version is what identifies the stored data (e.g. a checkpoint's file size and
modification time), so a retrained checkpoint is loaded again and the stale one dropped.

Thread-safe: a loader runs once even when two threads ask for the same resource at once
(the second waits for the first).
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Hashable
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")


class ResourceCache:
    """Resources keyed by (name, device), each held at one version.

    Attributes:
        loads: how many times each resource name was loaded (for tests and benchmarks).
    """

    def __init__(self) -> None:
        self._items: dict[tuple[str, str], tuple[Hashable, Any]] = {}
        self._locks: dict[tuple[str, str], threading.Lock] = {}
        self._guard = threading.Lock()
        self.loads: Counter[str] = Counter()

    def get(self, name: str, device: str, load: Callable[[], T], version: Hashable = None) -> T:
        """The resource ``name`` on ``device``, loaded with ``load()`` when absent or when its
        stored ``version`` differs from the one asked for."""
        key = (name, str(device))
        with self._guard:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:
            held = self._items.get(key)
            if held is not None and held[0] == version:
                return held[1]  # type: ignore[no-any-return]
            self._items.pop(key, None)  # let the stale one go before loading the new
            value = load()
            self._items[key] = (version, value)
            self.loads[name] += 1
            return value

    def drop(self, name: str | None = None) -> None:
        """Forget one resource (every device) or all of them."""
        with self._guard:
            for key in [k for k in self._items if name is None or k[0] == name]:
                del self._items[key]

    def names(self) -> list[tuple[str, str]]:
        """(name, device) of what is held now."""
        return sorted(self._items)


def file_version(*paths: str | Path) -> tuple[tuple[int, int], ...]:
    """The version of stored files: (size, modification time in ns) of each, (-1, -1) where
    one is missing (the loader then says what is wrong)."""
    out = []
    for p in paths:
        try:
            st = Path(p).stat()
            out.append((st.st_size, st.st_mtime_ns))
        except OSError:
            out.append((-1, -1))
    return tuple(out)
