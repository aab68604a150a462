"""What the window says before there is anything to show, and File > Open with a file."""

from __future__ import annotations

from pathlib import Path


def test_empty_window_says_how_to_start(main_window) -> None:
    assert "File > Open scene (Ctrl+O)" in main_window.view3d.info.text()
    assert "Demo scene" in main_window.view3d.info.text()
    count = main_window.queries.count.text()
    assert count.startswith("no queries") and "Ctrl+H" in count and "Ctrl+Shift+O" in count


def test_notification_counter_agrees_in_number(main_window) -> None:
    notes = main_window.state.notifications
    notes.info("one")
    assert main_window.notifications.counter.text() == "1 message · 0 errors"
    notes.error("two")
    assert main_window.notifications.counter.text() == "2 messages · 1 error"


def test_open_accepts_scene_files_and_evaluation_folders(main_window, monkeypatch,
                                                         tmp_path: Path) -> None:  # fmt: skip
    opened: list[str] = []
    monkeypatch.setattr(main_window.bench, "open_path", lambda p: opened.append(str(p)))
    shown: list[str] = []
    monkeypatch.setattr(main_window, "open_eval", lambda p: shown.append(str(p)))
    scene_file = tmp_path / "transforms.json"
    scene_file.write_text("{}")
    main_window.open_any(scene_file)
    evaluation = tmp_path / "run"
    evaluation.mkdir()
    (evaluation / "summary.json").write_text("{}")
    (evaluation / "results.jsonl").write_text("")
    main_window.open_any(evaluation)
    assert opened == [str(scene_file)] and shown == [str(evaluation)]
    texts = [a.text().replace("&", "") for a in main_window.actions()]
    assert "Open scene file…" in texts and "Localize all queries" in texts


def test_live_dock_does_not_grow_the_window_past_the_screen(main_window, qtbot) -> None:
    area = main_window.screen().availableGeometry()
    before = main_window.size()
    main_window.show_live()
    qtbot.waitUntil(lambda: main_window.live.isVisible(), timeout=5000)
    qtbot.wait(50)  # the deferred keep_on_screen
    assert main_window.height() <= max(before.height(), area.height())
    assert main_window.width() <= max(before.width(), area.width())
    assert main_window.docks["matches"] in main_window.tabifiedDockWidgets(main_window.live)


def test_parameters_heading_says_whether_the_method_runs(main_window) -> None:
    panel = main_window.methods
    names = [panel.list.item(r).data(0x0100) for r in range(panel.list.count())]
    main_window.state.settings.set("methods", ["sfm"])
    panel.list.setCurrentRow(names.index("points"))
    assert panel.params_title.text() == "points · skipped"
    assert "not ticked, so Localize skips it" in panel.params_title.toolTip()
    main_window.state.settings.set("methods", ["sfm", "points"])
    assert panel.params_title.text() == "points · runs"
    assert "ticked, so Localize runs it" in panel.params_title.toolTip()
