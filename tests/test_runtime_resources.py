"""The resource cache: one load per (resource, device, version), shared by every reader of a
map; changing a method's parameters loads no weights again."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from locgui.core.results import Query
from locgui.io import open_scene
from locgui.io.bundle import open_bundle
from locgui.io.images import read_image
from locgui.methods.registry import get_method
from locgui.runtime.context import RunContext
from locgui.runtime.resources import ResourceCache, file_version


def test_loads_once_per_device_and_version() -> None:
    cache = ResourceCache()
    made = []

    def load(tag: str) -> str:
        made.append(tag)
        return tag

    assert cache.get("w", "cpu", lambda: load("a"), version=1) == "a"
    assert cache.get("w", "cpu", lambda: load("b"), version=1) == "a"
    assert cache.get("w", "cuda", lambda: load("c"), version=1) == "c"
    assert cache.get("w", "cpu", lambda: load("d"), version=2) == "d"  # retrained: reloaded
    assert made == ["a", "c", "d"] and cache.loads["w"] == 3
    cache.drop("w")
    assert cache.names() == []


def test_concurrent_askers_share_one_load() -> None:
    cache = ResourceCache()
    calls = []

    def slow() -> object:
        calls.append(1)
        time.sleep(0.05)
        return object()

    got: list[object] = []
    threads = [threading.Thread(target=lambda: got.append(cache.get("w", "cpu", slow)))
               for _ in range(4)]  # fmt: skip
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(calls) == 1 and len({id(x) for x in got}) == 1


def test_file_version_changes_with_the_file(tmp_path: Path) -> None:
    f = tmp_path / "w.pt"
    assert file_version(f) == ((-1, -1),)
    f.write_bytes(b"1")
    first = file_version(f)
    f.write_bytes(b"22")
    assert file_version(f) != first


@pytest.mark.slow
def test_changing_parameters_loads_no_weights(tiny_scr_bundle_dir: Path, tiny_scene_dir) -> None:
    from locgui.model.jobs import LocalizerCache, run_method

    bundle = open_bundle(tiny_scr_bundle_dir)
    scene = open_scene(tiny_scene_dir)
    image_id = scene.split_ids("test")[0]
    query = Query("q", read_image(scene.image_path(image_id)), scene.camera_of(image_id))
    localizers = LocalizerCache()
    changes = {"sfm": [{}, {"retrieval_k": 3}, {"max_keypoints": 1024, "ratio": 0.9}],
               "scr": [{}, {"keep_fraction": 0.3}, {"ransac_iterations": 500}]}  # fmt: skip
    for name, configs in changes.items():
        spec = get_method(name)
        loads = []
        for overrides in configs:
            config = spec.make_config(**{**spec.test_config, **overrides})
            result = run_method(bundle, name, config, "cpu", query, RunContext(), localizers)
            assert result.success, result.reason
            loads.append({k: v for k, v in bundle.resources.loads.items()
                          if "network" in k or k in ("scr", "retrieval")})  # fmt: skip
        assert loads[0] and loads[1] == loads[0] == loads[2], (name, loads)
    assert bundle.resources.loads["xfeat network"] == 1
