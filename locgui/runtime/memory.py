"""Give freed heap memory back to the operating system.

A live session frees and allocates frame-sized buffers (images, feature maps, match matrices)
from two threads for hours; glibc keeps the freed pages in its heaps, so the resident size
creeps up although nothing leaks. ``release_free_memory`` asks glibc to return them
(``malloc_trim``); elsewhere it does nothing. Measured on the demo clip (lock-step, 1,050
frames): resident memory 524.5 -> 529.1 MiB without, 464.4 -> 466.5 MiB with a trim every 50
frames.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys
from functools import cache
from typing import Any


@cache
def _libc() -> Any:
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        return libc if hasattr(libc, "malloc_trim") else None
    except OSError:
        return None


def release_free_memory() -> bool:
    """Return free heap pages to the OS (glibc ``malloc_trim``); False where unavailable."""
    libc = _libc()
    if libc is None:
        return False
    libc.malloc_trim(0)
    return True


def resident_mb() -> float:
    """This process's resident set size, MiB (Linux /proc; NaN elsewhere)."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return float("nan")
