"""Property-based fuzzing of every file reader: a mutated valid file either loads or raises a
typed ``LocguiError``, never anything else.

Each reader starts from a small valid input written by the project's own writers, then
hypothesis truncates it, flips bytes, swaps tokens for wrong types and huge counts, or (for
JSON) replaces values and drops keys. The profile is derandomized and bounded so CI runs the
same cases every time (``FUZZ_EXAMPLES`` per reader; ``LOCGUI_FUZZ_EXAMPLES=N`` runs N, and
``LOCGUI_FUZZ_RANDOM=1`` new random cases, for a longer hunt than CI's).
"""

from __future__ import annotations

import json
import os
import shutil
import struct
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from locgui.core.errors import BundleError, LocguiError, SceneFormatError
from locgui.io.bundle import open_bundle, read_manifest, read_npz
from locgui.io.calibration import read_calibration_with_note
from locgui.io.cambridge import read_cambridge
from locgui.io.colmap import read_colmap, write_colmap
from locgui.io.images import image_size, read_image, write_image
from locgui.io.kapture import read_kapture
from locgui.io.kapture_write import write_kapture
from locgui.io.nvm import read_nvm
from locgui.io.ply import read_ply, write_ply
from locgui.io.poses import read_poses, write_poses
from locgui.io.sevenscenes import read_7scenes
from locgui.io.transforms_json import read_transforms, write_transforms
from tests.plugins.io import make_random_scene

FUZZ_EXAMPLES = int(os.environ.get("LOCGUI_FUZZ_EXAMPLES", "60"))

settings.register_profile(
    "fuzz",
    max_examples=FUZZ_EXAMPLES,
    deadline=None,
    derandomize=os.environ.get("LOCGUI_FUZZ_RANDOM", "") != "1",
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
fuzz = settings.get_profile("fuzz")

# Tokens that a text reader might choke on: wrong types, huge or negative counts, non-finite
# numbers, non-ASCII text and an empty token.
BAD_TOKENS = [
    "", "-1", "0", "nan", "inf", "-inf", "1e308", "1e999", "abc", "x", "3.5", "0x10",
    "99999999999999999999", "4294967296", "9223372036854775808", "\u00ff\u00fe", "\x00",
    "[]", "{}", "null", "true", "NVM_V3", "PINHOLE", "OPENCV", "-0",
]  # fmt: skip
HUGE_U64 = [2**31, 2**32 - 1, 2**40, 2**63 - 1, 2**64 - 1]


# ---------------------------------------------------------------------------------- mutations
def _truncate(data: bytes, frac: float) -> bytes:
    return data[: int(len(data) * frac)]


@st.composite
def byte_mutations(draw: st.DrawFn, data: bytes) -> bytes:
    """Truncation, byte flips, random splices and huge 32/64-bit integers at random offsets."""
    kind = draw(st.sampled_from(["truncate", "flip", "splice", "u32", "u64"]))
    if kind == "truncate" or not data:
        return _truncate(data, draw(st.floats(0.0, 1.0, exclude_max=True)))
    out = bytearray(data)
    if kind == "flip":
        for _ in range(draw(st.integers(1, 8))):
            pos = draw(st.integers(0, len(out) - 1))
            out[pos] ^= draw(st.integers(1, 255))
    elif kind == "splice":
        pos = draw(st.integers(0, len(out)))
        cut = draw(st.integers(0, 16))
        out[pos : pos + cut] = draw(st.binary(max_size=16))
    else:
        size = 4 if kind == "u32" else 8
        value = draw(st.sampled_from(HUGE_U64)) % (2 ** (8 * size))
        pos = draw(st.integers(0, max(len(out) - size, 0)))
        out[pos : pos + size] = struct.pack("<I" if size == 4 else "<Q", value)
    return bytes(out)


@st.composite
def text_mutations(draw: st.DrawFn, data: bytes) -> bytes:
    """Token swaps (wrong types, huge counts), dropped or duplicated lines, or byte mutations."""
    kind = draw(st.sampled_from(["token", "token", "line", "bytes"]))
    if kind == "bytes":
        return draw(byte_mutations(data))
    lines = data.decode("utf-8").split("\n")
    if kind == "line":
        i = draw(st.integers(0, len(lines) - 1))
        if draw(st.booleans()):
            del lines[i]
        else:
            lines.insert(i, lines[i])
        return "\n".join(lines).encode("utf-8")
    for _ in range(draw(st.integers(1, 3))):
        i = draw(st.integers(0, len(lines) - 1))
        tokens = lines[i].split(" ")
        j = draw(st.integers(0, len(tokens) - 1))
        tokens[j] = draw(st.sampled_from(BAD_TOKENS))
        lines[i] = " ".join(tokens)
    return "\n".join(lines).encode("utf-8", errors="surrogatepass")


JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.sampled_from([0, -1, 2**63, 10**400, 1e308, -1e308, 0.5])
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=8,
)


