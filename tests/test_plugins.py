"""A third-party method installed through the ``locgui.methods`` entry point (the toy method
of tests/toy_plugin): it is listed, trained and used from the CLI like a built-in, and shows in
the window's Methods panel. The entry point is real: a ``*.dist-info`` folder on the path, as
``pip install`` would leave it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from locgui.methods import registry
from tests.entry_point_site import plugin_site

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def toy_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A site folder declaring the toy method's entry point."""
    return plugin_site(tmp_path_factory.mktemp("site"), "locgui-toy", "toy",
                       "tests.toy_plugin.method")  # fmt: skip


def locgui(site: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), str(ROOT)])}
    return subprocess.run([sys.executable, "-m", "locgui", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)  # fmt: skip


@pytest.mark.slow
def test_toy_method_is_listed_trained_and_localizes_from_the_cli(
    toy_site: Path, tiny_bundle_dir: Path, tiny_scene_dir: Path, tmp_path: Path
) -> None:
    from locgui.io import open_scene

    listed = locgui(toy_site, "methods", "toy", "--json")
    assert listed.returncode == 0, listed.stderr
    assert json.loads(listed.stdout)[0]["requires"] == ["retrieval", "toy"]
    helped = locgui(toy_site, "train", "--help")
    assert "toy" in helped.stdout and "the toy method's table" in helped.stdout
    bundle = tmp_path / "toy.locmap"
    shutil.copytree(tiny_bundle_dir, bundle)
    query = open_scene(tiny_scene_dir)
    image_id = query.split_ids("test")[0]
    image = query.image_path(image_id)
    before = locgui(toy_site, "localize", str(bundle), str(image), "--method", "toy", "--json")
    assert before.returncode != 0 or not json.loads(before.stdout)[0]["success"]
    assert "locgui train toy" in before.stdout + before.stderr  # says how to get what it needs
    trained = locgui(toy_site, "train", "toy", str(bundle), "--json")
    assert trained.returncode == 0, trained.stderr
    assert json.loads(trained.stdout)["images"] == 16
    done = locgui(toy_site, "localize", str(bundle), str(image), "--method", "toy", "--json")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)[0]
    assert result["success"] and result["method"] == "toy", result


def test_toy_method_shows_in_the_methods_panel(
    toy_site: Path, monkeypatch: pytest.MonkeyPatch, main_window
) -> None:
    monkeypatch.setattr(registry, "METHODS", dict(registry.METHODS))
    monkeypatch.setattr(registry, "TRAINERS", dict(registry.TRAINERS))
    monkeypatch.syspath_prepend(str(toy_site))
    assert registry.load_plugins() == []
    assert registry.get_method("toy").trainers()[0].name == "toy"
    from locgui.qt.methods_panel import MethodsPanel

    panel = MethodsPanel(main_window.bench)
    names = [panel.list.item(i).data(0x0100) for i in range(panel.list.count())]
    assert "toy" in names and "sfm" in names
    assert "toy" in panel.panels  # its parameter panel, generated from ToyConfig
