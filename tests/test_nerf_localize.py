"""NeRFMatch-Mini and the pose regressor on the tiny map bundle with trained checkpoints.

Queries are exact renderings of the synthetic room at novel poses (a mapping pose moved
15 cm and turned about 3 degrees), so the ground truth is exact. The models are tiny
(160-px encoder, 64-px NeRF, 16 mapping images, seconds of training), so what they reach
moves between CPUs, thread counts and seeds; the tests assert what each method promises at
this size, with bounds that scripts/test_spread.py shows hold over seeds 0-2, one and two
threads, and torch's AVX2 and AVX-512 kernels (the figures below are that spread):

- nerfmatch on novel views: no failure, median 17-29 cm / 2.0-3.6 deg.
- nerfmatch from a reference about 0.3 m / 5 deg off: over the 16 views the median error ends
  at 0.37-0.65 of the references' (translation) and 0.30-0.62 (rotation), over models of two
  seeds x 5 draws of the references: it improves on where it started. (Over 6 views the
  median swung up to 1.4x the references' with the draw, so every view is used.)
- apr: regression alone is coarse (median 1.4-1.5 m, up to 34 deg: 16 images teach a
  regressor little, as the APR literature reports); render-and-match from 15 deg / 0.3 m off
  reaches 2-5 cm / 0.2-0.6 deg in three rounds.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from locgui.core.errors import MethodError
from locgui.core.metrics import pose_error
from locgui.core.pose import Rigid3, axis_angle_to_rotmat
from locgui.core.results import Query
from locgui.io.bundle import open_bundle
from locgui.methods.registry import get_method
from locgui.runtime.context import RunContext
from tests.plugins.learned import SEED

pytestmark = [pytest.mark.learned, pytest.mark.slow]

# Matching + PnP from a nearby reference must end closer than it started (median over views).
MATCH_GAIN = 1.0
# Render-and-match refinement from the true pose turned 15 deg and moved 0.3 m: three rounds
# reach 2-5 cm / 0.2-0.6 deg (scripts/test_spread.py over seeds, threads and kernel sets).
REFINE_START_DEG, REFINE_START_M = 15.0, 0.3
REFINED_T, REFINED_R = 0.10, 1.5
NOVEL_MEDIAN_T, NOVEL_MEDIAN_R = 0.5, 5.0


def novel_query(bundle, room, image_id: int) -> Query:
    """The room rendered at a mapping pose moved 15 cm right, 5 cm down and turned ~3 deg."""
    im = bundle.scene.images[image_id]
    cam = bundle.scene.camera_of(image_id)
    world_from_cam = im.cam_from_world.inverse()
    rot = world_from_cam.rotation @ axis_angle_to_rotmat(np.array([0.02, 0.05, 0.01]))
    centre = world_from_cam.translation + world_from_cam.rotation @ np.array([0.15, 0.0, 0.05])
    pose = Rigid3(rot, centre).inverse()
    rgb, _ = room.render(cam, pose)
    return Query(f"novel_{image_id}", rgb, cam, pose)


@pytest.fixture(scope="module")
def nerf_bundle(nerf_bundle_dir: Path):
    return open_bundle(nerf_bundle_dir)


def make(name: str, bundle, **overrides):
    spec = get_method(name)
    return spec.create(bundle, spec.make_config(**{**spec.test_config, **overrides}), "cpu")


@pytest.mark.parametrize("retrieval", ["bundle", "nerf"])
def test_nerfmatch_localizes_novel_views(
    nerf_bundle, tiny_room, retrieval: str, figures
) -> None:
    assert {"nerf", "nerfmatch", "apr"} <= nerf_bundle.capabilities
    loc = make("nerfmatch", nerf_bundle, retrieval=retrieval, num_references=3)
    errors, failures, partial = [], [], []
    ctx = RunContext(on_partial=lambda kind, payload: partial.append(kind))
    for image_id in sorted(nerf_bundle.scene.images)[::3]:
        query = novel_query(nerf_bundle, tiny_room, image_id)
        partial.clear()
        result = loc.localize(query, ctx)
        assert "matches_2d2d" in partial and {"retrieval", "render", "match"} <= set(result.timings)
        if not result.success:
            failures.append(result.reason)
            continue
        errors.append(pose_error(result.cam_from_world, query.gt_cam_from_world))
        m = result.matches_2d3d
        assert m is not None and int(m.inliers.sum()) == result.num_inliers >= 20
        assert m.query_xy[:, 0].max() <= query.image.shape[1]  # full-size query pixels
        assert result.extras["render_rgb"].shape == (48, 64, 3)
        assert np.isfinite(result.extras["render_depth"]).mean() > 0.9
        assert result.extras["pose_history"][0][0] == "initial"
    assert figures.below("failures", len(failures), 2), failures
    t, r = np.array(errors).T
    assert figures.below("median t (m)", np.median(t), NOVEL_MEDIAN_T), errors
    assert figures.below("median r (deg)", np.median(r), NOVEL_MEDIAN_R), errors


def test_nerfmatch_matches_from_a_nearby_reference(nerf_bundle, tiny_room, figures) -> None:
    """Matching + PnP alone, from a reference about 0.3 m / 5 deg off the true pose: over the
    views, the estimates are closer to the truth than the references they started from."""
    from locgui.methods.nerf.data import fit_size, resize_camera, resize_rgb

    loc = make("nerfmatch", nerf_bundle)
    rng = np.random.default_rng(SEED)
    scene = nerf_bundle.scene
    start, end = [], []
    for image_id in sorted(scene.images):  # all 16: a median over 6 views flips with the draw
        cam = scene.camera_of(image_id)
        gt = scene.images[image_id].cam_from_world
        w, h = fit_size(cam.width, cam.height, loc.side, multiple=32)
        small_cam = resize_camera(cam, w, h)
        desc = loc.encode(resize_rgb(tiny_room.render(cam, gt)[0], w, h))
        wfc = gt.inverse()
        rot = wfc.rotation @ axis_angle_to_rotmat(rng.normal(size=3) * np.deg2rad(5) / 1.7)
        ref = Rigid3(rot, wfc.translation + rng.normal(size=3) * 0.3 / 1.7).inverse()
        est = loc.match_and_solve(small_cam, desc, ref, cam, RunContext())
        start.append(pose_error(ref, gt))
        end.append((np.inf, np.inf) if est is None else pose_error(est.cam_from_world, gt))
    t0, r0 = np.median(start, axis=0)
    t1, r1 = np.median(end, axis=0)
    assert figures.below("failed views", int(np.isinf(np.array(end)[:, 0]).sum()), 2), end
    assert figures.below("median t / reference median t", t1 / t0, MATCH_GAIN), (start, end)
    assert figures.below("median r / reference median r", r1 / r0, MATCH_GAIN), (start, end)


def test_apr_regresses_and_refines_against_the_nerf(nerf_bundle, tiny_room, figures) -> None:
    """Regression gives a pose of the right kind; render-and-match refinement converges from
    inside its basin (started from the true pose turned and moved by seeded offsets, so the
    check does not depend on how well 16 images taught the regressor)."""
    plain = make("apr", nerf_bundle)
    refined = make("apr", nerf_bundle, refine="match", refine_steps=1, refine_side=160)
    rng = np.random.default_rng(SEED)
    regressed, start, final = [], [], []
    for image_id in sorted(nerf_bundle.scene.images)[1::6]:
        query = novel_query(nerf_bundle, tiny_room, image_id)
        gt = query.gt_cam_from_world
        a = plain.localize(query, RunContext())
        b = refined.localize(query, RunContext())
        assert a.success and b.success
        regressed.append(pose_error(a.cam_from_world, gt))
        assert [name for name, _ in b.extras["pose_history"]][0] == "regressed"
        wfc = gt.inverse()
        turn = rng.normal(size=3)
        turn *= np.deg2rad(REFINE_START_DEG) / np.linalg.norm(turn)
        shift = rng.normal(size=3)
        shift *= REFINE_START_M / np.linalg.norm(shift)
        pose = Rigid3(wfc.rotation @ axis_angle_to_rotmat(turn), wfc.translation + shift).inverse()
        start.append(pose_error(pose, gt))
        for _ in range(3):
            est = refined.refine(query.image, query.camera, pose, RunContext())
            assert est is not None and est.num_inliers >= 12
            pose = est.cam_from_world
        final.append(pose_error(pose, gt))
    t, r = np.array(regressed).T
    # A broken pose convention is off by metres or by 90-180 degrees; 16 mapping images teach
    # a regressor little (1.4-1.9 m, 27-34 deg at worst over seeds and kernel sets).
    assert figures.below("regressed median t (m)", np.median(t), 2.5), regressed
    assert figures.below("regressed max r (deg)", r.max(), 60.0), regressed
    t, r = np.array(final).T
    assert figures.below("refined max t (m)", t.max(), REFINED_T), (start, final)
    assert figures.below("refined max r (deg)", r.max(), REFINED_R), (start, final)


def test_nerfmatch_refuses_heads_trained_for_another_nerf(nerf_bundle_dir, tmp_path) -> None:
    copy = tmp_path / "copy.locmap"
    shutil.copytree(nerf_bundle_dir, copy)
    cfg_path = copy / "checkpoints" / "nerfmatch" / "config.json"
    cfg = json.loads(cfg_path.read_text())
    cfg["nerf_weights"] = "0" * 16
    cfg_path.write_text(json.dumps(cfg))
    with pytest.raises(MethodError, match="another NeRF"):
        make("nerfmatch", open_bundle(copy))


def test_render_cli_writes_the_view_at_a_map_pose(nerf_bundle_dir, tiny_room, tmp_path) -> None:
    import cv2

    from locgui.cli import main
    from locgui.methods.nerf.data import resize_camera

    bundle = open_bundle(nerf_bundle_dir)
    image_id = sorted(bundle.scene.images)[2]
    name = bundle.scene.images[image_id].name
    out, depth_path = tmp_path / "r.png", tmp_path / "d.npy"
    argv = ["render", str(nerf_bundle_dir), "--image", name, "--width", "64"]
    assert main([*argv, "--out", str(out), "--depth", str(depth_path), "--device", "cpu"]) == 0
    rgb = cv2.imread(str(out))[:, :, ::-1]
    depth = np.load(depth_path)
    cam = resize_camera(bundle.scene.camera_of(image_id), 64, 48)
    gt_rgb, gt_depth = tiny_room.render(cam, bundle.scene.images[image_id].cam_from_world)
    assert rgb.shape == (48, 64, 3) and depth.shape == (48, 64)
    mse = np.mean((rgb.astype(float) - gt_rgb.astype(float)) ** 2) / 255.0**2
    assert -10 * np.log10(mse) > 19.0
    ok = np.isfinite(depth) & (gt_depth > 0)
    assert ok.mean() > 0.9 and np.median(np.abs(depth[ok] - gt_depth[ok])) < 0.1
