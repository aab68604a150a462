"""``train_nerfmatch``: train the NeRFMatch-Mini heads on the map images.

For every training image (the "query") and a few reference poses near it (its nearest map
neighbours and a jittered copy of its own pose), the NeRF renders 3D points and features at
the centres of the reference view's 8x8 patches. Ground-truth matches project those points
into the query with its known pose (paper Sec. 4.3); a point is kept when it lands inside
the image, the ray is opaque, and the query's own rendered depth agrees (not occluded).
Loss: the paper's eq. 3 on the dual-softmax scores.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from locgui.core.camera import Camera
from locgui.core.errors import MethodError
from locgui.core.pose import Rigid3, axis_angle_to_rotmat
from locgui.methods.nerf.config import NerfMatchTrainConfig
from locgui.methods.nerf.data import fit_size, resize_camera, resize_rgb
from locgui.methods.nerf.rays import patch_centers
from locgui.runtime.context import RunContext

log = logging.getLogger(__name__)

AUGMENTED_COPIES = 2  # exposure-changed copies of each training image besides the original


@dataclass
class Reference:
    """NeRF rendering at a reference pose on the patch-centre grid.

    Attributes:
        points: (N, 3) float32 world points.
        features: (N, F) float32 NeRF features.
        valid: (N,) bool, opaque rays.
    """

    points: np.ndarray
    features: np.ndarray
    valid: np.ndarray

    def tensors(self, box: tuple[np.ndarray, np.ndarray], device: Any) -> tuple[Any, Any]:
        """(features (N, F), points in box coordinates (N, 3)) as float32 tensors."""
        import torch

        lo, hi = box
        xn = (self.points - lo) / (hi - lo) * 2 - 1
        as_t = lambda a: torch.from_numpy(np.ascontiguousarray(a, np.float32)).to(device)  # noqa: E731
        return as_t(self.features), as_t(xn)


def render_reference(
    nerf: Any, camera: Camera, pose: Rigid3, min_opacity: float, ctx: RunContext | None = None
) -> Reference:
    """Render points and features at the 8x8 patch centres of ``camera`` at ``pose``."""
    from locgui.methods.nerf.backbone import STRIDE

    pix = patch_centers(camera.width, camera.height, STRIDE)
    out = nerf.render_pixels(camera, pose, pix, want_features=True, ctx=ctx)
    return Reference(out["points"], out["features"], out["opacity"] >= min_opacity)


def project_to_patches(
    points: np.ndarray, camera: Camera, pose: Rigid3, stride: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Patch index, z-depth and in-image mask of world points seen by a camera.

    Returns:
        (N,) int64 row-major patch index (-1 outside), (N,) z-depth, (N,) bool inside.
    """
    cam_pts = pose.apply(points)
    uv = camera.project(cam_pts)
    w, h = camera.width // stride, camera.height // stride
    with np.errstate(invalid="ignore"):
        col = np.floor(uv[:, 0] / stride)
        row = np.floor(uv[:, 1] / stride)
        inside = (cam_pts[:, 2] > 0) & (col >= 0) & (col < w) & (row >= 0) & (row < h)
    index = np.where(inside, row * w + col, -1).astype(np.int64)
    return index, cam_pts[:, 2], inside


def ground_truth_matches(
    ref: Reference, camera: Camera, pose: Rigid3, query_depth: np.ndarray, tol: float
) -> tuple[np.ndarray, np.ndarray]:
    """(rows, cols): query patch index and reference point index of each true match.

    Args:
        query_depth: (h*w,) rendered z-depth at the query's patch centres (occlusion test).
        tol: relative depth agreement needed.
    """
    from locgui.methods.nerf.backbone import STRIDE

    index, z, inside = project_to_patches(ref.points, camera, pose, STRIDE)
    ok = inside & ref.valid
    seen = np.abs(query_depth[np.clip(index, 0, None)] - z) <= tol * np.maximum(z, 1e-6)
    ok &= seen
    cols = np.nonzero(ok)[0]
    return index[cols], cols


