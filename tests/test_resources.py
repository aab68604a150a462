"""Package data in locgui/resources: the style sheet and its images, the app icon and its
.ico/.icns containers; the theme draws unticked check boxes and spin-box arrows visibly."""

from __future__ import annotations

import re
import struct
from importlib import resources as importlib_resources
from importlib.util import find_spec
from pathlib import Path

import pytest

from locgui import resources

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
ICNS_PNG_SIZES = {
    b"icp4": 16,
    b"icp5": 32,
    b"icp6": 64,
    b"ic07": 128,
    b"ic08": 256,
    b"ic09": 512,
    b"ic11": 32,
    b"ic12": 64,
    b"ic13": 256,
    b"ic14": 512,
}


def png_size(data: bytes) -> tuple[int, int]:
    """(width, height) from a PNG's IHDR chunk."""
    assert data[:8] == PNG_MAGIC
    assert data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def icon_bytes(name: str) -> bytes:
    return importlib_resources.files("locgui.resources").joinpath("icon", name).read_bytes()


def test_stylesheet_and_icon_load_through_importlib_resources():
    package = importlib_resources.files("locgui.resources")
    qss = package.joinpath("style.qss").read_text(encoding="utf-8")
    assert "QCheckBox::indicator" in qss and "QSpinBox::up-arrow" in qss
    assert resources.PLACEHOLDER in qss
    svg = package.joinpath("icon", "locgui.svg").read_text(encoding="utf-8")
    assert svg.lstrip().startswith("<svg")
    for size, path in zip(resources.ICON_SIZES, resources.icon_files(), strict=True):
        assert png_size(path.read_bytes()) == (size, size), path


def test_substituted_stylesheet_references_only_existing_files():
    qss = resources.stylesheet()
    assert resources.PLACEHOLDER not in qss
    qss = re.sub(r"/\*.*?\*/", "", qss, flags=re.S)  # comments may mention url()
    urls = re.findall(r"url\(([^)]*)\)", qss)
    assert len(urls) >= 6  # check, partial, four arrows
    for url in urls:
        path = Path(url.strip("'\""))
        assert path.is_absolute() and path.is_file(), url


def test_ico_entries_are_pngs_of_the_declared_sizes():
    data = icon_bytes("locgui.ico")
    reserved, kind, count = struct.unpack("<HHH", data[:6])
    assert (reserved, kind) == (0, 1)
    sizes = []
    for i in range(count):
        w, h, _, _, planes, bits, length, offset = struct.unpack(
            "<BBBBHHII", data[6 + 16 * i : 22 + 16 * i]
        )
        declared = (w or 256, h or 256)
        assert png_size(data[offset : offset + length]) == declared
        assert (planes, bits) == (1, 32)
        sizes.append(declared[0])
    assert sizes == [16, 32, 48, 64, 128, 256]


def test_icns_elements_are_pngs_of_their_types_sizes():
    data = icon_bytes("locgui.icns")
    assert data[:4] == b"icns"
    assert struct.unpack(">I", data[4:8])[0] == len(data)
    found = {}
    pos = 8
    while pos < len(data):
        kind, length = data[pos : pos + 4], struct.unpack(">I", data[pos + 4 : pos + 8])[0]
        assert length > 8 and pos + length <= len(data)
        found[kind] = png_size(data[pos + 8 : pos + length])
        pos += length
    assert pos == len(data)
    assert found == {kind: (s, s) for kind, s in ICNS_PNG_SIZES.items()}


# The theme itself: pixels of real widgets drawn with the style sheet (offscreen).

needs_qt = pytest.mark.skipif(find_spec("PySide6") is None, reason="PySide6 not installed")


def _themed(widget, qtbot):
    from PySide6 import QtWidgets

    holder = QtWidgets.QWidget()
    holder.setStyleSheet(resources.stylesheet())  # not the app's: other tests stay unthemed
    QtWidgets.QVBoxLayout(holder).addWidget(widget)
    qtbot.addWidget(holder)
    holder.resize(240, 60)
    holder.show()
    qtbot.waitExposed(holder)
    return holder  # the caller keeps it: the widget dies with its holder


def _pixels(widget, rect):
    """(h, w, 3) RGB of ``rect`` in ``widget``'s own rendering."""
    import numpy as np
    from PySide6 import QtGui

    image = widget.grab().toImage().convertToFormat(QtGui.QImage.Format.Format_RGB888)
    ratio = image.devicePixelRatio()
    image = image.copy(
        int(rect.x() * ratio),
        int(rect.y() * ratio),
        int(rect.width() * ratio),
        int(rect.height() * ratio),
    )
    stride = image.bytesPerLine()
    raw = np.frombuffer(image.constBits(), np.uint8, image.height() * stride)
    return raw.reshape(image.height(), stride)[:, : image.width() * 3].reshape(
        image.height(), image.width(), 3
    )


def _indicator_rect(box):
    from PySide6 import QtWidgets

    option = QtWidgets.QStyleOptionButton()
    box.initStyleOption(option)
    return box.style().subElementRect(QtWidgets.QStyle.SubElement.SE_CheckBoxIndicator, option, box)


@needs_qt
def test_unticked_check_box_shows_a_border_and_ticked_one_a_filled_box(qtbot):
    from PySide6 import QtWidgets

    off, on = QtWidgets.QCheckBox("off"), QtWidgets.QCheckBox("on", checked=True)
    _holders = [_themed(box, qtbot) for box in (off, on)]
    off_px = _pixels(off, _indicator_rect(off)).astype(int)
    background = (0x1E, 0x22, 0x27)
    border = (abs(off_px - background).sum(axis=2) > 150).sum()
    assert border >= 20, "the unticked box's border is not drawn"
    on_px = _pixels(on, _indicator_rect(on)).astype(int)
    blue = (abs(on_px - (0x2E, 0x6F, 0xDB)).sum(axis=2) < 30).sum()
    white = (on_px.min(axis=2) > 200).sum()
    assert blue >= 40 and white >= 4, "the ticked box is not filled with a tick"


@needs_qt
def test_spin_box_arrows_are_drawn(qtbot):
    from PySide6 import QtWidgets

    spin = QtWidgets.QSpinBox(minimum=0, maximum=10, value=5)
    _holder = _themed(spin, qtbot)
    option = QtWidgets.QStyleOptionSpinBox()
    spin.initStyleOption(option)
    for name in ("SC_SpinBoxUp", "SC_SpinBoxDown"):
        control = getattr(QtWidgets.QStyle.SubControl, name)
        rect = spin.style().subControlRect(
            QtWidgets.QStyle.ComplexControl.CC_SpinBox, option, control, spin
        )
        assert rect.width() >= 10 and rect.height() >= 6
        bright = (_pixels(spin, rect).min(axis=2) > 150).sum()
        assert bright >= 6, f"no arrow drawn in {name}"
