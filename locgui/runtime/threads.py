"""Thread pools that sleep when out of work.

torch runs its operations on an OpenMP team whose threads, by default, spin for a while
after each parallel region waiting for the next one. On a 2-core machine shared with other
work (and with ONNX Runtime's and OpenCV's own pools in the same process) the spinning
threads take the cores from the thread that has work: sfm's matching, 2048 x 5 x ~1000
descriptors, took 202-322 ms per query with spinning and 81-131 ms with sleeping threads at
loadavg 5-7 (runs alternating).
"""

from __future__ import annotations

import os


def sleep_when_idle() -> None:
    """Make OpenMP's threads sleep as soon as they are out of work (``OMP_WAIT_POLICY``
    PASSIVE), unless the environment already says otherwise. Only takes effect before torch
    is imported: call it first thing in an entry point."""
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