def jitter_pose(pose: Rigid3, rng: np.random.Generator, deg: float, dist: float) -> Rigid3:
    """``pose`` turned by a random rotation of about ``deg`` degrees about its centre and
    moved by about ``dist`` map units."""
    rot = axis_angle_to_rotmat(rng.normal(size=3) * np.deg2rad(deg) / np.sqrt(3))
    world_from_cam = pose.inverse()
    centre = world_from_cam.translation + rng.normal(size=3) * dist / np.sqrt(3)
    return Rigid3(world_from_cam.rotation @ rot, centre).inverse()


def nearest_poses(poses: list[Rigid3], k: int, scale: float) -> list[list[int]]:
    """For each pose, the indices of the ``k`` others closest in centre distance plus
    viewing angle (one radian weighs like ``scale`` map units)."""
    centres = np.array([p.center for p in poses])
    axes = np.array([p.rotation[2] for p in poses])
    d = np.linalg.norm(centres[:, None] - centres[None], axis=-1) / scale
    ang = np.arccos(np.clip(axes @ axes.T, -1, 1))
    cost = d + ang
    np.fill_diagonal(cost, np.inf)
    return [list(np.argsort(row)[:k]) for row in cost]


@dataclass
class EncoderView:
    """A training image at encoder resolution (multiple of 32)."""

    name: str
    camera: Camera
    pose: Rigid3
    rgb: np.ndarray


def encoder_views(scene: Any, ids: list[int], side: int) -> list[EncoderView]:
    """Posed map images resized for the encoder (longer side ``side``, multiples of 32)."""
    from locgui.io.images import read_image

    out = []
    for i in ids:
        im = scene.images[i]
        cam = scene.camera_of(i)
        w, h = fit_size(cam.width, cam.height, side, multiple=32)
        rgb = resize_rgb(read_image(scene.image_path(i)), w, h)
        out.append(EncoderView(im.name, resize_camera(cam, w, h), im.cam_from_world, rgb))
    return out


def build_training_pairs(
    nerf: Any, views: list[EncoderView], cfg: NerfMatchTrainConfig, ctx: RunContext, scale: float
) -> list[tuple[int, Reference, np.ndarray, np.ndarray]]:
    """(view index, reference, gt rows, gt cols) for every view and its reference poses."""
    rng = np.random.default_rng(cfg.seed)
    neighbours = nearest_poses([v.pose for v in views], max(cfg.refs_per_image - 1, 0), scale)
    depths = []
    for k, v in enumerate(views):
        ctx.progress("train nerfmatch", 0.3 * k / len(views), f"rendering depth {k}/{len(views)}")
        from locgui.methods.nerf.backbone import STRIDE

        pix = patch_centers(v.camera.width, v.camera.height, STRIDE)
        depths.append(nerf.render_pixels(v.camera, v.pose, pix, ctx=ctx)["depth"])
    pairs = []
    for k, v in enumerate(views):
        ctx.progress("train nerfmatch", 0.3 + 0.3 * k / len(views), f"references {k}/{len(views)}")
        ref_poses = [views[j].pose for j in neighbours[k]]
        ref_poses.append(jitter_pose(v.pose, rng, cfg.jitter_deg, cfg.jitter_frac * scale))
        for pose in ref_poses:
            ref = render_reference(nerf, v.camera, pose, cfg.min_opacity, ctx)
            rows, cols = ground_truth_matches(ref, v.camera, v.pose, depths[k], cfg.occlusion_tol)
            if len(rows) >= 8:
                pairs.append((k, ref, rows, cols))
    if not pairs:
        raise MethodError("NeRFMatch training found no ground-truth matches: is the NeRF trained?")
    return pairs


