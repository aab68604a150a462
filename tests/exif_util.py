"""Write JPEGs with a chosen EXIF block (tests of camera priors): a minimal TIFF encoder."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np

ASCII, SHORT, LONG, RATIONAL = 2, 3, 4, 5


def tiff_block(ifd0: dict[int, tuple[int, object]], exif: dict[int, tuple[int, object]]) -> bytes:
    """A little-endian TIFF block: IFD0 (with a pointer to the EXIF IFD) and the EXIF IFD.
    Values are (type, value); rationals are floats written as value*1000/1000."""
    entries0 = dict(ifd0)
    entries0[0x8769] = (LONG, 0)  # patched below
    ifd0_at = 8
    ifd0_size = 2 + 12 * len(entries0) + 4
    exif_at = ifd0_at + ifd0_size
    exif_size = 2 + 12 * len(exif) + 4
    data_at = exif_at + exif_size
    entries0[0x8769] = (LONG, exif_at)
    blobs = bytearray()

    def ifd(entries: dict[int, tuple[int, object]]) -> bytes:
        out = struct.pack("<H", len(entries))
        for tag in sorted(entries):
            kind, value = entries[tag]
            if kind == ASCII:
                raw = str(value).encode() + b"\x00"
            elif kind == SHORT:
                raw = struct.pack("<H", int(value))  # type: ignore[call-overload]
            elif kind == LONG:
                raw = struct.pack("<I", int(value))  # type: ignore[call-overload]
            else:
                raw = struct.pack("<II", round(float(value) * 1000), 1000)  # type: ignore[arg-type]
            count = len(raw) if kind == ASCII else 1
            if len(raw) <= 4:
                field = raw.ljust(4, b"\x00")
            else:
                field = struct.pack("<I", data_at + len(blobs))
                blobs.extend(raw)
            out += struct.pack("<HHI", tag, kind, count) + field
        return out + b"\x00\x00\x00\x00"

    head = b"II*\x00" + struct.pack("<I", ifd0_at)
    body = ifd(entries0) + ifd(exif)
    return head + body + bytes(blobs)


def write_exif_jpeg(path: Path, rgb: np.ndarray, tiff: bytes | None) -> Path:
    """``rgb`` encoded as JPEG at ``path`` with an ``Exif`` APP1 segment holding ``tiff``."""
    import cv2

    ok, encoded = cv2.imencode(".jpg", np.ascontiguousarray(rgb[..., ::-1]))
    assert ok
    data = encoded.tobytes()
    if tiff is not None:
        payload = b"Exif\x00\x00" + tiff
        app1 = b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload
        data = data[:2] + app1 + data[2:]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path

