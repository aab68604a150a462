"""The ``scr`` localizer (SACReg section 3.3 on a per-scene head).

Dense prediction of encoded scene coordinates and confidence, the inverse mapping psi^-1 over
the training coordinates' range, the most confident ``keep_fraction`` of the cells (paper: 50%),
at most ``max_correspondences`` of them sampled at random (paper: 4096), then PnP-RANSAC with
non-linear refinement (pycolmap). Stages: "network", "inverse", "pnp".
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np

from locgui.core.camera import Camera
from locgui.core.errors import BundleError, LocguiError, MethodError
from locgui.core.results import LocalizationResult, Matches2D3D, Query, SceneCoordinates
from locgui.core.scene import DepthInfo
from locgui.methods.checkpoint import shared_checkpoint
from locgui.methods.scr.config import ScrConfig
from locgui.methods.scr.data import CellGrid, depth_targets, make_grid
from locgui.runtime.context import RunContext, resolve_device

log = logging.getLogger(__name__)


class ScrLocalizer:
    """``ScrLocalizer(bundle, config, device)``; needs the bundle's checkpoint "scr"."""

    name = "scr"

    def __init__(self, bundle: Any, config: ScrConfig | None = None, device: str = "cpu") -> None:
        from locgui.methods.scr.checkpoint import load_checkpoint

        self.bundle = bundle
        self.config = config or ScrConfig()
        self.device = resolve_device(device)
        try:
            folder = Path(bundle.checkpoint_dir("scr"))
        except BundleError as exc:
            raise MethodError(f"{exc}; train it with `locgui train scr`") from exc
        self.model = shared_checkpoint(
            bundle, "scr", "weights.pt", self.device,
            lambda: load_checkpoint(folder, bundle.scene, self.device),
        )  # fmt: skip
        self._source_scene: Any = None

    # ------------------------------------------------------------------ inference
    def predict(self, rgb: np.ndarray) -> tuple[CellGrid, np.ndarray, np.ndarray]:
        """Network outputs of an image: grid, y (h, w, out_dim) float32, tau (h, w) float32."""
        import torch

        from locgui.methods.scr.buffer import image_tensor
        from locgui.methods.scr.data import resize_for

        grid = make_grid(rgb.shape[1], rgb.shape[0], self.model.meta.max_side)
        x = image_tensor(resize_for(rgb, grid), self.device)
        with torch.no_grad():
            y, tau = self.model.network(x)
        return grid, y[0].float().cpu().numpy(), tau[0].float().cpu().numpy()

    def localize(self, query: Query, ctx: RunContext) -> LocalizationResult:
        from locgui.methods.localize.common import QueryFailure, normalize_image, query_intrinsics

        qctx = ctx.child()
        result = LocalizationResult(method=self.name, query_name=query.name, success=False)
        try:
            rgb = normalize_image(query.image)
            intr = query_intrinsics(
                query, rgb.shape[1], rgb.shape[0], self.bundle, self.config.fov_deg,
                self.config.use_map_camera,
            )  # fmt: skip
            result.camera = intr.camera
            result.extras["intrinsics_source"] = intr.source
            coords = self._scene_coordinates(rgb, query, intr.camera, qctx)
            result.scene_coordinates = coords
            qctx.partial("scene_coordinates", coords)
            self._solve(coords, intr.camera, intr.guessed, qctx, result)
            if intr.note:
                result.reason = f"{result.reason}; {intr.note}"
        except QueryFailure as exc:
            result.success = False
            result.cam_from_world = None
            result.reason = str(exc)
        result.timings = dict(qctx.timings)
        return result

    def _scene_coordinates(
        self, rgb: np.ndarray, query: Query, camera: Camera, ctx: RunContext
    ) -> SceneCoordinates:
        from locgui.methods.scr.train import predicted_xyz

        with ctx.stage("network"):
            grid, y, tau = self.predict(rgb)
        with ctx.stage("inverse"):
            xyz = predicted_xyz(y, self.model.meta, self.config.search_margin)
        gt = self._ground_truth(query, camera, grid)
        return SceneCoordinates(grid.xy(), xyz, tau.astype(np.float64), gt)

    def _solve(
        self,
        coords: SceneCoordinates,
        camera: Camera,
        guessed: bool,
        ctx: RunContext,
        result: LocalizationResult,
    ) -> None:
        from locgui.methods.localize.common import QueryFailure
        from locgui.methods.localize.pnp import absolute_pose

        cfg = self.config
        pick = select_cells(coords.confidence, cfg.keep_fraction, cfg.max_correspondences, cfg.seed)
        xy = coords.xy.reshape(-1, 2)[pick]
        xyz = coords.xyz.reshape(-1, 3)[pick]
        n = len(pick)
        matches = Matches2D3D(
            xy, xyz, np.full(n, -1, np.int64), np.full(n, -1, np.int64),
            np.zeros(n, bool), np.full(n, np.nan),
        )  # fmt: skip
        result.matches_2d3d = matches
        ctx.partial("matches_2d3d", matches)
        if n < max(4, cfg.min_inliers):
            raise QueryFailure(f"only {n} confident scene coordinates (< {cfg.min_inliers})")
        with ctx.stage("pnp"):
            pnp = absolute_pose(
                xy, xyz, camera, cfg.ransac_threshold, refine=cfg.refine,
                estimate_focal=guessed and cfg.estimate_focal, seed=cfg.seed,
                max_trials=cfg.ransac_iterations,
            )  # fmt: skip
        if pnp is None:
            raise QueryFailure(f"PnP-RANSAC found no pose from {n} scene coordinates")
        matches.inliers, matches.reproj_error = pnp.inliers, pnp.reproj_error
        result.num_inliers = pnp.num_inliers
        if pnp.num_inliers < cfg.min_inliers:
            raise QueryFailure(f"{pnp.num_inliers} inliers < {cfg.min_inliers}")
        result.success = True
        result.cam_from_world = pnp.cam_from_world
        result.camera = pnp.camera
        result.extras["threshold_px"] = float(cfg.ransac_threshold)
        result.reason = f"{pnp.num_inliers} inliers of {n} confident scene coordinates"

    # ------------------------------------------------------------------ ground truth
    def _ground_truth(self, query: Query, camera: Camera, grid: CellGrid) -> np.ndarray | None:
        """(h, w, 3) true scene coordinates when the query has a GT pose and a depth map."""
        if query.gt_cam_from_world is None:
            return None
        info = self._query_depth(query)
        if info is None:
            return None
        from locgui.io.images import read_depth

        try:
            depth = read_depth(info)
        except LocguiError as exc:
            log.warning("scr: no ground-truth scene coordinates for %s: %s", query.name, exc)
            return None
        if depth.shape != (camera.height, camera.width):
            return None
        return depth_targets(depth, camera, query.gt_cam_from_world, grid)

    def _query_depth(self, query: Query) -> DepthInfo | None:
        scene = self.bundle.scene
        if query.held_out_image_id is not None and query.held_out_image_id in scene.images:
            return scene.images[query.held_out_image_id].depth
        names = [query.name] + ([query.path.name] if query.path is not None else [])
        for name in names:
            im = scene.image_by_name(name)
            if im is not None and im.depth is not None:
                return im.depth
        source = self._source()
        if source is None or query.path is None:
            return None
        for im in source.images.values():
            if im.depth is not None and source.image_dir is not None:
                if Path(source.image_dir / im.name).resolve() == Path(query.path).resolve():
                    return im.depth
        return None

    def _source(self) -> Any:
        """The scene the map was built from (it has the query split's depth), if it opens."""
        if self._source_scene is None:
            self._source_scene = False
            path = self.bundle.manifest.get("source", {}).get("path")
            if path:
                from locgui.io import open_scene

                try:
                    self._source_scene = open_scene(path)
                except LocguiError as exc:
                    log.debug("scr: source scene %s does not open: %s", path, exc)
        return self._source_scene or None


def select_cells(confidence: np.ndarray, keep: float, limit: int, seed: int) -> np.ndarray:
    """Flat indices of the ``keep`` most confident cells, at most ``limit`` sampled at random."""
    conf = confidence.reshape(-1)
    order = np.argsort(-conf, kind="stable")
    kept = order[: max(1, int(round(keep * len(conf))))]
    if len(kept) > limit:
        rng = np.random.default_rng(None if seed < 0 else seed)
        kept = np.sort(rng.choice(kept, limit, replace=False))
    return kept
