"""The map build in a child process: errors come back typed, cancel leaves nothing behind."""

from __future__ import annotations

import pytest

from locgui.core.errors import Cancelled, SceneFormatError
from locgui.model.building import build_map_subprocess, prepare_demo
from locgui.model.jobs import is_bundle
from locgui.runtime.context import RunContext


def test_errors_of_the_child_are_raised_typed(tmp_path):
    missing = tmp_path / "no_scene_here"
    missing.mkdir()
    with pytest.raises(SceneFormatError, match="no_scene_here"):
        build_map_subprocess(missing, tmp_path / "out.locmap", None, RunContext())
    assert not (tmp_path / "out.locmap").exists()


@pytest.mark.slow
def test_cancel_terminates_the_build_without_a_bundle(tiny_scene_dir, tmp_path):
    out = tmp_path / "cancelled.locmap"
    stages: list[str] = []
    contexts: list[RunContext] = []

    def on_progress(stage: str, fraction: float, message: str) -> None:
        stages.append(stage)
        contexts[0].cancel()  # as soon as the child reports anything

    ctx = RunContext(on_progress=on_progress)
    contexts.append(ctx)
    with pytest.raises(Cancelled):
        build_map_subprocess(tiny_scene_dir, out, None, ctx)
    assert stages, "the child reported no progress before being cancelled"
    assert not out.exists() and not is_bundle(out)
    leftovers = [p.name for p in tmp_path.iterdir()]
    assert leftovers == []  # no staging folder left either


def test_demo_is_reused_once_built(tmp_path):
    """A demo folder with a complete bundle is returned as is (no rendering, no mapping)."""
    bundle = tmp_path / "scene.locmap"
    bundle.mkdir()
    (bundle / "manifest.json").write_text("{}")
    assert prepare_demo(tmp_path, RunContext()) == bundle


@pytest.mark.slow
def test_demo_is_generated_and_mapped_on_first_use(tmp_path):
    """First use renders the scene and builds its map (both in child processes); the result
    opens with its query split and ground truth."""
    from locgui.model.jobs import open_path

    stages: list[str] = []
    ctx = RunContext(on_progress=lambda s, f, m: stages.append(s))
    from locgui.methods.mapping.config import MapBuildConfig

    small = MapBuildConfig(max_keypoints=512, device="cpu")
    bundle = prepare_demo(tmp_path, ctx, preset="tiny", config=small)
    assert bundle == tmp_path / "scene.locmap" and is_bundle(bundle)
    assert stages[0] == "generate" and "extract" in stages
    opened = open_path(bundle, RunContext())
    assert opened.bundle is not None and len(opened.queries) == 4
    assert all(q.gt_cam_from_world is not None for q in opened.queries)
