"""Image and depth files: layouts, bit depths, round trips, header sizes, bad files."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from locgui.core import DepthInfo, ImageDecodeError
from locgui.io.images import image_size, read_depth, read_image, write_depth, write_image


@pytest.fixture
def rgb() -> np.ndarray:
    return np.random.default_rng(0).integers(0, 256, (7, 9, 3)).astype(np.uint8)


def test_png_round_trip_is_exact_and_rgb_ordered(tmp_path: Path, rgb: np.ndarray) -> None:
    write_image(tmp_path / "a.png", rgb)
    np.testing.assert_array_equal(read_image(tmp_path / "a.png"), rgb)
    # OpenCV reads BGR: the file must hold the channels reversed.
    np.testing.assert_array_equal(cv2.imread(str(tmp_path / "a.png"))[:, :, ::-1], rgb)


def test_gray_rgba_and_16_bit(tmp_path: Path, rgb: np.ndarray) -> None:
    gray = rgb[:, :, 0]
    cv2.imwrite(str(tmp_path / "g.png"), gray)
    np.testing.assert_array_equal(read_image(tmp_path / "g.png"), np.stack([gray] * 3, axis=2))
    bgra = np.concatenate([rgb[:, :, ::-1], np.full((7, 9, 1), 17, np.uint8)], axis=2)
    cv2.imwrite(str(tmp_path / "a.png"), bgra)
    np.testing.assert_array_equal(read_image(tmp_path / "a.png"), rgb)
    deep = rgb.astype(np.uint16) * 256 + 3  # high byte == the 8-bit value
    cv2.imwrite(str(tmp_path / "d.png"), deep[:, :, ::-1])
    np.testing.assert_array_equal(read_image(tmp_path / "d.png"), rgb)


def test_undecodable_and_missing(tmp_path: Path) -> None:
    (tmp_path / "bad.jpg").write_bytes(b"\xff\xd8 this is not a jpeg")
    with pytest.raises(ImageDecodeError, match="bad.jpg: not a decodable image"):
        read_image(tmp_path / "bad.jpg")
    with pytest.raises(ImageDecodeError, match="bad.jpg"):
        image_size(tmp_path / "bad.jpg")
    with pytest.raises(ImageDecodeError, match="nope.png: image file not found"):
        read_image(tmp_path / "nope.png")


@pytest.mark.parametrize("suffix", [".png", ".jpg", ".bmp"])
def test_image_size_matches_decoded_size(tmp_path: Path, suffix: str) -> None:
    image = np.zeros((37, 53, 3), np.uint8)
    write_image(tmp_path / f"x{suffix}", image)
    assert image_size(tmp_path / f"x{suffix}") == (53, 37)


def test_depth_png_millimetres(tmp_path: Path) -> None:
    raw = np.array([[0, 1000, 65535], [2500, 1, 40000]], np.uint16)
    cv2.imwrite(str(tmp_path / "d.png"), raw)
    depth = read_depth(DepthInfo(tmp_path / "d.png", scale=0.001, invalid=65535.0))
    assert depth.dtype == np.float32
    expected = np.array([[np.nan, 1.0, np.nan], [2.5, 0.001, 40.0]], np.float32)
    np.testing.assert_array_equal(depth, expected)


@pytest.mark.parametrize(("suffix", "scale"), [(".npy", 1.0), (".png", 0.001)])
def test_depth_round_trip(tmp_path: Path, suffix: str, scale: float) -> None:
    depth = np.array([[1.5, np.nan], [0.25, 3.0]], np.float32)
    path = write_depth(tmp_path / f"d{suffix}", depth, scale=scale)
    back = read_depth(DepthInfo(path, scale=scale, invalid=0.0))
    np.testing.assert_allclose(back, depth, rtol=0, atol=scale / 2)
    np.testing.assert_array_equal(np.isnan(back), np.isnan(depth))


def test_depth_errors(tmp_path: Path) -> None:
    with pytest.raises(ImageDecodeError, match="depth file not found"):
        read_depth(DepthInfo(tmp_path / "none.npy"))
    np.save(tmp_path / "rgb.npy", np.zeros((2, 2, 3), np.float32))
    with pytest.raises(ImageDecodeError, match="one channel"):
        read_depth(DepthInfo(tmp_path / "rgb.npy"))
