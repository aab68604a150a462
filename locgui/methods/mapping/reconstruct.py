"""3D structure with pycolmap: a COLMAP database from our features and matches, then either
``triangulate_points`` (known poses, kept fixed) or ``incremental_mapping`` (SfM).

The result is read back through ``locgui.io.colmap.read_colmap`` so that keypoint row ``k`` of
an image is its COLMAP ``points2D[k]``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from locgui.core.errors import MethodError
from locgui.core.scene import SceneMap
from locgui.methods.localize.geometry import to_pycolmap_camera, to_pycolmap_rigid
from locgui.methods.mapping.calibration import (
    CalibrationPolicy,
    calibration_policy,
    has_focal_prior,
)
from locgui.runtime.context import RunContext

log = logging.getLogger(__name__)

Pair = tuple[int, int]


@contextmanager
def cancellation_token(ctx: RunContext) -> Iterator[Any]:
    """A pycolmap CancellationToken that fires when ``ctx`` is cancelled; pycolmap's own
    per-image log lines are silenced meanwhile (warnings and errors still show)."""
    import pycolmap

    level = pycolmap.logging.minloglevel
    pycolmap.logging.minloglevel = max(level, 2)
    token = pycolmap.CancellationToken()
    done = threading.Event()

    def watch() -> None:
        while not done.wait(0.1):
            if ctx.cancelled:
                token.cancel()
                return

    thread = threading.Thread(target=watch, name="locgui-cancel-watch", daemon=True)
    thread.start()
    try:
        yield token
    finally:
        done.set()
        thread.join()
        pycolmap.logging.minloglevel = level
    ctx.check_cancelled()


def write_database(
    path: Path,
    scene: SceneMap,
    ids: list[int],
    features: dict[int, Any],
    matches: dict[Pair, np.ndarray],
    verified: bool,
) -> None:
    """A COLMAP database with cameras, images (ids kept), keypoints and matches.

    With ``verified`` the matches are also written as calibrated two-view geometries (they
    were checked against known poses); otherwise pycolmap's geometric verification must run.
    """
    import pycolmap

    cam_ids = sorted({scene.images[i].camera_id for i in ids})
    with pycolmap.Database.open(str(path)) as db:
        for cid in cam_ids:
            camera = to_pycolmap_camera(scene.cameras[cid])
            # A trusted focal (calibrated or EXIF) lets verification use the essential matrix.
            camera.has_prior_focal_length = has_focal_prior(scene, cid)
            db.write_camera(camera, use_camera_id=True)
            rig = pycolmap.Rig(rig_id=cid)
            rig.add_ref_sensor(pycolmap.sensor_t(type=pycolmap.SensorType.CAMERA, id=cid))
            db.write_rig(rig, use_rig_id=True)
        for i in ids:
            im = scene.images[i]
            frame = pycolmap.Frame(frame_id=i, rig_id=im.camera_id)
            frame.add_data_id(pycolmap.data_t(
                sensor_id=pycolmap.sensor_t(type=pycolmap.SensorType.CAMERA, id=im.camera_id), id=i
            ))  # fmt: skip
            db.write_frame(frame, use_frame_id=True)
            db.write_image(
                pycolmap.Image(name=im.name, camera_id=im.camera_id, image_id=i, frame_id=i),
                use_image_id=True,
            )
            db.write_keypoints(i, features[i].keypoints.astype(np.float32))
        for (i, j), m in matches.items():
            db.write_matches(i, j, m)
            if verified:
                tvg = pycolmap.TwoViewGeometry()
                tvg.inlier_matches = m
                tvg.config = pycolmap.TwoViewGeometryConfiguration.CALIBRATED
                db.write_two_view_geometry(i, j, tvg)


def posed_reconstruction(scene: SceneMap, ids: list[int], features: dict[int, Any]) -> Any:
    """A pycolmap Reconstruction with the posed images and their keypoints, no points."""
    import pycolmap

    rec = pycolmap.Reconstruction()
    for cid in sorted({scene.images[i].camera_id for i in ids}):
        rec.add_camera_with_trivial_rig(to_pycolmap_camera(scene.cameras[cid]))
    for i in ids:
        im = scene.images[i]
        assert im.cam_from_world is not None
        image = pycolmap.Image(
            name=im.name,
            keypoints=features[i].keypoints.astype(np.float64),
            camera_id=im.camera_id,
            image_id=i,
        )
        rec.add_image_with_trivial_frame(image, to_pycolmap_rigid(im.cam_from_world))
    return rec


def triangulate(
    scene: SceneMap,
    ids: list[int],
    features: dict[int, Any],
    matches: dict[Pair, np.ndarray],
    workdir: Path,
    ctx: RunContext,
    min_angle_deg: float = 1.5,
    two_view_tracks: bool = True,
) -> SceneMap:
    """Triangulate verified matches with the known (fixed) poses; returns the mapped scene.

    Args:
        min_angle_deg: minimum triangulation angle of a point (COLMAP's default is 1.5).
        two_view_tracks: keep points seen in only two images.
    """
    import pycolmap

    db_path = workdir / "database.db"
    write_database(db_path, scene, ids, features, matches, verified=True)
    out = workdir / "triangulated"
    out.mkdir(parents=True, exist_ok=True)
    options = pycolmap.IncrementalPipelineOptions()
    options.num_threads = 2
    options.triangulation.ignore_two_view_tracks = not two_view_tracks
    options.triangulation.min_angle = float(min_angle_deg)
    options.mapper.filter_min_tri_angle = float(min_angle_deg)
    options.random_seed = 0
    ctx.progress("triangulate", -1.0, f"{len(matches)} verified pairs")
    rec = posed_reconstruction(scene, ids, features)
    assert scene.image_dir is not None
    with cancellation_token(ctx) as token:
        rec = pycolmap.triangulate_points(
            rec, str(db_path), str(scene.image_dir), str(out),
            clear_points=True, options=options, refine_intrinsics=False,
            cancellation_token=token,
        )  # fmt: skip
    rec.write_binary(str(out))
    return _to_scene(out, scene)


def incremental_sfm(
    scene: SceneMap,
    ids: list[int],
    features: dict[int, Any],
    matches: dict[Pair, np.ndarray],
    workdir: Path,
    ctx: RunContext,
    seed: int = 0,
    verify_threshold_px: float = 4.0,
    min_inliers: int = 15,
    min_images_to_calibrate: int = 3,
) -> SceneMap:
    """pycolmap geometric verification + incremental mapping; the largest model wins.

    Intrinsics follow ``calibration_policy``: a camera is self-calibrated only when it is not
    user-calibrated and at least ``min_images_to_calibrate`` images share it; a camera whose
    focal leaves its prior's bounds is mapped again with the focal held at the prior. The
    mapped scene's ``meta["cameras"]`` reports each camera's prior and final focal.

    Args:
        verify_threshold_px: two-view RANSAC threshold (full-resolution pixels).
        min_inliers: pairs with fewer verified inliers are not used.
        min_images_to_calibrate: fewest images sharing a camera for its focal to be refined.
    """
    import pycolmap

    db_path = workdir / "database.db"
    write_database(db_path, scene, ids, features, matches, verified=False)
    pairs_file = workdir / "pairs.txt"
    names = {i: scene.images[i].name for i in ids}
    pairs_file.write_text("".join(f"{names[i]} {names[j]}\n" for i, j in matches))
    ctx.progress("verify", -1.0, f"{len(matches)} pairs")
    started = time.perf_counter()
    two_view = pycolmap.TwoViewGeometryOptions()
    two_view.ransac.max_error = float(verify_threshold_px)
    two_view.min_num_inliers = int(min_inliers)
    with cancellation_token(ctx) as token:
        pycolmap.verify_matches(str(db_path), str(pairs_file), two_view, cancellation_token=token)
    log.info("geometric verification: %.1f s", time.perf_counter() - started)
    policy = calibration_policy(scene, ids, min_images_to_calibrate)
    best = _incremental(scene, ids, db_path, workdir / "sfm", ctx, seed, min_inliers, policy)
    escaped = policy.escaped(best)
    if escaped:  # re-estimate those cameras with their focal held at the prior
        for cid, reason in escaped.items():
            log.warning("camera %d: %s; mapping again with its focal held at the prior", cid,
                        reason)  # fmt: skip
        policy = policy.holding(escaped, db_path)
        best = _incremental(scene, ids, db_path, workdir / "sfm2", ctx, seed, min_inliers, policy)
    log.info("SfM registered %d of %d images", best.num_reg_images(), len(ids))
    final = workdir / "best"
    final.mkdir(exist_ok=True)
    best.write_binary(str(final))
    mapped = _to_scene(final, scene)
    mapped.units = "arbitrary"
    mapped.meta["cameras"] = policy.report(best, scene, ids)
    return mapped


def _incremental(
    scene: SceneMap,
    ids: list[int],
    db_path: Path,
    out: Path,
    ctx: RunContext,
    seed: int,
    min_inliers: int,
    policy: CalibrationPolicy,
) -> Any:
    """pycolmap incremental mapping under ``policy``; the model with most images."""
    import pycolmap

    out.mkdir(parents=True, exist_ok=True)
    options = pycolmap.IncrementalPipelineOptions()
    options.num_threads = 2
    options.random_seed = seed
    options.min_num_matches = int(min_inliers)
    options.min_model_size = 3
    policy.apply(options)
    ctx.progress("sfm", -1.0, f"incremental mapping of {len(ids)} images")
    assert scene.image_dir is not None
    with cancellation_token(ctx) as token:
        models = pycolmap.incremental_mapping(
            str(db_path), str(scene.image_dir), str(out), options, cancellation_token=token
        )
    if not models:
        raise MethodError(
            f"SfM registered no images of {scene.source_path} (too few matches between them)"
        )
    return max(models.values(), key=lambda r: r.num_reg_images())


def _to_scene(model_dir: Path, source: SceneMap) -> SceneMap:
    """The model as a SceneMap, with the source's image folder, units, depth and splits."""
    from locgui.io.colmap import read_colmap

    mapped = read_colmap(model_dir, use_sidecar=False)
    mapped.image_dir = source.image_dir
    mapped.units = source.units
    mapped.source_format = source.source_format
    mapped.source_path = source.source_path
    for i, im in list(mapped.images.items()):
        src = source.images.get(i)
        if src is not None:
            mapped.images[i] = replace(im, depth=src.depth, split=src.split)
    mapped.missing_images = []
    return mapped
