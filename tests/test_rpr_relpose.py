"""``rpr``'s relative-pose back ends, references solved in parallel and the early stop."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest

from locgui.core.camera import Camera
from locgui.core.errors import Cancelled
from locgui.core.metrics import pose_error, rotation_error_deg
from locgui.core.pose import Rigid3
from locgui.core.results import Query
from locgui.io import open_scene
from locgui.io.bundle import MapBundle
from locgui.io.queries import refs_from_scene
from locgui.methods.localize.relpose import RansacSettings, relative_pose
from locgui.methods.registry import get_method
from locgui.runtime.context import RunContext

# rpr's bounds in test_engine_localize: median t (m), median r (deg), worst t, worst r.
BOUNDS = (0.05, 1.0, 0.25, 2.5)
OLD = {"relpose_estimator": "pycolmap", "ransac_min_iterations": 1000, "prosac": False,
       "conclusive_support": 0, "parallel_references": 1}  # fmt: skip


@pytest.fixture(scope="module")
def tiny_queries(tiny_scene_dir: Path) -> list[Query]:
    return [ref.load() for ref in refs_from_scene(open_scene(tiny_scene_dir))]


def _two_views(
    seed: int, outliers: float
) -> tuple[Camera, np.ndarray, np.ndarray, Rigid3, np.ndarray]:
    """A 640x480 camera, (N, 2) reference and query pixels (0.3 px noise), the true
    ``query_from_ref`` and (N,) whether a match is an inlier (the others: random pixels)."""
    rng = np.random.default_rng(seed)
    cam = Camera("PINHOLE", 640, 480, (500.0, 500.0, 320.0, 240.0))
    xyz = rng.uniform([-2, -1.5, 4], [2, 1.5, 8], (400, 3))
    angle = np.radians(8.0)
    c, s = np.cos(angle), np.sin(angle)
    rot = np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]])
    q_from_ref = Rigid3(rot, np.array([-0.6, 0.05, 0.1]))
    xy_ref = cam.project(xyz) + rng.normal(0, 0.3, (400, 2))
    xy_q = cam.project(q_from_ref.apply(xyz)) + rng.normal(0, 0.3, (400, 2))
    inlier = rng.random(400) >= outliers
    xy_q[~inlier] = rng.uniform([0, 0], [640, 480], (int((~inlier).sum()), 2))
    return cam, xy_ref, xy_q, q_from_ref, inlier


@pytest.mark.parametrize(
    "settings",
    [RansacSettings("poselib", 1.5), RansacSettings("poselib", 1.5, progressive=True),
     RansacSettings("pycolmap", 1.5, min_trials=1000)],  # fmt: skip
    ids=["poselib", "prosac", "pycolmap"],
)
def test_relative_pose_recovers_a_known_motion_among_outliers(settings: RansacSettings) -> None:
    cam, xy_ref, xy_q, truth, inlier = _two_views(0, outliers=0.4)
    # Scores that rank most inliers first, as descriptor similarity roughly does.
    scores = np.where(inlier, 0.9, 0.7) + np.random.default_rng(1).normal(0, 0.05, len(inlier))
    out = relative_pose(cam, xy_ref, cam, xy_q, settings, scores)
    assert out is not None
    pose, mask = out
    assert rotation_error_deg(pose.rotation, truth.rotation) < 0.3
    t_true = truth.translation / np.linalg.norm(truth.translation)
    assert np.degrees(np.arccos(np.clip(pose.translation @ t_true, -1, 1))) < 2.0
    assert abs(np.linalg.norm(pose.translation) - 1.0) < 1e-9
    assert mask.shape == inlier.shape
    assert mask[inlier].mean() > 0.95  # found the inliers ...
    assert mask[~inlier].mean() < 0.05  # ... and (nearly) only them


def test_relative_pose_refuses_too_few_matches_and_unknown_estimators() -> None:
    cam, xy_ref, xy_q, _, _ = _two_views(0, outliers=0.0)
    assert relative_pose(cam, xy_ref[:4], cam, xy_q[:4], RansacSettings()) is None
    with pytest.raises(ValueError, match="unknown relative-pose estimator"):
        relative_pose(cam, xy_ref, cam, xy_q, RansacSettings("opencv"))


def _run(bundle: MapBundle, queries: list[Query], **overrides: object) -> list:
    spec = get_method("rpr")
    localizer = spec.create(bundle, spec.make_config(**{**spec.test_config, **overrides}))
    return [localizer.localize(q, RunContext()) for q in queries]


def _rpr_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("rpr-reference")]


@pytest.mark.parametrize("config", ["old", "new"])
def test_old_and_new_relative_pose_settings_recover_the_tiny_poses(
    config: str, tiny_bundle: MapBundle, tiny_queries: list[Query]
) -> None:
    results = _run(tiny_bundle, tiny_queries, **(OLD if config == "old" else {}))
    errors = []
    for q, res in zip(tiny_queries, results, strict=True):
        assert res.success, f"{q.name}: {res.reason}"
        errors.append(pose_error(res.cam_from_world, q.gt_cam_from_world))
    t, r = np.array(errors).T
    assert np.median(t) < BOUNDS[0] and np.median(r) < BOUNDS[1], errors
    assert t.max() < BOUNDS[2] and r.max() < BOUNDS[3], errors
    assert not _rpr_threads()


def test_references_in_parallel_give_the_serial_poses(
    tiny_bundle: MapBundle, tiny_queries: list[Query]
) -> None:
    serial = _run(tiny_bundle, tiny_queries, conclusive_support=0, parallel_references=1)
    parallel = _run(tiny_bundle, tiny_queries, conclusive_support=0, parallel_references=3)
    for a, b in zip(serial, parallel, strict=True):
        assert a.success and b.success
        assert a.extras["reference_image_id"] == b.extras["reference_image_id"]
        assert a.num_inliers == b.num_inliers
        np.testing.assert_allclose(b.cam_from_world.matrix(), a.cam_from_world.matrix(), atol=1e-9)
        assert [p.image_id for p in a.matches_2d2d] == [p.image_id for p in b.matches_2d2d]
        # (a query whose three references give no agreeing pose retries with eight)
        assert a.extras["references_solved"] == b.extras["references_solved"] >= 3
    assert {"match", "relative_pose"} <= set(parallel[0].timings)
    assert not _rpr_threads()


def test_conclusive_first_references_skip_the_rest(
    tiny_bundle: MapBundle, tiny_queries: list[Query]
) -> None:
    k = {"retrieval_k": 5, "retry_k": 0, "parallel_references": 1}
    every = _run(tiny_bundle, tiny_queries, conclusive_support=0, **k)
    early = _run(tiny_bundle, tiny_queries, conclusive_support=1, **k)
    never = _run(tiny_bundle, tiny_queries, conclusive_support=100_000, **k)
    solved = []
    for q, a, b, c in zip(tiny_queries, every, early, never, strict=True):
        assert a.extras["references_solved"] == c.extras["references_solved"] == 5
        n = b.extras["references_solved"]
        assert 2 <= n <= 5  # at least min_agreeing references
        assert b.success == a.success, (q.name, a.reason, b.reason)
        if b.success:
            assert b.extras["agreeing_references"] >= 2 and len(b.matches_2d2d) <= n
            t, r = pose_error(b.cam_from_world, q.gt_cam_from_world)
            assert t < BOUNDS[2] and r < BOUNDS[3]
        solved.append(n)
    assert solved.count(2) >= len(solved) // 2, solved  # most stop after the first two


@pytest.mark.parametrize("workers", [1, 2])
def test_cancelling_during_the_references_stops_the_query(
    workers: int, tiny_bundle: MapBundle, tiny_queries: list[Query]
) -> None:
    spec = get_method("rpr")
    cfg = spec.make_config(retrieval_k=5, conclusive_support=0, parallel_references=workers)
    localizer = spec.create(tiny_bundle, cfg)
    seen: list[object] = []
    cancel = threading.Event()

    def on_partial(kind: str, payload: object) -> None:
        seen.append(payload)
        cancel.set()  # the user cancels as soon as the first matches are shown

    with pytest.raises(Cancelled):
        localizer.localize(tiny_queries[0], RunContext(on_partial=on_partial, cancel_event=cancel))
    assert 1 <= len(seen) < 5
    assert not _rpr_threads()
