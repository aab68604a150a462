"""sfm's early exit: the best references first, the rest only when their pose is not clear."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from locgui.core.metrics import pose_error
from locgui.core.results import Query
from locgui.io import open_scene
from locgui.io.bundle import MapBundle
from locgui.io.queries import refs_from_scene
from locgui.methods.registry import get_method
from locgui.runtime.context import RunContext

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def queries(tiny_scene_dir: Path) -> list[Query]:
    return [ref.load() for ref in refs_from_scene(open_scene(tiny_scene_dir))]


def _sfm(bundle: MapBundle, **overrides: object) -> object:
    spec = get_method("sfm")
    return spec.create(bundle, spec.make_config(**{**spec.test_config, **overrides}))


def test_early_exit_matches_fewer_references_for_the_same_pose(
    tiny_bundle: MapBundle, queries: list[Query]
) -> None:
    """With a reachable margin the best two references give the pose (the others are never
    matched) and it agrees with the full shortlist's; a margin no pose reaches falls back to
    the full shortlist and gives exactly its pose."""
    full = _sfm(tiny_bundle, early_exit=False)
    early = _sfm(tiny_bundle, early_exit=True, early_exit_refs=2, early_exit_inliers=20)
    never = _sfm(tiny_bundle, early_exit=True, early_exit_refs=2, early_exit_inliers=100_000)
    stopped = 0
    partials: list[object] = []
    for q in queries:
        a = full.localize(q, RunContext())  # type: ignore[attr-defined]
        partials.clear()
        ctx = RunContext(
            on_partial=lambda kind, p: partials.append(p) if kind == "matches_2d2d" else None
        )
        b = early.localize(q, ctx)  # type: ignore[attr-defined]
        c = never.localize(q, RunContext())  # type: ignore[attr-defined]
        assert a.success and b.success and c.success, (a.reason, b.reason, c.reason)
        assert a.extras["references_matched"] == len(a.retrieved) == 5
        ids = [m.image_id for m in b.matches_2d2d]
        assert ids == [r.image_id for r in b.retrieved][: len(ids)]
        assert b.extras["references_matched"] == len(ids)
        assert [m.image_id for m in partials[0]] == ids[:2]  # type: ignore[attr-defined]
        stopped += len(ids) == 2
        t, r = pose_error(b.cam_from_world, a.cam_from_world)  # type: ignore[arg-type]
        assert t < 0.05 and r < 0.5, (q.name, t, r)
        assert c.extras["references_matched"] == 5
        np.testing.assert_allclose(c.cam_from_world.matrix(), a.cam_from_world.matrix())  # type: ignore[union-attr]
        assert c.num_inliers == a.num_inliers
    assert stopped >= 3, "the early pose should be clear on most tiny queries"


def test_early_exit_never_reports_a_pose_that_misses_the_margin(
    tiny_bundle: MapBundle, queries: list[Query], monkeypatch: pytest.MonkeyPatch
) -> None:
    """An early pose that fails validation's margin (here: every early check says so) is
    never the answer: the query goes on to the whole shortlist."""
    from locgui.methods.localize import sfm

    calls: list[int] = []
    real = sfm.SfmLocalizer._confident

    def rejecting(self: object, query: Query, result: object) -> bool:
        calls.append(int(real(self, query, result)))  # type: ignore[arg-type]
        return False

    monkeypatch.setattr(sfm.SfmLocalizer, "_confident", rejecting)
    early = _sfm(tiny_bundle, early_exit=True, early_exit_refs=2, early_exit_inliers=20)
    result = early.localize(queries[0], RunContext())  # type: ignore[attr-defined]
    assert calls == [1]  # checked once, would have passed, was overruled
    assert result.success and result.extras["references_matched"] == 5
