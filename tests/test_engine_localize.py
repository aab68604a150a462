"""Every registered method on the tiny synthetic scene, and failure reasons for bad input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from locgui.core.camera import Camera
from locgui.core.errors import MethodError
from locgui.core.metrics import pose_error
from locgui.core.pose import look_at
from locgui.core.results import Matches2D2D, Query
from locgui.io import open_scene
from locgui.io.bundle import MapBundle
from locgui.io.queries import refs_from_scene
from locgui.io.synth import SyntheticRoom
from locgui.methods.features.types import bundle_features
from locgui.methods.registry import MethodSpec, all_methods, get_method
from locgui.runtime.context import RunContext

ENGINE_METHODS = {"sfm", "points", "rpr"}
# (median translation m, median rotation deg, worst translation m, worst rotation deg) on the
# four 320x240 tiny queries (XFeat keypoints are pixel-quantized: ~1 px noise at this size).
THRESHOLDS = {"sfm": (0.05, 1.0, 0.2, 2.0), "points": (0.05, 1.0, 0.2, 2.0),
              "rpr": (0.05, 1.0, 0.25, 2.5)}  # fmt: skip


@pytest.fixture(scope="module")
def tiny_queries(tiny_scene_dir: Path) -> list[Query]:
    return [ref.load() for ref in refs_from_scene(open_scene(tiny_scene_dir))]


@pytest.fixture(scope="module")
def sfm_localizer(tiny_bundle: MapBundle) -> object:
    spec = get_method("sfm")
    return spec.create(tiny_bundle, spec.make_config(**spec.test_config))


def test_engine_methods_are_registered_with_documented_configs() -> None:
    names = {s.name for s in all_methods()}
    assert ENGINE_METHODS <= names
    for name in ENGINE_METHODS:
        spec = get_method(name)
        for preset in ("fast", "accurate"):
            spec.make_config(preset)
        import dataclasses

        for f in dataclasses.fields(spec.config_class()):
            assert f.metadata.get("help"), f"{name}.{f.name} has no help text"


@pytest.mark.learned
@pytest.mark.parametrize("spec", all_methods(), ids=lambda s: s.name)
def test_every_method_recovers_the_tiny_poses(
    spec: MethodSpec, tiny_bundle: MapBundle, tiny_queries: list[Query], figures
) -> None:
    missing = spec.missing_capabilities(tiny_bundle.capabilities)
    if missing:
        # Methods needing a trained checkpoint are tested with one by their own area; here
        # the registry must refuse the plain map with an actionable message.
        assert spec.name not in ENGINE_METHODS
        with pytest.raises(MethodError, match="needs map capabilities"):
            spec.create(tiny_bundle, spec.make_config(**spec.test_config))
        return
    localizer = spec.create(tiny_bundle, spec.make_config(**spec.test_config))
    t_err, r_err = [], []
    for q in tiny_queries:
        result = localizer.localize(q, RunContext())
        assert result.success, f"{spec.name} failed on {q.name}: {result.reason}"
        assert q.gt_cam_from_world is not None and result.cam_from_world is not None
        t, r = pose_error(result.cam_from_world, q.gt_cam_from_world)
        t_err.append(t)
        r_err.append(r)
    med_t, med_r, max_t, max_r = THRESHOLDS.get(spec.name, (0.05, 1.0, 0.2, 2.0))
    errors = (spec.name, t_err, r_err)
    assert figures.below("median t (m)", float(np.median(t_err)), med_t), errors
    assert figures.below("median r (deg)", float(np.median(r_err)), med_r), errors
    assert figures.below("max t (m)", max(t_err), max_t), errors
    assert figures.below("max r (deg)", max(r_err), max_r), errors


def test_sfm_reports_stages_partial_matches_and_correspondences(
    sfm_localizer: object, tiny_queries: list[Query], tiny_bundle: MapBundle
) -> None:
    partials: list[tuple[str, object]] = []
    ctx = RunContext(on_partial=lambda kind, payload: partials.append((kind, payload)))
    result = sfm_localizer.localize(tiny_queries[0], ctx)  # type: ignore[attr-defined]
    assert result.success
    assert list(result.timings) == ["extract", "retrieve", "match", "refine", "pnp"]
    kinds = [k for k, _ in partials]
    assert kinds[0] == "matches_2d2d" and "matches_2d3d" in kinds
    first = partials[0][1]
    assert isinstance(first, list) and all(isinstance(m, Matches2D2D) for m in first)
    # The best references first (early exit may stop there): a prefix of the shortlist.
    ids = [m.image_id for m in result.matches_2d2d]
    assert ids == [r.image_id for r in result.retrieved][: len(ids)]
    assert [m.image_id for m in first] == ids[: len(first)] and len(ids) >= 2
    m = result.matches_2d3d
    assert m is not None and m.inliers.sum() == result.num_inliers
    assert len(np.unique(m.query_xy, axis=0)) == len(m), "one 3D point per query keypoint"
    # RANSAC inliers (6 px) stay close after the refinement moved the pose.
    assert np.median(m.reproj_error[m.inliers]) < 2.0 and np.all(m.reproj_error[m.inliers] < 12)
    # The correspondences are the map's points: they project near the query keypoints.
    rows = tiny_bundle.scene.points.index_of(m.point3D_ids)
    np.testing.assert_allclose(tiny_bundle.scene.points.xyz[rows], m.xyz)


def test_sfm_query_keypoints_aligned_to_the_map_agree_with_it_better(
    tiny_bundle: MapBundle, tiny_queries: list[Query]
) -> None:
    """With ``refine_keypoints`` many 2D-3D matches move to where their map point's image
    content is: the pose's inliers reproject closer (median), and the poses stay good."""
    spec = get_method("sfm")
    runs = {}
    for refine in (False, True):
        cfg = spec.make_config(**{**spec.test_config, "refine_keypoints": refine})
        localizer = spec.create(tiny_bundle, cfg)
        runs[refine] = [localizer.localize(q, RunContext()) for q in tiny_queries]
    residual = {}
    for refine, results in runs.items():
        errors = []
        for q, result in zip(tiny_queries, results, strict=True):
            assert result.success, result.reason
            m = result.matches_2d3d
            assert m is not None
            errors.append(m.reproj_error[m.inliers])
            t, r = pose_error(result.cam_from_world, q.gt_cam_from_world)  # type: ignore[arg-type]
            assert t < THRESHOLDS["sfm"][2] and r < THRESHOLDS["sfm"][3]
            assert ("refine" in result.timings) == refine
            if refine:
                assert result.extras["refined_keypoints"] > 0.3 * len(m)
        residual[refine] = float(np.median(np.concatenate(errors)))
    assert residual[True] < 0.8 * residual[False], residual


