"""Camera models (COLMAP conventions) with projection, unprojection and undistortion.

Pixel convention (COLMAP): the centre of the top-left pixel is (0.5, 0.5), so a pixel
(col, row) in array indices has centre (col + 0.5, row + 0.5). Camera frame (OpenCV):
x right, y down, z forward.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from locgui.core.errors import UnsupportedCameraModel

# Parameter names per supported model, in COLMAP's order.
MODEL_PARAMS: dict[str, tuple[str, ...]] = {
    "SIMPLE_PINHOLE": ("f", "cx", "cy"),
    "PINHOLE": ("fx", "fy", "cx", "cy"),
    "SIMPLE_RADIAL": ("f", "cx", "cy", "k"),
    "RADIAL": ("f", "cx", "cy", "k1", "k2"),
    "OPENCV": ("fx", "fy", "cx", "cy", "k1", "k2", "p1", "p2"),
}


@dataclass(frozen=True)
class Camera:
    """An intrinsic camera model.

    Attributes:
        model: COLMAP model name, one of ``MODEL_PARAMS``.
        width: image width in pixels.
        height: image height in pixels.
        params: model parameters in COLMAP order (see ``MODEL_PARAMS``).
        camera_id: identifier within its scene (COLMAP camera id).
    """

    model: str
    width: int
    height: int
    params: tuple[float, ...]
    camera_id: int = 1

    def __post_init__(self) -> None:
        if self.model not in MODEL_PARAMS:
            raise UnsupportedCameraModel(
                f"camera model {self.model!r} is not supported "
                f"(supported: {', '.join(MODEL_PARAMS)})"
            )
        expected = len(MODEL_PARAMS[self.model])
        if len(self.params) != expected:
            raise UnsupportedCameraModel(
                f"camera model {self.model} takes {expected} parameters, got {len(self.params)}"
            )
        object.__setattr__(self, "params", tuple(float(p) for p in self.params))
        # A crafted file must not yield a camera that projects nowhere (or into NaN).
        # 0: not known yet (calibration files); a negative size read as unsigned is huge.
        if not (0 <= self.width < 1 << 20 and 0 <= self.height < 1 << 20):
            raise UnsupportedCameraModel(
                f"camera {self.camera_id}: implausible image size {self.width}x{self.height}"
            )
        named = zip(MODEL_PARAMS[self.model], self.params, strict=True)
        if not all(math.isfinite(p) and (p > 0 or not n.startswith("f")) for n, p in named):
            raise UnsupportedCameraModel(
                f"camera {self.camera_id}: parameters must be finite with a positive focal "
                f"length, got {list(self.params)}"
            )

    # ------------------------------------------------------------------ constructors
    @classmethod
    def pinhole(
        cls, fx: float, fy: float, cx: float, cy: float, width: int, height: int, camera_id: int = 1
    ) -> Camera:
        return cls("PINHOLE", width, height, (fx, fy, cx, cy), camera_id)

    @classmethod
    def from_fov(cls, width: int, height: int, fov_deg: float = 60.0, camera_id: int = 1) -> Camera:
        """A SIMPLE_PINHOLE guess from the horizontal field of view in degrees."""
        f = 0.5 * width / np.tan(np.deg2rad(fov_deg) / 2)
        return cls("SIMPLE_PINHOLE", width, height, (f, width / 2, height / 2), camera_id)

    # ------------------------------------------------------------------ accessors
    @property
    def param_dict(self) -> dict[str, float]:
        return dict(zip(MODEL_PARAMS[self.model], self.params, strict=True))

    @property
    def focal(self) -> tuple[float, float]:
        p = self.param_dict
        return (p["f"], p["f"]) if "f" in p else (p["fx"], p["fy"])

    @property
    def principal_point(self) -> tuple[float, float]:
        p = self.param_dict
        return p["cx"], p["cy"]

    @property
    def distortion(self) -> tuple[float, float, float, float]:
        """(k1, k2, p1, p2), zeros where the model has none."""
        p = self.param_dict
        return (p.get("k", p.get("k1", 0.0)), p.get("k2", 0.0), p.get("p1", 0.0), p.get("p2", 0.0))

    @property
    def has_distortion(self) -> bool:
        return any(d != 0.0 for d in self.distortion)

    def K(self) -> np.ndarray:
        """(3, 3) intrinsic matrix in COLMAP pixel convention."""
        fx, fy = self.focal
        cx, cy = self.principal_point
        return np.array([[fx, 0, cx], [0, fy, cy], [0, 0, 1]], dtype=np.float64)

    def pinhole_camera(self) -> Camera:
        """The same camera with distortion removed (PINHOLE model)."""
        fx, fy = self.focal
        cx, cy = self.principal_point
        return Camera.pinhole(fx, fy, cx, cy, self.width, self.height, self.camera_id)

    def scaled(self, factor: float) -> Camera:
        """The camera for an image resized by ``factor`` (keeps COLMAP's pixel convention)."""
        names = MODEL_PARAMS[self.model]
        params = [
            v * factor if n in ("f", "fx", "fy", "cx", "cy") else v
            for n, v in zip(names, self.params, strict=True)
        ]
        w, h = round(self.width * factor), round(self.height * factor)
        return Camera(self.model, w, h, tuple(params), self.camera_id)

    # ------------------------------------------------------------------ distortion
    def distort(self, uv: np.ndarray) -> np.ndarray:
        """Apply lens distortion to normalized coordinates.

        Args:
            uv: (N, 2) undistorted normalized image coordinates (x/z, y/z).
        Returns:
            (N, 2) distorted normalized coordinates.
        """
        k1, k2, p1, p2 = self.distortion
        u, v = uv[:, 0], uv[:, 1]
        r2 = u * u + v * v
        radial = k1 * r2 + k2 * r2 * r2
        du = u * radial + 2 * p1 * u * v + p2 * (r2 + 2 * u * u)
        dv = v * radial + 2 * p2 * u * v + p1 * (r2 + 2 * v * v)
        return np.stack([u + du, v + dv], axis=1)

    def undistort_normalized(self, uv_d: np.ndarray, iterations: int = 20) -> np.ndarray:
        """Invert ``distort`` by Newton iterations with a numeric Jacobian.

        Args:
            uv_d: (N, 2) distorted normalized coordinates.
        Returns:
            (N, 2) undistorted normalized coordinates.
        """
        uv = np.array(uv_d, dtype=np.float64, copy=True)
        if not self.has_distortion:
            return uv
        eps = 1e-9
        for _ in range(iterations):
            residual = self.distort(uv) - uv_d
            if np.max(np.abs(residual), initial=0.0) < 1e-14:
                break
            jx = (self.distort(uv + [eps, 0]) - self.distort(uv - [eps, 0])) / (2 * eps)
            jy = (self.distort(uv + [0, eps]) - self.distort(uv - [0, eps])) / (2 * eps)
            a, c = jx[:, 0], jx[:, 1]
            b, d = jy[:, 0], jy[:, 1]
            det = a * d - b * c
            det = np.where(np.abs(det) < 1e-12, 1e-12, det)
            step_u = (d * residual[:, 0] - b * residual[:, 1]) / det
            step_v = (-c * residual[:, 0] + a * residual[:, 1]) / det
            uv -= np.stack([step_u, step_v], axis=1)
        return uv

    # ------------------------------------------------------------------ projection
    def project(self, points_cam: np.ndarray) -> np.ndarray:
        """Project camera-frame points to pixels.

        Args:
            points_cam: (N, 3) points in the camera frame (z forward).
        Returns:
            (N, 2) pixel coordinates, COLMAP convention. Points with z <= 0 give NaN.
        """
        points_cam = np.asarray(points_cam, dtype=np.float64).reshape(-1, 3)
        z = points_cam[:, 2]
        with np.errstate(divide="ignore", invalid="ignore"):
            uv = points_cam[:, :2] / z[:, None]
        uv[z <= 0] = np.nan
        return self.normalized_to_pixels(self.distort(uv))

    def normalized_to_pixels(self, uv_d: np.ndarray) -> np.ndarray:
        """(N, 2) distorted normalized coordinates -> (N, 2) pixels."""
        fx, fy = self.focal
        cx, cy = self.principal_point
        return np.stack([fx * uv_d[:, 0] + cx, fy * uv_d[:, 1] + cy], axis=1)

    def pixels_to_normalized(self, pixels: np.ndarray) -> np.ndarray:
        """(N, 2) pixels -> (N, 2) undistorted normalized coordinates (x/z, y/z)."""
        pixels = np.asarray(pixels, dtype=np.float64).reshape(-1, 2)
        fx, fy = self.focal
        cx, cy = self.principal_point
        uv_d = np.stack([(pixels[:, 0] - cx) / fx, (pixels[:, 1] - cy) / fy], axis=1)
        return self.undistort_normalized(uv_d)

    def unproject(self, pixels: np.ndarray, depth: np.ndarray | float | None = None) -> np.ndarray:
        """Rays or points in the camera frame for pixels.

        Args:
            pixels: (N, 2) pixel coordinates, COLMAP convention.
            depth: z-depth per pixel ((N,) or scalar), in map units; None gives rays with z = 1.
        Returns:
            (N, 3) camera-frame points (z = depth) or rays with z = 1.
        """
        uv = self.pixels_to_normalized(pixels)
        rays = np.concatenate([uv, np.ones((len(uv), 1))], axis=1)
        if depth is None:
            return rays
        return rays * np.asarray(depth, dtype=np.float64).reshape(-1, 1)

    def undistort_pixels(self, pixels: np.ndarray) -> np.ndarray:
        """Pixels of this camera -> pixels of ``pinhole_camera()``."""
        uv = self.pixels_to_normalized(pixels)
        fx, fy = self.focal
        cx, cy = self.principal_point
        return np.stack([fx * uv[:, 0] + cx, fy * uv[:, 1] + cy], axis=1)

    def in_image(self, pixels: np.ndarray, margin: float = 0.0) -> np.ndarray:
        """(N,) bool: pixel coordinates inside the image bounds."""
        x, y = pixels[:, 0], pixels[:, 1]
        with np.errstate(invalid="ignore"):
            return (
                (x >= margin)
                & (y >= margin)
                & (x <= self.width - margin)
                & (y <= self.height - margin)
            )

    def pixel_grid(self, step: int = 1) -> np.ndarray:
        """(H/step * W/step, 2) pixel centres, row-major, COLMAP convention."""
        xs = np.arange(0, self.width, step) + 0.5
        ys = np.arange(0, self.height, step) + 0.5
        gx, gy = np.meshgrid(xs, ys)
        return np.stack([gx.ravel(), gy.ravel()], axis=1)

    def to_dict(self) -> dict[str, object]:
        return {
            "camera_id": self.camera_id,
            "model": self.model,
            "width": self.width,
            "height": self.height,
            "params": list(self.params),
            "param_names": list(MODEL_PARAMS[self.model]),
        }

    @classmethod
    def from_dict(cls, d: dict) -> Camera:
        return cls(
            d["model"],
            int(d["width"]),
            int(d["height"]),
            tuple(d["params"]),
            int(d.get("camera_id", 1)),
        )
