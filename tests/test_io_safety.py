"""Data safety: map build never replaces its source or a folder that is not a map bundle;
dataset paths stay inside their folders."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest

from locgui.cli import main
from locgui.core.errors import BundleError, SceneFormatError
from locgui.io import open_scene
from locgui.io.synth import generate


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return generate(tmp_path_factory.mktemp("safety") / "ds", seed=0, preset="tiny")


@pytest.fixture
def dataset(pristine: Path, tmp_path: Path) -> Path:
    """A fresh copy of the tiny scene that a test may damage."""
    return Path(shutil.copytree(pristine, tmp_path / "ds"))


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


# ------------------------------------------------------------------ dataset paths stay inside
@pytest.mark.parametrize("name", ["../payload.png", "images/../../payload.png", "/tmp/payload.png"])
def test_colmap_image_names_outside_the_image_folder_are_refused(dataset: Path, name: str) -> None:
    shutil.copy(dataset / "images" / "map_0000.png", dataset.parent / "payload.png")
    txt = dataset / "sparse" / "0" / "images.txt"
    txt.write_text(txt.read_text().replace(" map_0000.png", f" {name}", 1))
    with pytest.raises(SceneFormatError, match=re.escape(repr(name))):
        open_scene(dataset)


@pytest.mark.parametrize("file_path", ["../secret.png", "/etc/secret.png", "a/../../secret.png"])
def test_transforms_file_paths_outside_the_folder_are_refused(
    tmp_path: Path, file_path: str
) -> None:
    folder = tmp_path / "scene"
    folder.mkdir()
    for name in ("a.png", "../secret.png"):
        (folder / name).write_bytes(b"png")  # the reader only checks that the file exists
    frames = [
        {"file_path": p, "transform_matrix": np.eye(4).tolist()} for p in ("a.png", file_path)
    ]
    data = {"camera_angle_x": 0.5, "w": 8, "h": 6, "frames": frames}
    (folder / "transforms.json").write_text(json.dumps(data))
    with pytest.raises(SceneFormatError, match="outside"):
        open_scene(folder)


def test_copy_images_never_writes_or_reads_outside(tmp_path: Path) -> None:
    from locgui.core.camera import Camera
    from locgui.core.scene import SceneImage, SceneMap
    from locgui.io.bundle import write_bundle

    src = tmp_path / "src"
    src.mkdir()
    (tmp_path / "secret.png").write_bytes(b"not yours")
    cam = Camera.pinhole(10.0, 10.0, 4.0, 3.0, 8, 6)
    images = {1: SceneImage(1, "../secret.png", 1)}
    scene = SceneMap({1: cam}, images, image_dir=src)
    with pytest.raises(SceneFormatError, match="outside"):
        write_bundle(tmp_path / "out" / "m.locmap", scene, {}, {"type": "xfeat"}, copy_images=True)
    written = sorted(p.name for p in tmp_path.rglob("*") if not p.name.endswith(".lock"))
    assert written == ["out", "secret.png", "src"]
    assert (tmp_path / "secret.png").read_bytes() == b"not yours"


# ------------------------------------------------------------------ no symlinks in bundles
@pytest.fixture
def small_bundle(tmp_path: Path) -> Path:
    from tests.test_engine_bundle import _write

    return _write(tmp_path)


def _victim(tmp_path: Path) -> Path:
    victim = tmp_path / "elsewhere"
    (victim / "scr").mkdir(parents=True)
    (victim / "scr" / "weights.pt").write_bytes(b"precious")
    return victim


@pytest.mark.parametrize("entry", ["checkpoints", ".train", "checkpoints/scr", "manifest.json"])
def test_symlinks_inside_a_bundle_are_refused_on_open(
    small_bundle: Path, tmp_path: Path, entry: str
) -> None:
    from locgui.io.bundle import open_bundle

    victim = _victim(tmp_path)
    link = small_bundle / entry
    link.parent.mkdir(parents=True, exist_ok=True)
    if entry == "manifest.json":
        shutil.move(link, victim / "manifest.json")
        link.symlink_to(victim / "manifest.json")
    else:
        link.symlink_to(victim / "scr" if entry == "checkpoints/scr" else victim)
    with pytest.raises(BundleError, match="symbolic link"):
        open_bundle(small_bundle)


def test_add_checkpoint_refuses_a_symlinked_checkpoints_folder(
    small_bundle: Path, tmp_path: Path
) -> None:
    from locgui.io.bundle import open_bundle

    bundle = open_bundle(small_bundle)
    victim = _victim(tmp_path)
    (small_bundle / "checkpoints").symlink_to(victim)  # made after the bundle was opened
    with pytest.raises(BundleError, match="symbolic link"):
        bundle.add_checkpoint("scr", {"weights.pt": b"new"}, {}, {})
    assert _files(victim) == {"scr", "scr/weights.pt"}
    assert (victim / "scr" / "weights.pt").read_bytes() == b"precious"


# ------------------------------------------------------------------ one writer at a time
def _hammer(path: str, tag: str, count: int) -> list[str]:
    """Add ``count`` checkpoints to the bundle at ``path``; the errors, as text."""
    from locgui.io.bundle import open_bundle

    bundle = open_bundle(path)
    errors = []
    for k in range(count):
        try:
            bundle.add_checkpoint(f"{tag}{k}", {"w.bin": bytes(k)}, {"k": k}, {})
        except Exception as exc:  # noqa: BLE001 - the test counts every failure
            errors.append(repr(exc))
    return errors


def test_concurrent_checkpoint_writers_keep_the_manifest_whole(small_bundle: Path) -> None:
    import multiprocessing as mp

    from locgui.io.bundle import read_manifest

    count = 40
    with mp.get_context("spawn").Pool(2) as pool:
        jobs = [pool.apply_async(_hammer, (str(small_bundle), tag, count)) for tag in "ab"]
        bad_reads, reads = [], 0
        while not all(job.ready() for job in jobs):
            try:
                read_manifest(small_bundle)
            except BundleError as exc:
                bad_reads.append(str(exc))
            reads += 1
        errors = [e for job in jobs for e in job.get()]
    assert reads > 0 and not bad_reads, f"{len(bad_reads)} of {reads} reads: {bad_reads[:2]}"
    assert not errors, errors[:3]
    names = set(read_manifest(small_bundle)["checkpoints"])
    assert names == {f"{t}{k}" for t in "ab" for k in range(count)}, "an update was lost"
    assert not [p.name for p in small_bundle.iterdir() if p.name.endswith(".tmp")]


def _hold_lock(path: str, held: object, release: object) -> None:
    from locgui.io.bundle import bundle_lock

    with bundle_lock(Path(path)):
        held.set()  # type: ignore[attr-defined]
        release.wait(30)  # type: ignore[attr-defined]


def test_a_bundle_in_use_names_the_process_holding_it(
    small_bundle: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import multiprocessing as mp

    from locgui.io import bundle as bundle_mod
    from locgui.io import bundle_safety

    ctx = mp.get_context("spawn")
    held, release = ctx.Event(), ctx.Event()
    proc = ctx.Process(target=_hold_lock, args=(str(small_bundle), held, release))
    proc.start()
    try:
        assert held.wait(30)
        monkeypatch.setattr(bundle_safety, "LOCK_TIMEOUT_S", 0.3)
        bundle = bundle_mod.open_bundle(small_bundle)
        with pytest.raises(BundleError, match=f"in use by PID {proc.pid}"):
            bundle.add_checkpoint("scr", {"w.bin": b"x"}, {}, {})
    finally:
        release.set()
        proc.join(30)
    bundle.add_checkpoint("scr", {"w.bin": b"x"}, {}, {})  # free again


# ------------------------------------------------------------------ recovery after a crash
def _crash_between_renames(path: str, checkpoint: str | None) -> None:
    """Replace the bundle (or one checkpoint) and die like ``kill -9`` between the renames."""
    import os

    from locgui.io import bundle as bundle_mod
    from tests.test_engine_bundle import _write

    real = os.replace

    def replace(src: object, dst: object) -> None:
        if ".partial-" in Path(str(src)).name:  # the new copy's rename, the old one moved away
            os._exit(9)
        real(src, dst)  # type: ignore[arg-type]

    os.replace = replace  # type: ignore[assignment]  # this child process only
    if checkpoint:
        bundle_mod.open_bundle(path).add_checkpoint(checkpoint, {"w.bin": b"new"}, {}, {})
    else:
        _write(Path(path).parent, Path(path).name, overwrite=True)


def _run_and_die(*args: object) -> int:
    import multiprocessing as mp

    proc = mp.get_context("spawn").Process(target=_crash_between_renames, args=args)
    proc.start()
    proc.join(60)
    assert proc.exitcode == 9
    assert proc.pid is not None
    return proc.pid


def _hidden_dirs(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith(".") and p.is_dir())


def test_open_restores_a_bundle_left_mid_replace(small_bundle: Path) -> None:
    from locgui.io.bundle import open_bundle

    before = _files(small_bundle)
    _run_and_die(str(small_bundle), None)
    assert not small_bundle.exists() and _hidden_dirs(small_bundle.parent)  # the crash's state
    bundle = open_bundle(small_bundle)
    assert bundle.manifest["stats"]["points"] == 20 and _files(small_bundle) == before
    assert _hidden_dirs(small_bundle.parent) == [], "stale .old/.partial folders are cleaned"


def test_open_restores_a_checkpoint_left_mid_replace(small_bundle: Path) -> None:
    from locgui.io.bundle import open_bundle

    open_bundle(small_bundle).add_checkpoint("scr", {"w.bin": b"old"}, {}, {})
    _run_and_die(str(small_bundle), "scr")
    checkpoints = small_bundle / "checkpoints"
    assert not (checkpoints / "scr").exists()
    folder = open_bundle(small_bundle).checkpoint_dir("scr")
    assert (folder / "w.bin").read_bytes() == b"old"
    assert _hidden_dirs(checkpoints) == []


def test_only_partials_of_dead_processes_are_removed(small_bundle: Path) -> None:
    import os

    from locgui.io.bundle import open_bundle

    dead = _run_and_die(str(small_bundle / "missing"), None)  # any process that has exited
    parent = small_bundle.parent
    (parent / f".{small_bundle.name}.partial-{dead}-abc").mkdir()
    (parent / f".{small_bundle.name}.partial-{os.getpid()}-def").mkdir()  # live: in progress
    open_bundle(small_bundle)
    assert _hidden_dirs(parent) == [f".{small_bundle.name}.partial-{os.getpid()}-def"]


@pytest.mark.parametrize(
    ("name", "ok"),
    [("a.png", True), ("./seq/a.png", True), ("seq/../a.png", True), (".", False), ("", False),
     ("..", False), ("../a.png", False), ("seq/../../a.png", False), ("/a.png", False),
     ("..\\a.png", False), ("C:/a.png", False), ("a\x00.png", False)],
)  # fmt: skip
def test_is_confined(name: str, ok: bool) -> None:
    from locgui.io.paths import is_confined

    assert is_confined(name) is ok


def test_a_bundle_that_cannot_be_put_back_is_reported(
    small_bundle: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import os

    from locgui.io.bundle import open_bundle

    _run_and_die(str(small_bundle), None)

    def read_only(src: object, dst: object) -> None:
        raise PermissionError(13, "Read-only file system")

    monkeypatch.setattr(os, "replace", read_only)
    with pytest.raises(BundleError, match=r"interrupted.*\.small\.locmap\.old-"):
        open_bundle(small_bundle)


def test_a_read_only_bundle_with_leftovers_still_opens(
    small_bundle: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from locgui.io import bundle_safety
    from locgui.io.bundle import open_bundle

    dead = _run_and_die(str(small_bundle / "missing"), None)
    (small_bundle.parent / f".{small_bundle.name}.partial-{dead}-abc").mkdir()

    def no_lock(path: Path, timeout: float | None = None) -> None:
        raise PermissionError(13, "Read-only file system")  # the lock file cannot be made

    monkeypatch.setattr(bundle_safety, "bundle_lock", no_lock)
    assert open_bundle(small_bundle).manifest["stats"]["points"] == 20


@pytest.mark.parametrize("fname", ["../escape.bin", "sub/../../escape.bin", "/tmp/escape.bin"])
def test_checkpoint_file_names_stay_in_the_checkpoint(small_bundle: Path, fname: str) -> None:
    from locgui.io.bundle import open_bundle

    with pytest.raises(BundleError, match="file name"):
        open_bundle(small_bundle).add_checkpoint("scr", {fname: b"x"}, {}, {})
    assert not list(small_bundle.parent.rglob("escape.bin"))
