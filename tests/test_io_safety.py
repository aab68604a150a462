"""Data safety: map build never replaces its source or a folder that is not a map bundle."""

from __future__ import annotations

from pathlib import Path

import pytest

from locgui.cli import main
from locgui.core.errors import BundleError
from locgui.io.synth import generate


@pytest.fixture
def dataset(tmp_path: Path) -> Path:
    return generate(tmp_path / "ds", seed=0, preset="tiny")


def _files(folder: Path) -> set[str]:
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*")}


@pytest.mark.parametrize("where", ["same", "parent", "inside"])
def test_map_build_refuses_an_out_that_overlaps_the_source(
    dataset: Path, where: str, capsys: pytest.CaptureFixture[str]
) -> None:
    before = _files(dataset)
    out = {"same": dataset, "parent": dataset.parent, "inside": dataset / "m.locmap"}[where]
    code = main(["map", "build", str(dataset), "--out", str(out), "--overwrite"])
    err = capsys.readouterr().err
    assert code == 2 and "error:" in err and "source" in err
    assert _files(dataset) == before


def test_map_build_overwrite_refuses_a_folder_that_is_not_a_bundle(
    dataset: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    other = tmp_path / "photos"
    other.mkdir()
    (other / "keep.txt").write_text("mine")
    code = main(["map", "build", str(dataset), "--out", str(other), "--overwrite"])
    assert code == 2 and "not a locgui map bundle" in capsys.readouterr().err
    assert (other / "keep.txt").read_text() == "mine"
    (other / "manifest.json").write_text('{"format": "something-else"}')
    with pytest.raises(BundleError, match="not a locgui map bundle"):
        from locgui.io.bundle import check_replaceable

        check_replaceable(other)
