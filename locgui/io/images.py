"""Image and depth files <-> arrays, through OpenCV (imported lazily).

In memory: images are ``(H, W, 3) uint8 RGB``; depth is ``(H, W) float32`` z-depth in map
units with NaN where invalid.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from locgui.core.errors import ImageDecodeError
from locgui.core.scene import DepthInfo
from locgui.io.image_header import (
    DEFAULT_MAX_PIXELS,
    check_pixels,
    header_size,
    limit_opencv,
    max_pixels,
)

__all__ = ["DEFAULT_MAX_PIXELS", "check_pixels", "max_pixels"]

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp", ".ppm", ".pgm")


def is_image_file(path: Path) -> bool:
    return path.is_file() and path.suffix.lower() in IMAGE_SUFFIXES


def _decode(path: Path, flags: int) -> np.ndarray:
    import cv2

    if not path.is_file():
        raise ImageDecodeError(f"{path}: image file not found")
    try:
        buffer = np.fromfile(path, dtype=np.uint8)
    except OSError as exc:
        raise ImageDecodeError(f"{path}: cannot read image file ({exc.strerror})") from exc
    size = header_size(buffer[: 1 << 16].tobytes())
    if size is None and buffer[:2].tobytes() == b"\xff\xd8":  # frame header after large EXIF
        size = header_size(buffer.tobytes())
    if size is not None:
        check_pixels(path, *size)  # before decoding: a tiny file may claim gigapixels
    limit_opencv()
    array = cv2.imdecode(buffer, flags) if buffer.size else None
    if array is None:
        raise ImageDecodeError(f"{path}: not a decodable image")
    check_pixels(path, int(array.shape[1]), int(array.shape[0]))
    return array


def read_gray(path: str | Path, reduce: int = 1) -> np.ndarray:
    """Read an image file as 8-bit grayscale, decoded at ``1 / reduce`` of its size.

    Args:
        reduce: 1, 2, 4 or 8 (JPEG decoders scale while decoding: a large photo decodes
            several times faster; other formats are decoded and shrunk by OpenCV).

    Returns:
        (ceil(H / reduce), ceil(W / reduce)) uint8.
    Raises:
        ImageDecodeError: as ``read_image``.
    """
    import cv2

    flags = {1: cv2.IMREAD_GRAYSCALE, 2: cv2.IMREAD_REDUCED_GRAYSCALE_2,
             4: cv2.IMREAD_REDUCED_GRAYSCALE_4, 8: cv2.IMREAD_REDUCED_GRAYSCALE_8}  # fmt: skip
    if reduce not in flags:
        raise ValueError(f"reduce must be 1, 2, 4 or 8, got {reduce}")
    array = _decode(Path(path), flags[reduce])
    return np.ascontiguousarray(array if array.ndim == 2 else array[..., 0])


def read_image(path: str | Path) -> np.ndarray:
    """Read an image file as RGB.

    Grayscale is replicated to 3 channels, alpha is dropped, 16-bit and float images are
    scaled to 8 bits. EXIF orientation is ignored (as COLMAP does), so pixels match the
    stored width/height of the camera.

    Returns:
        (H, W, 3) uint8 RGB.
    Raises:
        ImageDecodeError: missing file, data that does not decode, or more pixels than the
            limit (``LOCGUI_MAX_PIXELS``, default 64 MP; checked from the header first).
    """
    import cv2

    path = Path(path)
    array = _decode(path, cv2.IMREAD_UNCHANGED)
    if array.dtype == np.uint16:
        array = (array >> 8).astype(np.uint8)
    elif array.dtype != np.uint8:
        finite = np.nan_to_num(array.astype(np.float64))
        array = np.clip(finite * 255.0 if finite.max(initial=0) <= 1.0 else finite, 0, 255)
        array = array.astype(np.uint8)
    if array.ndim == 2:
        return np.repeat(array[:, :, None], 3, axis=2)
    if array.shape[2] == 1:
        return np.repeat(array, 3, axis=2)
    if array.shape[2] == 4:
        return cv2.cvtColor(array, cv2.COLOR_BGRA2RGB)
    return cv2.cvtColor(array, cv2.COLOR_BGR2RGB)


def write_image(path: str | Path, rgb: np.ndarray) -> Path:
    """Write an ``(H, W, 3) uint8 RGB`` (or ``(H, W)`` gray) image; the suffix picks the format."""
    import cv2

    path = Path(path)
    rgb = np.asarray(rgb)
    if rgb.dtype != np.uint8 or rgb.ndim not in (2, 3):
        raise ValueError(
            f"write_image needs (H, W, 3) or (H, W) uint8, got {rgb.shape} {rgb.dtype}"
        )
    bgr = rgb if rgb.ndim == 2 else cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)
    ok, encoded = cv2.imencode(path.suffix or ".png", bgr)
    if not ok:
        raise ImageDecodeError(f"{path}: OpenCV cannot encode this image format")
    path.parent.mkdir(parents=True, exist_ok=True)
    encoded.tofile(path)
    return path


def read_depth(info: DepthInfo) -> np.ndarray:
    """Read a depth map in map units.

    ``.npy`` files hold float depth; image files (16-bit PNG) hold integers. Stored values
    equal to ``info.invalid``, zero or negative, or not finite become NaN; the rest are
    multiplied by ``info.scale``.

    Returns:
        (H, W) float32 z-depth in map units, NaN where invalid.
    Raises:
        ImageDecodeError: missing or undecodable file, or not a single-channel map.
    """
    path = Path(info.path)
    if path.suffix.lower() == ".npy":
        if not path.is_file():
            raise ImageDecodeError(f"{path}: depth file not found")
        try:
            raw = np.load(path, allow_pickle=False)
        except (OSError, ValueError) as exc:
            raise ImageDecodeError(f"{path}: not a readable .npy depth map ({exc})") from exc
    else:
        import cv2

        raw = _decode(path, cv2.IMREAD_ANYDEPTH)
    if raw.ndim != 2:
        raise ImageDecodeError(f"{path}: depth map must have one channel, got shape {raw.shape}")
    stored = raw.astype(np.float64)
    invalid = ~np.isfinite(stored) | (stored <= 0)
    if info.invalid is not None:
        invalid |= stored == info.invalid
    depth = (stored * info.scale).astype(np.float32)
    depth[invalid] = np.nan
    return depth


def write_depth(path: str | Path, depth: np.ndarray, scale: float = 1.0) -> Path:
    """Write ``(H, W) float32`` depth (NaN = invalid) as ``.npy`` or 16-bit ``.png``.

    ``.npy`` stores ``depth / scale`` as float32 with NaN -> 0; ``.png`` stores
    ``round(depth / scale)`` as uint16 (e.g. ``scale=0.001`` for millimetres) with NaN -> 0.
    Read it back with ``DepthInfo(path, scale=scale, invalid=0.0)``.
    """
    import cv2

    path = Path(path)
    stored = np.nan_to_num(np.asarray(depth, dtype=np.float64) / scale, nan=0.0)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix.lower() == ".npy":
        np.save(path, stored.astype(np.float32))
        return path
    if stored.max(initial=0) > 65535:
        raise ValueError(f"{path}: depth / scale exceeds the 16-bit range; use a larger scale")
    ok, encoded = cv2.imencode(path.suffix, np.round(stored).astype(np.uint16))
    if not ok:
        raise ImageDecodeError(f"{path}: cannot encode 16-bit depth as {path.suffix}")
    encoded.tofile(path)
    return path


def image_size(path: str | Path) -> tuple[int, int]:
    """(width, height) of an image file.

    PNG, JPEG, BMP, TIFF, WebP and PNM sizes come from their headers (no decoding, EXIF
    orientation ignored like ``read_image``); other formats are decoded. Raises
    ImageDecodeError if neither works.
    """
    import cv2

    path = Path(path)
    if not path.is_file():
        raise ImageDecodeError(f"{path}: image file not found")
    with path.open("rb") as f:
        head = f.read(1 << 16)
    size = header_size(head)
    if size is not None and size[0] > 0 and size[1] > 0:
        return size
    if head[:2] == b"\xff\xd8" and len(head) == 1 << 16:  # frame header beyond 64 KiB of EXIF
        size = header_size(path.read_bytes())
        if size is not None and size[0] > 0 and size[1] > 0:
            return size
    array = _decode(path, cv2.IMREAD_UNCHANGED)
    return int(array.shape[1]), int(array.shape[0])
