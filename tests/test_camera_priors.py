"""Camera priors of unposed photos: EXIF focal lengths, grouping into cameras, user calibration."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from locgui.io import open_scene
from locgui.io.calibration import parse_intrinsics
from locgui.io.camera_priors import DEFAULT_FOCAL_FACTOR, image_prior
from locgui.io.exif import parse_exif, read_exif, strip_exif
from tests.exif_util import ASCII, RATIONAL, SHORT, tiff_block, write_exif_jpeg

SCEAUX = Path(__file__).resolve().parents[2] / "shared" / "data" / "sceaux"
RGB = np.random.default_rng(0).integers(0, 255, (60, 80, 3), dtype=np.uint8)


def _camera(make: str, model: str, f35: float) -> bytes:
    return tiff_block({0x010F: (ASCII, make), 0x0110: (ASCII, model)},
                      {0x920A: (RATIONAL, 4.0), 0xA405: (SHORT, f35)})  # fmt: skip


def test_focal_from_the_35mm_equivalent(tmp_path: Path) -> None:
    path = write_exif_jpeg(tmp_path / "a.jpg", RGB, _camera("Maker", "Cam 1", 28))
    exif = read_exif(path)
    assert (exif.make, exif.model, exif.focal_mm, exif.focal_35mm) == ("Maker", "Cam 1", 4.0, 28)
    # CIPA: the image diagonal against a 36 x 24 mm frame's diagonal.
    assert exif.focal_px(80, 60) == pytest.approx(28 * 100 / math.hypot(36, 24))
    prior = image_prior(path, 80, 60)
    assert (prior.source, prior.name) == ("exif", "Maker Cam 1")


def test_focal_from_the_focal_plane_resolution(tmp_path: Path) -> None:
    # 5 mm lens, 200 px per cm on a sensor read out 160 px wide; the file is 80 px wide.
    tiff = tiff_block({}, {0x920A: (RATIONAL, 5.0), 0xA20E: (RATIONAL, 200.0),
                           0xA210: (SHORT, 3), 0xA002: (SHORT, 160)})  # fmt: skip
    path = write_exif_jpeg(tmp_path / "a.jpg", RGB, tiff)
    assert read_exif(path).focal_px(80, 60) == pytest.approx(5.0 * 20.0 * 0.5)


@pytest.mark.parametrize("f35", [0, 1, 5000])
def test_absurd_exif_focal_falls_back_to_the_default_prior(tmp_path: Path, f35: int) -> None:
    path = write_exif_jpeg(tmp_path / "a.jpg", RGB, _camera("M", "C", f35))
    prior = image_prior(path, 80, 60)
    assert (prior.source, prior.focal) == ("default", DEFAULT_FOCAL_FACTOR * 80)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200), st.integers(0, 400), st.integers(0, 255))
def test_damaged_exif_never_raises(noise: bytes, cut: int, flip: int) -> None:
    tiff = bytearray(_camera("Maker", "Model", 35))
    if cut < len(tiff):
        tiff[cut] ^= flip
    data = b"\xff\xd8\xff\xe1" + (len(tiff) + 8).to_bytes(2, "big") + b"Exif\x00\x00" + tiff
    exif = parse_exif(bytes(data[: 12 + cut]) + noise)
    assert exif.focal_px(800, 600) is None or exif.focal_px(800, 600) > 0
    parse_exif(b"\xff\xd8" + noise)


def test_photos_are_grouped_by_exif_camera_size_and_focal(tmp_path: Path) -> None:
    folder = tmp_path / "photos"
    write_exif_jpeg(folder / "a1.jpg", RGB, _camera("M", "A", 28))
    write_exif_jpeg(folder / "a2.jpg", RGB, _camera("M", "A", 28))
    write_exif_jpeg(folder / "a3_zoom.jpg", RGB, _camera("M", "A", 50))
    write_exif_jpeg(folder / "b1.jpg", RGB, _camera("M", "B", 28))
    write_exif_jpeg(folder / "c1.jpg", RGB, None)
    write_exif_jpeg(folder / "c2.jpg", RGB, None)
    write_exif_jpeg(folder / "small.jpg", RGB[:30, :40], _camera("M", "A", 28))
    scene = open_scene(folder)
    cam = {im.name: im.camera_id for im in scene.images.values()}
    assert cam["a1.jpg"] == cam["a2.jpg"]
    assert cam["c1.jpg"] == cam["c2.jpg"]
    assert len({cam[n] for n in ("a1.jpg", "a3_zoom.jpg", "b1.jpg", "c1.jpg", "small.jpg")}) == 5
    priors = scene.meta["camera_priors"]
    assert priors[cam["c1.jpg"]]["source"] == "default"
    assert priors[cam["a1.jpg"]]["images"] == 2
    assert scene.cameras[cam["a3_zoom.jpg"]].focal[0] == pytest.approx(50 * 100 / 43.2666, 1e-3)
    assert scene.cameras[cam["small.jpg"]].focal[0] == pytest.approx(28 * 50 / 43.2666, 1e-3)


def test_user_calibration_overrides_the_priors(tmp_path: Path) -> None:
    from locgui.methods.mapping.source import with_calibration

    folder = tmp_path / "photos"
    write_exif_jpeg(folder / "a.jpg", RGB, _camera("M", "A", 28))
    write_exif_jpeg(folder / "b.jpg", RGB[:, :60], None)  # another aspect ratio: keeps a prior
    (tmp_path / "K.txt").write_text("100 0 40\n0 100 30\n0 0 1\n")
    scene = with_calibration(open_scene(folder), parse_intrinsics(tmp_path / "K.txt"))
    by_name = {im.name: scene.cameras[im.camera_id] for im in scene.images.values()}
    assert by_name["a.jpg"].params == (100.0, 100.0, 40.0, 30.0)
    priors = {im.name: scene.meta["camera_priors"][im.camera_id] for im in scene.images.values()}
    assert priors["a.jpg"]["source"] == "calibration"
    assert priors["b.jpg"]["source"] == "default"


def test_strip_exif_keeps_the_pixels(tmp_path: Path) -> None:
    import cv2

    path = write_exif_jpeg(tmp_path / "a.jpg", RGB, _camera("M", "A", 28))
    stripped = strip_exif(path.read_bytes())
    assert parse_exif(stripped).focal_35mm is None
    a = cv2.imdecode(np.frombuffer(path.read_bytes(), np.uint8), cv2.IMREAD_COLOR)
    b = cv2.imdecode(np.frombuffer(stripped, np.uint8), cv2.IMREAD_COLOR)
    np.testing.assert_array_equal(a, b)


def test_sceaux_exif_prior_is_close_to_the_calibration() -> None:
    if not SCEAUX.is_dir():
        pytest.skip(f"real data absent: {SCEAUX} (see ../shared/data/README.md)")
    prior = image_prior(SCEAUX / "100_7100.JPG", 2832, 2128)
    assert prior.source == "exif" and "Z612" in prior.name
    assert abs(prior.focal / 2905.88 - 1) < 0.02