def test_held_out_database_image_is_not_retrieved(
    sfm_localizer: object, tiny_bundle: MapBundle
) -> None:
    image_id = sorted(tiny_bundle.scene.images)[9]  # a view its neighbours cover well
    im = tiny_bundle.scene.images[image_id]
    from locgui.io.images import read_image

    q = Query(im.name, read_image(tiny_bundle.scene.image_path(image_id)),
              tiny_bundle.scene.camera_of(image_id), im.cam_from_world, None, image_id)  # fmt: skip
    result = sfm_localizer.localize(q, RunContext())  # type: ignore[attr-defined]
    assert image_id not in [r.image_id for r in result.retrieved]
    assert result.success
    t, r = pose_error(result.cam_from_world, im.cam_from_world)  # type: ignore[arg-type]
    assert t < 0.1 and r < 1.0


@pytest.mark.parametrize("kind", ["gray", "gray1", "rgba", "uint16"])
def test_grayscale_rgba_and_16bit_queries_are_localized(
    kind: str, sfm_localizer: object, tiny_queries: list[Query]
) -> None:
    q = tiny_queries[0]
    gray = (q.image.astype(np.float64) @ [0.299, 0.587, 0.114]).round().astype(np.uint8)
    image = {
        "gray": gray,
        "gray1": gray[..., None],
        "rgba": np.concatenate([q.image, np.full(q.image.shape[:2] + (1,), 255, np.uint8)], 2),
        "uint16": q.image.astype(np.uint16) * 257,
    }[kind]
    result = sfm_localizer.localize(  # type: ignore[attr-defined]
        Query(q.name, image, q.camera, q.gt_cam_from_world), RunContext()
    )
    assert result.success, result.reason
    t, r = pose_error(result.cam_from_world, q.gt_cam_from_world)  # type: ignore[arg-type]
    assert t < 0.1 and r < 1.0


def test_intrinsics_for_another_image_size_fail_with_a_reason(
    sfm_localizer: object, tiny_queries: list[Query]
) -> None:
    q = tiny_queries[0]
    wrong = Camera.pinhole(500, 500, 320, 240, 640, 480)
    result = sfm_localizer.localize(Query(q.name, q.image, wrong), RunContext())  # type: ignore[attr-defined]
    assert not result.success and result.cam_from_world is None
    assert result.reason == "intrinsics are for a 640x480 image but the query is 320x240"


def test_missing_intrinsics_use_the_same_size_map_camera(
    sfm_localizer: object, tiny_queries: list[Query]
) -> None:
    q = tiny_queries[3]
    result = sfm_localizer.localize(Query(q.name, q.image), RunContext())  # type: ignore[attr-defined]
    assert result.success and result.extras["intrinsics_source"] == "map"
    assert "used map camera" in result.reason
    t, _ = pose_error(result.cam_from_world, q.gt_cam_from_world)  # type: ignore[arg-type]
    assert t < 0.1


