"""The map-building recipe: source -> features -> retrieval -> pairs -> matches ->
triangulation with known poses (or incremental SfM) -> point descriptors -> bundle."""

from __future__ import annotations

import logging
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from locgui.core.errors import MethodError
from locgui.core.scene import SceneMap
from locgui.methods.localize.common import KEYPOINT_BUDGET, feature_scale
from locgui.methods.mapping.config import MapBuildConfig
from locgui.methods.mapping.descriptors import mean_point_descriptors
from locgui.methods.mapping.matching import extract_all, match_pairs, verify_with_poses
from locgui.methods.mapping.pairs import select_pairs
from locgui.methods.mapping.reconstruct import incremental_sfm, triangulate
from locgui.methods.mapping.retrieval_index import fit_index, neighbours_fn
from locgui.methods.mapping.source import (
    MappingInput,
    load_source,
    select_images,
    with_calibration,
)
from locgui.runtime.context import RunContext, resolve_device

log = logging.getLogger(__name__)


@dataclass
class BuildReport:
    """What a build produced.

    Attributes:
        path: the bundle folder.
        images: mapping images in the bundle (registered ones for SfM).
        points: 3D points.
        pairs: image pairs matched / kept after verification.
        queries: held-out query image names (split "test").
        timings: stage -> seconds.
        cameras: SfM only: per camera its focal prior (and source), final focal, images
            used and registered, and whether it was refined (``CalibrationPolicy.report``).
        warnings: what a user must know about the map: images left out and why, images SfM
            could not register.
    """

    path: Path
    images: int
    points: int
    pairs: tuple[int, int]
    queries: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    mean_track_length: float = 0.0
    cameras: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def extractor_options(cfg: MapBuildConfig) -> dict[str, Any]:
    """The extractor configuration stored in the bundle (queries reuse it)."""
    return {KEYPOINT_BUDGET.get(cfg.features, "top_k"): cfg.max_keypoints,
            "max_side": cfg.max_side, **cfg.extra}  # fmt: skip


def build_map(
    source: str | Path | SceneMap,
    out: str | Path,
    config: MapBuildConfig | None = None,
    ctx: RunContext | None = None,
    overwrite: bool = False,
) -> BuildReport:
    """Build the map bundle ``out`` from a scene (a path any reader opens, an image folder, or
    an opened ``SceneMap``) ``source``.

    Known poses are kept and the matches triangulated (pycolmap); without poses, pycolmap's
    incremental SfM recovers them (units "arbitrary"). Cancelling ``ctx`` (or Ctrl-C) leaves
    no bundle behind. Raises SceneFormatError / ImageDecodeError for bad sources, MethodError
    when nothing can be reconstructed, BundleError when ``out`` exists and not ``overwrite``.
    """
    from locgui.io.bundle import check_replaceable, write_bundle
    from locgui.io.bundle_safety import check_disjoint
    from locgui.io.calibration import parse_intrinsics
    from locgui.methods.features import get_extractor, get_matcher

    cfg = config or MapBuildConfig()
    ctx = ctx or RunContext()
    out = Path(out)
    if not isinstance(source, SceneMap):
        check_disjoint(out, [Path(source)])
    if out.exists() and not overwrite:
        from locgui.core.errors import BundleError

        raise BundleError(f"{out} already exists (use --overwrite to replace it)")
    if overwrite:
        check_replaceable(out)
    with ctx.stage("load"):
        scene = source if isinstance(source, SceneMap) else load_source(Path(source))
        if cfg.intrinsics:
            scene = with_calibration(scene, parse_intrinsics(cfg.intrinsics))
        check_disjoint(out, _source_folders(scene))
        inp = select_images(scene, cfg.holdout, cfg.sfm)
    scene = inp.scene
    device = resolve_device(cfg.device)
    extractor = get_extractor(cfg.features, device=device, **extractor_options(cfg))
    ratio = cfg.ratio if inp.posed else cfg.sfm_ratio
    mnn = {"min_similarity": cfg.min_similarity, "ratio": ratio} if cfg.matcher == "mnn" else {}
    matcher = get_matcher(cfg.matcher, device=device, **mnn)
    with ctx.stage("extract"):
        feats = extract_all(scene, inp.map_ids, extractor, ctx, cfg.max_side if cfg.upscale else 0)
    with ctx.stage("retrieval"):
        ctx.progress("retrieval", -1.0, "fitting the global index")
        index = fit_index(feats, cfg.retrieval_clusters, cfg.seed)
    with ctx.stage("match"):
        pairs = select_pairs(
            scene, inp.map_ids, cfg.exhaustive_below, neighbours_fn(index, feats),
            cfg.retrieval_pairs, cfg.pose_pairs, inp.posed,
        )  # fmt: skip
        matches = match_pairs(pairs, feats, matcher, ctx)
    mapped, kept, feats = _reconstruct(inp, feats, matches, cfg, ctx)
    feats = {i: feats[i] for i in mapped.images}
    if set(feats) != set(inp.map_ids):  # SfM left images out: the index must not name them
        index = fit_index(feats, cfg.retrieval_clusters, cfg.seed)
    with ctx.stage("descriptors"):
        ctx.progress("descriptors", -1.0, f"{len(mapped.points)} points")
        point_desc = mean_point_descriptors(mapped.points, feats)
    queries = [scene.images[i].name for i in inp.query_ids]
    with ctx.stage("write"):
        ctx.progress("write", -1.0, str(out))
        path = write_bundle(
            out,
            mapped,
            feats,
            {"type": cfg.features, "config": extractor_options(cfg), "matcher": cfg.matcher,
             "upscale": cfg.upscale,
             "dim": int(next(iter(feats.values())).descriptors.shape[1])},
            retrieval_state=index.state(),
            retrieval_info={"clusters": cfg.retrieval_clusters},
            point_descriptors=point_desc,
            source=_source_info(scene, inp, queries),
            copy_images=cfg.copy_images,
            overwrite=overwrite,
            extra={"build": {"config": cfg.to_dict(), "pairs": [len(pairs), len(kept)],
                             "cameras": mapped.meta.get("cameras", []),
                             "timings_s": {k: round(v, 3) for k, v in ctx.timings.items()}}},
        )  # fmt: skip
    lengths = mapped.points.track_lengths()
    return BuildReport(
        path, len(mapped.images), len(mapped.points), (len(pairs), len(kept)), queries,
        dict(ctx.timings), float(lengths.mean()) if len(lengths) else 0.0,
        mapped.meta.get("cameras", []), build_warnings(inp, mapped),
    )  # fmt: skip


