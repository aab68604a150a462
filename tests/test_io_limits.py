"""Untrusted-input limits: folder entry counts and JSON sizes, refused with a typed error that
names the limit, the value and the variable that raises it."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from locgui.core.errors import InputLimitError
from locgui.io import open_scene
from locgui.io.images import write_image
from locgui.io.limits import (
    DEFAULT_MAX_FILES,
    DEFAULT_MAX_JSON_BYTES,
    env_limit,
    list_folder,
    max_files,
    max_json_bytes,
    read_json_text,
)

FILES_MESSAGE = r"more than 3 entries exceeds the file limit \(set LOCGUI_MAX_FILES"
JSON_MESSAGE = r"bytes exceeds the JSON size limit of 64 bytes \(set LOCGUI_MAX_JSON_BYTES"


@pytest.fixture
def few_files(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOCGUI_MAX_FILES", "3")


@pytest.fixture
def small_json(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOCGUI_MAX_JSON_BYTES", "64")


def _images(folder: Path, n: int) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        write_image(folder / f"{i:03d}.png", np.full((8, 8, 3), i, np.uint8))
    return folder


def test_limits_default_and_read_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LOCGUI_MAX_FILES", raising=False)
    monkeypatch.delenv("LOCGUI_MAX_JSON_BYTES", raising=False)
    assert (max_files(), max_json_bytes()) == (100_000, 64 * 2**20)
    assert (DEFAULT_MAX_FILES, DEFAULT_MAX_JSON_BYTES) == (100_000, 64 * 2**20)
    monkeypatch.setenv("LOCGUI_MAX_FILES", "2e5")
    monkeypatch.setenv("LOCGUI_MAX_JSON_BYTES", "1000")
    assert (max_files(), max_json_bytes()) == (200_000, 1000)
    for bad in ("", "lots", "-5", "0", "1e999"):
        monkeypatch.setenv("X_LIMIT", bad)
        assert env_limit("X_LIMIT", 7) == 7, bad


def test_list_folder_stops_at_the_limit(tmp_path: Path, few_files: None) -> None:
    for i in range(3):
        (tmp_path / f"{i}.txt").write_text("")
    assert len(list_folder(tmp_path)) == 3
    (tmp_path / "3.txt").write_text("")
    with pytest.raises(InputLimitError, match=FILES_MESSAGE):
        list_folder(tmp_path)


def test_image_folder_over_the_file_limit(tmp_path: Path, few_files: None) -> None:
    folder = _images(tmp_path / "photos", 4)
    with pytest.raises(InputLimitError, match=FILES_MESSAGE):
        open_scene(folder)


def test_query_folder_over_the_file_limit(tmp_path: Path, few_files: None) -> None:
    from locgui.io.queries import expand_paths

    folder = _images(tmp_path / "queries", 4)
    with pytest.raises(InputLimitError, match=FILES_MESSAGE):
        expand_paths([folder])


def test_sevenscenes_sequence_over_the_file_limit(tmp_path: Path, few_files: None) -> None:
    from locgui.io.sevenscenes import read_7scenes

    seq = tmp_path / "chess" / "seq-01"
    seq.mkdir(parents=True)
    for i in range(2):
        write_image(seq / f"frame-{i:06d}.color.png", np.zeros((8, 8, 3), np.uint8))
        np.savetxt(seq / f"frame-{i:06d}.pose.txt", np.eye(4))
    with pytest.raises(InputLimitError, match=FILES_MESSAGE):
        read_7scenes(tmp_path / "chess")


def test_live_folder_source_over_the_file_limit(tmp_path: Path, few_files: None) -> None:
    from locgui.io.capture import CaptureError, open_source

    folder = _images(tmp_path / "clip", 4)
    with pytest.raises(CaptureError, match=FILES_MESSAGE):
        open_source(folder)


def test_read_json_text_refuses_large_and_endless_files(tmp_path: Path, small_json: None) -> None:
    path = tmp_path / "a.json"
    path.write_text(json.dumps({"k": "v" * 40}))
    assert json.loads(read_json_text(path))["k"] == "v" * 40
    path.write_text(json.dumps({"k": "v" * 80}))
    with pytest.raises(InputLimitError, match=JSON_MESSAGE):
        read_json_text(path)
    with pytest.raises(InputLimitError, match=JSON_MESSAGE):
        read_json_text(Path("/dev/zero"))  # reports size 0, never ends


def test_transforms_json_over_the_size_limit(tmp_path: Path, small_json: None) -> None:
    (tmp_path / "transforms.json").write_text(json.dumps({"frames": [], "pad": "x" * 100}))
    with pytest.raises(InputLimitError, match="transforms.json: .*" + JSON_MESSAGE):
        open_scene(tmp_path)


def test_bundle_manifest_over_the_size_limit(tmp_path: Path, small_json: None) -> None:
    from locgui.io.bundle import read_manifest

    bundle = tmp_path / "b.locmap"
    bundle.mkdir()
    (bundle / "manifest.json").write_text(json.dumps({"format": "x", "pad": "x" * 100}))
    with pytest.raises(InputLimitError, match="manifest.json: .*" + JSON_MESSAGE):
        read_manifest(bundle)


def test_calibration_sidecar_and_checkpoint_json_over_the_size_limit(
    tmp_path: Path, small_json: None
) -> None:
    from locgui.io.calibration import read_calibration
    from locgui.io.sidecar import read_sidecar
    from locgui.methods.checkpoint import read_config

    big = json.dumps({"pad": "x" * 100})
    for name in ("camera.json", "locgui_scene.json", "config.json"):
        (tmp_path / name).write_text(big)
    with pytest.raises(InputLimitError, match="camera.json: .*" + JSON_MESSAGE):
        read_calibration(tmp_path / "camera.json")
    with pytest.raises(InputLimitError, match="locgui_scene.json: .*" + JSON_MESSAGE):
        read_sidecar(tmp_path / "locgui_scene.json")
    with pytest.raises(InputLimitError, match="config.json: .*" + JSON_MESSAGE):
        read_config(tmp_path)


def test_json_nested_too_deeply_is_a_decode_error(tmp_path: Path) -> None:
    from locgui.core.errors import SceneFormatError
    from locgui.io.limits import load_json

    path = tmp_path / "transforms.json"
    path.write_text('{"frames": ' + "[" * 100_000 + "]" * 100_000 + "}")
    with pytest.raises(json.JSONDecodeError, match="nested too deeply"):
        load_json(path)
    with pytest.raises(SceneFormatError, match="transforms.json: invalid JSON \\(nested too"):
        open_scene(tmp_path)
