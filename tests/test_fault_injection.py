"""Fault injection: a run killed at any stage boundary leaves the previous map bundle and the
previous checkpoint byte for byte as they were, and no staging folders beside them.

The fault is ``RunContext(fault_at="stage:n")``: a Ctrl-C (``InjectedFault``) at the n-th
boundary of that name. The boundaries of each process are recorded from a clean run first, so
a stage added later is faulted too.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import pytest

from locgui.io import bundle as bundle_io
from locgui.io.bundle import open_bundle
from locgui.methods.mapping.config import MapBuildConfig
from locgui.methods.mapping.pipeline import build_map
from locgui.runtime.context import InjectedFault, RunContext
from tests.plugins.learned import SEED, learned_run
from tests.plugins.nerf import TINY_NERF_TEST
from tests.plugins.scr import TINY_SCR_CONFIG

pytestmark = pytest.mark.slow


class RecordingContext(RunContext):
    """A context that lists its boundaries (stage entries and progress calls) in order."""

    def __init__(self) -> None:
        super().__init__()
        self.boundaries: list[str] = []

    def progress(self, stage: str, fraction: float = -1.0, message: str = "") -> None:
        self.boundaries.append(stage)
        super().progress(stage, fraction, message)

    def boundary(self, name: str) -> None:
        self.boundaries.append(name)
        super().boundary(name)

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        self.boundaries.append(name)
        with super().stage(name):
            yield


def fault_points(boundaries: list[str]) -> list[str]:
    """The first and the last boundary of each name, as ``fault_at`` specs."""
    counts: dict[str, int] = {}
    for name in boundaries:
        counts[name] = counts.get(name, 0) + 1
    specs = [
        [f"{name}:1"] if n == 1 else [f"{name}:1", f"{name}:{n}"] for name, n in counts.items()
    ]
    return [spec for pair in specs for spec in pair]


def tree_digest(root: Path) -> dict[str, str]:
    """Relative path -> sha256 of every file under ``root`` (hidden ones too), and the
    folders (a new empty folder is a change as well)."""
    out: dict[str, str] = {}
    for p in sorted(root.rglob("*")):
        rel = str(p.relative_to(root))
        if p.is_symlink():
            out[rel] = f"link:{p.readlink()}"
        elif p.is_dir():
            out[rel] = "dir"
        else:
            out[rel] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def staging_leftovers(target: Path) -> list[str]:
    return sorted(
        p.name for p in target.parent.iterdir()
        if p.name.startswith((f".{target.name}.partial-", f".{target.name}.old-"))
    )  # fmt: skip


def assert_faults_change_nothing(
    points: list[str], run: Callable[[RunContext], object], watched: Path, before: dict[str, str]
) -> None:
    for spec in points:
        with pytest.raises(InjectedFault):
            run(RunContext(fault_at=spec))
        assert tree_digest(watched) == before, f"fault at {spec} changed {watched}"
        assert staging_leftovers(watched) == [], f"fault at {spec} left staging folders"


# ------------------------------------------------------------------------------- map build
# About 4 s a build on one core (the engine's tiny config takes ten times that).
SMALL_MAP_CONFIG = MapBuildConfig(max_keypoints=512, max_side=240, device="cpu")


class SmallBundle:
    """The tiny scene's bundle at ``SMALL_MAP_CONFIG``, the boundaries its build passed and
    the arguments it gave ``write_bundle``."""

    def __init__(self, path: Path, boundaries: list[str], write_args: tuple) -> None:
        self.path, self.boundaries, self.write_args = path, boundaries, write_args


@pytest.fixture(scope="module")
def small_bundle(tiny_scene_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> SmallBundle:
    out = tmp_path_factory.mktemp("fault") / "small.locmap"
    rec = RecordingContext()
    calls: list[tuple] = []
    real = bundle_io.write_bundle

    def capture(*args: object, **kwargs: object) -> Path:
        calls.append((args, kwargs))
        return real(*args, **kwargs)  # type: ignore[arg-type]

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(bundle_io, "write_bundle", capture)
        build_map(tiny_scene_dir, out, SMALL_MAP_CONFIG, rec)
    return SmallBundle(out, rec.boundaries, calls[0])


def test_map_build_killed_at_any_stage_keeps_the_previous_bundle(
    tiny_scene_dir: Path, small_bundle: SmallBundle, tmp_path: Path
) -> None:
    out = tmp_path / "map.locmap"
    shutil.copytree(small_bundle.path, out)
    before = tree_digest(out)
    assert "manifest.json" in before
    points = fault_points(small_bundle.boundaries)
    assert {"load:1", "extract:1", "match:1", "triangulate:1", "write:1"} <= set(points)

    def rebuild(ctx: RunContext) -> object:
        return build_map(tiny_scene_dir, out, SMALL_MAP_CONFIG, ctx, overwrite=True)

    assert_faults_change_nothing(points, rebuild, out, before)


# ------------------------------------------------------------------------------- renames
class ReplaceFault:
    """``os.replace`` that raises ``InjectedFault`` just before (or just after) call ``k``."""

    def __init__(self, k: int, after: bool) -> None:
        self.k, self.after, self.calls = k, after, 0
        self.real = os.replace

    def __call__(self, src: object, dst: object) -> None:
        self.calls += 1
        if self.calls == self.k and not self.after:
            raise InjectedFault(f"before rename {self.k}")
        self.real(src, dst)  # type: ignore[arg-type]
        if self.calls == self.k and self.after:
            raise InjectedFault(f"after rename {self.k}")


def assert_rename_faults_change_nothing(
    monkeypatch: pytest.MonkeyPatch, write: Callable[[Path], object], root: Path
) -> int:
    """Kill ``write(root)`` just before and just after each of its renames, except after the
    last (its commit: the write is then complete), and check that ``root`` (every file) is
    unchanged and no staging folders are left beside it. Returns the renames a write makes."""
    scratch = root.with_name(root.name + "-scratch")
    shutil.copytree(root, scratch)
    counter = ReplaceFault(0, False)
    with monkeypatch.context() as mp:  # count the renames of a clean write, on a copy
        mp.setattr(os, "replace", counter)
        write(scratch)
    shutil.rmtree(scratch)
    before = tree_digest(root)
    for k in range(1, counter.calls + 1):
        for after in (False, True) if k < counter.calls else (False,):
            fault = ReplaceFault(k, after)
            with monkeypatch.context() as mp, pytest.raises(InjectedFault):
                mp.setattr(os, "replace", fault)
                write(root)
            where = f"{'after' if after else 'before'} rename {k} of {counter.calls}"
            assert tree_digest(root) == before, f"a kill {where} changed {root}"
            assert staging_leftovers(root) == [], f"a kill {where} left staging folders"
    return counter.calls


def test_bundle_replace_killed_at_any_rename_keeps_the_previous_bundle(
    small_bundle: SmallBundle, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "map.locmap"
    shutil.copytree(small_bundle.path, out)
    args, kwargs = small_bundle.write_args

    def write(target: Path) -> object:
        return bundle_io.write_bundle(target, *args[1:], **{**kwargs, "overwrite": True})

    assert assert_rename_faults_change_nothing(monkeypatch, write, out) >= 3


def test_checkpoint_replace_killed_at_any_rename_keeps_checkpoint_and_manifest(
    small_bundle: SmallBundle, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "map.locmap"
    shutil.copytree(small_bundle.path, out)
    open_bundle(out).add_checkpoint("x", {"w.bin": b"old"}, {"v": 1}, {"m": 1})

    def write(target: Path) -> object:
        return open_bundle(target).add_checkpoint("x", {"w.bin": b"new"}, {"v": 2}, {"m": 2})

    assert assert_rename_faults_change_nothing(monkeypatch, write, out) >= 3
    assert (out / "checkpoints" / "x" / "w.bin").read_bytes() == b"old"


# ------------------------------------------------------------------------------- SCR
QUICK_SCR = replace(TINY_SCR_CONFIG, epochs=1.0, log_every=5)


def test_scr_training_killed_at_any_stage_keeps_the_complete_checkpoint(
    small_bundle: SmallBundle, tmp_path: Path
) -> None:
    from locgui.methods.scr.train import train_scr

    bundle = tmp_path / "b.locmap"
    shutil.copytree(small_bundle.path, bundle)
    rec = RecordingContext()
    with learned_run():
        train_scr(bundle, QUICK_SCR, rec, device="cpu")
    watched = {
        "checkpoint": tree_digest(bundle / "checkpoints" / "scr"),
        "manifest": hashlib.sha256((bundle / "manifest.json").read_bytes()).hexdigest(),
    }
    points = fault_points(rec.boundaries)
    assert {"scr buffer:1", "scr training:1", "scr save:1"} <= set(points)
    for spec in points:
        with learned_run(), pytest.raises(InjectedFault):
            train_scr(bundle, QUICK_SCR, RunContext(fault_at=spec), device="cpu")
        now = {
            "checkpoint": tree_digest(bundle / "checkpoints" / "scr"),
            "manifest": hashlib.sha256((bundle / "manifest.json").read_bytes()).hexdigest(),
        }
        assert now == watched, f"fault at {spec} changed the complete checkpoint"
        assert staging_leftovers(bundle / "checkpoints" / "scr") == []
        shutil.rmtree(bundle / ".train", ignore_errors=True)  # the next run starts fresh


# ------------------------------------------------------------------------------- NeRF
QUICK_NERF = {**TINY_NERF_TEST, "steps": 50, "eval_views": 1}


def test_nerf_training_killed_at_any_stage_keeps_the_complete_checkpoint(
    small_bundle: SmallBundle, tmp_path: Path
) -> None:
    from locgui.methods.nerf.config import NerfConfig
    from locgui.methods.nerf.train import train_nerf

    bundle = tmp_path / "b.locmap"
    shutil.copytree(small_bundle.path, bundle)
    cfg = NerfConfig(**QUICK_NERF, seed=SEED)
    rec = RecordingContext()
    with learned_run():
        train_nerf(bundle, cfg, rec, device="cpu")
    before = {
        "checkpoint": tree_digest(bundle / "checkpoints" / "nerf"),
        "manifest": hashlib.sha256((bundle / "manifest.json").read_bytes()).hexdigest(),
    }
    points = fault_points(rec.boundaries)
    assert {"load images:1", "train:1", "train nerf:1", "train nerf:3"} <= set(points)
    for spec in points:
        with learned_run(), pytest.raises(InjectedFault):
            train_nerf(bundle, cfg, RunContext(fault_at=spec), device="cpu")
        now = {
            "checkpoint": tree_digest(bundle / "checkpoints" / "nerf"),
            "manifest": hashlib.sha256((bundle / "manifest.json").read_bytes()).hexdigest(),
        }
        assert now == before, f"fault at {spec} changed the complete checkpoint"
        assert staging_leftovers(bundle / "checkpoints" / "nerf") == []


def test_fault_spec_counts_stage_entries_and_progress_together() -> None:
    ctx = RunContext(fault_at="extract:3")
    with ctx.stage("extract"):
        ctx.progress("extract", 0.5)
        ctx.progress("match", 0.5)
        with pytest.raises(InjectedFault):
            ctx.progress("extract", 1.0)
    assert isinstance(InjectedFault(), KeyboardInterrupt)  # handled as a Ctrl-C
    child = RunContext(fault_at="load").child()
    with pytest.raises(InjectedFault):
        child.progress("load")


def test_scr_folder_checkpoint_replace_killed_at_any_rename_keeps_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from locgui.methods.scr.store import CheckpointStore

    folder = tmp_path / "scr"
    store = CheckpointStore(None, folder=folder)  # type: ignore[arg-type]  # no scene needed
    store.save({"w": 1}, {"step": 1}, {"c": 1}, {"m": 1}, completed=True)

    def write(target: Path) -> object:
        return CheckpointStore(None, folder=target).save(  # type: ignore[arg-type]
            {"w": 2}, {"step": 2}, {"c": 2}, {"m": 2}, completed=True
        )

    assert_rename_faults_change_nothing(monkeypatch, write, folder)


def test_folder_checkpoint_replace_killed_at_any_rename_keeps_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from locgui.methods.checkpoint import write_checkpoint

    (tmp_path / "w.bin").write_bytes(b"old")
    write_checkpoint(tmp_path, "nerf", {"nerf.pt": tmp_path / "w.bin"}, {"v": 1}, {"m": 1})
    (tmp_path / "w.bin").write_bytes(b"new")

    def write(target: Path) -> object:  # target: the checkpoint folder
        return write_checkpoint(
            target.parent, target.name, {"nerf.pt": tmp_path / "w.bin"}, {"v": 2}, {"m": 2}
        )

    assert assert_rename_faults_change_nothing(monkeypatch, write, tmp_path / "nerf") >= 2
    assert (tmp_path / "nerf" / "nerf.pt").read_bytes() == b"old"