def augment(rgb: Any, rng: np.random.Generator) -> Any:
    """Random exposure (gain) and contrast (gamma) change of a (1, 3, H, W) [0, 1] tensor."""
    gain = float(np.exp(rng.normal(0, 0.2)))
    gamma = float(np.exp(rng.normal(0, 0.15)))
    return (rgb.clamp(min=1e-4) ** gamma * gain).clamp(0, 1)


def fit_heads(
    head: Any,
    views: list[EncoderView],
    pairs: list[tuple[int, Reference, np.ndarray, np.ndarray]],
    cfg: NerfMatchTrainConfig,
    ctx: RunContext,
    box_min: list[float],
    box_max: list[float],
) -> dict[str, float]:
    """Adam with cosine annealing on the coarse matching loss; returns final statistics."""
    import torch

    from locgui.methods.nerf.backbone import get_backbone, image_tensor
    from locgui.methods.nerf.matching import coarse_matching_loss, dual_softmax

    device = next(head.parameters()).device
    backbone = get_backbone(device)
    box = (np.asarray(box_min), np.asarray(box_max))
    rng = np.random.default_rng(cfg.seed)
    # The backbone is frozen: its features of each image under a few random exposure
    # changes are computed once, so that training steps only run the heads.
    inputs = []
    with torch.no_grad():
        for v in views:
            x = image_tensor(v.rgb, device)
            variants = [x] + [augment(x, rng) for _ in range(AUGMENTED_COPIES)]
            inputs.append([(backbone(a), a) for a in variants])
    total = cfg.epochs * len(pairs)
    opt = torch.optim.Adam(head.parameters(), lr=cfg.lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max(total, 1))
    head.train()
    step, recent_loss, recent_acc = 0, [], []
    for _epoch in range(cfg.epochs):
        for p in rng.permutation(len(pairs)):
            ctx.check_cancelled()
            k, ref, rows, cols = pairs[p]
            feats, rgb = inputs[k][int(rng.integers(len(inputs[k])))]
            img = head.image_features(feats, rgb)[0].flatten(1).T  # (h*w, D)
            pts = head.point_features(*ref.tensors(box, device))
            scores = dual_softmax(img, pts, cfg.temperature)
            r = torch.from_numpy(rows).to(device)
            c = torch.from_numpy(cols).to(device)
            loss = coarse_matching_loss(scores, r, c)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            step += 1
            with torch.no_grad():
                acc = (scores[:, c].argmax(dim=0) == r).float().mean()
            recent_loss.append(float(loss.detach()))
            recent_acc.append(float(acc))
            if step % 20 == 0 or step == total:
                ctx.progress(
                    "train nerfmatch",
                    0.6 + 0.4 * step / total,
                    f"step {step}/{total} loss {np.mean(recent_loss[-50:]):.3f} "
                    f"patch accuracy {np.mean(recent_acc[-50:]):.2f}",
                )
    head.eval()
    n = max(1, len(pairs))
    return {
        "final_loss": float(np.mean(recent_loss[-n:])),
        "final_patch_accuracy": float(np.mean(recent_acc[-n:])),
        "steps": step,
    }


def reference_descriptors(
    nerf: Any, cameras: list[Camera], poses: list[Rigid3], side: int, ctx: RunContext
) -> np.ndarray:
    """Global descriptors of NeRF renderings at ``poses`` (retrieval without map images).

    Returns:
        (R, 1024) float32 L2-normalized descriptors.
    """
    import torch

    from locgui.methods.nerf.backbone import get_backbone, global_descriptor, image_tensor

    backbone = get_backbone(nerf.device)
    out = []
    for k, (cam, pose) in enumerate(zip(cameras, poses, strict=True)):
        ctx.progress("render references", k / len(poses), f"{k}/{len(poses)}")
        w, h = fit_size(cam.width, cam.height, side, multiple=32)
        render = nerf.render_view(resize_camera(cam, w, h), pose, ctx=ctx)
        with torch.no_grad():
            feats = backbone(image_tensor(render.rgb, nerf.device))
        out.append(global_descriptor(feats)[0].cpu().numpy())
    return np.stack(out).astype(np.float32)


