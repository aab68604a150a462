"""Image pixel limit: sizes come from the file header and are refused before decoding."""

from __future__ import annotations

import struct
import time
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest

from locgui.cli import main
from locgui.core import ImageDecodeError
from locgui.io.capture.sources import CaptureError, VideoSource
from locgui.io.images import DEFAULT_MAX_PIXELS, max_pixels, read_image


def _chunk(kind: bytes, data: bytes) -> bytes:
    crc = zlib.crc32(kind + data) & 0xFFFFFFFF
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)


def huge_png(path: Path, width: int = 20000, height: int = 20000) -> Path:
    """A few hundred bytes whose IHDR claims ``width`` x ``height`` RGB pixels."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    rows = zlib.compress(b"\x00" * (1 + 3 * width) * 4)  # only the first rows
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", rows) + _chunk(b"IEND", b"")
    )
    return path


def _no_decoding(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object) -> None:
        raise AssertionError("the image was decoded")

    monkeypatch.setattr(cv2, "imdecode", refuse)


def test_default_limit_and_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LOCGUI_MAX_PIXELS", raising=False)
    assert max_pixels() == DEFAULT_MAX_PIXELS == 64_000_000
    monkeypatch.setenv("LOCGUI_MAX_PIXELS", "1000")
    assert max_pixels() == 1000


def test_huge_png_is_refused_from_its_header(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("LOCGUI_MAX_PIXELS", raising=False)
    path = huge_png(tmp_path / "name.png")
    assert path.stat().st_size < 2000
    _no_decoding(monkeypatch)
    start = time.perf_counter()
    with pytest.raises(ImageDecodeError) as info:
        read_image(path)
    assert time.perf_counter() - start < 0.5
    assert str(info.value) == (
        f"{path}: 20000x20000 = 400 MP exceeds the 64 MP limit (LOCGUI_MAX_PIXELS)"
    )


@pytest.mark.parametrize("suffix", [".png", ".jpg", ".bmp", ".tif", ".webp", ".ppm", ".pgm"])
def test_every_format_is_checked_before_decoding(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, suffix: str
) -> None:
    rgb = np.random.default_rng(0).integers(0, 256, (70, 90, 3)).astype(np.uint8)
    pixels = rgb[:, :, 0] if suffix == ".pgm" else rgb
    ok, encoded = cv2.imencode(suffix, pixels)
    assert ok
    path = tmp_path / f"a{suffix}"
    encoded.tofile(path)
    assert read_image(path).shape == (70, 90, 3)  # under the default limit
    monkeypatch.setenv("LOCGUI_MAX_PIXELS", "6000")
    _no_decoding(monkeypatch)
    with pytest.raises(ImageDecodeError, match=r"90x70 = 6300 pixels exceeds the 6000 pixel"):
        read_image(path)


def test_localize_refuses_a_huge_query(
    tiny_bundle_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.delenv("LOCGUI_MAX_PIXELS", raising=False)
    image = huge_png(tmp_path / "name.png")
    _no_decoding(monkeypatch)
    # A query that does not load is a per-query failure (exit 1), reported with its reason.
    assert main(["localize", str(tiny_bundle_dir), str(image), "--intrinsics", "fov:60"]) == 1
    assert "20000x20000 = 400 MP exceeds the 64 MP limit" in capsys.readouterr().out


def test_video_frames_over_the_limit_are_refused_at_open(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "clip.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10, (64, 48))
    for _ in range(3):
        writer.write(np.zeros((48, 64, 3), np.uint8))
    writer.release()
    source = VideoSource(path)
    source.open()
    source.close()
    monkeypatch.setenv("LOCGUI_MAX_PIXELS", "3000")
    with pytest.raises(CaptureError, match=r"64x48 = 3072 pixels exceeds the 3000 pixel limit"):
        VideoSource(path).open()


def test_webcam_frames_over_the_limit_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    from locgui.io.capture.sources import WebcamSource
    from tests.plugins.live import FakeCapture

    monkeypatch.setenv("LOCGUI_MAX_PIXELS", "800")  # FakeCapture reports 30x30
    fake = FakeCapture(good=5)
    with pytest.raises(CaptureError, match=r"webcam 0: 30x30 = 900 pixels exceeds the 800 pixel"):
        WebcamSource(0, capture_factory=lambda index: fake).open()
    assert fake.released
