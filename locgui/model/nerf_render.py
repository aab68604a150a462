"""Renderings for the NeRF view: the map's view-rendering model (a NeRF, or whatever else a
trainer declares a ``renderer`` for) at an estimated, ground-truth or free viewpoint pose, and
the images the view composes from them (blend with the query, photometric difference, depth,
NeRFMatch's feature residual). Qt-free; rendering runs in a worker through the bridge."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

from locgui.core.camera import Camera
from locgui.core.errors import MethodError
from locgui.core.pose import Rigid3
from locgui.runtime.context import RunContext

FEATURE_RESIDUAL_CAPABILITY = "nerfmatch"  # NeRF-specific: NeRFMatch's heads on the NeRF


def view_renderers(capabilities: Iterable[str]) -> list[Any]:
    """The ``TrainerSpec`` s whose trained model renders views and whose capabilities the map
    has, in registry order (the first is the default)."""
    from locgui.methods.registry import all_trainers

    caps = set(capabilities)
    return [t for t in all_trainers() if t.renderer and all(c in caps for c in t.provides)]


def no_renderer_message() -> str:
    """Why nothing can be rendered, naming the trainers that would make it possible."""
    from locgui.methods.registry import all_trainers

    hints = [f"`locgui train {t.name} SCENE.locmap`" for t in all_trainers() if t.renderer]
    if not hints:
        return "this map has nothing that renders views, and no installed trainer makes one"
    return f"this map has nothing that renders views: train one with {' or '.join(hints)}"


@dataclass(frozen=True)
class RenderRequest:
    """What to render (an immutable snapshot handed to the worker).

    Attributes:
        camera: intrinsics of the full-size view. cam_from_world: the pose.
        max_side: the rendering's longer side, pixels. appearance: (H, W, 3) uint8 image
            whose exposure the rendering matches (the query), or None.
        label: what the pose is ("sfm estimate", "ground truth", "3D view").
        renderer: the name of the ``TrainerSpec`` whose model renders it.
    """

    camera: Camera
    cam_from_world: Rigid3
    max_side: int
    appearance: np.ndarray | None = None
    label: str = ""
    renderer: str = "nerf"


def fit_camera(camera: Camera, max_side: int | None) -> Camera:
    """The camera of the same view shrunk so its longer side is at most ``max_side``."""
    from locgui.methods.nerf.data import fit_size, resize_camera  # numpy-only helpers

    w, h = fit_size(camera.width, camera.height, max_side)
    return camera if (w, h) == (camera.width, camera.height) else resize_camera(camera, w, h)


class ViewRenderer:
    """Renders requests with the map's model through ``TrainerSpec.make_renderer`` (models
    come from the bundle's resource cache: loaded once per device, shared with the
    localizers and live mode)."""

    def model(self, bundle: Any, renderer: str, device: str) -> Any:
        from locgui.methods.registry import get_trainer

        spec = get_trainer(renderer)
        caps = _capabilities(bundle)
        if bundle is None or not spec.renderer or any(c not in caps for c in spec.provides):
            raise MethodError(no_renderer_message())
        return spec.make_renderer(bundle, device)

    def render(self, bundle: Any, request: RenderRequest, device: str, ctx: RunContext) -> Any:
        """The model's rendering (``rgb`` (h, w, 3) uint8, ``depth`` (h, w) float32 z-depth,
        NaN: empty) at the request's pose, with the camera shrunk to ``max_side``."""
        model = self.model(bundle, request.renderer, device)
        camera = fit_camera(request.camera, request.max_side)
        with ctx.stage("render"):
            return model.render_view(
                camera, request.cam_from_world, appearance_rgb=request.appearance, ctx=ctx
            )

    def feature_residual(
        self, bundle: Any, request: RenderRequest, device: str, ctx: RunContext
    ) -> np.ndarray | None:
        """NeRFMatch's per-patch feature residual of the request's appearance image (the
        query) at its pose, or None without a query or a trained NeRFMatch."""
        if request.appearance is None or FEATURE_RESIDUAL_CAPABILITY not in _capabilities(bundle):
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
