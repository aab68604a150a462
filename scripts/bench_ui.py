"""UI responsiveness benchmark of the workbench (run under Xvfb or on a desktop).

Prints:
  1. the longest event-loop stall while a map build and localizations run in the workers
     (a 5 ms timer probe; budget < 50 ms),
  2. click-to-highlight latency: a click on a match in the match view until the 3D view has
     drawn the highlighted point (budget < 100 ms),
  3. 3D view frames/s while orbiting, at 100k and 1M points, with and without level of detail,
  4. the match debugger with 5000 matches: a filter change until the canvas is repainted
     (budget < 100 ms),
  5. timeline scrubbing over a 3000-frame live run: a step until the timeline and the 3D view
     are repainted (budget < 50 ms).

Usage:
  QT_QPA_PLATFORM=xcb xvfb-run -a -s "-screen 0 1600x1000x24" \\
      .venv/bin/python scripts/bench_ui.py [--scene DIR] [--skip-stall] [--skip-fps]
Without --scene the tiny synthetic scene is generated and mapped into a temporary folder.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

import locgui  # noqa: F401  (zlib before pycolmap)


def _machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}"


def _gl_renderer(widget) -> str:
    from OpenGL import GL

    widget.makeCurrent()
    try:
        return GL.glGetString(GL.GL_RENDERER).decode()
    finally:
        widget.doneCurrent()


class StallProbe:
    """A 5 ms repeating timer; the longest gap between its ticks is the longest stall."""

    def __init__(self, interval_ms: int = 5) -> None:
        from PySide6 import QtCore

        self.interval = interval_ms / 1000
        self.gaps: list[float] = []
        self.cpu: list[float] = []  # main-thread CPU time spent inside each gap
        self.ends: list[float] = []  # when each gap ended, seconds after start()
        self._last = time.perf_counter()
        self._last_cpu = time.thread_time()
        self.timer = QtCore.QTimer(interval=interval_ms)
        self.timer.setTimerType(QtCore.Qt.TimerType.PreciseTimer)
        self.timer.timeout.connect(self._tick)

    def start(self) -> None:
        self._start = self._last = time.perf_counter()
        self._last_cpu = time.thread_time()
        self.timer.start()

    def stop(self) -> None:
        self.timer.stop()

    def _tick(self) -> None:
        now, cpu = time.perf_counter(), time.thread_time()
        self.gaps.append(now - self._last)
        self.cpu.append(cpu - self._last_cpu)
        self.ends.append(now - self._start)
        self._last, self._last_cpu = now, cpu

    def report(self) -> str:
        """Longest stalls, each with the UI thread's own CPU time inside it: a stall the UI
        thread did not spend computing is time the OS (or the GIL) gave to other work."""
        gaps, cpu = np.array(self.gaps) * 1000, np.array(self.cpu) * 1000
        top = np.argsort(gaps)[::-1][:3]
        worst = ", ".join(
            f"{gaps[i]:.0f} ms ({cpu[i]:.0f} ms UI CPU, ending at {self.ends[i]:.2f} s)"
            for i in top
        )
        return (
            f"max {gaps.max():.1f} ms, p99 {np.percentile(gaps, 99):.1f} ms, median "
            f"{np.median(gaps):.1f} ms; longest: {worst}; UI thread busy "
            f"{100 * cpu.sum() / max(gaps.sum(), 1e-9):.0f}% of the time"
        )


def prepare_scene(tmp: Path) -> tuple[Path, Path]:
    from locgui.io.synth import generate
    from locgui.methods.mapping.pipeline import build_map

    scene = generate(tmp / "tiny", preset="tiny")
    bundle = tmp / "tiny.locmap"
    build_map(scene, bundle)
    return scene, bundle


def bench_stall(window, scene: Path, bundle: Path, tmp: Path) -> None:
    from locgui.qt.app import wait_for, wait_until

    bench, state = window.bench, window.state
    wait_for(bench.open_path(bundle), 120)
    wait_until(lambda: not bench.bridge.tasks(), 60)
    # Warm-up: the first localization imports torch and loads XFeat in the worker (one-off).
    state.select_query(list(state.queries)[-1])
    warm = bench.localize(["sfm"])
    if warm is not None:
        wait_for(warm, 300)
    probe = StallProbe()
    probe.start()
    t0 = time.perf_counter()
    build = bench.build_map(scene, tmp / "again.locmap", open_when_done=False)
    tasks = [build]
    from PySide6 import QtCore

    def pick_and_localize(name: str) -> None:  # one user action: select a query, press Enter
        state.select_query(name)
        task = bench.localize(["sfm"])
        if task is not None:
            tasks.append(task)

    # The user picks three queries, 1.5 s apart, while the map builds.
    for n, name in enumerate(list(state.queries)[:3]):
        QtCore.QTimer.singleShot(500 + 1500 * n, lambda name=name: pick_and_localize(name))
    # Interact while the work runs: orbit the 3D view every 30 ms.
    orbit = QtCore.QTimer(interval=30)
    orbit.timeout.connect(lambda: window.view3d.gl.orbit(2, 0))
    orbit.start()
    wait_until(lambda: len(tasks) == 4, 60)
    wait_until(lambda: all(t.state.done for t in tasks), 600)
    orbit.stop()
    probe.stop()
    for t in tasks:
        took = t.times["done"] - t.times.get("started", t.times["done"])
        print(
            f"  {t.label}: {t.state.value} in {took:.1f} s, done at "
            f"{t.times['done'] - probe._start:.2f} s" + (f" ({t.error})" if t.error else "")
        )
    print(
        f"event-loop stall during map build + 3 localizations picked 1.5 s apart "
        f"({time.perf_counter() - t0:.1f} s,"
        f" orbiting the 3D view every 30 ms): {probe.report()}  (budget < 50 ms)"
    )
    pacer = window.pacer
    print(f"  window repaint passes: {pacer.passes} ({pacer.held} requests merged into them)")
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"  machine load average during the run: {load:.1f} on {os.cpu_count()} cores")


def bench_click(window, n: int = 20) -> None:
    from PySide6 import QtCore
    from PySide6.QtTest import QTest

    from locgui.qt.app import wait_until

    state, mv, gl = window.state, window.matches, window.view3d.gl
    if state.result() is None or len(mv.visible) == 0:
        print("click-to-highlight: no matches shown (localization failed?)")
        return
    wait_until(lambda: mv.query_rgb is not None, 20)
    rows = np.flatnonzero(mv.visible.m3d_index >= 0)
    rng = np.random.default_rng(0)
    lat = []
    for row in rng.choice(rows, size=min(n, len(rows)), replace=False):
        x, y = mv.visible.query_xy[row]
        pos = mv.canvas.from_canvas(float(x), float(y))
        swapped: list[float] = []
        conn = gl.frameSwapped.connect(lambda s=swapped: s.append(time.perf_counter()))
        t0 = time.perf_counter()
        QTest.mouseClick(mv.canvas.viewport(), QtCore.Qt.MouseButton.LeftButton, pos=pos)
        ok = wait_until(lambda s=swapped: bool(s), 2.0)
        gl.frameSwapped.disconnect(conn)
        if ok and state.selection.current.match_index == int(mv.visible.m3d_index[row]):
            lat.append((swapped[0] - t0) * 1000)
        wait_until(lambda: False, 0.25)  # let the full-density frame land
    if lat:
        print(
            f"click-to-highlight (match view click -> 3D frame drawn), {len(lat)} clicks: "
            f"median {statistics.median(lat):.1f} ms, max {max(lat):.1f} ms  (budget < 100 ms)"
        )


def bench_match_filter(window, n: int = 5000) -> None:
    """Filter changes in the match view holding ``n`` synthetic matches, each timed from the
    change to the end of a synchronous repaint of the canvas."""
    from locgui.model.linking import MatchTable

    mv = window.matches
    rng = np.random.default_rng(0)
    mv.query_rgb = rng.integers(0, 255, (480, 640, 3), dtype=np.uint8)
    mv.db_rgb = mv.query_rgb.copy()
    mv.canvas.set_image(mv.query_rgb, autorange=False)
    mv.db_item.setImage(mv.db_rgb, autoLevels=False, levels=(0, 255))
    mv._place_db()
    has3d = rng.random(n) < 0.9
    table = MatchTable(
        rng.uniform(0, 640, (n, 2)) * [1, 0.75], rng.uniform(0, 640, (n, 2)) * [1, 0.75],
        np.where(has3d, np.arange(n), -1), has3d & (rng.random(n) < 0.6),
        np.where(has3d, rng.exponential(20.0, n), np.nan), np.where(has3d, np.arange(n), -1),
    )  # fmt: skip
    mv._set_table(table)
    mv.canvas.view.autoRange(padding=0.01)
    changes = [
        lambda: mv.fate_boxes["outlier"].setChecked(False),
        lambda: mv.fate_boxes["outlier"].setChecked(True),
        lambda: mv.max_err.setValue(10.0),
        lambda: mv.min_err.setValue(2.0),
        lambda: mv.min_err.setValue(0.0),
        lambda: mv.max_err.setValue(0.0),
        lambda: mv.budget.setCurrentIndex(2),
        lambda: mv.budget.setCurrentIndex(0),
        lambda: mv.fate_boxes["inlier"].setChecked(False),
        lambda: mv.fate_boxes["inlier"].setChecked(True),
    ]
    lat = []
    window.pacer.enabled = False  # repaint() paints at once (the pacer would hold it)
    for change in changes * 3:
        t0 = time.perf_counter()
        change()
        mv.canvas.viewport().repaint()
        lat.append((time.perf_counter() - t0) * 1000)
    window.pacer.enabled = True
    print(f"match view, {n} matches: filter change -> repainted, {len(lat)} changes: median "
          f"{statistics.median(lat):.1f} ms, max {max(lat):.1f} ms  (budget < 100 ms)")


def synthetic_run(n: int, state) -> None:
    """A stopped live run of ``n`` 640x480 frames in ``state`` (a slow circle, every 50th
    frame lost, each with its own thumbnail), as a live session would have recorded it."""
    from locgui.core.camera import Camera
    from locgui.core.pose import Rigid3, axis_angle_to_rotmat
    from locgui.methods.live.results import LOST, TRACKED, LiveFrameResult

    cam = Camera("PINHOLE", 640, 480, (500.0, 500.0, 320.0, 240.0))
    rng = np.random.default_rng(0)
    base = rng.integers(0, 255, (480, 640, 3), dtype=np.uint8)
    state.live.begin("synthetic.mp4", "sfm")
    log = state.live.runs[-1]
    for i in range(n):
        a = 2 * np.pi * i / n
        R = axis_angle_to_rotmat(np.array([0.0, a, 0.0]))
        pose = Rigid3(R, -R @ np.array([2 * np.cos(a), 0.0, 2 * np.sin(a)]))
        lost = i % 50 == 25
        r = LiveFrameResult(i, i / 30, f"frame{i:05d}", LOST if lost else TRACKED, "",
                            cam_from_world=None if lost else pose, camera=cam,
                            num_inliers=int(rng.integers(40, 300)), num_matches=300,
                            timings={"total": 0.05}, gt_cam_from_world=pose)  # fmt: skip
        log.append(r, np.roll(base, i, axis=1))
    state.live.stopped()


def paint_pass(window) -> None:
    """Paint every widget marked dirty and flush the window once, now (what the window's next
    repaint request does; the frame pacer must be off so that it is not held)."""
    from PySide6 import QtCore

    QtCore.QCoreApplication.sendEvent(window, QtCore.QEvent(QtCore.QEvent.Type.UpdateRequest))


def bench_timeline(window, n: int = 3000) -> None:
    """Timeline scrubbing over an ``n``-frame live run: each step timed from the seek to the
    end of the window's next paint pass (the timeline and the 3D view: camera at the cursor,
    thumbnail, info line, plot cursor; one composition of the window, as in the app)."""
    from locgui.qt.app import wait_until

    t0 = time.perf_counter()
    synthetic_run(n, window.state)
    print(f"  recorded a synthetic {n}-frame run with thumbnails in "
          f"{time.perf_counter() - t0:.1f} s")  # fmt: skip
    window.docks["timeline"].show()
    window.docks["timeline"].raise_()
    wait_until(lambda: False, 0.5)
    timeline = window.state.timeline
    rng = np.random.default_rng(1)
    steps = [("step", None)] * 40 + [("jump", int(i)) for i in rng.integers(0, n, 40)]
    lat: dict[str, list[float]] = {"step": [], "jump": []}
    timeline.seek(n // 3)
    window.pacer.enabled = False  # paint_pass paints at once (the pacer would hold it)
    for kind, target in steps:
        t0 = time.perf_counter()
        timeline.seek(timeline.index + 1 if target is None else target)
        paint_pass(window)
        lat[kind].append((time.perf_counter() - t0) * 1000)
    window.pacer.enabled = True
    for kind, values in lat.items():
        what = "next frame" if kind == "step" else "jump to a random frame"
        print(f"timeline scrub over {n:,} frames ({what}) -> timeline and 3D view repainted, "
              f"{len(values)} steps: median {statistics.median(values):.1f} ms, "
              f"max {max(values):.1f} ms  (budget < 50 ms)")  # fmt: skip


def bench_fps(n_points: int, lod: bool, seconds: float = 3.0) -> tuple[float, int]:
    from locgui.core.pose import Rigid3
    from locgui.qt.app import wait_until
    from locgui.qt.gl_scene import SceneGLWidget

    w = SceneGLWidget()
    w.resize(1000, 700)
    w.show()
    rng = np.random.default_rng(0)
    xyz = rng.normal(size=(n_points, 3)) * [4.0, 3.0, 1.0]
    rgb = rng.integers(0, 255, size=(n_points, 3), dtype=np.uint8)
    w.set_frame(Rigid3.identity())
    w.set_points(xyz, rgb, np.arange(n_points))
    w.set_point_size(2.0)
    w.lod_enabled = lod
    w.fit(np.array([-8.0, -6, -2]), np.array([8.0, 6, 2]))
    wait_until(lambda: False, 1.0)  # upload, settle
    frames: list[float] = []

    def on_swap() -> None:
        frames.append(time.perf_counter())
        w.orbit(1.0, 0.0)

    w.frameSwapped.connect(on_swap)
    w.orbit(1.0, 0.0)
    wait_until(lambda: False, 1.0)  # warm-up (and LOD budget adaptation)
    start = len(frames)
    wait_until(lambda: False, seconds)
    got = frames[start:]
    fps = (len(got) - 1) / (got[-1] - got[0]) if len(got) > 1 else 0.0
    budget = w.lod_budget
    w.frameSwapped.disconnect(on_swap)
    w.close()
    w.deleteLater()
    return fps, budget


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scene", help="a scene folder with a sibling .locmap bundle")
    parser.add_argument("--skip-stall", action="store_true")
    parser.add_argument("--skip-fps", action="store_true")
    parser.add_argument(
        "--profile", type=int, default=0, metavar="N",
        help="profile the UI thread during the stall run and print its N costliest functions",
    )  # fmt: skip
    args = parser.parse_args()
    from PySide6 import QtCore

    from locgui.qt.app import make_app, wait_until
    from locgui.qt.main_window import MainWindow

    try:
        import torch

        torch.set_num_threads(2)
    except ImportError:
        pass
    app = make_app()
    print(f"machine: {_machine()}")
    tmp = Path(tempfile.mkdtemp(prefix="locgui-bench-"))
    settings = QtCore.QSettings(str(tmp / "s.ini"), QtCore.QSettings.Format.IniFormat)
    window = MainWindow(settings=settings)
    window.resize(1600, 1000)
    window.show()
    wait_until(lambda: False, 0.5)
    print(f"GL renderer: {_gl_renderer(window.view3d.gl)}  platform: {app.platformName()}")
    if not args.skip_stall:
        if args.scene:
            scene = Path(args.scene)
            bundle = scene.with_name(scene.name + ".locmap")
        else:
            print("preparing the tiny synthetic scene and its map ...", flush=True)
            scene, bundle = prepare_scene(tmp)
        if args.profile:
            import cProfile
            import pstats

            profiler = cProfile.Profile()  # the main (UI) thread only
            profiler.enable()
        bench_stall(window, scene, bundle, tmp)
        if args.profile:
            profiler.disable()
            stats = pstats.Stats(profiler)
            stats.sort_stats("tottime").print_stats(args.profile)
            stats.sort_stats("cumulative").print_stats("locgui", args.profile)
        bench_click(window)
    bench_match_filter(window)
    bench_timeline(window)
    window.close()
    if not args.skip_fps:
        for n in (100_000, 1_000_000):
            for lod in (False, True):
                fps, budget = bench_fps(n, lod)
                extra = f" (moving: {budget:,} points drawn)" if lod else ""
                state = "on " if lod else "off"
                print(f"3D orbit, {n:>9,} points, LOD {state}: {fps:5.1f} frames/s{extra}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
