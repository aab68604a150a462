"""Freed heap memory goes back to the OS (the live session calls this every 50 frames)."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from locgui.runtime.memory import release_free_memory, resident_mb


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc malloc_trim: Linux only")
def test_freed_small_blocks_are_returned() -> None:
    # 200 MB in 100 KB blocks (below glibc's mmap threshold: they live in the heap), then
    # every other one freed: the heap cannot shrink from its top, only malloc_trim helps.
    blocks = [np.ones(100_000 // 8) for _ in range(2000)]
    del blocks[::2]
    before = resident_mb()
    assert release_free_memory()
    assert before - resident_mb() > 50.0
    del blocks
