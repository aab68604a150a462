"""Screenshots of the main states at 1280x800 and 1600x1000 with geometry checks: no two
visible controls overlap and no text is cut without its tooltip (tests/qt_layout.py).

The images go to a temporary folder; ``LOCGUI_UPDATE_SCREENSHOTS=1`` writes them to
docs/screenshots/ instead (look at them before committing)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.qt_layout import cut_texts, overlaps

pytestmark = pytest.mark.gl
SIZES = ((1280, 800), (1600, 1000))
ROOT = Path(__file__).resolve().parents[1]


def out_dir(tmp_path: Path) -> Path:
    if os.environ.get("LOCGUI_UPDATE_SCREENSHOTS") == "1":
        return ROOT / "docs" / "screenshots"
    return tmp_path


def check_and_save(widget, name: str, folder: Path) -> None:
    problems = overlaps(widget) + cut_texts(widget)
    widget.grab().save(str(folder / f"{name}.png"))
    assert not problems, f"{name}: " + "; ".join(problems)


@pytest.fixture(params=SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def window(request, qtbot, qsettings):
    from locgui.qt.main_window import MainWindow

    w = MainWindow(settings=qsettings)
    qtbot.addWidget(w)
    w.resize(*request.param)
    w.requested = request.param
    w.show()
    qtbot.waitExposed(w)
    yield w
    w.close()


def test_empty_window(window, qtbot, tmp_path: Path) -> None:
    qtbot.wait(200)
    size = f"{window.width()}x{window.height()}"
    check_and_save(window, f"empty_{size}", out_dir(tmp_path))


def test_localized_with_three_methods_and_the_large_match_view(
    window, qtbot, tiny_bundle_dir: Path, tmp_path: Path
) -> None:
    size = f"{window.width()}x{window.height()}"
    task = window.bench.open_path(tiny_bundle_dir)
    qtbot.waitUntil(lambda: task.state.done, timeout=60_000)
    methods = ["sfm", "points", "rpr"]
    window.state.settings.set("methods", methods)
    window.bench.localize(methods)
    query = window.state.selection.current.query
    qtbot.waitUntil(lambda: len(window.state.results.get(query, {})) == 3, timeout=300_000)
    qtbot.waitUntil(lambda: window.matches.db_rgb is not None, timeout=20_000)
    qtbot.wait(300)
    folder = out_dir(tmp_path)
    check_and_save(window, f"localized_{size}", folder)
    window.matches.pop_out()
    big = window.matches._popped[-1]
    qtbot.addWidget(big)
    big.resize(window.size())
    qtbot.waitUntil(lambda: big.view.db_rgb is not None, timeout=20_000)
    qtbot.wait(300)
    check_and_save(big, f"match_debugger_{size}", folder)
    run = window.bench.localize_all(methods, out=tmp_path / "all")
    qtbot.waitUntil(lambda: run.state.done, timeout=600_000)
    evaluation = window.eval_windows[-1]
    qtbot.addWidget(evaluation)
    evaluation.resize(window.size())
    qtbot.wait(300)
    check_and_save(evaluation, f"localize_all_{size}", folder)
    window.show_live()
    qtbot.wait(300)
    width, height = window.requested
    assert window.width() <= width and window.height() <= height  # the dock did not grow it
    check_and_save(window, f"live_dock_{size}", folder)


def test_live_run_with_the_timeline_and_the_scene_tree(
    window, qtbot, tiny_bundle_dir: Path, live_clip: Path, tmp_path: Path
) -> None:
    """A live run, paused mid-clip: the live dock, the timeline (raised when it started) and
    the scene tree tab."""
    size = f"{window.width()}x{window.height()}"
    task = window.bench.open_path(tiny_bundle_dir)
    qtbot.waitUntil(lambda: task.state.done, timeout=60_000)
    window.show_live()
    window.live.path.setText(str(live_clip))
    window.live.lockstep.setChecked(True)  # every frame of the 15-frame clip
    window.live.start()
    live = window.state.live
    qtbot.waitUntil(lambda: live.runs and len(live.runs[-1]) >= 6, timeout=300_000)
    window.live.set_paused(True)
    window.docks["tree"].raise_()
    qtbot.waitUntil(lambda: window.live.status.text() != "", timeout=20_000)
    log, plot = live.runs[-1], window.timeline.plot
    def plotted() -> bool:  # the plot holds every frame recorded (paused: no more come)
        xs = plot.curve.getData()[0]
        return xs is not None and len(xs) == len(log)

    qtbot.waitUntil(plotted, timeout=20_000)
    qtbot.wait(300)
    assert window.docks["timeline"].isVisible() and live.active
    width, height = window.requested
    assert window.width() <= width and window.height() <= height
    check_and_save(window, f"live_running_{size}", out_dir(tmp_path))
    window.live.stop()
    qtbot.waitUntil(lambda: not live.active, timeout=60_000)
