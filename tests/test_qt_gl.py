"""GL rendering of the 3D view, checked by pixel probes (needs a real GL context: Xvfb).

Run: QT_QPA_PLATFORM=xcb xvfb-run -a python -m pytest -m gl tests/test_qt_gl.py
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("PySide6")

pytestmark = pytest.mark.gl

if os.environ.get("QT_QPA_PLATFORM") == "offscreen":
    pytest.skip("GL views need a real display (run under Xvfb)", allow_module_level=True)

from locgui.core.camera import Camera  # noqa: E402
from locgui.core.pose import Rigid3, look_at  # noqa: E402
from locgui.model import geometry  # noqa: E402

BACKGROUND = (21, 24, 28)


def _render(widget) -> np.ndarray:
    """(H, W, 3) uint8 of what the GL widget draws now (logical pixel size)."""
    img = widget.grabFramebuffer().convertToFormat(widget.grabFramebuffer().Format.Format_RGB888)
    img = img.scaled(widget.width(), widget.height())
    h, w = img.height(), img.width()
    arr = np.frombuffer(img.constBits(), np.uint8, img.sizeInBytes()).reshape(h, img.bytesPerLine())
    return arr[:, : 3 * w].reshape(h, w, 3).copy()


def _probe(rgb: np.ndarray, xy: np.ndarray, radius: int = 1) -> np.ndarray:
    """The pixel nearest to the expected colour within ``radius`` (lines are one pixel wide)."""
    x, y = int(round(xy[0] - 0.5)), int(round(xy[1] - 0.5))
    return rgb[max(y - radius, 0) : y + radius + 1, max(x - radius, 0) : x + radius + 1].reshape(
        -1, 3
    )


@pytest.fixture
def view(qtbot):
    from locgui.qt.gl_scene import SceneGLWidget

    w = SceneGLWidget()
    qtbot.addWidget(w)
    w.resize(480, 360)
    w.show()
    qtbot.waitExposed(w)
    w.set_frame(Rigid3.identity())
    return w


def test_big_points_land_at_their_projected_pixels(view, qtbot):
    xyz = np.array([[0, 0, 0], [1.0, 0, 0], [0, 1.0, 0], [0, 0, 1.0], [-1.0, -1.0, 0.5]])
    rgb = np.array([[255, 0, 0], [0, 255, 0], [0, 0, 255], [255, 255, 0], [255, 0, 255]], np.uint8)
    view.set_points(xyz, rgb, np.arange(5))
    view.set_point_size(16)
    view.fit(xyz.min(0) - 0.5, xyz.max(0) + 0.5)
    qtbot.wait(50)
    image = _render(view)
    xy, inside = view.screen_positions(xyz)
    assert inside.all()
    for p, color in zip(xy, rgb, strict=True):
        patch = _probe(image, p, radius=2)
        assert np.abs(patch.astype(int) - color).sum(axis=1).min() < 40, (p, color, patch[:3])
    # Far from every point: background.
    far = np.array([5.0, 5.0])
    assert np.abs(image[int(far[1]), int(far[0])].astype(int) - BACKGROUND).sum() < 10


def test_frustum_lines_are_drawn_where_the_camera_is(view, qtbot):
    cam = Camera.pinhole(200.0, 200.0, 160.0, 120.0, 320, 240)
    pose = look_at(np.array([0.0, -2.0, 0.0]), np.array([0.0, 0.0, 0.0]))
    segs = geometry.frustum_segments(geometry.frustum_vertices(cam, pose, 1.0))
    view.set_lines("frustum", segs, (1.0, 0.5, 0.0, 1.0), width=3.0)
    view.fit(segs.min(0) - 0.3, segs.max(0) + 0.3)
    qtbot.wait(50)
    image = _render(view)
    for a, b in segs.reshape(-1, 2, 3)[:8]:
        mid, _ = view.screen_positions(((a + b) / 2).reshape(1, 3))
        patch = _probe(image, mid[0], radius=2)
        assert np.abs(patch.astype(int) - (255, 128, 0)).sum(axis=1).min() < 40


def test_level_of_detail_while_the_camera_moves(view, qtbot):
    n = 200_000
    rng = np.random.default_rng(0)
    view.set_points(rng.normal(size=(n, 3)), np.full((n, 3), 200, np.uint8), np.arange(n))
    view.lod_budget = 10_000
    view.fit(np.full(3, -3.0), np.full(3, 3.0))
    assert view.moving and view.cloud.draw_count == 10_000
    counts: list[int | None] = []
    view.frameSwapped.connect(lambda: counts.append(view.cloud.draw_count))
    qtbot.waitUntil(lambda: not view.moving and view.cloud.draw_count is None, timeout=5000)
    # Once still it refines 10k -> 40k -> 160k -> all, one frame each.
    assert [c for c in counts if c is not None][-2:] == [40_000, 160_000]
    view.orbit(5, 0)
    assert view.moving and view.cloud.draw_count is not None
    view.lod_enabled = False
    qtbot.waitUntil(lambda: not view.moving, timeout=2000)
    view.orbit(5, 0)
    assert not view.moving and view.cloud.draw_count is None


@pytest.mark.slow
def test_screenshot_command_renders_the_window(tmp_path, tiny_scene_dir):
    """`locgui SCENE --screenshot OUT.png` in a fresh interpreter (also proves the zlib order:
    pycolmap reads the scene before Qt writes the PNG)."""
    out = tmp_path / "shot.png"
    env = dict(os.environ, HOME=str(tmp_path))
    proc = subprocess.run(
        [sys.executable, "-m", "locgui", str(tiny_scene_dir), "--screenshot", str(out),
         "--size", "1200x800"],
        capture_output=True, text=True, timeout=300, env=env,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    from PySide6 import QtGui

    img = QtGui.QImage(str(out))
    assert (img.width(), img.height()) == (1200, 800)
    assert Path(proc.stdout.strip().splitlines()[-1]) == out


def test_dim_lines_keep_their_colour_in_a_widget_grab(view, qtbot):
    """A line drawn with alpha < 1 looks like its colour mixed over the background, in the
    framebuffer and in ``QWidget.grab`` (what screenshots use). Alpha left in the framebuffer
    made the grab composite it: dim green ground-truth frustums came out teal."""
    segs = np.array([[-1.0, 0.0, 0.0], [1.0, 0.0, 0.0]])
    green = (0.24, 0.86, 0.52, 0.4)
    view.set_lines("dim", segs, green, width=5.0)
    view.fit(segs.min(0) - 0.5, segs.max(0) + 0.5)
    qtbot.wait(50)
    expected = np.array(green[:3]) * 255 * 0.4 + np.array(BACKGROUND) * 0.6
    mid, _ = view.screen_positions(np.zeros((1, 3)))
    from PySide6 import QtGui

    grabbed = view.grab().toImage().convertToFormat(QtGui.QImage.Format.Format_RGB888)
    grabbed = grabbed.scaled(view.width(), view.height())
    for image in (_render(view), _qimage_rgb(grabbed)):
        patch = _probe(image, mid[0], radius=2).astype(int)
        assert np.abs(patch - expected).sum(axis=1).min() < 25, (patch[:4], expected)


def _qimage_rgb(img) -> np.ndarray:
    h, w = img.height(), img.width()
    arr = np.frombuffer(img.constBits(), np.uint8, img.sizeInBytes()).reshape(h, img.bytesPerLine())
    return arr[:, : 3 * w].reshape(h, w, 3).copy()
