"""Fixtures for the real datasets in ../shared/data (absent in a user's fresh clone)."""

from __future__ import annotations

from pathlib import Path

import pytest

SHARED_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"


def _shared(name: str) -> Path:
    path = SHARED_DATA / name
    if not path.exists():
        pytest.skip(f"real dataset {name!r} not present at {path} (only on developer/CI machines)")
    return path


@pytest.fixture(scope="session")
def fox_path() -> Path:
    return _shared("fox")


@pytest.fixture(scope="session")
def stairs_path() -> Path:
    return _shared("7scenes-mini/stairs")
