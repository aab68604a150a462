"""Screenshot of the 3D view: the tiny synthetic scene localized by sfm, points and rpr.

Every query is localized with the three methods, the first query is focused and framed
(`Q`), then the camera backs off to show its neighbours. Writes docs/screenshots/view3d.png
(or OUT) from a 1600 x 1000 window. Needs a display with GL:

    QT_QPA_PLATFORM=xcb xvfb-run -a -s "-screen 0 1600x1000x24" \\
        .venv/bin/python scripts/screenshot_view3d.py [OUT] [--colouring error]

The scene and its map are built once into a temporary folder (about a minute on 2 cores).
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

METHODS = ["sfm", "points", "rpr"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", nargs="?", default="docs/screenshots/view3d.png")
    parser.add_argument("--colouring", default="neutral", help="neutral, image, error, track")
    parser.add_argument("--work", default=None, help="folder for the scene and its map")
    args = parser.parse_args()

    from PySide6 import QtCore

    from locgui.io.synth import generate
    from locgui.methods.mapping.config import MapBuildConfig
    from locgui.methods.mapping.pipeline import build_map
    from locgui.qt.app import make_app, wait_for, wait_until
    from locgui.qt.main_window import MainWindow

    work = Path(args.work or tempfile.mkdtemp(prefix="locgui-view3d-"))
    bundle = work / "tiny.locmap"
    if not bundle.exists():
        scene = generate(work / "tiny", preset="tiny")
        build_map(scene, bundle, MapBuildConfig(max_keypoints=2048, device="cpu"))
    app = make_app()
    ini = Path(tempfile.mkdtemp(prefix="locgui-shot-")) / "settings.ini"
    window = MainWindow(settings=QtCore.QSettings(str(ini), QtCore.QSettings.Format.IniFormat))
    window.resize(1600, 1000)
    window.show()
    bench, state = window.bench, window.state
    wait_for(bench.open_path(bundle), 300)
    state.settings.set("methods", METHODS)
    state.settings.set("point_colouring", args.colouring)
    names = list(state.queries)
    for name in reversed(names):
        state.select_query(name)
        wait_for(bench.localize(METHODS), 300)
    wait_until(lambda: not bench.bridge.tasks(), 60)
    state.select_query(names[0])
    state.select_method("sfm")
    view = window.view3d
    view.frame_query()
    view.gl.setCameraPosition(distance=view.gl.view_distance * 3.0, azimuth=-35, elevation=30)
    wait_until(lambda: False, 1.0)  # the full-density frame
    out = Path(args.out)
    view.grab().save(str(out))
    for method in METHODS:
        result = state.results[names[0]].get(method)
        errors = state.errors(result) if result is not None else None
        print(f"{method}: {errors}")
    print(out)
    window.close()
    del app
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
