"""A trained NeRF and rendering at any pose and intrinsics, in cancellable chunks.

Imports torch at module level: import it only where torch is needed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from locgui.core.camera import Camera
from locgui.core.pose import Rigid3
from locgui.methods.nerf.config import NerfConfig
from locgui.methods.nerf.data import fit_size, image_histogram, resize_camera
from locgui.methods.nerf.field import TriPlaneField
from locgui.methods.nerf.rays import camera_rays
from locgui.methods.nerf.render import RayBatch, RenderedRays, render_rays
from locgui.runtime.context import RunContext


@dataclass
class RenderOutput:
    """A rendered view (all numpy, on the CPU).

    Attributes:
        camera: the intrinsics rendered (possibly a resized copy of the one asked for).
        rgb: (H, W, 3) uint8.
        depth: (H, W) float32 z-depth in map units (NaN where the opacity is below 0.5).
        opacity: (H, W) float32 accumulated weight in [0, 1].
        points: (H, W, 3) float32 expected surface points, world frame, map units.
        features: (H, W, F) float32 rendered intermediate features, or None.
    """

    camera: Camera
    rgb: np.ndarray
    depth: np.ndarray
    opacity: np.ndarray
    points: np.ndarray
    features: np.ndarray | None = None


@dataclass
class NerfMeta:
    """What is saved beside the weights (config.json)."""

    config: NerfConfig
    box_min: list[float]
    box_max: list[float]
    near_min: float
    num_images: int
    mean_histogram: list[float]
    scene_fingerprint: str
    image_names: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "config": self.config.to_dict(),
            "box_min": list(self.box_min),
            "box_max": list(self.box_max),
            "near_min": self.near_min,
            "num_images": self.num_images,
            "mean_histogram": list(self.mean_histogram),
            "scene_fingerprint": self.scene_fingerprint,
            "image_names": list(self.image_names),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> NerfMeta:
        return cls(
            NerfConfig.from_dict(d["config"]),
            list(d["box_min"]),
            list(d["box_max"]),
            float(d["near_min"]),
            int(d["num_images"]),
            list(d["mean_histogram"]),
            str(d["scene_fingerprint"]),
            list(d.get("image_names", [])),
        )


class NerfModel:
    """A field plus what rendering needs (box, near plane, default appearance)."""

    def __init__(self, meta: NerfMeta, device: str | torch.device = "cpu") -> None:
        self.meta = meta
        self.device = torch.device(device)
        self.weights_id = ""  # content hash of the weight file it was loaded from
        self.field = TriPlaneField(
            meta.config,
            torch.tensor(meta.box_min),
            torch.tensor(meta.box_max),
            meta.num_images,
        ).to(self.device)

    @property
    def config(self) -> NerfConfig:
        return self.meta.config

    @property
    def feature_dim(self) -> int:
        return self.field.feature_dim

    def appearance_for(self, rgb: np.ndarray | None, n: int) -> torch.Tensor | None:
        """Appearance input for n rays: the histogram of ``rgb`` (DFNet: render with the
        query's exposure), else the mean training histogram / mean embedding."""
        mode = self.config.appearance
        if mode == "none":
            return None
        if mode == "embedding":
            return torch.full((n,), -1, dtype=torch.long, device=self.device)
        if rgb is not None:
            hist = image_histogram(rgb, self.config.hist_bins)
        else:
            hist = np.asarray(self.meta.mean_histogram, np.float32)
        return torch.from_numpy(hist).to(self.device).expand(n, -1)

    def rays(
        self, camera: Camera, cam_from_world: Rigid3, pixels: np.ndarray | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """World rays as float32 tensors on the model's device, see ``rays.camera_rays``."""
        o, d = camera_rays(camera, cam_from_world, pixels)
        as_t = lambda a: torch.from_numpy(a.astype(np.float32)).to(self.device)  # noqa: E731
        return as_t(o), as_t(d)

    def render_batch(self, rays: RayBatch, want_features: bool = False) -> RenderedRays:
        """Differentiable rendering of a ray batch (deterministic samples)."""
        cfg = self.config
        return render_rays(
            self.field,
            rays,
            self.meta.near_min,
            cfg.coarse_samples,
            cfg.fine_samples,
            perturb=False,
            want_features=want_features,
        )

    @torch.no_grad()
    def render_pixels(
        self,
        camera: Camera,
        cam_from_world: Rigid3,
        pixels: np.ndarray | None = None,
        *,
        appearance_rgb: np.ndarray | None = None,
        want_features: bool = False,
        chunk: int | None = None,
        ctx: RunContext | None = None,
    ) -> dict[str, np.ndarray]:
        """Render rays through ``pixels`` (None: every pixel) in chunks.

        Returns:
            dict of float32 arrays: rgb (N, 3) in [0, 1], depth (N,), opacity (N,),
            points (N, 3) and, if asked, features (N, F).
        """
        self.field.eval()
        o, d = self.rays(camera, cam_from_world, pixels)
        app = self.appearance_for(appearance_rgb, len(o))
        batch = RayBatch(o, d, app)
        if not chunk:  # GPUs want far bigger batches than the CPU default
            chunk = self.config.chunk * (16 if self.device.type == "cuda" else 1)
        parts: dict[str, list[torch.Tensor]] = {}
        for start in range(0, len(batch), chunk):
            if ctx is not None:
                ctx.check_cancelled()
            out = self.render_batch(batch.slice(start, start + chunk), want_features)
            for key in ("rgb", "depth", "opacity", "points", "features"):
                value = getattr(out, key)
                if value is not None:
                    parts.setdefault(key, []).append(value)
        return {k: torch.cat(v).float().cpu().numpy() for k, v in parts.items()}

    def render_view(
        self,
        camera: Camera,
        cam_from_world: Rigid3,
        *,
        max_side: int | None = None,
        appearance_rgb: np.ndarray | None = None,
        want_features: bool = False,
        chunk: int | None = None,
        ctx: RunContext | None = None,
    ) -> RenderOutput:
        """Render a whole image, shrunk so its longer side is at most ``max_side``."""
        w, h = fit_size(camera.width, camera.height, max_side)
        cam = camera if (w, h) == (camera.width, camera.height) else resize_camera(camera, w, h)
        out = self.render_pixels(
            cam,
            cam_from_world,
            None,
            appearance_rgb=appearance_rgb,
            want_features=want_features,
            chunk=chunk,
            ctx=ctx,
        )
        depth = out["depth"].reshape(h, w)
        opacity = out["opacity"].reshape(h, w)
        depth = np.where(opacity >= 0.5, depth, np.nan).astype(np.float32)
        feats = out.get("features")
        return RenderOutput(
            camera=cam,
            rgb=(np.clip(out["rgb"], 0, 1) * 255 + 0.5).astype(np.uint8).reshape(h, w, 3),
            depth=depth,
            opacity=opacity,
            points=out["points"].reshape(h, w, 3),
            features=None if feats is None else feats.reshape(h, w, -1),
        )