def _containers(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield path
    items = (
        value.items()
        if isinstance(value, dict)
        else enumerate(value)
        if isinstance(value, list)
        else ()
    )
    for key, child in items:
        if isinstance(child, dict | list):
            yield from _containers(child, (*path, key))


@st.composite
def json_mutations(draw: st.DrawFn, data: bytes) -> bytes:
    """Values replaced by wrong types or huge numbers, keys dropped, or byte mutations."""
    if draw(st.integers(0, 4)) == 0:
        return draw(byte_mutations(data))
    doc = json.loads(data)
    for _ in range(draw(st.integers(1, 3))):
        where = draw(st.sampled_from(list(_containers(doc))))
        node = doc
        for key in where:
            node = node[key]
        keys = list(node) if isinstance(node, dict) else list(range(len(node)))
        if not keys:
            continue
        key = draw(st.sampled_from(keys))
        if draw(st.booleans()) and isinstance(node, dict):
            del node[key]
        else:
            node[key] = draw(JSON_VALUES)
    return json.dumps(doc, allow_nan=True).encode("utf-8")


def check_typed(read: Callable[[], object]) -> None:
    """The property: the reader succeeds or raises a LocguiError (anything else propagates)."""
    try:
        read()
    except LocguiError as exc:
        assert str(exc).strip(), "a typed error without a message"


# ---------------------------------------------------------------------------------- templates
@pytest.fixture(scope="module")
def templates(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Small valid inputs, one folder per reader, written by the project's writers."""
    root = tmp_path_factory.mktemp("fuzz-templates")
    scene = make_random_scene(n_images=3, n_points=4)
    write_colmap(scene, root / "colmap_bin", binary=True, sidecar=False)
    write_colmap(scene, root / "colmap_txt", binary=False, sidecar=False)
    write_colmap(scene, root / "colmap_sidecar", binary=False, sidecar=True)
    (root / "transforms").mkdir()
    write_transforms(scene, root / "transforms" / "transforms.json")
    for frame in json.loads((root / "transforms" / "transforms.json").read_text())["frames"]:
        write_image(root / "transforms" / frame["file_path"], np.zeros((6, 8, 3), np.uint8))
    _write_cambridge(root / "cambridge")
    write_kapture(scene, root / "kapture", images="none")
    write_ply(root / "ply_bin" / "cloud.ply", np.random.default_rng(0).normal(size=(5, 3)),
              np.zeros((5, 3), np.uint8))  # fmt: skip
    _write_ascii_ply(root / "ply_txt" / "cloud.ply")
    _write_calibrations(root / "calibration", scene.cameras[1].to_dict())
    _write_7scenes(root / "sevenscenes")
    _write_images_and_arrays(root / "binary")
    names, poses = [], []
    for im in scene.images.values():
        if im.cam_from_world is not None:
            names.append(im.name)
            poses.append(im.cam_from_world)
    write_poses(root / "poses" / "poses_tum.txt", names, poses, fmt="tum")
    write_poses(root / "poses" / "poses_colmap.txt", names, poses, fmt="colmap")
    return {p.name: p for p in root.iterdir()}


def _write_cambridge(root: Path) -> None:
    header = "Visual Landmark Dataset V1\nImageFile, Camera Position [X Y Z W P Q R]\n\n"
    root.mkdir()
    for i in range(2):
        write_image(root / f"seq1/frame{i:05d}.png", np.zeros((6, 8, 3), np.uint8))
    (root / "dataset_train.txt").write_text(header + "seq1/frame00000.png 1 2 3 1 0 0 0\n")
    (root / "dataset_test.txt").write_text(header + "seq1/frame00001.png 0 1 0 0.5 0.5 0.5 0.5\n")
    cams = ["seq1/frame00000.jpg 100 1 0 0 0 1 2 3 0.001 0",
            "seq1/frame00001.jpg 101 0.5 0.5 0.5 0.5 0 1 0 0 0"]  # fmt: skip
    points = ["1 2 3 10 20 30 2 0 7 -1.5 2.5 1 3 3.0 -4.0", "4 5 6 1 2 3 1 1 0 0.5 0.5"]
    nvm = ["NVM_V3", "", "2", *cams, "", "2", *points, "", "0", ""]
    (root / "reconstruction.nvm").write_text("\n".join(nvm))


def _write_images_and_arrays(root: Path) -> None:
    rgb = np.random.default_rng(1).integers(0, 256, (12, 16, 3)).astype(np.uint8)
    for suffix in ("png", "jpg", "bmp", "tiff", "webp"):
        write_image(root / f"image.{suffix}", rgb)
    ids, offsets = np.arange(3), np.array([0, 2, 5])
    np.savez(root / "plain.npz", image_ids=ids, offsets=offsets, x=rgb[..., 0])
    np.savez_compressed(root / "compressed.npz", image_ids=ids, offsets=offsets, x=rgb[..., 0])


def _write_7scenes(root: Path) -> None:
    for k in range(2):
        stem = root / "seq-01" / f"frame-{k:06d}"
        write_image(f"{stem}.color.png", np.zeros((6, 8, 3), np.uint8))
        np.savetxt(f"{stem}.pose.txt", np.eye(4) + 0.1 * k)
    (root / "TrainSplit.txt").write_text("sequence1\n")
    (root / "TestSplit.txt").write_text("sequence2\n")


def _write_ascii_ply(path: Path) -> None:
    path.parent.mkdir()
    header = ["ply", "format ascii 1.0", "element vertex 3", "property float x",
              "property float y", "property float z", "property uchar red",
              "property uchar green", "property uchar blue", "end_header"]  # fmt: skip
    rows = ["0 0 0 255 0 0", "1 0 0 0 255 0", "0 1 0.5 0 0 255"]
    path.write_text("\n".join(header + rows) + "\n")


def _write_calibrations(root: Path, camera: dict[str, Any]) -> None:
    root.mkdir()
    (root / "camera.txt").write_text("# Camera list\n7 PINHOLE 640 480 500 510 320.5 240.5\n")
    (root / "camera.json").write_text(json.dumps({"camera": camera, "note": "rig"}))
    fs = cv2.FileStorage(str(root / "camera.yaml"), cv2.FILE_STORAGE_WRITE)
    fs.write("camera_matrix", np.array([[500.0, 0, 320], [0, 510, 240], [0, 0, 1]]))
    fs.write("distortion_coefficients", np.array([[0.1, -0.01, 0.0, 0.0, 0.002]]))
    fs.write("image_width", 640)
    fs.write("image_height", 480)
    fs.release()


@contextmanager
def _mutated_copy(template: Path, name: str, data: bytes) -> Iterator[Path]:
    """A fresh copy of ``template`` with file ``name`` replaced by ``data``."""
    with tempfile.TemporaryDirectory(prefix="locgui-fuzz-") as tmp:
        folder = Path(tmp) / template.name
        shutil.copytree(template, folder)
        (folder / name).write_bytes(data)
        yield folder


def _fuzz_file(template: Path, name: str, data: bytes, read: Callable[[Path], object]) -> None:
    with _mutated_copy(template, name, data) as folder:
        check_typed(lambda: read(folder))


def test_templates_are_valid(templates: dict[str, Path]) -> None:
    """Every fuzz starts from an input its reader accepts, so mutations reach deep code."""
    assert read_colmap(templates["colmap_bin"]).images
    assert read_colmap(templates["colmap_txt"]).images
    assert read_colmap(templates["colmap_sidecar"]).units == "metres"
    assert read_transforms(templates["transforms"]).images
    assert read_cambridge(templates["cambridge"]).points is not None
    assert read_nvm(templates["cambridge"] / "reconstruction.nvm").cameras
    assert len(read_ply(templates["ply_bin"] / "cloud.ply").points) == 5
    assert len(read_ply(templates["ply_txt"] / "cloud.ply").points) == 3
    for name in CALIBRATION_FILES:
        assert read_calibration_with_note(templates["calibration"] / name)[0].width == 640
    assert len(read_7scenes(templates["sevenscenes"]).images) == 2
    kapture = read_kapture(templates["kapture"])
    assert len(kapture.posed_ids()) == 3 and len(kapture.points.track_point) == 8
    for fmt in ("tum", "colmap"):
        assert len(read_poses(templates["poses"] / f"poses_{fmt}.txt", fmt)[1]) == 3


# ---------------------------------------------------------------------------------- COLMAP
COLMAP_FILES = ["cameras", "images", "points3D"]


@fuzz
@given(data=st.data(), name=st.sampled_from(COLMAP_FILES))
def test_colmap_binary_fuzz(templates: dict[str, Path], data: st.DataObject, name: str) -> None:
    original = (templates["colmap_bin"] / f"{name}.bin").read_bytes()
    mutated = data.draw(byte_mutations(original))
    _fuzz_file(templates["colmap_bin"], f"{name}.bin", mutated, read_colmap)


@fuzz
@given(data=st.data(), name=st.sampled_from(COLMAP_FILES))
def test_colmap_text_fuzz(templates: dict[str, Path], data: st.DataObject, name: str) -> None:
    original = (templates["colmap_txt"] / f"{name}.txt").read_bytes()
    mutated = data.draw(text_mutations(original))
    _fuzz_file(templates["colmap_txt"], f"{name}.txt", mutated, read_colmap)


# ---------------------------------------------------------------------------------- transforms.json
@fuzz
@given(data=st.data())
def test_transforms_json_fuzz(templates: dict[str, Path], data: st.DataObject) -> None:
    original = (templates["transforms"] / "transforms.json").read_bytes()
    mutated = data.draw(json_mutations(original))
    _fuzz_file(templates["transforms"], "transforms.json", mutated, read_transforms)


# ---------------------------------------------------------------------------------- Cambridge / NVM
CAMBRIDGE_FILES = ["dataset_train.txt", "dataset_test.txt", "reconstruction.nvm"]


@fuzz
@given(data=st.data(), name=st.sampled_from(CAMBRIDGE_FILES))
def test_cambridge_fuzz(templates: dict[str, Path], data: st.DataObject, name: str) -> None:
    original = (templates["cambridge"] / name).read_bytes()
    mutated = data.draw(text_mutations(original))
    _fuzz_file(templates["cambridge"], name, mutated, read_cambridge)


@fuzz
@given(data=st.data())
def test_nvm_fuzz(templates: dict[str, Path], data: st.DataObject) -> None:
    original = (templates["cambridge"] / "reconstruction.nvm").read_bytes()
    mutated = data.draw(text_mutations(original))
    _fuzz_file(templates["cambridge"], "reconstruction.nvm", mutated,
               lambda folder: read_nvm(folder / "reconstruction.nvm"))  # fmt: skip


# ---------------------------------------------------------------------------------- PLY
@fuzz
@given(data=st.data(), kind=st.sampled_from(["ply_bin", "ply_txt"]))
def test_ply_fuzz(templates: dict[str, Path], data: st.DataObject, kind: str) -> None:
    original = (templates[kind] / "cloud.ply").read_bytes()
    strategy = byte_mutations(original) if kind == "ply_bin" else text_mutations(original)
    mutated = data.draw(strategy)
    _fuzz_file(templates[kind], "cloud.ply", mutated, lambda folder: read_ply(folder / "cloud.ply"))


# ---------------------------------------------------------------------------------- calibration
CALIBRATION_FILES = ["camera.txt", "camera.json", "camera.yaml"]


@fuzz
@given(data=st.data(), name=st.sampled_from(CALIBRATION_FILES))
def test_calibration_fuzz(templates: dict[str, Path], data: st.DataObject, name: str) -> None:
    original = (templates["calibration"] / name).read_bytes()
    strategy = json_mutations(original) if name.endswith(".json") else text_mutations(original)
    mutated = data.draw(strategy)
    _fuzz_file(templates["calibration"], name, mutated,
               lambda folder: read_calibration_with_note(folder / name))  # fmt: skip


# ---------------------------------------------------------------------------------- 7-Scenes
SEVENSCENES_FILES = ["TrainSplit.txt", "TestSplit.txt", "seq-01/frame-000000.pose.txt"]


@fuzz
@given(data=st.data(), name=st.sampled_from(SEVENSCENES_FILES))
def test_7scenes_fuzz(templates: dict[str, Path], data: st.DataObject, name: str) -> None:
    original = (templates["sevenscenes"] / name).read_bytes()
    mutated = data.draw(text_mutations(original))
    _fuzz_file(templates["sevenscenes"], name, mutated, read_7scenes)


# ---------------------------------------------------------------------------------- kapture
KAPTURE_FILES = [
    "sensors/sensors.txt",
    "sensors/records_camera.txt",
    "sensors/trajectories.txt",
    "reconstruction/points3d.txt",
    "reconstruction/observations.txt",
    "reconstruction/keypoints/locgui/keypoints.txt",
]


@fuzz
@given(data=st.data(), name=st.sampled_from(KAPTURE_FILES))
def test_kapture_fuzz(templates: dict[str, Path], data: st.DataObject, name: str) -> None:
    original = (templates["kapture"] / name).read_bytes()
    mutated = data.draw(text_mutations(original))
    _fuzz_file(templates["kapture"], name, mutated, read_kapture)


@fuzz
@given(data=st.data())
def test_kapture_keypoints_fuzz(templates: dict[str, Path], data: st.DataObject) -> None:
    name = "reconstruction/keypoints/locgui/img_001.png.kpt"
    original = (templates["kapture"] / name).read_bytes()
    _fuzz_file(templates["kapture"], name, data.draw(byte_mutations(original)), read_kapture)


# ---------------------------------------------------------------------------------- sidecar
@fuzz
@given(data=st.data())
def test_colmap_sidecar_fuzz(templates: dict[str, Path], data: st.DataObject) -> None:
    original = (templates["colmap_sidecar"] / "locgui_scene.json").read_bytes()
    mutated = data.draw(json_mutations(original))
    _fuzz_file(templates["colmap_sidecar"], "locgui_scene.json", mutated, read_colmap)


# ---------------------------------------------------------------------------------- pose lists
@fuzz
@given(data=st.data(), fmt=st.sampled_from(["tum", "colmap"]))
def test_pose_list_fuzz(templates: dict[str, Path], data: st.DataObject, fmt: str) -> None:
    name = f"poses_{fmt}.txt"
    original = (templates["poses"] / name).read_bytes()
    mutated = data.draw(text_mutations(original))
    _fuzz_file(templates["poses"], name, mutated, lambda folder: read_poses(folder / name, fmt))


# ---------------------------------------------------------------------------------- images, .npz
IMAGE_FILES = ["image.png", "image.jpg", "image.bmp", "image.tiff", "image.webp"]


@fuzz
@given(data=st.data(), name=st.sampled_from(IMAGE_FILES))
def test_image_fuzz(templates: dict[str, Path], data: st.DataObject, name: str) -> None:
    original = (templates["binary"] / name).read_bytes()
    mutated = data.draw(byte_mutations(original))
    with _mutated_copy(templates["binary"], name, mutated) as folder:
        check_typed(lambda: image_size(folder / name))
        check_typed(lambda: read_image(folder / name))


@fuzz
@given(data=st.data(), name=st.sampled_from(["plain.npz", "compressed.npz"]))
def test_npz_fuzz(templates: dict[str, Path], data: st.DataObject, name: str) -> None:
    original = (templates["binary"] / name).read_bytes()
    mutated = data.draw(byte_mutations(original))
    _fuzz_file(templates["binary"], name, mutated, lambda folder: read_npz(folder / name, "x"))


# ---------------------------------------------------------------------------------- bundle manifest
@pytest.fixture(scope="module")
def bundle_copy(tiny_bundle_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A private copy of the tiny bundle whose manifest the fuzz test rewrites."""
    copy = tmp_path_factory.mktemp("fuzz-bundle") / tiny_bundle_dir.name
    shutil.copytree(tiny_bundle_dir, copy)
    return copy


@fuzz
@given(data=st.data())
def test_bundle_manifest_fuzz(bundle_copy: Path, data: st.DataObject) -> None:
    manifest = bundle_copy / "manifest.json"
    original = manifest.read_bytes()
    mutated = data.draw(json_mutations(original))
    try:
        manifest.write_bytes(mutated)
        check_typed(lambda: read_manifest(bundle_copy))
        check_typed(lambda: open_bundle(bundle_copy))
    finally:
        manifest.write_bytes(original)


# ---------------------------------------------------------------------------------- regressions
# Inputs the fuzzing above found raising untyped exceptions, kept as plain tests.
def test_cambridge_list_file_that_is_not_utf8(templates: dict[str, Path]) -> None:
    data = b"\x00\x00\x00\x80al Landmark Dataset V1\n\n\nseq1/frame00000.png 1 2 3 1 0 0 0\n"
    with _mutated_copy(templates["cambridge"], "dataset_train.txt", data) as folder:
        with pytest.raises(SceneFormatError, match="dataset_train.txt: not a UTF-8 text file"):
            read_cambridge(folder)


@pytest.mark.parametrize(
    ("header_line", "replacement", "reason"),
    [
        ("element vertex 3", "element vertex nan", "bad PLY element count 'nan'"),
        ("element vertex 3", "element vertex -1", "bad PLY element count '-1'"),
        ("property float y", "property", "truncated PLY file|no points"),
    ],
)
def test_ply_header_with_wrong_types(
    templates: dict[str, Path], header_line: str, replacement: str, reason: str
) -> None:
    original = (templates["ply_txt"] / "cloud.ply").read_text()
    data = original.replace(header_line, replacement).encode()
    with _mutated_copy(templates["ply_txt"], "cloud.ply", data) as folder:
        with pytest.raises(SceneFormatError, match=reason):
            read_ply(folder / "cloud.ply")


def _first_depth(manifest: dict[str, Any]) -> dict[str, Any]:
    return manifest["depth"]["files"][sorted(manifest["depth"]["files"])[0]]


@pytest.mark.parametrize(
    "mutate",
    [
        lambda m: m.update(capabilities=None),
        lambda m: m["images"].update(dir=[]),
        lambda m: m["depth"].update(files=None),
        lambda m: m["depth"]["files"].update({k: [] for k in m["depth"]["files"]}),
        lambda m: _first_depth(m).pop("path"),
        lambda m: _first_depth(m).update(path=None),
    ],
    ids=[
        "capabilities-null",
        "images-dir-list",
        "depth-files-null",
        "depth-entry-list",
        "depth-no-path",
        "depth-path-null",
    ],  # fmt: skip
)
def test_bundle_manifest_with_wrong_types(
    bundle_copy: Path, mutate: Callable[[dict[str, Any]], object]
) -> None:
    manifest = bundle_copy / "manifest.json"
    original = manifest.read_bytes()
    doc = json.loads(original)
    mutate(doc)
    try:
        manifest.write_text(json.dumps(doc))
        with pytest.raises(BundleError, match="manifest.json: malformed"):
            open_bundle(bundle_copy)
    finally:
        manifest.write_bytes(original)


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        ("TrainSplit.txt", b"\x00\x00\x00\x80ence1\n", "TrainSplit.txt: not a UTF-8 text file"),
        ("seq-01/frame-000000.pose.txt", b"", "expected a 4x4 matrix"),
    ],
    ids=["split-not-utf8", "empty-pose-file"],
)
def test_7scenes_bad_files(templates: dict[str, Path], name: str, data: bytes, reason: str) -> None:
    with _mutated_copy(templates["sevenscenes"], name, data) as folder:
        with pytest.raises(SceneFormatError, match=reason):
            read_7scenes(folder)


def test_tum_pose_list_with_a_non_numeric_image_comment(templates: dict[str, Path]) -> None:
    original = (templates["poses"] / "poses_tum.txt").read_text()
    data = original.replace("# image 0.0 ", "# image abc ", 1).encode()
    assert data != original.encode()
    with _mutated_copy(templates["poses"], "poses_tum.txt", data) as folder:
        with pytest.raises(SceneFormatError, match=r"line 2: non-numeric timestamp"):
            read_poses(folder / "poses_tum.txt", "tum")


@pytest.mark.parametrize("count", HUGE_U64)
@pytest.mark.parametrize("name", COLMAP_FILES)
def test_colmap_binary_with_a_huge_record_count(
    templates: dict[str, Path], name: str, count: int
) -> None:
    """The leading u64 record count, set far beyond the file size, is refused before any
    allocation (and before pycolmap sees the file)."""
    data = bytearray((templates["colmap_bin"] / f"{name}.bin").read_bytes())
    data[:8] = struct.pack("<Q", count)
    with _mutated_copy(templates["colmap_bin"], f"{name}.bin", bytes(data)) as folder:
        with pytest.raises(SceneFormatError, match=f"{name}.bin"):
            read_colmap(folder)


def test_ply_format_line_without_a_value(templates: dict[str, Path]) -> None:
    original = (templates["ply_bin"] / "cloud.ply").read_bytes()
    data = original.replace(b"format binary", b"format\n binary", 1)
    with _mutated_copy(templates["ply_bin"], "cloud.ply", data) as folder:
        check_typed(lambda: read_ply(folder / "cloud.ply"))  # was an IndexError


@pytest.mark.parametrize(
    ("name", "old", "new"),
    [
        ("reconstruction.nvm", "100 1 0 0 0 1 2 3", "100 0 0 0 0 1 2 3"),
        ("reconstruction.nvm", "100 1 0 0 0 1 2 3", "100 1e308 0 0 0 1 2 3"),
        ("dataset_train.txt", "png 1 2 3 1 0 0 0", "png 1 2 3 0 0 0 0"),
        ("dataset_train.txt", "png 1 2 3 1 0 0 0", "png 1e308 2 3 1 0 0 0"),
        ("dataset_train.txt", "png 1 2 3 1 0 0 0", "png inf 2 3 1 0 0 0"),
    ],
    ids=["nvm-zero-quat", "nvm-huge-quat", "list-zero-quat", "list-huge-centre", "list-inf"],
)
def test_cambridge_pose_values_that_do_not_convert(
    templates: dict[str, Path], name: str, old: str, new: str
) -> None:
    """A zero, huge or non-finite quaternion or centre made numpy warn (an error under the
    test config) and produced NaN poses; now a SceneFormatError naming the file and line."""
    original = (templates["cambridge"] / name).read_text()
    assert old in original
    data = original.replace(old, new, 1).encode()
    with _mutated_copy(templates["cambridge"], name, data) as folder:
        with pytest.raises(SceneFormatError, match=rf"{name}: line \d+"):
            read_cambridge(folder)


@pytest.mark.parametrize("fmt", ["tum", "colmap"])
@pytest.mark.parametrize("bad", ["0 0 0 0", "1e308 0 0 1"], ids=["zero-quat", "huge-quat"])
def test_pose_list_quaternion_that_does_not_convert(
    templates: dict[str, Path], fmt: str, bad: str
) -> None:
    name = f"poses_{fmt}.txt"
    lines = (templates["poses"] / name).read_text().splitlines()
    row = next(i for i, line in enumerate(lines) if line and not line.startswith("#"))
    tokens = lines[row].split()
    if fmt == "colmap":  # NAME QW QX QY QZ TX TY TZ
        tokens[1:5] = bad.split()
    else:  # STAMP TX TY TZ QX QY QZ QW
        tokens[4:8] = bad.split()
    lines[row] = " ".join(tokens)
    with _mutated_copy(templates["poses"], name, "\n".join(lines).encode()) as folder:
        with pytest.raises(SceneFormatError, match=rf"line {row + 1}: quaternion"):
            read_poses(folder / name, fmt)


def test_nvm_point_colour_out_of_range_and_huge_point_count(templates: dict[str, Path]) -> None:
    original = (templates["cambridge"] / "reconstruction.nvm").read_text()
    for old, new in (
        ("1 2 3 10 20 30", "1 2 3 -1 20 30"),
        ("\n\n2\n1 2 3", "\n\n4294967296\n1 2 3"),
    ):
        assert old in original
        data = original.replace(old, new, 1).encode()
        with _mutated_copy(templates["cambridge"], "reconstruction.nvm", data) as folder:
            with pytest.raises(SceneFormatError, match="reconstruction.nvm: (line|truncated)"):
                read_nvm(folder / "reconstruction.nvm")


def test_opencv_calibration_with_an_infinite_image_size(templates: dict[str, Path]) -> None:
    original = (templates["calibration"] / "camera.yaml").read_text()
    data = original.replace("image_width: 640", "image_width: .inf", 1).encode()
    assert data != original.encode()
    with _mutated_copy(templates["calibration"], "camera.yaml", data) as folder:
        with pytest.raises(LocguiError, match="camera.yaml"):
            read_calibration_with_note(folder / "camera.yaml")


def test_transforms_json_with_a_split_that_is_not_a_list(templates: dict[str, Path]) -> None:
    doc = json.loads((templates["transforms"] / "transforms.json").read_text())
    doc["train_filenames"] = None
    with _mutated_copy(templates["transforms"], "transforms.json", json.dumps(doc).encode()) as f:
        with pytest.raises(SceneFormatError, match="'train_filenames' must be a list"):
            read_transforms(f)


def test_npz_with_an_unknown_zip_version(templates: dict[str, Path]) -> None:
    """zipfile raises NotImplementedError for a version field it does not know."""
    data = bytearray((templates["binary"] / "plain.npz").read_bytes())
    central = data.index(b"PK\x01\x02")
    data[central + 6 : central + 8] = struct.pack("<H", 109)  # version needed: 10.9
    with _mutated_copy(templates["binary"], "plain.npz", bytes(data)) as folder:
        with pytest.raises(BundleError, match="plain.npz: missing or corrupt x"):
            read_npz(folder / "plain.npz", "x")


@pytest.mark.parametrize("where", ["transform_matrix", "fl_x"])
def test_transforms_json_with_a_huge_integer(templates: dict[str, Path], where: str) -> None:
    """A JSON integer beyond float range raised OverflowError."""
    doc = json.loads((templates["transforms"] / "transforms.json").read_text())
    if where == "transform_matrix":
        doc["frames"][0]["transform_matrix"] = 10**400
    else:
        doc[where] = 10**400
    with _mutated_copy(templates["transforms"], "transforms.json", json.dumps(doc).encode()) as f:
        with pytest.raises(SceneFormatError, match="transforms.json: "):
            read_transforms(f)
