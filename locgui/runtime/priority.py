"""Background work yields the CPU to the window: worker threads and child processes run at a
lower priority (a higher nice value), so on a busy 2-core machine the UI thread, the software
OpenGL renderer and the X server get the cores first when they need them. Idle cores still go
to the workers, so a localization alone runs as fast as before."""

from __future__ import annotations

import os
import sys
import threading

BACKGROUND_NICENESS = 10
"""Added to the nice value of background work (0..19, higher yields more)."""


def lower_thread_priority(niceness: int = BACKGROUND_NICENESS) -> bool:
    """Raise the calling thread's nice value by ``niceness`` (threads it starts later, such as
    torch's OpenMP team, inherit it). Linux only (elsewhere nice is per process); True if done."""
    if not sys.platform.startswith("linux"):
        return False
    tid = threading.get_native_id()
    try:
        current = os.getpriority(os.PRIO_PROCESS, tid)
        os.setpriority(os.PRIO_PROCESS, tid, min(19, current + niceness))
    except OSError:
        return False
    return True


def lower_process_priority(niceness: int = BACKGROUND_NICENESS) -> bool:
    """Raise the whole calling process's nice value by ``niceness``; True if done."""
    if not hasattr(os, "nice"):
        return False
    try:
        os.nice(niceness)
    except OSError:
        return False
    return True
