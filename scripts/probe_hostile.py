"""Run the real CLI on a battery of hostile inputs and injected faults; report what was not
handled cleanly.

Usage: python scripts/probe_hostile.py [--keep DIR] [--only SUBSTRING] [--jobs N]

Every case is built in a temporary folder from a tiny synthetic scene (``locgui synth
--preset tiny``) and its map bundle, then ``python -m locgui ...`` runs on it with a timeout.
A case is:

    clean           non-zero exit, stderr ends in one ``error: ...`` line, no traceback,
                    and every file that existed before is byte-identical afterwards
    traceback       "Traceback" in the output
    wrong-success   exit 0 where the input must be refused
    no-message      non-zero exit without an ``error:`` line at the end of stderr
    data-changed    a file that existed before was modified or removed
    timeout         still running after the time limit

Faults (``LOCGUI_FAULT_AT=stage:n``) kill a ``map build --overwrite`` at a stage boundary:
clean when it exits 130 and the previous bundle is byte-identical with no staging folders.

Prints a table and the counts; exits 1 if any case or fault is not clean. About 4 to 5 minutes
on two cores.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import pickle
import shutil
import struct
import subprocess
import sys
import tempfile
import time
import zlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TIMEOUT_S = 120.0
ALL_PROBLEMS = ("traceback", "timeout", "data-changed", "wrong-success", "no-message")


# ------------------------------------------------------------------------------ helpers
def locgui(*args: str, env: dict[str, str] | None = None, timeout: float = TIMEOUT_S):
    """Run ``python -m locgui ARGS``; (returncode or None on timeout, stdout, stderr, secs)."""
    full_env = {**os.environ, "PYTHONPATH": str(REPO), "QT_QPA_PLATFORM": "offscreen"}
    full_env.update(env or {})
    started = time.perf_counter()
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "locgui", *args],
            capture_output=True,
            text=True,
            errors="replace",
            env=full_env,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired as exc:
        out = exc.stdout.decode(errors="replace") if isinstance(exc.stdout, bytes) else ""
        err = exc.stderr.decode(errors="replace") if isinstance(exc.stderr, bytes) else ""
        return None, out, err, time.perf_counter() - started
    return proc.returncode, proc.stdout, proc.stderr, time.perf_counter() - started


def digest(root: Path) -> dict[str, str]:
    """Relative path -> content hash (or link target) of everything under ``root``."""
    out: dict[str, str] = {}
    if root.is_file():
        return {".": hashlib.sha256(root.read_bytes()).hexdigest()}
    for p in sorted(root.rglob("*")):
        rel = str(p.relative_to(root))
        if p.is_symlink():
            out[rel] = "link:" + str(os.readlink(p))
        elif p.is_file():
            out[rel] = hashlib.sha256(p.read_bytes()).hexdigest()
        elif p.is_dir():
            out[rel] = "dir"
        else:
            out[rel] = "special"
    return out


def changed(before: dict[str, str], after: dict[str, str]) -> list[str]:
    """Entries of ``before`` that are gone or different in ``after`` (new ones are fine)."""
    return [k for k, v in before.items() if after.get(k) != v]


def png_chunk(kind: bytes, data: bytes) -> bytes:
    crc = zlib.crc32(kind + data) & 0xFFFFFFFF
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)


def huge_png(path: Path, width: int = 20000, height: int = 20000) -> Path:
    """A few hundred bytes whose header claims ``width`` x ``height`` pixels."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    rows = zlib.compress(b"\x00" * (1 + 3 * width) * 4)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", rows)
        + png_chunk(b"IEND", b"")
    )  # fmt: skip
    return path


def edit_lines(path: Path, index: int, make: Callable[[list[str]], str]) -> None:
    """Replace data line ``index`` (comments skipped) of a text file by ``make(tokens)``."""
    lines = path.read_text().splitlines()
    data = [i for i, line in enumerate(lines) if line.strip() and not line.startswith("#")]
    lines[data[index]] = make(lines[data[index]].split())
    path.write_text("\n".join(lines) + "\n")


def edit_manifest(bundle: Path, change: Callable[[dict], object]) -> None:
    manifest = json.loads((bundle / "manifest.json").read_text())
    change(manifest)
    (bundle / "manifest.json").write_text(json.dumps(manifest))


class Evil:
    """Pickled into a weights file: the safe loader must refuse it, never run it."""

    def __reduce__(self):
        return (os.system, ("touch PWNED",))


# ------------------------------------------------------------------------------ cases
@dataclass
class Case:
    name: str
    argv: list[str]
    env: dict[str, str] = field(default_factory=dict)
    expect_ok: bool = False
    watched: list[Path] = field(default_factory=list)


