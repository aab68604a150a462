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


# ------------------------------------------------------------------------------- probe findings
# Inputs scripts/probe_hostile.py found loading silently wrong or ending without a message.
def _edit_first_data_line(path: Path, edit: object) -> None:
    lines = path.read_text().splitlines()
    k = next(i for i, line in enumerate(lines) if line.strip() and not line.startswith("#"))
    lines[k] = edit(lines[k].split())  # type: ignore[operator]
    path.write_text("\n".join(lines) + "\n")


@pytest.mark.parametrize(
    ("file", "edit", "message"),
    [
        ("images.txt", lambda t: " ".join([t[0], "0", "0", "0", "0", *t[5:]]),
         "images.txt: line 5: quaternion is zero"),
        ("cameras.txt", lambda t: " ".join([t[0], t[1], "-320", *t[3:]]),
         "cameras.txt: camera 1: implausible image size"),
        ("cameras.txt", lambda t: " ".join([*t[:4], "-250", *t[5:]]),
         "cameras.txt: camera 1: parameters must be finite with a positive focal length"),
    ],
)  # fmt: skip
def test_colmap_text_zero_quaternion_or_bad_camera_is_refused(
    tiny_scene_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    file: str, edit: object, message: str,
) -> None:  # fmt: skip
    scene = tmp_path / "scene"
    shutil.copytree(tiny_scene_dir, scene)
    _edit_first_data_line(scene / "sparse" / "0" / file, edit)
    assert main(["info", str(scene)]) == 2
    assert message in _one_error_line(capsys.readouterr().err)


def test_colmap_binary_zero_quaternion_is_refused(
    tiny_scene_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import struct

    import pycolmap

    scene = tmp_path / "scene"
    shutil.copytree(tiny_scene_dir, scene)
    model = scene / "sparse" / "0"
    pycolmap.Reconstruction(str(model)).write_binary(str(model))
    for p in model.glob("*.txt"):
        p.unlink()
    data = bytearray((model / "images.bin").read_bytes())
    data[8 + 4 : 8 + 4 + 32] = struct.pack("<4d", 0, 0, 0, 0)  # the first image's quaternion
    (model / "images.bin").write_bytes(bytes(data))
    assert main(["info", str(scene)]) == 2
    assert "images.bin: corrupt COLMAP binary file (image" in _one_error_line(
        capsys.readouterr().err
    )


def test_degenerate_rotations_are_refused(tmp_path: Path) -> None:
    from locgui.core.errors import SceneFormatError
    from locgui.io import open_scene
    from locgui.io.sevenscenes import read_pose_file

    pose = tmp_path / "frame-000000.pose.txt"
    pose.write_text("0 0 0 1\n0 0 0 2\n0 0 0 3\n0 0 0 1\n")
    with pytest.raises(SceneFormatError, match="rotation is degenerate"):
        read_pose_file(pose)
    frame = {"file_path": "a.png", "transform_matrix": [[0, 0, 0, 1]] * 3 + [[0, 0, 0, 1]]}
    cam = {"fl_x": 250, "fl_y": 250, "cx": 160, "cy": 120, "w": 320, "h": 240}
    (tmp_path / "transforms.json").write_text(json.dumps({**cam, "frames": [frame]}))
    with pytest.raises(SceneFormatError, match="frame 0 transform_matrix has no valid rotation"):
        open_scene(tmp_path / "transforms.json")


def test_calibration_with_a_negative_focal_length_is_refused(tmp_path: Path) -> None:
    from locgui.io.calibration import IntrinsicsError, read_calibration

    path = tmp_path / "camera.json"
    path.write_text(json.dumps({"model": "PINHOLE", "width": 320, "height": 240,
                                "params": [-1, -1, 160, 120]}))  # fmt: skip
    with pytest.raises(IntrinsicsError, match="camera.json: .*positive focal length"):
        read_calibration(path)


def test_unreadable_query_images_are_errors_and_the_batch_goes_on(
    tiny_bundle: MapBundle, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    argv = ["localize", str(tiny_bundle.path), str(empty), _query(tiny_bundle), "--json"]
    assert main([*argv, "--intrinsics", "fov:60"]) == 1  # a failed query; the batch went on
    out, err = capsys.readouterr()
    assert f"error: {empty}: not a decodable image" in err
    assert [r["query"] for r in json.loads(out)] == ["empty.png", Path(_query(tiny_bundle)).name]


def test_query_path_that_does_not_exist_fails_before_the_model_loads(
    tiny_bundle: MapBundle, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    import locgui.cli.localize as cli_localize

    def no_model(*args: object) -> None:
        raise AssertionError("the model was loaded")

    monkeypatch.setattr(cli_localize, "make_localizer", no_model)
    missing = tmp_path / "nope.png"
    assert main(["localize", str(tiny_bundle.path), str(missing)]) == 2
    assert _one_error_line(capsys.readouterr().err) == f"error: {missing}: no such file or folder"


def test_train_scr_on_a_scene_writes_only_to_a_checkpoint_folder(
    tiny_scene_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from locgui.methods.scr.store import open_store

    out = tmp_path / "data"
    out.mkdir()
    (out / "thesis.tex").write_text("years of work")
    args = ["train", "scr", str(tiny_scene_dir), "--out", str(out), "--tiny", "--device", "cpu"]
    assert main(args) == 2
    assert "holds no SCR checkpoint" in _one_error_line(capsys.readouterr().err)
    assert sorted(p.name for p in out.iterdir()) == ["thesis.tex"]
    store = open_store(tiny_scene_dir, tmp_path / "new")  # a scene path with --out: not a bundle
    assert store.bundle is None and store.folder == tmp_path / "new"
