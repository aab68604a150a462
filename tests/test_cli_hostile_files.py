"""Damaged or crafted map files end in one typed error line (``error: ...``, exit 2), never a
traceback."""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from locgui.cli import main
from locgui.core.errors import MethodError
from locgui.io.bundle import MapBundle


def _copy(bundle_dir: Path, tmp_path: Path) -> Path:
    out = tmp_path / "copy.locmap"
    shutil.copytree(bundle_dir, out)
    return out


def _one_error_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert lines and lines[-1].startswith("error: "), err
    assert "Traceback" not in err
    return lines[-1]


def _query(tiny_bundle: MapBundle) -> str:
    return str(tiny_bundle.scene.image_path(sorted(tiny_bundle.scene.images)[0]))


def test_manifest_without_features(
    tiny_bundle: MapBundle, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bundle = _copy(tiny_bundle.path, tmp_path)
    manifest = json.loads((bundle / "manifest.json").read_text())
    del manifest["features"]
    (bundle / "manifest.json").write_text(json.dumps(manifest))
    assert main(["localize", str(bundle), _query(tiny_bundle), "--intrinsics", "fov:60"]) == 2
    assert "features" in _one_error_line(capsys.readouterr().err)
    assert main(["train", "scr", str(bundle), "--tiny", "--device", "cpu"]) == 2
    assert "features" in _one_error_line(capsys.readouterr().err)


@pytest.mark.parametrize("damage", ["garbage", "truncated", "pickled"])
def test_corrupt_or_pickled_retrieval_index(
    tiny_bundle: MapBundle, tmp_path: Path, capsys: pytest.CaptureFixture[str], damage: str
) -> None:
    bundle = _copy(tiny_bundle.path, tmp_path)
    path = bundle / "retrieval.npz"
    if damage == "garbage":
        path.write_bytes(b"this is not a zip file" * 10)
    elif damage == "truncated":
        path.write_bytes(path.read_bytes()[:200])
    else:
        state = dict(np.load(path))
        state["centers"] = np.array([{"a": 1}], dtype=object)
        with path.open("wb") as fh:
            np.savez(fh, **state)
    assert main(["localize", str(bundle), _query(tiny_bundle), "--intrinsics", "fov:60"]) == 2
    line = _one_error_line(capsys.readouterr().err)
    assert "retrieval.npz" in line


def test_weights_the_safe_loader_rejects(
    tiny_scr_bundle_dir: Path, tiny_bundle: MapBundle, tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    import torch

    bundle = _copy(tiny_scr_bundle_dir, tmp_path)
    weights = bundle / "checkpoints" / "scr" / "weights.pt"
    torch.save({"head": argparse.Namespace(a=1)}, weights)  # needs full unpickling
    args = ["localize", str(bundle), _query(tiny_bundle), "--method", "scr", "--device", "cpu"]
    assert main(args) == 2
    line = _one_error_line(capsys.readouterr().err)
    assert "weights.pt" in line
    for advice in ("weights_only", "trust", "safe_globals", "re-running"):
        assert advice not in line, line


def test_load_state_message_gives_no_advice_to_disable_safe_loading(tmp_path: Path) -> None:
    import torch

    from locgui.methods.checkpoint import load_state

    path = tmp_path / "w.pt"
    torch.save({"x": argparse.Namespace(a=1)}, path)
    with pytest.raises(MethodError) as info:
        load_state(path, "cpu")
    text = str(info.value)
    assert "\n" not in text and "weights_only" not in text and "trust" not in text, text
    assert text.startswith(f"{path}: ")


@pytest.mark.parametrize("damage", ["garbage", "pickled"])
def test_corrupt_or_pickled_feature_index(
    tiny_bundle: MapBundle, tmp_path: Path, capsys: pytest.CaptureFixture[str], damage: str
) -> None:
    bundle = _copy(tiny_bundle.path, tmp_path)
    path = bundle / "features" / "index.npz"
    if damage == "garbage":
        path.write_bytes(b"PK\x03\x04 not really a zip file" * 10)
    else:
        state = dict(np.load(path))
        state["offsets"] = np.array([{"a": 1}], dtype=object)
        with path.open("wb") as fh:
            np.savez(fh, **state)
    assert main(["localize", str(bundle), _query(tiny_bundle), "--intrinsics", "fov:60"]) == 2
    line = _one_error_line(capsys.readouterr().err)
    assert "index.npz" in line and "trust" not in line and "allow_pickle" not in line, line
