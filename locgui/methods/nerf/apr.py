"""The ``apr`` localizer: a per-scene pose regressor, optionally refined by matching the query
against the NeRF rendering at the regressed pose (render RGB + depth, XFeat matches, the
rendered depth lifts the rendering's keypoints to 3D, PnP)."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import torch

from locgui.core.camera import Camera
from locgui.core.errors import MethodError
from locgui.core.pose import Rigid3, project_to_rotation
from locgui.core.results import LocalizationResult, Query
from locgui.methods.checkpoint import (
    check_fingerprint,
    checkpoint_folder,
    load_state,
    read_config,
    shared_checkpoint,
)
from locgui.methods.nerf.backbone import get_backbone, image_tensor
from locgui.methods.nerf.checkpoint import bundle_nerf
from locgui.methods.nerf.data import fit_size, resize_camera, resize_rgb
from locgui.methods.nerf.query import PoseEstimate, query_camera, render_extras, solve_pnp
from locgui.methods.nerf.spec import AprConfig
from locgui.runtime.context import RunContext, resolve_device

log = logging.getLogger(__name__)


class AprLocalizer:
    """DFNet-style absolute pose regression on a bundle with capability "apr"."""

    name = "apr"

    def __init__(self, bundle: Any, config: AprConfig, device: str = "cpu") -> None:
        from locgui.methods.nerf.apr_model import PoseRegressor

        self.bundle = bundle
        self.config = config
        self.device = torch.device(resolve_device(device))
        folder = checkpoint_folder(bundle, "apr")
        meta = read_config(folder)
        check_fingerprint(meta.get("scene_fingerprint"), bundle.scene, folder, "locgui train apr")
        self.side = int(meta["image_side"])
        self.mean = np.asarray(meta["centre_mean"], np.float64)
        self.radius = float(meta["radius"])
        def load() -> Any:
            model = PoseRegressor(int(meta["train"]["hidden"])).to(self.device)
            model.load_state_dict(load_state(folder / "apr.pt", self.device))
            return model.eval()

        self.model = shared_checkpoint(bundle, "apr", "apr.pt", self.device, load)
        self.backbone = get_backbone(self.device, bundle.resources)
        needs_nerf = config.refine == "match" or config.render_side > 0
        has_nerf = "nerf" in bundle.capabilities
        if config.refine == "match" and not has_nerf:
            raise MethodError("apr: refine=match needs the map's NeRF; train it with "
                              "`locgui train nerf`")  # fmt: skip
        self.nerf = bundle_nerf(bundle, self.device) if needs_nerf and has_nerf else None
        self._extractor: Any = None
        self._matcher: Any = None

    def regress(self, rgb: np.ndarray) -> Rigid3:
        """cam_from_world regressed from an (H, W, 3) uint8 image."""
        h, w = rgb.shape[:2]
        sw, sh = fit_size(w, h, self.side, multiple=32)
        with torch.no_grad():
            feats = self.backbone(image_tensor(resize_rgb(rgb, sw, sh), self.device))
            centre, rot = self.model(feats)
        R = project_to_rotation(rot[0].double().cpu().numpy())
        c = centre[0].double().cpu().numpy() * self.radius + self.mean
        return Rigid3(R, -R @ c)

    def localize(self, query: Query, ctx: RunContext) -> LocalizationResult:
        from locgui.methods.localize.common import normalize_image

        qctx = ctx.child()
        rgb = normalize_image(query.image)
        camera, note = query_camera(query, self.bundle.scene, self.config.fov_deg)
        result = LocalizationResult(self.name, query.name, False, camera=camera)
        with qctx.stage("regress"):
            pose = self.regress(rgb)
        history = [("regressed", pose)]
        reasons = ["regressed pose"]
        if self.config.refine == "match" and self.nerf is not None:
            for step in range(self.config.refine_steps):
                est = self.refine(rgb, camera, pose, qctx)
                if est is None or est.num_inliers < self.config.min_inliers:
                    n = 0 if est is None else est.num_inliers
                    reasons.append(f"refinement {step + 1} rejected ({n} inliers)")
                    break
                pose = est.cam_from_world
                history.append((f"matched {step + 1}", pose))
                result.matches_2d3d, result.num_inliers = est.matches, est.num_inliers
                result.extras["threshold_px"] = est.threshold_px
                reasons.append(f"refinement {step + 1}: {est.num_inliers} inliers")
        result.success = True
        result.cam_from_world = pose
        result.reason = "; ".join([*reasons, note] if note else reasons)
        result.extras["pose_history"] = history
        if self.nerf is not None and self.config.render_side > 0:
            with qctx.stage("render result"):
                result.extras.update(
                    render_extras(self.nerf, camera, pose, self.config.render_side, rgb, qctx)
                )
        result.timings = dict(qctx.timings)
        return result

    def _features(self) -> tuple[Any, Any]:
        if self._extractor is None:
            from locgui.methods.features import get_extractor, get_matcher

            dev = str(self.device)
            shared = self.bundle.resources
            self._extractor = get_extractor(
                "xfeat", device=dev, resources=shared, top_k=self.config.max_keypoints
            )
            self._matcher = get_matcher("mnn", device=dev, resources=shared)
        return self._extractor, self._matcher

    def refine(
        self, rgb: np.ndarray, camera: Camera, pose: Rigid3, ctx: RunContext
    ) -> PoseEstimate | None:
        """Match the query to the NeRF rendering at ``pose``; PnP on the lifted matches."""
        assert self.nerf is not None
        extractor, matcher = self._features()
        w, h = fit_size(camera.width, camera.height, self.config.refine_side)
        cam = resize_camera(camera, w, h)
        small = resize_rgb(rgb, w, h)
        with ctx.stage("render"):
            render = self.nerf.render_view(cam, pose, appearance_rgb=small, ctx=ctx)
        with ctx.stage("match"):
            f_q = extractor.extract(small)
            f_r = extractor.extract(render.rgb)
            m = matcher.match(f_q, f_r)
            kp_r = f_r.keypoints[m.idx1].astype(np.float64)
            col = np.clip(kp_r[:, 0].astype(int), 0, w - 1)
            row = np.clip(kp_r[:, 1].astype(int), 0, h - 1)
            z = render.depth[row, col]
            ok = np.isfinite(z) & (z > 0)
            xyz = pose.inverse().apply(cam.unproject(kp_r[ok], z[ok]))
            xy = f_q.keypoints[m.idx0][ok].astype(np.float64)
        with ctx.stage("pnp"):
            est = solve_pnp(xy, xyz, cam, self.config.ransac_threshold_px, camera)
        if est is not None:
            ctx.partial("matches_2d2d", est.matches)
        return est
