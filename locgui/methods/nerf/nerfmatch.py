"""The ``nerfmatch`` localizer (NeRFMatch-Mini): retrieval -> NeRF points and features at the
reference pose -> dual-softmax 2D-3D matches -> PnP -> iterative / photometric refinement."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import torch

from locgui.core.camera import Camera
from locgui.core.errors import MethodError
from locgui.core.pose import Rigid3
from locgui.core.results import LocalizationResult, Query, Retrieved
from locgui.methods.checkpoint import (
    check_fingerprint,
    checkpoint_folder,
    load_state,
    read_config,
    shared_checkpoint,
)
from locgui.methods.nerf.backbone import STRIDE, get_backbone, global_descriptor, image_tensor
from locgui.methods.nerf.checkpoint import bundle_nerf
from locgui.methods.nerf.data import fit_size, resize_camera, resize_rgb
from locgui.methods.nerf.matching import MatchHead, dual_softmax, mutual_matches
from locgui.methods.nerf.query import (
    PoseEstimate,
    query_camera,
    render_extras,
    retrieve_from_bundle,
    solve_pnp,
)
from locgui.methods.nerf.rays import patch_centers
from locgui.methods.nerf.spec import NerfMatchConfig
from locgui.methods.nerf.train_match import Reference, render_reference
from locgui.runtime.context import RunContext, resolve_device

log = logging.getLogger(__name__)


def subpixel_positions(
    desc: torch.Tensor,
    pts: torch.Tensor,
    rows: torch.Tensor,
    cols: torch.Tensor,
    cam: Camera,
    temperature: float,
) -> torch.Tensor:
    """Query positions of matches refined within the 3x3 patches around the matched one.

    The expected patch centre under a softmax of the point's similarity to the neighbouring
    patch descriptors (a coarse stand-in for NeRFMatch's fine matching stage).

    Args:
        desc: (h*w, D) query patch descriptors, row-major on the patch grid of ``cam``.
        pts: (N, D) point descriptors.
        rows, cols: (K,) matched patch and point indices.
    Returns:
        (K, 2) pixel coordinates in ``cam``'s image, COLMAP convention.
    """
    w, h = cam.width // STRIDE, cam.height // STRIDE
    pr, pc = rows // w, rows % w
    offsets = torch.tensor([(dr, dc) for dr in (-1, 0, 1) for dc in (-1, 0, 1)], device=desc.device)
    nr = pr[:, None] + offsets[:, 0]
    nc = pc[:, None] + offsets[:, 1]
    inside = (nr >= 0) & (nr < h) & (nc >= 0) & (nc < w)
    idx = (nr.clamp(0, h - 1) * w + nc.clamp(0, w - 1)).long()  # (K, 9)
    sims = (desc[idx] * pts[cols][:, None]).sum(-1) / temperature
    prob = torch.softmax(sims.masked_fill(~inside, float("-inf")), dim=1)
    xy = torch.stack([(nc + 0.5) * STRIDE, (nr + 0.5) * STRIDE], dim=-1).to(prob.dtype)
    return (prob[..., None] * xy).sum(dim=1)


class NerfMatchLocalizer:
    """NeRFMatch-Mini on a bundle with capabilities "nerf" and "nerfmatch".

    Raises:
        MethodError: a checkpoint is missing, unreadable, or made for another scene / NeRF.
    """

    name = "nerfmatch"

    def __init__(self, bundle: Any, config: NerfMatchConfig, device: str = "cpu") -> None:
        self.bundle = bundle
        self.config = config
        self.device = torch.device(resolve_device(device))
        self.nerf = bundle_nerf(bundle, self.device)
        folder = checkpoint_folder(bundle, "nerfmatch")
        meta = read_config(folder)
        retrain = "locgui train nerfmatch"
        check_fingerprint(meta.get("scene_fingerprint"), bundle.scene, folder, retrain)
        if meta.get("nerf_weights") != self.nerf.weights_id:
            raise MethodError(
                f"{folder}: NeRFMatch was trained against another NeRF; run "
                "`locgui train nerfmatch` again"
            )
        state = shared_checkpoint(
            bundle, "nerfmatch", "nerfmatch.pt", self.device,
            lambda: load_state(folder / "nerfmatch.pt", self.device),
        )  # fmt: skip
        train = meta["train"]
        self.side = int(train["image_side"])
        self.temperature = float(train["temperature"])
        self.min_opacity = float(train["min_opacity"])
        self.head = MatchHead(int(meta["nerf_dim"]), int(train["dim"])).to(self.device).eval()
        self.head.load_state_dict(state["head"])
        self.ref_desc = state["reference_descriptors"].float().cpu()
        self.ref_poses = [Rigid3.from_matrix(m) for m in state["reference_poses"].cpu().numpy()]
        self.ref_ids = [int(i) for i in meta["reference_ids"]]
        self.ref_names = list(meta["reference_names"])
        self.retrieval_side = int(meta["retrieval_side"])
        self.backbone = get_backbone(self.device, bundle.resources)
        self.box = (np.asarray(self.nerf.meta.box_min), np.asarray(self.nerf.meta.box_max))
        mode = config.retrieval
        if mode == "auto":
            mode = "bundle" if "retrieval" in bundle.capabilities else "nerf"
        if mode == "bundle" and "retrieval" not in bundle.capabilities:
            raise MethodError("nerfmatch: retrieval=bundle but the map has no global index")
        self.retrieval_mode = mode

    # ------------------------------------------------------------------ steps
    def retrieve(self, query: Query, ctx: RunContext) -> list[tuple[Retrieved, Rigid3]]:
        """Reference poses, best first (``num_references`` of them)."""
        k = self.config.num_references
        exclude = () if query.held_out_image_id is None else (query.held_out_image_id,)
        if self.retrieval_mode == "bundle":
            hits = retrieve_from_bundle(self.bundle, query.image, k, exclude, str(self.device))
            images = self.bundle.scene.images
            return [(r, images[r.image_id].cam_from_world) for r in hits]
        h, w = query.image.shape[:2]
        sw, sh = fit_size(w, h, self.retrieval_side, multiple=32)
        with torch.no_grad():
            feats = self.backbone(image_tensor(resize_rgb(query.image, sw, sh), self.device))
            desc = global_descriptor(feats)[0].cpu()
        scores = (self.ref_desc @ desc).numpy()
        out = []
        for j in np.argsort(-scores):
            if self.ref_ids[j] in exclude:
                continue
            out.append(
                (Retrieved(self.ref_ids[j], self.ref_names[j], float(scores[j])), self.ref_poses[j])
            )
            if len(out) == k:
                break
        return out

    def encoder_view(self, rgb: np.ndarray, full_cam: Camera) -> tuple[Camera, np.ndarray]:
        """The encoder-size camera and image (longer side ``side``, multiples of 32)."""
        h, w = rgb.shape[:2]
        ew, eh = fit_size(w, h, self.side, multiple=32)
        return resize_camera(full_cam, ew, eh), resize_rgb(rgb, ew, eh)

    def encode(self, rgb: np.ndarray) -> torch.Tensor:
        """(h/8 * w/8, D) patch descriptors of an encoder-size image."""
        with torch.no_grad():
            x = image_tensor(rgb, self.device)
            return self.head.image_features(self.backbone(x), x)[0].flatten(1).T

    def feature_residual(
        self, rgb: np.ndarray, full_cam: Camera, pose: Rigid3, ctx: RunContext | None = None
    ) -> np.ndarray:
        """NeRFMatch's feature-metric residual at ``pose``: 1 - cosine similarity of the
        query's patch descriptors and those of the NeRF points rendered at the patch centres,
        (h, w) per 8x8 patch of the encoder-size image, NaN where the NeRF is empty."""
        cam, small = self.encoder_view(rgb, full_cam)
        desc = self.encode(small)
        ref = render_reference(self.nerf, cam, pose, self.min_opacity, ctx)
        with torch.no_grad():
            pts = self.head.point_features(*ref.tensors(self.box, self.device))
            sim = (desc * pts).sum(dim=-1).cpu().numpy()
        residual = np.where(ref.valid, 1.0 - sim, np.nan).astype(np.float32)
        return residual.reshape(cam.height // STRIDE, cam.width // STRIDE)

    def match_and_solve(
        self, cam: Camera, desc: torch.Tensor, pose: Rigid3, full_cam: Camera, ctx: RunContext
    ) -> PoseEstimate | None:
        """Render at ``pose``, match, PnP. ``cam`` is the encoder-size query camera."""
        with ctx.stage("render"):
            ref = render_reference(self.nerf, cam, pose, self.min_opacity, ctx)
        with ctx.stage("match"):
            valid = np.nonzero(ref.valid)[0]
            sub = Reference(ref.points[valid], ref.features[valid], ref.valid[valid])
            with torch.no_grad():
                pts = self.head.point_features(*sub.tensors(self.box, self.device))
                scores = dual_softmax(desc, pts, self.temperature)
                rows, cols, vals = mutual_matches(scores, self.config.match_threshold)
                if self.config.subpixel:
                    xy_t = subpixel_positions(desc, pts, rows, cols, cam, self.temperature)
                    xy = xy_t.cpu().double().numpy()
                else:
                    xy = patch_centers(cam.width, cam.height, STRIDE)[rows.cpu().numpy()]
            xyz = ref.points[valid[cols.cpu().numpy()]].astype(np.float64)
        with ctx.stage("pnp"):
            est = solve_pnp(xy, xyz, cam, self.config.ransac_threshold_px, full_cam)
        if est is not None:
            ctx.partial("matches_2d2d", est.matches)
        return est

    # ------------------------------------------------------------------ localize
    def localize(self, query: Query, ctx: RunContext) -> LocalizationResult:
        from locgui.methods.localize.common import normalize_image

        qctx = ctx.child()
        query = Query(query.name, normalize_image(query.image), query.camera,
                      query.gt_cam_from_world, query.path, query.held_out_image_id)  # fmt: skip
        full_cam, note = query_camera(query, self.bundle.scene, self.config.fov_deg)
        result = LocalizationResult(self.name, query.name, False, camera=full_cam, reason=note)
        self._localize(query, full_cam, result, qctx)
        if note and result.reason != note:
            result.reason = f"{result.reason}; {note}"
        result.timings = dict(qctx.timings)
        return result

    def _localize(
        self, query: Query, full_cam: Camera, result: LocalizationResult, ctx: RunContext
    ) -> None:
        cam, small = self.encoder_view(query.image, full_cam)
        with ctx.stage("retrieval"):
            refs = self.retrieve(query, ctx)
        result.retrieved = [r for r, _ in refs]
        if not refs:
            result.reason = "retrieval found no reference pose"
            return
        with ctx.stage("encode"):
            desc = self.encode(small)
        best: PoseEstimate | None = None
        for _ref, pose in refs:
            est = self.match_and_solve(cam, desc, pose, full_cam, ctx)
            if est is not None and (best is None or est.num_inliers > best.num_inliers):
                best = est
        if best is None:
            result.reason = "PnP found no pose from the NeRF matches"
            return
        best.history.append(("initial", best.cam_from_world))
        best = self._refine(best, cam, desc, small, full_cam, ctx)
        self._finish(result, best, full_cam, query, ctx)

    def _refine(
        self,
        est: PoseEstimate,
        cam: Camera,
        desc: torch.Tensor,
        small: np.ndarray,
        full_cam: Camera,
        ctx: RunContext,
    ) -> PoseEstimate:
        cfg = self.config
        for step in range(cfg.refine_steps):
            nxt = self.match_and_solve(cam, desc, est.cam_from_world, full_cam, ctx)
            # A reference closer to the query should match more of it: fewer inliers means
            # the new estimate is not better supported than the one it started from.
            if nxt is None or nxt.num_inliers < max(cfg.min_inliers, est.num_inliers):
                break
            nxt.history = [*est.history, (f"iterative {step + 1}", nxt.cam_from_world)]
            est = nxt
        if cfg.photometric_steps > 0:
            from locgui.methods.nerf.photometric import photometric_refine

            with ctx.stage("photometric"):
                pw, ph = fit_size(cam.width, cam.height, cfg.photometric_side)
                pose = photometric_refine(
                    self.nerf, resize_camera(cam, pw, ph), est.cam_from_world,
                    resize_rgb(small, pw, ph), cfg.photometric_steps, cfg.photometric_lr,
                    512, ctx,
                )  # fmt: skip
            nxt = self.match_and_solve(cam, desc, pose, full_cam, ctx)
            if nxt is not None and nxt.num_inliers >= max(cfg.min_inliers, est.num_inliers):
                nxt.history = [*est.history, ("photometric", pose), ("rematch", nxt.cam_from_world)]
                est = nxt
        return est

    def _finish(
        self,
        result: LocalizationResult,
        est: PoseEstimate,
        full_cam: Camera,
        query: Query,
        ctx: RunContext,
    ) -> None:
        cfg = self.config
        result.matches_2d3d = est.matches
        result.num_inliers = est.num_inliers
        result.extras["pose_history"] = est.history
        result.extras["threshold_px"] = est.threshold_px
        result.extras["retrieval_mode"] = self.retrieval_mode
        if est.num_inliers < cfg.min_inliers:
            result.reason = f"{est.num_inliers} inliers < {cfg.min_inliers}"
            return
        ratio = est.num_inliers / max(len(est.matches), 1)
        if ratio < cfg.min_inlier_ratio:
            result.reason = (
                f"{est.num_inliers} inliers are only {100 * ratio:.0f}% of "
                f"{len(est.matches)} matches (< {100 * cfg.min_inlier_ratio:g}%)"
            )
            return
        result.success = True
        result.reason = f"{est.num_inliers} inliers of {len(est.matches)} NeRF matches"
        result.cam_from_world = est.cam_from_world
        if cfg.render_side > 0:
            with ctx.stage("render result"):
                result.extras.update(
                    render_extras(self.nerf, full_cam, est.cam_from_world, cfg.render_side,
                                  query.image, ctx)
                )  # fmt: skip
