"""Camera facts from a JPEG's EXIF block: make, model, focal length, and the focal length in
pixels they imply.

Only the few tags a camera prior needs are read, straight from the TIFF structure in the APP1
segment (no image decoding, no third-party package). A malformed block gives no facts, never
an exception: EXIF is a hint, and a photo without it is still a photo.

The focal length in pixels comes from, in order:
1. ``FocalLengthIn35mmFilm`` (the CIPA definition: scaled by the image diagonal against the
   43.27 mm diagonal of a 36x24 mm frame);
2. ``FocalLength`` in mm with ``FocalPlaneXResolution`` (pixels per unit of the sensor), scaled
   from the EXIF image width to the actual one.
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass
from pathlib import Path

FULL_FRAME_DIAGONAL_MM = math.hypot(36.0, 24.0)

_MAKE, _MODEL, _EXIF_IFD = 0x010F, 0x0110, 0x8769
_FOCAL, _FOCAL_35 = 0x920A, 0xA405
_PLANE_X_RES, _PLANE_UNIT, _EXIF_WIDTH = 0xA20E, 0xA210, 0xA002
_UNIT_MM = {2: 25.4, 3: 10.0, 4: 1.0, 5: 0.001}  # FocalPlaneResolutionUnit -> mm per unit
_MAX_SCAN = 1 << 20  # EXIF lives in the first segments; never read a whole large file


@dataclass(frozen=True)
class ExifCamera:
    """What a photo's EXIF says about its camera (fields are None when absent).

    Attributes:
        make, model: camera maker and model strings.
        focal_mm: lens focal length in mm.
        focal_35mm: 35 mm-equivalent focal length in mm.
        plane_px_per_mm: sensor resolution along x, pixels per mm, for ``exif_width`` pixels.
        exif_width: image width the sensor resolution refers to.
    """

    make: str | None = None
    model: str | None = None
    focal_mm: float | None = None
    focal_35mm: float | None = None
    plane_px_per_mm: float | None = None
    exif_width: int | None = None

    @property
    def camera_name(self) -> str:
        return " ".join(p for p in (self.make, self.model) if p)

    def focal_px(self, width: int, height: int) -> float | None:
        """The focal length in pixels for a ``width`` x ``height`` image, or None when the
        EXIF does not say (or says something absurd: outside 0.1-20 x the longer side)."""
        f: float | None = None
        if self.focal_35mm:
            f = self.focal_35mm * math.hypot(width, height) / FULL_FRAME_DIAGONAL_MM
        elif self.focal_mm and self.plane_px_per_mm:
            scale = width / self.exif_width if self.exif_width else 1.0
            f = self.focal_mm * self.plane_px_per_mm * scale
        if f is None or not math.isfinite(f):
            return None
        side = max(width, height)
        return f if 0.1 * side <= f <= 20.0 * side else None


def read_exif(path: str | Path) -> ExifCamera:
    """The EXIF camera facts of a JPEG file (all None for other files or no EXIF)."""
    try:
        with Path(path).open("rb") as fh:
            head = fh.read(_MAX_SCAN)
    except OSError:
        return ExifCamera()
    return parse_exif(head)


def parse_exif(data: bytes) -> ExifCamera:
    """``read_exif`` on a file's leading bytes."""
    tiff = _app1_tiff(data)
    if tiff is None:
        return ExifCamera()
    try:
        return _read_tiff(tiff)
    except (struct.error, ValueError, IndexError, OverflowError, ZeroDivisionError):
        return ExifCamera()


def _app1_tiff(data: bytes) -> bytes | None:
    """The TIFF block of the JPEG's ``Exif`` APP1 segment."""
    if data[:2] != b"\xff\xd8":
        return None
    pos = 2
    while pos + 4 <= len(data) and data[pos] == 0xFF:
        marker = data[pos + 1]
        if marker in (0xD9, 0xDA):  # end of image, start of scan: no more metadata
            return None
        length = struct.unpack(">H", data[pos + 2 : pos + 4])[0]
        if length < 2:
            return None
        body = data[pos + 4 : pos + 2 + length]
        if marker == 0xE1 and body[:6] == b"Exif\x00\x00":
            return body[6:]
        pos += 2 + length
    return None


def _read_tiff(tiff: bytes) -> ExifCamera:
    order = {b"II": "<", b"MM": ">"}.get(tiff[:2])
    if order is None or struct.unpack(order + "H", tiff[2:4])[0] != 42:
        return ExifCamera()
    ifd0 = _entries(tiff, order, struct.unpack(order + "I", tiff[4:8])[0])
    sub = ifd0.get(_EXIF_IFD)
    exif = _entries(tiff, order, int(sub)) if isinstance(sub, int) else {}
    unit = _UNIT_MM.get(int(_number(exif.get(_PLANE_UNIT)) or 2))
    res = _positive(exif.get(_PLANE_X_RES))
    width = _positive(exif.get(_EXIF_WIDTH))
    return ExifCamera(
        make=_text(ifd0.get(_MAKE)),
        model=_text(ifd0.get(_MODEL)),
        focal_mm=_positive(exif.get(_FOCAL)),
        focal_35mm=_positive(exif.get(_FOCAL_35)),
        plane_px_per_mm=res / unit if res and unit else None,
        exif_width=int(width) if width else None,
    )

_SIZES = {1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 7: 1, 9: 4, 10: 8}


def _entries(tiff: bytes, order: str, offset: int) -> dict[int, object]:
    """Tag -> value of the IFD at ``offset`` (first value only; strings whole)."""
    if offset <= 0 or offset + 2 > len(tiff):
        return {}
    count = struct.unpack(order + "H", tiff[offset : offset + 2])[0]
    out: dict[int, object] = {}
    for k in range(min(count, 512)):
        at = offset + 2 + 12 * k
        if at + 12 > len(tiff):
            break
        tag, kind, n = struct.unpack(order + "HHI", tiff[at : at + 8])
        size = _SIZES.get(kind, 0) * n
        if size == 0:
            continue
        where = at + 8 if size <= 4 else struct.unpack(order + "I", tiff[at + 8 : at + 12])[0]
        raw = tiff[where : where + size]
        if len(raw) < size:
            continue
        out[tag] = _value(kind, raw, order)
    return out


def _value(kind: int, raw: bytes, order: str) -> object:
    if kind == 2:
        return raw.split(b"\x00", 1)[0].decode("latin-1").strip()
    if kind in (5, 10):
        num, den = struct.unpack(order + ("II" if kind == 5 else "ii"), raw[:8])
        return num / den if den else None
    fmt = {1: "B", 7: "B", 3: "H", 4: "I", 9: "i"}[kind]
    return struct.unpack(order + fmt, raw[: struct.calcsize(fmt)])[0]


def _number(value: object) -> float | None:
    if isinstance(value, int | float) and math.isfinite(value):
        return float(value)
    return None


def _positive(value: object) -> float | None:
    number = _number(value)
    return number if number is not None and number > 0 else None


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def strip_exif(data: bytes) -> bytes:
    """A JPEG's bytes without its APP1 (EXIF/XMP) segments; the pixels are untouched."""
    if data[:2] != b"\xff\xd8":
        return data
    out, pos = bytearray(data[:2]), 2
    while pos + 4 <= len(data) and data[pos] == 0xFF and data[pos + 1] not in (0xDA, 0xD9):
        length = struct.unpack(">H", data[pos + 2 : pos + 4])[0]
        if length < 2:
            break
        if data[pos + 1] != 0xE1:
            out += data[pos : pos + 2 + length]
        pos += 2 + length
    return bytes(out + data[pos:])