RETRIEVAL_SIDE = 96  # longer side of the NeRF renderings used for retrieval


def train_nerfmatch(
    source: Any,
    config: NerfMatchTrainConfig | None = None,
    ctx: RunContext | None = None,
    *,
    out: Any = None,
    device: str | None = None,
) -> dict[str, Any]:
    """Train the NeRFMatch-Mini heads for a scene whose NeRF is trained.

    Args:
        source: an opened MapBundle or bundle path (or a scene when ``out`` holds the NeRF
            checkpoint folder and receives this one).
        config: training configuration.
        ctx: progress and cancellation.
        out: checkpoint folder when ``source`` is not a bundle.
        device: "cpu", "cuda" or "auto".
    Returns:
        The metrics written to metrics.json (a bundle gains capability "nerfmatch").
    """
    import tempfile
    from pathlib import Path

    import torch

    from locgui.methods.checkpoint import scene_fingerprint, write_checkpoint
    from locgui.methods.nerf.checkpoint import load_nerf
    from locgui.methods.nerf.matching import MatchHead
    from locgui.methods.nerf.train import resolve_source
    from locgui.runtime.context import resolve_device

    cfg = config or NerfMatchTrainConfig()
    ctx = ctx or RunContext()
    scene, bundle = resolve_source(source)
    target = bundle if bundle is not None else out
    if target is None:
        raise MethodError("train_nerfmatch: give `out` when the source is not a map bundle")
    dev = torch.device(resolve_device(device or ctx.device or "auto"))
    torch.manual_seed(cfg.seed)
    nerf = load_nerf(target, dev, scene=scene)
    ids = [i for i in scene.split_ids("train") if scene.images[i].cam_from_world is not None]
    ids = ids or scene.posed_ids()
    start = time.perf_counter()
    with ctx.stage("load images"):
        views = encoder_views(scene, ids, cfg.image_side)
    with ctx.stage("render references"):
        pairs = build_training_pairs(nerf, views, cfg, ctx, scene.scene_radius())
    head = MatchHead(nerf.feature_dim, cfg.dim).to(dev)
    with ctx.stage("train"):
        stats = fit_heads(head, views, pairs, cfg, ctx, nerf.meta.box_min, nerf.meta.box_max)
    with ctx.stage("retrieval descriptors"):
        cams = [scene.camera_of(i) for i in ids]
        poses = [v.pose for v in views]
        desc = reference_descriptors(nerf, cams, poses, RETRIEVAL_SIDE, ctx)
    metrics = {
        **stats,
        "pairs": len(pairs),
        "mean_gt_matches": float(np.mean([len(p[2]) for p in pairs])),
        "train_seconds": round(time.perf_counter() - start, 2),
        "stage_seconds": {k: round(v, 2) for k, v in ctx.timings.items()},
        "device": str(dev),
    }
    config_json = {
        "train": cfg.to_dict(),
        "nerf_dim": nerf.feature_dim,
        "scene_fingerprint": scene_fingerprint(scene),
        "nerf_weights": nerf.weights_id,
        "retrieval_side": RETRIEVAL_SIDE,
        "reference_ids": [int(i) for i in ids],
        "reference_names": [v.name for v in views],
    }
    state = {
        "head": head.state_dict(),
        "reference_descriptors": torch.from_numpy(desc),
        "reference_poses": torch.from_numpy(np.stack([p.matrix()[:3] for p in poses])),
    }
    with tempfile.TemporaryDirectory() as tmp:
        weights = Path(tmp) / "nerfmatch.pt"
        torch.save(state, weights)
        folder = write_checkpoint(
            target, "nerfmatch", {"nerfmatch.pt": weights}, config_json, metrics
        )
    log.info(
        "NeRFMatch heads saved to %s (patch accuracy %.2f)", folder, stats["final_patch_accuracy"]
    )
    return metrics