@dataclass
class Result:
    case: Case
    status: str
    rc: int | None
    seconds: float
    detail: str


class Battery:
    """Builds the cases, each in its own folder under ``root``."""

    def __init__(self, root: Path, scene: Path, bundle: Path) -> None:
        self.root, self.scene, self.bundle = root, scene, bundle
        self.video = scene / "video" / "webcam.mp4"
        self.cases: list[Case] = []

    def folder(self, name: str) -> Path:
        path = self.root / "cases" / name
        path.mkdir(parents=True)
        return path

    def scene_copy(self, name: str) -> Path:
        dst = self.folder(name) / "scene"
        shutil.copytree(self.scene, dst)
        return dst

    def bundle_copy(self, name: str) -> Path:
        dst = self.folder(name) / "copy.locmap"
        shutil.copytree(self.bundle, dst)
        return dst

    def query(self) -> str:
        return str(self.scene / "images" / "query_0000.png")

    def add(self, name: str, *argv: object, env: dict[str, str] | None = None,
            expect_ok: bool = False) -> None:  # fmt: skip
        folder = self.root / "cases" / name
        watched = [folder] if folder.exists() else []
        self.cases.append(
            Case(name, [str(a) for a in argv], env or {}, expect_ok,
                 [*watched, self.scene, self.bundle])  # fmt: skip
        )