def _reconstruct(
    inp: MappingInput,
    feats: dict[int, Any],
    matches: dict[tuple[int, int], np.ndarray],
    cfg: MapBuildConfig,
    ctx: RunContext,
) -> tuple[SceneMap, dict[tuple[int, int], np.ndarray], dict[int, Any]]:
    """Verified matches -> 3D structure; returns (mapped scene, matches used, features with
    the keypoints the scene's images hold: refined along tracks with ``refine_tracks``)."""
    scene = inp.scene
    with tempfile.TemporaryDirectory(prefix="locgui-map-") as tmp:
        work = Path(tmp)
        if inp.posed:
            with ctx.stage("verify"):
                thresholds = {i: cfg.epipolar_threshold * _scale(scene, i, cfg) for i in feats}
                kept = verify_with_poses(scene, feats, matches, thresholds, cfg.min_pair_matches)
            if not kept:
                raise MethodError(f"{scene.source_path}: no image pair has enough verified matches")
            feats = _refine_tracks(scene, feats, kept, cfg, ctx)
            with ctx.stage("triangulate"):
                mapped = triangulate(
                    scene, inp.map_ids, feats, kept, work, ctx,
                    cfg.min_triangulation_angle, cfg.two_view_tracks,
                )  # fmt: skip
        else:
            kept = {p: m for p, m in matches.items() if len(m) >= cfg.min_pair_matches}
            feats = _refine_tracks(scene, feats, kept, cfg, ctx)
            threshold = cfg.sfm_verify_threshold * _scale(scene, inp.map_ids[0], cfg)
            with ctx.stage("sfm"):
                mapped = incremental_sfm(
                    scene, inp.map_ids, feats, kept, work, ctx, cfg.seed,
                    threshold, cfg.min_pair_matches, cfg.calibrate_min_images,
                )  # fmt: skip
    log.info("mapped %d images, %d points", len(mapped.images), len(mapped.points))
    return mapped, kept, feats


def _refine_tracks(
    scene: SceneMap,
    feats: dict[int, Any],
    matches: dict[tuple[int, int], np.ndarray],
    cfg: MapBuildConfig,
    ctx: RunContext,
) -> dict[int, Any]:
    """``feats`` with track-consistent keypoints when ``cfg.refine_tracks`` (else as is)."""
    if not cfg.refine_tracks:
        return feats
    from locgui.methods.mapping.track_refine import refine_tracks

    with ctx.stage("refine"):
        ctx.progress("refine", -1.0, f"aligning keypoints along tracks of {len(matches)} pairs")
        refined, _ = refine_tracks(scene, feats, matches, cfg.max_side)
    return refined


def build_warnings(inp: MappingInput, mapped: SceneMap) -> list[str]:
    """Images left out before mapping, and mapping images SfM did not register."""
    out = [f"{name} left out: {why}" for name, why in inp.left_out.items()]
    missing = [i for i in inp.map_ids if i not in mapped.images]
    if missing:
        names = ", ".join(inp.scene.images[i].name for i in missing[:8])
        more = f" and {len(missing) - 8} more" if len(missing) > 8 else ""
        out.append(
            f"{len(missing)} of {len(inp.map_ids)} mapping images not registered by SfM "
            f"(no geometric overlap with the model): {names}{more}"
        )
    return out


def _source_folders(scene: SceneMap) -> list[Path | None]:
    """Folders the build reads from: the map must not replace or sit inside any of them."""
    depth_dirs = {Path(im.depth.path).parent for im in scene.images.values() if im.depth}
    return [scene.source_path, scene.image_dir, *sorted(depth_dirs)]


def _scale(scene: SceneMap, image_id: int, cfg: MapBuildConfig) -> float:
    cam = scene.camera_of(image_id)
    return feature_scale(cam.width, cam.height, cfg.max_side, cfg.upscale)


def _source_info(scene: SceneMap, inp: MappingInput, queries: list[str]) -> dict[str, Any]:
    return {
        "path": str(Path(scene.source_path).absolute()) if scene.source_path else None,
        "format": scene.source_format,
        "poses": "known (triangulated)" if inp.posed else "structure from motion",
        "queries": queries,
    }
