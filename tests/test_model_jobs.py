"""The localize job: every method runs, failures become results with reasons, partials flow."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from types import SimpleNamespace

import pytest

from locgui.core.errors import Cancelled, MethodError
from locgui.io.queries import QueryRef
from locgui.methods import registry
from locgui.methods.registry import MethodSpec
from locgui.model import jobs
from locgui.runtime.context import RunContext
from tests.plugins.qt import exact_result


@dataclass
class EchoConfig:
    delay_steps: int = field(default=0, metadata={"help": "cancellation checks before answering"})


class EchoLocalizer:
    """Answers the exact result of the fixture (the query's GT pose), posting matches first."""

    def __init__(self, bundle, config, device):
        self.bundle, self.config = bundle, config
        self.instances = getattr(bundle, "instances", None)
        if self.instances is not None:
            self.instances.append(self)

    def localize(self, query, ctx):
        scene = self.bundle.scene
        qid = scene.image_by_name(query.name).image_id
        result = exact_result(scene, qid, scene.split_ids("train")[0], method="echo")
        with ctx.stage("matching"):
            ctx.partial("matches_2d2d", result.matches_2d2d)
        for _ in range(self.config.delay_steps):
            ctx.check_cancelled()
            threading.Event().wait(0.001)
        result.timings = {}
        return result


class CrashingLocalizer(EchoLocalizer):
    def localize(self, query, ctx):
        raise ZeroDivisionError("a bug inside the method")


class MapProblemLocalizer(EchoLocalizer):
    def __init__(self, bundle, config, device):
        raise MethodError("method needs point descriptors; rebuild the map")


def _spec(name: str, cls: str) -> MethodSpec:
    return MethodSpec(name, name, "test", f"{__name__}:EchoConfig", f"{__name__}:{cls}")


@pytest.fixture
def test_methods(monkeypatch):
    methods = dict(registry.METHODS)
    for name, cls in (("echo", "EchoLocalizer"), ("crash", "CrashingLocalizer"),
                      ("mapless", "MapProblemLocalizer")):  # fmt: skip
        methods[name] = _spec(name, cls)
    monkeypatch.setattr(registry, "METHODS", methods)


def test_every_method_runs_and_failures_become_reasons(tiny_scene, test_methods):
    bundle = SimpleNamespace(scene=tiny_scene, capabilities=set(), instances=[])
    q = QueryRef.from_scene(tiny_scene, tiny_scene.split_ids("test")[0])
    request = jobs.LocalizeRequest(
        q, (("crash", EchoConfig()), ("mapless", EchoConfig()), ("echo", EchoConfig())), bundle
    )
    partials: list[tuple[str, object]] = []
    ctx = RunContext(on_partial=lambda k, p: partials.append((k, p)))
    results = jobs.localize(request, ctx, jobs.LocalizerCache())
    crash, mapless, echo = results
    assert not crash.success and "ZeroDivisionError: a bug inside the method" in crash.reason
    assert "ZeroDivisionError" in crash.extras[jobs.EXTRA_EXCEPTION]
    assert (
        not mapless.success and mapless.reason == "method needs point descriptors; rebuild the map"
    )
    assert mapless.extras[jobs.EXTRA_METHOD_ERROR]
    assert echo.success and echo.cam_from_world == q.gt_cam_from_world
    assert "matching" in echo.timings  # filled from the context when the method left it empty
    kinds = [k for k, _ in partials]
    assert kinds == ["method", "result", "method", "result", "method", "matches_2d2d", "result"]
    assert [p for k, p in partials if k == "method"] == ["crash", "mapless", "echo"]


def test_localizers_are_cached_per_config(tiny_scene, test_methods):
    bundle = SimpleNamespace(scene=tiny_scene, capabilities=set(), instances=[])
    cache = jobs.LocalizerCache()
    q = QueryRef.from_scene(tiny_scene, tiny_scene.split_ids("test")[1])
    for cfg in (EchoConfig(), EchoConfig(), EchoConfig(delay_steps=1)):
        jobs.localize(jobs.LocalizeRequest(q, (("echo", cfg),), bundle), RunContext(), cache)
    assert len(bundle.instances) == 2  # same config reused, a new config builds a new one


def test_cancel_between_steps(tiny_scene, test_methods):
    bundle = SimpleNamespace(scene=tiny_scene, capabilities=set())
    q = QueryRef.from_scene(tiny_scene, tiny_scene.split_ids("test")[0])
    ctx = RunContext()
    ctx.cancel()
    with pytest.raises(Cancelled):
        jobs.localize(
            jobs.LocalizeRequest(q, (("echo", EchoConfig(delay_steps=5)),), bundle),
            ctx,
            jobs.LocalizerCache(),
        )


def test_open_path_reads_a_scene_with_its_query_split(tiny_scene_dir, tiny_scene):
    opened = jobs.open_path(tiny_scene_dir, RunContext())
    assert opened.bundle is None
    assert [q.name for q in opened.queries] == [
        tiny_scene.images[i].name for i in tiny_scene.split_ids("test")
    ]
    assert len(opened.scene.points) == len(tiny_scene.points)
