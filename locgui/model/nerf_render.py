"""NeRF renderings for the views: the scene's NeRF at an estimated, ground-truth or free
viewpoint pose, and the images the NeRF view composes from them (blend with the query,
photometric difference, depth). Qt-free; rendering runs in a worker through the bridge."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from locgui.core.camera import Camera
from locgui.core.errors import MethodError
from locgui.core.pose import Rigid3
from locgui.runtime.context import RunContext

NO_NERF = "this map has no NeRF: train one with `locgui train nerf SCENE.locmap`"


@dataclass(frozen=True)
class NerfRequest:
    """What to render (an immutable snapshot handed to the worker).

    Attributes:
        camera: intrinsics of the full-size view. cam_from_world: the pose.
        max_side: the rendering's longer side, pixels. appearance: (H, W, 3) uint8 image
            whose exposure the rendering matches (the query), or None.
        label: what the pose is ("sfm estimate", "ground truth", "3D view").
    """

    camera: Camera
    cam_from_world: Rigid3
    max_side: int
    appearance: np.ndarray | None = None
    label: str = ""


class NerfRenderer:
    """Renders requests with the bundle's NeRF, which the bundle's resource cache loads once
    per device and shares with the localizers and live mode."""

    def model(self, bundle: Any, device: str) -> Any:
        if bundle is None or "nerf" not in _capabilities(bundle):
            raise MethodError(NO_NERF)
        from locgui.methods.nerf.checkpoint import bundle_nerf

        return bundle_nerf(bundle, device)

    def feature_residual(
        self, bundle: Any, request: NerfRequest, device: str, ctx: RunContext
    ) -> np.ndarray | None:
        """NeRFMatch's per-patch feature residual of the request's appearance image (the
        query) at its pose, or None without a query or a trained NeRFMatch."""
        if request.appearance is None or "nerfmatch" not in _capabilities(bundle):
            return None
        from locgui.methods.registry import get_method

        spec = get_method("nerfmatch")
        matcher = bundle.resources.get(
            "nerfmatch view", device, lambda: spec.create(bundle, spec.make_config(), device)
        )
        with ctx.stage("feature residual"):
            return matcher.feature_residual(
                request.appearance, request.camera, request.cam_from_world, ctx
            )

    def render(self, bundle: Any, request: NerfRequest, device: str, ctx: RunContext) -> Any:
        """A ``RenderOutput`` (rgb, depth, ...) at the request's pose and size."""
        model = self.model(bundle, device)
        with ctx.stage("render"):
            return model.render_view(
                request.camera,
                request.cam_from_world,
                max_side=request.max_side,
                appearance_rgb=request.appearance,
                ctx=ctx,
            )


def _capabilities(bundle: Any) -> set[str]:
    return set(getattr(bundle, "capabilities", ()) or ())


def fit_to(rgb: np.ndarray, width: int, height: int) -> np.ndarray:
    """(H, W, 3) uint8 resized to ``width`` x ``height`` (area averaging when shrinking)."""
    if rgb.shape[1] == width and rgb.shape[0] == height:
        return rgb
    import cv2

    return cv2.resize(rgb, (width, height), interpolation=cv2.INTER_AREA)


def blend(query: np.ndarray, rendering: np.ndarray, alpha: float) -> np.ndarray:
    """``(1 - alpha) * query + alpha * rendering`` at the rendering's size, uint8."""
    q = fit_to(query, rendering.shape[1], rendering.shape[0]).astype(np.float32)
    out = (1.0 - alpha) * q + alpha * rendering.astype(np.float32)
    return np.clip(out + 0.5, 0, 255).astype(np.uint8)


def difference(
    query: np.ndarray, rendering: np.ndarray, gain: float = 4.0
) -> tuple[np.ndarray, float]:
    """Photometric residual |query - rendering| (mean over channels) as a grey image scaled by
    ``gain``, and its mean in grey levels (0-255) before scaling."""
    q = fit_to(query, rendering.shape[1], rendering.shape[0]).astype(np.float32)
    res = np.abs(q - rendering.astype(np.float32)).mean(axis=2)
    grey = np.clip(res * gain + 0.5, 0, 255).astype(np.uint8)
    return np.repeat(grey[:, :, None], 3, axis=2), float(res.mean())


def residual_image(residual: np.ndarray, width: int, height: int) -> tuple[np.ndarray, float]:
    """Per-patch feature residual (1 - cosine, NaN: unknown) -> (height, width, 3) uint8 grey,
    0 black to >= 1 white, unknown patches dark blue; and the mean over known patches."""
    import cv2

    known = np.isfinite(residual)
    grey = (255 * np.clip(np.nan_to_num(residual, nan=0.0), 0.0, 1.0) + 0.5).astype(np.uint8)
    rgb = np.repeat(grey[:, :, None], 3, axis=2)
    rgb[~known] = (20, 30, 90)
    big = cv2.resize(rgb, (width, height), interpolation=cv2.INTER_NEAREST)
    return big, float(residual[known].mean()) if known.any() else float("nan")


def depth_image(depth: np.ndarray) -> tuple[np.ndarray, tuple[float, float]]:
    """(H, W) depth (NaN: empty) -> (H, W, 3) uint8, near bright and far dark, black where
    empty; and the (near, far) range shown (2nd-98th percentiles)."""
    finite = depth[np.isfinite(depth)]
    if len(finite) == 0:
        return np.zeros((*depth.shape, 3), np.uint8), (0.0, 0.0)
    near, far = (float(v) for v in np.percentile(finite, [2, 98]))
    far = max(far, near + 1e-9)
    t = np.clip((far - np.nan_to_num(depth, nan=far)) / (far - near), 0.0, 1.0)
    grey = (255 * t + 0.5).astype(np.uint8)
    grey[~np.isfinite(depth)] = 0
    return np.repeat(grey[:, :, None], 3, axis=2), (near, far)