def build_cases(b: Battery) -> None:  # noqa: C901 - one flat list is easiest to read
    query = b.query()
    # ---- paths that do not exist, empty or wrong things
    b.add("info-nonexistent", "info", b.root / "nope")
    empty = b.folder("info-empty-folder")
    b.add("info-empty-folder", "info", empty)
    notes = b.folder("info-text-only")
    (notes / "notes.txt").write_text("hello\n")
    b.add("info-text-only", "info", notes)
    b.add("info-dev-zero", "info", "/dev/zero")
    fifo = b.folder("info-fifo-transforms")
    os.mkfifo(fifo / "transforms.json")
    b.add("info-fifo-transforms", "info", fifo)

    # ---- COLMAP text
    def colmap_txt(name: str, file: str, index: int, make: Callable[[list[str]], str]) -> None:
        scene = b.scene_copy(name)
        edit_lines(scene / "sparse" / "0" / file, index, make)
        b.add(name, "info", scene)

    colmap_txt("colmap-cameras-short-line", "cameras.txt", 0, lambda t: " ".join(t[:4]))
    colmap_txt("colmap-unknown-camera-model", "cameras.txt", 0,
               lambda t: " ".join([t[0], "FISHEYE_42", *t[2:]]))  # fmt: skip
    colmap_txt("colmap-negative-size", "cameras.txt", 0,
               lambda t: " ".join([t[0], t[1], "-320", *t[3:]]))  # fmt: skip
    colmap_txt("colmap-images-non-numeric", "images.txt", 0,
               lambda t: " ".join([t[0], "abc", *t[2:]]))  # fmt: skip
    colmap_txt("colmap-images-zero-quaternion", "images.txt", 0,
               lambda t: " ".join([t[0], "0", "0", "0", "0", *t[5:]]))  # fmt: skip
    colmap_txt("colmap-images-nan-translation", "images.txt", 0,
               lambda t: " ".join([*t[:5], "nan", *t[6:]]))  # fmt: skip
    colmap_txt("colmap-images-missing-camera", "images.txt", 0,
               lambda t: " ".join([*t[:8], "77", t[9]]))  # fmt: skip
    colmap_txt("colmap-images-dotdot-name", "images.txt", 0,
               lambda t: " ".join([*t[:9], "../../outside.png"]))  # fmt: skip
    colmap_txt("colmap-images-absolute-name", "images.txt", 0,
               lambda t: " ".join([*t[:9], "/etc/passwd"]))  # fmt: skip
    colmap_txt("colmap-points-garbage", "points3D.txt", 0, lambda t: "1 x y z")
    scene = b.scene_copy("colmap-images-truncated")
    path = scene / "sparse" / "0" / "images.txt"
    path.write_bytes(path.read_bytes()[:700])
    b.add("colmap-images-truncated", "info", scene)
    scene = b.scene_copy("colmap-images-binary-garbage")
    (scene / "sparse" / "0" / "images.txt").write_bytes(bytes(range(256)) * 8)
    b.add("colmap-images-binary-garbage", "info", scene)

    # ---- COLMAP binary (the bundle's model beside the scene's images)
    def colmap_bin(name: str, file: str, damage: Callable[[bytes], bytes]) -> None:
        scene = b.scene_copy(name)
        model = scene / "sparse" / "0"
        for p in model.iterdir():
            p.unlink()
        for p in (b.bundle / "model").glob("*.bin"):
            shutil.copy(p, model / p.name)
        (model / file).write_bytes(damage((model / file).read_bytes()))
        b.add(name, "info", scene)

    colmap_bin("colmap-bin-cameras-truncated", "cameras.bin", lambda d: d[:20])
    colmap_bin("colmap-bin-images-truncated", "images.bin", lambda d: d[: len(d) // 2])
    colmap_bin("colmap-bin-images-huge-count", "images.bin",
               lambda d: struct.pack("<Q", 2**62) + d[8:])  # fmt: skip
    colmap_bin("colmap-bin-points-empty", "points3D.bin", lambda d: b"")
    colmap_bin("colmap-bin-points-random", "points3D.bin", lambda d: os.urandom(len(d)))
    colmap_bin("colmap-bin-cameras-bad-model", "cameras.bin",
               lambda d: d[:12] + struct.pack("<i", 99) + d[16:])  # fmt: skip

    # ---- transforms.json
    def transforms(name: str, text: str | bytes, env: dict[str, str] | None = None) -> None:
        folder = b.folder(name)
        shutil.copytree(b.scene / "images", folder / "images")
        data = text.encode() if isinstance(text, str) else text
        (folder / "transforms.json").write_bytes(data)
        b.add(name, "info", folder, env=env)

    frame = {"file_path": "images/map_0000.png", "transform_matrix": [[1, 0, 0, 0], [0, 1, 0, 0],
             [0, 0, 1, 0], [0, 0, 0, 1]]}  # fmt: skip
    cam = {"fl_x": 250, "fl_y": 250, "cx": 160, "cy": 120, "w": 320, "h": 240}
    transforms("transforms-invalid-json", '{"frames": [')
    transforms("transforms-top-level-list", "[1, 2, 3]")
    transforms("transforms-frames-not-list", json.dumps({**cam, "frames": {"a": 1}}))
    transforms("transforms-3x3-matrix",
               json.dumps({**cam, "frames": [{**frame, "transform_matrix": [[1, 0, 0]] * 3}]}))
    nan_matrix = [[float("nan")] * 4] * 4
    transforms("transforms-nan-matrix",
               json.dumps({**cam, "frames": [{**frame, "transform_matrix": nan_matrix}]}))
    transforms("transforms-no-intrinsics", json.dumps({"frames": [frame]}))
    transforms("transforms-dotdot-path",
               json.dumps({**cam, "frames": [{**frame, "file_path": "../../../etc/passwd"}]}))
    transforms("transforms-huge-integer", '{"fl_x": 1' + "0" * 400 + ', "frames": []}')
    transforms("transforms-not-utf8", b'{"frames": [], "x": "\xff\xfe"}')
    transforms("transforms-deep-nesting", '{"frames": ' + "[" * 100_000 + "]" * 100_000 + "}")
    transforms("transforms-over-size-limit",
               json.dumps({**cam, "frames": [frame], "pad": "x" * 5000}),
               env={"LOCGUI_MAX_JSON_BYTES": "1000"})  # fmt: skip
    transforms("transforms-string-focal", json.dumps({**cam, "fl_x": "big", "frames": [frame]}))

    # ---- 7-Scenes, Cambridge, NVM, PLY
    def seven(name: str, pose: str, env: dict[str, str] | None = None, extra: int = 0,
              expect_ok: bool = False) -> None:  # fmt: skip
        seq = b.folder(name) / "seq-01"
        seq.mkdir()
        for i in range(2 + extra):
            image = b.scene / "images" / f"map_000{i % 10}.png"
            shutil.copy(image, seq / f"frame-{i:06d}.color.png")
            (seq / f"frame-{i:06d}.pose.txt").write_text(pose)
        b.add(name, "info", seq.parent, env=env, expect_ok=expect_ok)

    seven("7scenes-pose-garbage", "1 0 0 0\nfoo\n")
    # 7-Scenes marks lost tracking with non-finite poses: the frames load unposed (a warning).
    seven("7scenes-pose-nan", "nan 0 0 0\n0 1 0 0\n0 0 1 0\n0 0 0 1\n", expect_ok=True)
    seven("7scenes-pose-singular", "0 0 0 0\n0 0 0 0\n0 0 0 0\n0 0 0 1\n")
    seven("7scenes-over-file-limit", "1 0 0 0\n0 1 0 0\n0 0 1 0\n0 0 0 1\n",
          env={"LOCGUI_MAX_FILES": "5"}, extra=2)  # fmt: skip

    def cambridge(name: str, line: str) -> None:
        folder = b.folder(name)
        shutil.copytree(b.scene / "images", folder / "images")
        header = "Cambridge\nImageFile, Camera Position\n\n"
        (folder / "dataset_train.txt").write_text(header + line)
        b.add(name, "info", folder)

    cambridge("cambridge-short-line", "images/map_0000.png 1 2 3\n")
    cambridge("cambridge-zero-quaternion", "images/map_0000.png 1 2 3 0 0 0 0\n")
    cambridge("cambridge-inf-position", "images/map_0000.png inf 2 3 1 0 0 0\n")
    cambridge("cambridge-dotdot-name", "../../../etc/passwd 1 2 3 1 0 0 0\n")
    nvm_head = "NVM_V3\n\n1\n"
    for name, body in {
        "nvm-truncated": nvm_head,
        "nvm-zero-quaternion": nvm_head + "images/map_0000.png 250 0 0 0 0 1 2 3 0 0\n0\n",
        "nvm-huge-count": "NVM_V3\n\n99999999999999999999\n",
    }.items():
        folder = b.folder(name)
        shutil.copytree(b.scene / "images", folder / "images")
        (folder / "dataset_train.txt").write_text("x\ny\n\n")
        (folder / "reconstruction.nvm").write_text(body)
        b.add(name, "info", folder)
    for name, body in {
        "ply-huge-count": b"ply\nformat binary_little_endian 1.0\nelement vertex 999999999999\n"
        b"property float x\nproperty float y\nproperty float z\nend_header\n" + b"\0" * 24,
        "ply-truncated": b"ply\nformat ascii 1.0\nelement vertex 3\nproperty float x\n"
        b"property float y\nproperty float z\nend_header\n1 2 3\n4 5\n",
        "ply-no-header-end": b"ply\nformat ascii 1.0\nelement vertex 3\n",
    }.items():
        path = b.folder(name) / "points.ply"
        path.write_bytes(body)
        b.add(name, "info", path)

    # ---- sidecar
    scene = b.scene_copy("sidecar-corrupt")
    (scene / "locgui_scene.json").write_text('{"format": "locgui-scene", "version": ')
    b.add("sidecar-corrupt", "info", scene)
    scene = b.scene_copy("sidecar-future-version")
    data = json.loads((scene / "locgui_scene.json").read_text())
    (scene / "locgui_scene.json").write_text(json.dumps({**data, "version": 99}))
    b.add("sidecar-future-version", "info", scene)
    scene = b.scene_copy("sidecar-splits-not-dict")
    (scene / "locgui_scene.json").write_text(json.dumps({**data, "splits": [1, 2]}))
    b.add("sidecar-splits-not-dict", "info", scene)
    scene = b.scene_copy("sidecar-unposed-garbage")
    (scene / "locgui_scene.json").write_text(json.dumps({**data, "unposed_images": [{"x": 1}]}))
    b.add("sidecar-unposed-garbage", "info", scene)

    # ---- image folders
    def images(name: str, make: Callable[[Path], None], env: dict[str, str] | None = None) -> None:
        folder = b.folder(name) / "photos"
        folder.mkdir()
        make(folder)
        b.add(name, "map", "build", folder, "--out", folder.parent / "m.locmap", env=env)

    def empty_files(folder: Path) -> None:
        for i in range(3):
            (folder / f"{i}.png").write_bytes(b"")

    def truncated(folder: Path) -> None:
        for i in range(3):
            data = (b.scene / "images" / f"map_000{i}.png").read_bytes()
            (folder / f"{i}.png").write_bytes(data[:300])

    def text_as_png(folder: Path) -> None:
        for i in range(3):
            (folder / f"{i}.png").write_text("not an image\n" * 20)

    def huge(folder: Path) -> None:
        for i in range(3):
            huge_png(folder / f"{i}.png")

    def many(folder: Path) -> None:
        for i in range(12):
            shutil.copy(b.scene / "images" / "map_0000.png", folder / f"{i}.png")

    images("images-empty-files", empty_files)
    images("images-truncated-png", truncated)
    images("images-text-as-png", text_as_png)
    images("images-huge-png-header", huge)
    images("images-over-file-limit", many, env={"LOCGUI_MAX_FILES": "10"})
    images("images-one-image", lambda f: shutil.copy(b.scene / "images" / "map_0000.png", f))

    # ---- map build targets
    scene = b.scene_copy("build-out-is-source")
    b.add("build-out-is-source", "map", "build", scene, "--out", scene, "--overwrite")
    scene = b.scene_copy("build-out-inside-source")
    b.add("build-out-inside-source", "map", "build", scene, "--out", scene / "images",
          "--overwrite")  # fmt: skip
    scene = b.scene_copy("build-out-holds-source")
    b.add("build-out-holds-source", "map", "build", scene, "--out", scene.parent, "--overwrite")
    other = b.folder("build-out-other-data") / "photos"
    shutil.copytree(b.scene / "images", other)
    b.add("build-out-other-data", "map", "build", b.scene, "--out", other, "--overwrite")
    out_file = b.folder("build-out-is-file") / "m.locmap"
    out_file.write_text("a file")
    b.add("build-out-is-file", "map", "build", b.scene, "--out", out_file, "--overwrite")
    b.add("build-nonexistent-source", "map", "build", b.root / "nope",
          "--out", b.root / "nope.locmap")  # fmt: skip
    scene = b.scene_copy("build-copy-images-dotdot")
    edit_lines(scene / "sparse" / "0" / "images.txt", 0,
               lambda t: " ".join([*t[:9], "../payload.png"]))  # fmt: skip
    shutil.copy(b.scene / "images" / "map_0000.png", scene / "payload.png")
    b.add("build-copy-images-dotdot", "map", "build", scene, "--out", scene.parent / "m.locmap",
          "--copy-images")  # fmt: skip

    # ---- bundles
    def bundle_case(name: str, damage: Callable[[Path], object], *argv: object,
                    env: dict[str, str] | None = None) -> None:  # fmt: skip
        bundle = b.bundle_copy(name)
        damage(bundle)
        args = [a if a != "BUNDLE" else bundle for a in argv] or ["localize", bundle, query]
        b.add(name, *args, env=env)

    bundle_case("bundle-manifest-invalid-json",
                lambda p: (p / "manifest.json").write_text('{"format": '))  # fmt: skip
    bundle_case("bundle-manifest-empty", lambda p: (p / "manifest.json").write_text(""))
    bundle_case("bundle-manifest-missing", lambda p: (p / "manifest.json").unlink())
    bundle_case("bundle-manifest-wrong-format",
                lambda p: edit_manifest(p, lambda m: m.update(format="other")))  # fmt: skip
    bundle_case("bundle-manifest-future-version",
                lambda p: edit_manifest(p, lambda m: m.update(version=99)))  # fmt: skip
    bundle_case("bundle-manifest-no-features",
                lambda p: edit_manifest(p, lambda m: m.pop("features")))  # fmt: skip
    bundle_case("bundle-manifest-features-list",
                lambda p: edit_manifest(p, lambda m: m.update(features=[1, 2])))  # fmt: skip
    bundle_case("bundle-manifest-images-not-dict",
                lambda p: edit_manifest(p, lambda m: m.update(images="x")))  # fmt: skip
    bundle_case("bundle-manifest-over-size-limit", lambda p: None, "localize", "BUNDLE", query,
                env={"LOCGUI_MAX_JSON_BYTES": "200"})  # fmt: skip
    bundle_case("bundle-retrieval-garbage",
                lambda p: (p / "retrieval.npz").write_bytes(b"not a zip" * 50))  # fmt: skip

    def pickled_npz(path: Path) -> None:
        import numpy as np

        with path.open("wb") as fh:
            np.savez(fh, centers=np.array([{"a": 1}], dtype=object))

    bundle_case("bundle-retrieval-pickled", lambda p: pickled_npz(p / "retrieval.npz"))
    bundle_case("bundle-features-index-pickled",
                lambda p: pickled_npz(p / "features" / "index.npz"))  # fmt: skip
    def write(rel: str, data: bytes) -> Callable[[Path], object]:
        return lambda p: (p / rel).write_bytes(data)

    bundle_case("bundle-keypoints-garbage", write("features/keypoints.npy", b"\x93NUMPY junk"))
    bundle_case("bundle-keypoints-pickled", write("features/keypoints.npy", pickle.dumps([1])))
    bundle_case("bundle-model-images-truncated",
                lambda p: (p / "model" / "images.bin").write_bytes(b"\x01" * 10))  # fmt: skip
    bundle_case("bundle-model-missing", lambda p: shutil.rmtree(p / "model"))
    bundle_case("bundle-point-descriptors-garbage",
                lambda p: (p / "points" / "descriptors.npy").write_bytes(b"junk"),
                "localize", "BUNDLE", query, "--method", "points")  # fmt: skip

    def link_checkpoints(p: Path) -> None:
        target = p.parent / "elsewhere"
        (target / "scr").mkdir(parents=True)
        (target / "scr" / "precious.txt").write_text("keep me")
        (p / "checkpoints").symlink_to(target)

    bundle_case("bundle-symlink-checkpoints", link_checkpoints,
                "train", "scr", "BUNDLE", "--tiny", "--device", "cpu")  # fmt: skip
    def link_model(p: Path) -> None:
        shutil.rmtree(p / "model")
        (p / "model").symlink_to(b.bundle / "model")

    bundle_case("bundle-symlink-model", link_model)
    bundle_case("bundle-symlink-features-file",
                lambda p: ((p / "features" / "scores.npy").unlink(),
                           (p / "features" / "scores.npy").symlink_to("/etc/passwd")))  # fmt: skip

    def scr_checkpoint(p: Path, weights: Callable[[Path], object], name: str = "scr") -> None:
        from locgui.io.bundle import open_bundle
        from locgui.methods.scr import checkpoint as ckpt
        from locgui.methods.scr.config import ScrTrainConfig

        bundle = open_bundle(p)
        meta = ckpt.ModelMeta("cosine", 1.0, 2.0, 6, 1.0, [0, 0, 0], [0, 0, 0], [1, 1, 1], 10,
                              36, 8, 1, True, 640)  # fmt: skip
        config = ckpt.checkpoint_config(ScrTrainConfig(), meta, bundle.scene)
        work = p / "weights.pt"
        weights(work)
        bundle.add_checkpoint(name, {ckpt.WEIGHTS: work.read_bytes(), ckpt.TRAIN_STATE: b"x"},
                              config, {})  # fmt: skip
        work.unlink()

    def evil_weights(path: Path) -> None:
        with path.open("wb") as fh:
            pickle.dump(Evil(), fh)

    def torch_evil(path: Path) -> None:
        import torch

        torch.save({"w": Evil()}, path)

    bundle_case("scr-weights-garbage",
                lambda p: scr_checkpoint(p, lambda w: w.write_bytes(b"garbage" * 30)),
                "localize", "BUNDLE", query, "--method", "scr", "--device", "cpu")  # fmt: skip
    bundle_case("scr-weights-pickle-evil", lambda p: scr_checkpoint(p, evil_weights),
                "localize", "BUNDLE", query, "--method", "scr", "--device", "cpu")  # fmt: skip
    bundle_case("scr-weights-torch-evil", lambda p: scr_checkpoint(p, torch_evil),
                "localize", "BUNDLE", query, "--method", "scr", "--device", "cpu")  # fmt: skip
    bundle_case("scr-resume-evil-weights", lambda p: scr_checkpoint(p, torch_evil),
                "train", "scr", "BUNDLE", "--resume", "--tiny", "--device", "cpu")  # fmt: skip

    def scr_config_garbage(p: Path) -> None:
        scr_checkpoint(p, lambda w: w.write_bytes(b"x"))
        (p / "checkpoints" / "scr" / "config.json").write_text("[1, 2")

    bundle_case("scr-config-garbage", scr_config_garbage,
                "localize", "BUNDLE", query, "--method", "scr", "--device", "cpu")  # fmt: skip

    # ---- queries and options
    q = b.folder("query-empty-folder")
    b.add("query-empty-folder", "localize", b.bundle, q)
    b.add("query-nonexistent", "localize", b.bundle, b.root / "nope.png")
    qf = b.folder("query-empty-image") / "q.png"
    qf.write_bytes(b"")
    b.add("query-empty-image", "localize", b.bundle, qf)
    qf = b.folder("query-truncated-png") / "q.png"
    qf.write_bytes((b.scene / "images" / "query_0000.png").read_bytes()[:500])
    b.add("query-truncated-png", "localize", b.bundle, qf)
    qf = huge_png(b.folder("query-huge-png-header") / "q.png")
    b.add("query-huge-png-header", "localize", b.bundle, qf)
    qf = b.folder("query-text-as-png") / "q.png"
    qf.write_text("hello\n")
    b.add("query-text-as-png", "localize", b.bundle, qf)
    qd = b.folder("query-folder-named-png") / "q.png"
    qd.mkdir()
    b.add("query-folder-named-png", "localize", b.bundle, qd)
    calib = b.folder("intrinsics-garbage-json") / "camera.json"
    calib.write_text("{oops")
    b.add("intrinsics-garbage-json", "localize", b.bundle, query, "--intrinsics", calib)
    calib = b.folder("intrinsics-negative-focal") / "camera.json"
    calib.write_text(json.dumps({"model": "PINHOLE", "width": 320, "height": 240,
                                 "params": [-1, -1, 160, 120]}))  # fmt: skip
    b.add("intrinsics-negative-focal", "localize", b.bundle, query, "--intrinsics", calib)
    b.add("intrinsics-nonexistent", "localize", b.bundle, query, "--intrinsics", b.root / "x.yaml")
    b.add("intrinsics-bad-fov", "localize", b.bundle, query, "--intrinsics", "fov:-5")
    calib = b.folder("intrinsics-garbage-yaml") / "camera.yaml"
    calib.write_text("%YAML:1.0\ncamera_matrix: !!opencv-matrix\n  rows: 3\n  data: [1, 2\n")
    b.add("intrinsics-garbage-yaml", "localize", b.bundle, query, "--intrinsics", calib)
    b.add("localize-unknown-set", "localize", b.bundle, query, "--set", "nonsense=1")
    b.add("localize-unknown-method", "localize", b.bundle, query, "--method", "nope")
    b.add("localize-scene-not-bundle", "localize", b.scene, query)
    b.add("eval-queries-nonexistent", "eval", b.bundle, "--queries", "/nonexistent")
    scene = b.scene_copy("eval-queries-corrupt-scene")
    (scene / "sparse" / "0" / "images.txt").write_text("1 2 3\n")
    b.add("eval-queries-corrupt-scene", "eval", b.bundle, "--queries", f"{scene}:test")

    # ---- live sources
    text = b.folder("live-text-as-video") / "clip.mp4"
    text.write_text("this is not a video\n" * 300)
    b.add("live-text-as-video", "live", b.bundle, "--source", text, "--max-frames", "2")
    b.add("live-nonexistent-source", "live", b.bundle, "--source", b.root / "nope.mp4")
    live_empty = b.folder("live-empty-folder") / "clip"
    live_empty.mkdir()
    b.add("live-empty-folder", "live", b.bundle, "--source", live_empty)
    clip = b.folder("live-gt-zero-quaternion") / "clip"
    shutil.copytree(b.scene / "images", clip)
    (clip.parent / "clip.tum.txt").write_text("0.0 1 2 3 0 0 0 0\n")
    b.add("live-gt-zero-quaternion", "live", b.bundle, "--source", clip, "--max-frames", "1")
    clip = b.folder("live-gt-garbage") / "clip"
    shutil.copytree(b.scene / "images", clip)
    (clip.parent / "clip.tum.txt").write_bytes(b"\xff\xfe\x00\x01")
    b.add("live-gt-garbage", "live", b.bundle, "--source", clip, "--max-frames", "1")

    clip = b.folder("live-video-over-source") / "clip.mp4"
    shutil.copy(b.video, clip)
    b.add("live-video-over-source", "live", b.bundle, "--source", clip, "--video", clip,
          "--max-frames", "1")  # fmt: skip
    clip = b.folder("live-out-over-ground-truth") / "clip.mp4"
    shutil.copy(b.video, clip)
    (clip.parent / "clip.tum.txt").write_text("0.0 0 0 0 0 0 0 1\n")
    b.add("live-out-over-ground-truth", "live", b.bundle, "--source", clip,
          "--out", clip.parent / "clip.tum.txt", "--max-frames", "1")  # fmt: skip

    # ---- render, train, synth
    b.add("render-zero-quaternion", "render", b.bundle, "--pose", "0 1 2 3 0 0 0 0",
          "--out", b.root / "r.png")  # fmt: skip
    b.add("render-garbage-pose", "render", b.bundle, "--pose", "a b c", "--out", b.root / "r.png")
    nerf = b.folder("render-bad-nerf-folder") / "nerf"
    nerf.mkdir()
    (nerf / "config.json").write_text('{"format": 1}')
    (nerf / "nerf.pt").write_bytes(b"junk")
    b.add("render-bad-nerf-folder", "render", b.bundle, "--pose", "0 1 2 3 0 0 0 1",
          "--nerf", nerf, "--out", nerf.parent / "r.png")  # fmt: skip
    b.add("train-scr-scene-without-out", "train", "scr", b.scene, "--tiny", "--device", "cpu")
    data = b.folder("train-scr-out-other-data")
    (data / "thesis.tex").write_text("years of work")
    b.add("train-scr-out-other-data", "train", "scr", b.scene, "--out", data, "--tiny",
          "--device", "cpu")  # fmt: skip
    b.add("train-unknown-trainer", "train", "nope", b.bundle)
    other = b.folder("synth-over-other-data")
    (other / "thesis.tex").write_text("years of work")
    b.add("synth-over-other-data", "synth", "--preset", "tiny", other)


# ------------------------------------------------------------------------------ running
def classify(case: Case, rc: int | None, out: str, err: str, lost: list[str]) -> tuple[str, str]:
    lines = [line for line in err.splitlines() if line.strip()]
    last = lines[-1] if lines else ""
    if "Traceback" in out or "Traceback" in err:
        tb = [line for line in err.splitlines() if line.strip()]
        return "traceback", tb[-1][:120] if tb else ""
    if rc is None:
        return "timeout", last[:120]
    if lost:
        return "data-changed", f"{len(lost)} changed: {', '.join(lost[:3])}"
    if case.expect_ok:
        return ("clean", last[:120]) if rc == 0 else ("no-message", last[:120])
    if rc == 0:
        return "wrong-success", (out.strip().splitlines() or [""])[-1][:120]
    if not (last.startswith("error: ") or (last.startswith("locgui") and ": error: " in last)):
        return "no-message", f"exit {rc}: {last[:100]!r}"
    return "clean", last[:120]


def run_case(case: Case) -> Result:
    before = {str(p): digest(p) for p in case.watched if p.exists()}
    rc, out, err, secs = locgui(*case.argv, env=case.env)
    lost = []
    for p, d in before.items():
        now = digest(Path(p)) if Path(p).exists() else {}
        lost += [f"{Path(p).name}/{k}" for k in changed(d, now)]
    if any((Path(p) / "PWNED").exists() for p in before) or Path("PWNED").exists():
        lost.append("PWNED (code ran)")
    status, detail = classify(case, rc, out, err, lost)
    return Result(case, status, rc, secs, detail)


def run_faults(root: Path, scene: Path, bundle: Path) -> list[Result]:
    results = []
    for spec in ("load:1", "extract:1", "match:1", "write:1"):
        target = root / "faults" / spec.replace(":", "-") / "m.locmap"
        shutil.copytree(bundle, target)
        before = digest(target)
        case = Case(f"fault {spec}", ["map", "build", str(scene), "--out", str(target),
                                      "--overwrite", *SMALL_BUILD])  # fmt: skip
        rc, out, err, secs = locgui(*case.argv, env={"LOCGUI_FAULT_AT": spec})
        leftovers = [p.name for p in target.parent.iterdir() if p.name != target.name]
        lost = changed(before, digest(target)) + leftovers
        if "Traceback" in out + err:
            status = "traceback"
        elif rc is None:
            status = "timeout"
        elif lost:
            status = "data-changed"
        elif rc != 130:
            status = "wrong-success" if rc == 0 else "no-message"
        else:
            status = "clean"
        detail = f"exit {rc}; " + (", ".join(lost[:3]) if lost else "bundle byte-identical")
        results.append(Result(case, status, rc, secs, detail))
    return results


SMALL_BUILD = ["--max-keypoints", "256", "--max-side", "240", "--device", "cpu"]


def prepare(root: Path) -> tuple[Path, Path]:
    scene, bundle = root / "base" / "scene", root / "base" / "map.locmap"
    for args in (["synth", "--preset", "tiny", "--video", "1", "--fps", "5", str(scene)],
                 ["map", "build", str(scene), "--out", str(bundle), *SMALL_BUILD]):  # fmt: skip
        rc, _, err, _ = locgui(*args, timeout=300)
        if rc != 0:
            sys.exit(f"probe setup failed: locgui {' '.join(args)}\n{err[-2000:]}")
    return scene, bundle


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", type=Path, help="build the cases here and keep them")
    parser.add_argument("--only", default="", help="run the cases whose name contains this")
    parser.add_argument("--jobs", type=int, default=2, help="cases run at once (default 2)")
    parser.add_argument("--no-faults", action="store_true", help="skip the fault runs")
    args = parser.parse_args()
    logging.disable(logging.WARNING)  # building the cases opens damaged bundles here too
    started = time.perf_counter()
    tmp = None if args.keep else tempfile.TemporaryDirectory(prefix="locgui-probe-")
    root = args.keep or Path(tmp.name)  # type: ignore[union-attr]
    root.mkdir(parents=True, exist_ok=True)
    try:
        scene, bundle = prepare(root)
        battery = Battery(root, scene, bundle)
        build_cases(battery)
        cases = [c for c in battery.cases if args.only in c.name]
        with ThreadPoolExecutor(max(1, args.jobs)) as pool:
            results = list(pool.map(run_case, cases))
        faults = [] if args.no_faults or args.only else run_faults(root, scene, bundle)
    finally:
        if tmp is not None:
            tmp.cleanup()
    width = max(len(r.case.name) for r in results + faults)
    for r in results + faults:
        print(f"{r.case.name:<{width}}  {r.status:<13}  {r.seconds:5.1f}s  {r.detail}")
    print()
    for label, group in (("cases", results), ("faults", faults)):
        counts = {s: sum(r.status == s for r in group) for s in ("clean", *ALL_PROBLEMS)}
        shown = ", ".join(f"{k} {v}" for k, v in counts.items() if v or k == "clean")
        print(f"{label}: {len(group)} run, {shown}, not clean {len(group) - counts['clean']}")
    print(f"total time {time.perf_counter() - started:.0f} s")
    return 0 if all(r.status == "clean" for r in results + faults) else 1


if __name__ == "__main__":
    sys.exit(main())