@pytest.mark.parametrize("case", ["blank", "noise", "outside", "tiny", "bad_shape"])
def test_queries_that_cannot_be_localized_say_why(
    case: str, sfm_localizer: object, tiny_queries: list[Query], tiny_room: SyntheticRoom
) -> None:
    cam = tiny_queries[0].camera
    assert cam is not None
    rng = np.random.default_rng(0)
    if case == "outside":  # far outside the room, looking away from it
        pose = look_at(np.array([60.0, 60.0, 1.5]), np.array([120.0, 120.0, 1.5]))
        image = tiny_room.render(cam, pose)[0]
    else:
        image = {
            "blank": np.full((240, 320, 3), 90, np.uint8),
            "noise": rng.integers(0, 256, (240, 320, 3), dtype=np.uint8),
            "tiny": np.zeros((8, 8, 3), np.uint8),
            "bad_shape": np.zeros((240, 320, 5), np.uint8),
        }[case]
    result = sfm_localizer.localize(Query(case, image, cam), RunContext())  # type: ignore[attr-defined]
    assert not result.success and result.cam_from_world is None
    expected = {
        "blank": ("keypoints found",),
        "outside": ("keypoints found",),
        "noise": ("inliers", "2D-3D matches", "shares points"),
        "tiny": ("too small",),
        "bad_shape": ("expected (H, W)",),
    }[case]
    assert any(e in result.reason for e in expected), result.reason


def make_pointless_bundle(bundle: MapBundle, out: Path) -> MapBundle:
    """A copy of ``bundle`` whose map has no 3D points."""
    from dataclasses import replace

    from locgui.core.scene import Points3D
    from locgui.io.bundle import open_bundle, write_bundle

    scene = bundle.scene
    images = {
        i: replace(im, point3D_ids=np.full(len(im.keypoints), -1))  # type: ignore[arg-type]
        for i, im in scene.images.items()
    }
    empty = replace(scene, images=images, points=Points3D())
    feats = {i: bundle_features(bundle, i) for i in images}
    write_bundle(out, empty, feats, bundle.manifest["features"],
                 retrieval_state=bundle.retrieval_state())  # fmt: skip
    return open_bundle(out)


def test_map_without_points_is_refused_with_a_hint(tiny_bundle: MapBundle, tmp_path: Path) -> None:
    empty = make_pointless_bundle(tiny_bundle, tmp_path / "empty.locmap")
    assert "sfm_points" not in empty.capabilities and "retrieval" in empty.capabilities
    for name in ENGINE_METHODS:
        spec = get_method(name)
        with pytest.raises(MethodError, match="sfm_points.*rebuild the map"):
            spec.create(empty, spec.make_config())


@pytest.mark.parametrize("name", ["sfm", "rpr"])
def test_a_failed_shortlist_is_retried_with_more_images(
    name: str, tiny_bundle: MapBundle, tiny_queries: list[Query], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Retrieval whose short shortlist holds only the view facing away from the query: the
    first attempt fails, the widened one (the real ranking) recovers the pose."""
    from locgui.methods.localize import base

    query = tiny_queries[0]
    assert query.gt_cam_from_world is not None
    scene = tiny_bundle.scene
    gt_axis = query.gt_cam_from_world.rotation[2]
    away = min(
        scene.images, key=lambda i: float(scene.images[i].cam_from_world.rotation[2] @ gt_axis)
    )
    real = base.retrieve

    def rigged(bundle, features, q, k):  # type: ignore[no-untyped-def]
        hits = real(bundle, features, q, k)
        if k == 1:  # the first attempt: only the view looking the other way
            return [
                next(r for r in real(bundle, features, q, len(scene.images)) if r.image_id == away)
            ]
        return hits

    monkeypatch.setattr(base, "retrieve", rigged)
    spec = get_method(name)
    no_retry = spec.create(tiny_bundle, spec.make_config(retrieval_k=1, retry_k=0))
    assert not no_retry.localize(query, RunContext()).success
    localizer = spec.create(tiny_bundle, spec.make_config(retrieval_k=1, retry_k=4))
    result = localizer.localize(query, RunContext())
    assert result.success, result.reason
    assert "retried with 5 images" in result.extras["retry"] and len(result.retrieved) == 5
    t, r = pose_error(result.cam_from_world, query.gt_cam_from_world)  # type: ignore[arg-type]
    assert t < 0.2 and r < 2.0


def test_query_size_zero_follows_the_map(tiny_bundle: MapBundle, tiny_queries: list[Query]) -> None:
    """``max_side=0``: queries are shrunk to the map's own feature size (a map built at full
    resolution is queried at full resolution); a size of its own still wins."""
    from locgui.methods.localize.common import query_side

    spec = get_method("sfm")
    map_side = int(tiny_bundle.feature_config["max_side"])
    follow = spec.make_config(**{**spec.test_config, "max_side": 0})
    assert query_side(tiny_bundle, follow) == map_side
    own = spec.make_config(**{**spec.test_config, "max_side": 200})
    assert query_side(tiny_bundle, own) == 200
    small = spec.create(tiny_bundle, own)
    assert small.extractor.config.max_side == 200
    localizer = spec.create(tiny_bundle, follow)
    assert localizer.extractor.config.max_side == map_side
    q = tiny_queries[0]
    result = localizer.localize(q, RunContext())
    assert result.success, result.reason
    t, r = pose_error(result.cam_from_world, q.gt_cam_from_world)
    assert t < 0.05 and r < 1.0
