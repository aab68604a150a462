"""Render the app icon's PNG sizes, .ico and .icns from resources/icon/locgui.svg.

    QT_QPA_PLATFORM=offscreen .venv/bin/python packaging/make_icons.py

The outputs are committed; run this again after editing the SVG. Pillow is not part of the
stack, so the two containers are written here: both are a small header plus PNG payloads
(ICO: PNG entries since Windows Vista; ICNS: PNG element types since macOS 10.7).
"""

from __future__ import annotations

import struct
import sys
from pathlib import Path

import locgui  # noqa: F401  (zlib first, as in every entry point)

ICON_DIR = Path(__file__).resolve().parent.parent / "locgui" / "resources" / "icon"
PNG_SIZES = (16, 32, 48, 64, 128, 256, 512)
ICO_SIZES = (16, 32, 48, 64, 128, 256)  # ICO stores 256 as 0 and has nothing larger
# ICNS element types holding PNG data, by pixel size (the @2x types reuse a larger PNG).
ICNS_TYPES = (
    (b"icp4", 16),
    (b"icp5", 32),
    (b"icp6", 64),
    (b"ic07", 128),
    (b"ic08", 256),
    (b"ic09", 512),
    (b"ic11", 32),  # 16@2x
    (b"ic12", 64),  # 32@2x
    (b"ic13", 256),  # 128@2x
    (b"ic14", 512),  # 256@2x
)


def render_png(svg: Path, size: int) -> bytes:
    """The SVG rendered to a square ``size`` px RGBA PNG."""
    from PySide6 import QtCore, QtGui, QtSvg

    renderer = QtSvg.QSvgRenderer(str(svg))
    if not renderer.isValid():
        raise SystemExit(f"{svg}: not a valid SVG")
    image = QtGui.QImage(size, size, QtGui.QImage.Format.Format_ARGB32)
    image.fill(QtCore.Qt.GlobalColor.transparent)
    painter = QtGui.QPainter(image)
    painter.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing)
    painter.setRenderHint(QtGui.QPainter.RenderHint.SmoothPixmapTransform)
    renderer.render(painter, QtCore.QRectF(0, 0, size, size))
    painter.end()
    buffer = QtCore.QBuffer()
    buffer.open(QtCore.QIODevice.OpenModeFlag.WriteOnly)
    image.save(buffer, "PNG")  # type: ignore[call-overload]  # stubs: bytes
    return bytes(buffer.data().data())


def ico_bytes(pngs: dict[int, bytes]) -> bytes:
    """An ICO container (ICONDIR, one ICONDIRENTRY per size, then the PNGs)."""
    sizes = [s for s in ICO_SIZES if s in pngs]
    header = struct.pack("<HHH", 0, 1, len(sizes))
    offset = len(header) + 16 * len(sizes)
    entries, payload = b"", b""
    for s in sizes:
        data = pngs[s]
        dim = s % 256  # 256 is written as 0
        entries += struct.pack("<BBBBHHII", dim, dim, 0, 0, 1, 32, len(data), offset)
        offset += len(data)
        payload += data
    return header + entries + payload


def icns_bytes(pngs: dict[int, bytes]) -> bytes:
    """An ICNS container: 'icns' + total length, then (type, length, PNG) elements."""
    body = b"".join(kind + struct.pack(">I", 8 + len(pngs[s])) + pngs[s] for kind, s in ICNS_TYPES)
    return b"icns" + struct.pack(">I", 8 + len(body)) + body


def main() -> int:
    from PySide6 import QtGui

    _app = QtGui.QGuiApplication.instance() or QtGui.QGuiApplication(sys.argv[:1])
    svg = ICON_DIR / "locgui.svg"
    pngs = {s: render_png(svg, s) for s in PNG_SIZES}
    for s, data in pngs.items():
        (ICON_DIR / f"locgui-{s}.png").write_bytes(data)
    (ICON_DIR / "locgui.ico").write_bytes(ico_bytes(pngs))
    (ICON_DIR / "locgui.icns").write_bytes(icns_bytes(pngs))
    for path in sorted(ICON_DIR.iterdir()):
        print(f"{path.stat().st_size:8d}  {path.relative_to(ICON_DIR.parent.parent.parent)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
