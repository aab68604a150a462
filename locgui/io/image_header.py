"""Image sizes from file headers, and the pixel limit checked before anything is decoded.

A few hundred bytes of PNG can claim 20000x20000 pixels; decoding it would allocate gigabytes.
``check_pixels`` refuses such a file from its header (PNG, JPEG, BMP, TIFF, WebP, PNM);
other formats are decoded under OpenCV's own limit, set to the same value.
"""

from __future__ import annotations

import os
from typing import Literal

from locgui.core.errors import ImageDecodeError

DEFAULT_MAX_PIXELS = 64_000_000
"""Largest image (width x height) read by default; ``LOCGUI_MAX_PIXELS`` overrides it."""

ENV_MAX_PIXELS = "LOCGUI_MAX_PIXELS"


def max_pixels() -> int:
    """The pixel limit: ``$LOCGUI_MAX_PIXELS`` when set to a positive integer, else the default."""
    from locgui.io.limits import env_limit

    return env_limit(ENV_MAX_PIXELS, DEFAULT_MAX_PIXELS)


def limit_opencv() -> None:
    """Make OpenCV's decoders refuse images over the limit too (formats without a header
    reader here). OpenCV reads the variable once, at its first decode."""
    os.environ.setdefault("OPENCV_IO_MAX_IMAGE_PIXELS", str(max_pixels()))


def _amount(pixels: int) -> str:
    return f"{pixels / 1e6:.4g} MP" if pixels >= 100_000 else f"{pixels} pixels"


def check_pixels(name: object, width: int, height: int) -> None:
    """Raise ImageDecodeError when ``width`` x ``height`` exceeds the pixel limit.

    The message reads "NAME: 20000x20000 = 400 MP exceeds the 64 MP limit (LOCGUI_MAX_PIXELS)".
    """
    limit = max_pixels()
    if width * height > limit:
        unit = _amount(limit).replace("pixels", "pixel")
        raise ImageDecodeError(
            f"{name}: {width}x{height} = {_amount(width * height)} exceeds the {unit} limit "
            f"({ENV_MAX_PIXELS})"
        )


def header_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) claimed by the header of an image file's bytes, or None when the
    format is not one read here or the header is malformed."""
    for reader in (_png_size, _jpeg_size, _bmp_size, _tiff_size, _webp_size, _pnm_size):
        try:
            size = reader(data)
        except (IndexError, ValueError):
            size = None
        if size is not None:
            return size
    return None


def _png_size(head: bytes) -> tuple[int, int] | None:
    if head[:8] != b"\x89PNG\r\n\x1a\n" or head[12:16] != b"IHDR" or len(head) < 24:
        return None
    return int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")


_JPEG_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    """Walk JPEG marker segments to the frame header (SOFn) holding the size."""
    if data[:2] != b"\xff\xd8":
        return None
    pos = 2
    while pos + 9 < len(data):
        if data[pos] != 0xFF:
            return None
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        length = int.from_bytes(data[pos + 2 : pos + 4], "big")
        if marker in _JPEG_SOF:
            height = int.from_bytes(data[pos + 5 : pos + 7], "big")
            width = int.from_bytes(data[pos + 7 : pos + 9], "big")
            return width, height
        pos += 2 + length
    return None


def _bmp_size(data: bytes) -> tuple[int, int] | None:
    if data[:2] != b"BM" or len(data) < 26:
        return None
    if int.from_bytes(data[14:18], "little") == 12:  # BITMAPCOREHEADER: 16-bit sizes
        return int.from_bytes(data[18:20], "little"), int.from_bytes(data[20:22], "little")
    width = int.from_bytes(data[18:22], "little", signed=True)
    height = int.from_bytes(data[22:26], "little", signed=True)  # negative: top-down rows
    return abs(width), abs(height)


def _tiff_size(data: bytes) -> tuple[int, int] | None:
    if data[:4] not in (b"II*\x00", b"MM\x00*"):
        return None
    end: Literal["little", "big"] = "little" if data[:1] == b"I" else "big"

    def uint(pos: int, n: int) -> int:
        if pos + n > len(data):
            raise IndexError(pos)
        return int.from_bytes(data[pos : pos + n], end)

    ifd = uint(4, 4)
    size: dict[int, int] = {}
    for i in range(uint(ifd, 2)):
        entry = ifd + 2 + 12 * i
        tag, kind = uint(entry, 2), uint(entry + 2, 2)
        if tag in (256, 257):  # ImageWidth, ImageLength: SHORT (3) or LONG (4)
            size[tag] = uint(entry + 8, 2) if kind == 3 else uint(entry + 8, 4)
    if 256 not in size or 257 not in size:
        return None
    return size[256], size[257]


def _webp_size(data: bytes) -> tuple[int, int] | None:
    if data[:4] != b"RIFF" or data[8:12] != b"WEBP" or len(data) < 30:
        return None
    chunk = data[12:16]
    if chunk == b"VP8X":  # extended: 24-bit canvas size minus one
        return int.from_bytes(data[24:27], "little") + 1, int.from_bytes(data[27:30], "little") + 1
    if chunk == b"VP8L":  # lossless: 14-bit sizes minus one after the 0x2f signature
        bits = int.from_bytes(data[21:25], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if chunk == b"VP8 " and data[23:26] == b"\x9d\x01\x2a":  # lossy key frame
        return (
            int.from_bytes(data[26:28], "little") & 0x3FFF,
            int.from_bytes(data[28:30], "little") & 0x3FFF,
        )
    return None


def _pnm_size(data: bytes) -> tuple[int, int] | None:
    if len(data) < 3 or data[:1] != b"P" or data[1:2] not in b"123456" or data[1:2] == b"":
        return None
    tokens: list[int] = []
    for line in data[2:512].split(b"\n"):
        for word in line.split(b"#")[0].split():
            tokens.append(int(word))
            if len(tokens) == 2:
                return tokens[0], tokens[1]
    return None
