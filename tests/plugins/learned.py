"""Tests of learned methods and of accuracy: seed, threads and determinism from the environment,
and the figures each test measures.

Results of trained models move between machines: torch picks its kernels per CPU (AVX2 vs
AVX-512, MKL's code paths), the thread count changes reduction order, and a tiny model
trained for seconds amplifies the last-bit differences. Tests marked ``learned`` therefore
run under fixed seeds, a fixed torch thread count and torch's deterministic algorithms, and
assert what the method promises with a margin that holds over seeds, thread counts and
kernel sets (scripts/test_spread.py measures it; CI runs them a second time with other
settings, see scripts/test.sh).

Environment:
- ``LOCGUI_TEST_SEED`` (default 0): seed of every training fixture and of the tests' sampling.
- ``LOCGUI_TEST_THREADS`` (default 1): torch's thread count while a learned test or fixture runs.
- ``LOCGUI_TEST_FIGURES``: a JSONL file that each ``figures.below``/``figures.above`` appends
  to (name, value, bound, seed, threads, kernels), for the spread script.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pytest

SEED = int(os.environ.get("LOCGUI_TEST_SEED", "0"))
THREADS = int(os.environ.get("LOCGUI_TEST_THREADS", "1"))


@contextmanager
def learned_run(threads: int = THREADS, seed: int = SEED) -> Iterator[None]:
    """torch at ``threads`` threads, deterministic algorithms and seeded; restored after."""
    import torch

    before = torch.get_num_threads()
    was_deterministic = torch.are_deterministic_algorithms_enabled()
    torch.set_num_threads(threads)
    torch.use_deterministic_algorithms(True)
    torch.manual_seed(seed)
    try:
        yield
    finally:
        torch.set_num_threads(before)
        torch.use_deterministic_algorithms(was_deterministic)


@pytest.fixture
def one_thread() -> Iterator[None]:
    """Kept for the tests that ask for it by name: the learned-test settings."""
    with learned_run():
        yield


@pytest.fixture(autouse=True)
def _learned_settings(request: pytest.FixtureRequest) -> Iterator[None]:
    if request.node.get_closest_marker("learned") is None:
        yield
        return
    with learned_run():
        yield


@dataclass
class Figures:
    """Records a measured figure next to its bound, and says whether it is inside."""

    test: str
    path: str | None

    def below(self, name: str, value: float, bound: float) -> bool:
        self._record(name, value, bound, "<")
        return bool(value < bound)

    def above(self, name: str, value: float, bound: float) -> bool:
        self._record(name, value, bound, ">")
        return bool(value > bound)

    def _record(self, name: str, value: float, bound: float, op: str) -> None:
        if not self.path:
            return
        row = {
            "test": self.test, "figure": name, "value": float(value), "bound": float(bound),
            "op": op, "seed": SEED, "threads": THREADS,
            "kernels": os.environ.get("ATEN_CPU_CAPABILITY", "default"),
        }  # fmt: skip
        with open(self.path, "a", encoding="utf-8") as f:
            f.write(json.dumps(row) + "\n")


@pytest.fixture
def figures(request: pytest.FixtureRequest) -> Figures:
    return Figures(request.node.nodeid, os.environ.get("LOCGUI_TEST_FIGURES"))
