"""The evaluation results window: a batch run's folder shown as its table and plots."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from locgui.methods.batch.plan import Plan, Settings, eval_map_plan
from locgui.methods.batch.runner import Executor, run_batch
from locgui.methods.batch.summary import write_summary
from locgui.model.eval_results import NotAnEvaluation, is_eval_folder, load_eval_folder


@pytest.fixture(scope="module")
def eval_folder(tiny_bundle_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("evalwin") / "sweep"
    plan = Plan([eval_map_plan(tiny_bundle_dir, "tiny", "test", limit=3)],
                [Settings("sfm"), Settings("sfm", "fast")])  # fmt: skip
    run = run_batch(plan, Executor(), out)
    write_summary(out, plan, run.rows, run.figures)
    return out


def test_folder_reads_back_with_errors_per_group(eval_folder: Path) -> None:
    assert is_eval_folder(eval_folder) and not is_eval_folder(eval_folder / "plots")
    folder = load_eval_folder(eval_folder)
    assert [(s["method"], s["preset"]) for s in folder.summaries] == [("sfm", "default"),
                                                                       ("sfm", "fast")]  # fmt: skip
    assert [folder.label(s) for s in folder.summaries] == ["sfm (default)", "sfm (fast)"]
    for s in folder.summaries:
        t, r = folder.errors(s)
        assert len(t) == len(r) == 3
        assert int((t < float("inf")).sum()) == s["localized"]
        rows = [x for x in folder.rows if x["preset"] == s["preset"]]
        radius = folder.maps["tiny"]["scene_radius"]
        expected = sorted(100 * x["t_err"] / radius for x in rows if x["t_err"] is not None)
        assert sorted(t[t < float("inf")].tolist()) == pytest.approx(expected)


def test_a_folder_without_an_evaluation_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(NotAnEvaluation, match="locgui eval MAP... --sweep --out"):
        load_eval_folder(tmp_path)
    (tmp_path / "summary.json").write_text("{not json")
    (tmp_path / "results.jsonl").write_text("")
    with pytest.raises(NotAnEvaluation, match="does not read"):
        load_eval_folder(tmp_path)


def test_window_shows_the_table_and_one_curve_per_group(eval_folder: Path, main_window,
                                                        qtbot) -> None:  # fmt: skip
    main_window.open_any(eval_folder)  # what File > Open and `locgui FOLDER` do
    window = main_window.eval_windows[-1]
    qtbot.addWidget(window)
    assert window.table.rowCount() == 2
    headers = [window.table.horizontalHeaderItem(j).text()
               for j in range(window.table.columnCount())]  # fmt: skip
    assert headers[:4] == ["map", "method", "preset", "localized"]
    localized = {window.table.item(i, 2).text(): window.table.item(i, 3).text()
                 for i in range(2)}  # fmt: skip
    summary = json.loads((eval_folder / "summary.json").read_text())["summaries"]
    assert localized == {s["preset"]: f"{s['localized']}/3" for s in summary}
    assert [window.map_box.itemText(i) for i in range(window.map_box.count())] == ["tiny"]
    curves = window.plots["error_t"].getPlotItem().listDataItems()
    assert len(curves) == sum(1 for s in summary if s["localized"])
    assert len(window.plots["latency"].getPlotItem().items) >= 3  # a bar item per stage
    assert "6/6 queries stored" in window.info.text()


def test_window_reports_an_unreadable_folder(tmp_path: Path, main_window, monkeypatch) -> None:
    from PySide6 import QtWidgets

    said: list[str] = []
    monkeypatch.setattr(QtWidgets.QMessageBox, "warning",
                        lambda parent, title, text: said.append(text))  # fmt: skip
    main_window.open_eval(tmp_path)
    assert said and "not an evaluation folder" in said[0]


def test_localize_all_streams_results_and_opens_the_evaluation(
    main_window, qtbot, tiny_bundle_dir: Path, tmp_path: Path
) -> None:
    from locgui.qt.main_window import MainWindow

    assert isinstance(main_window, MainWindow)
    task = main_window.bench.open_path(tiny_bundle_dir)
    qtbot.waitUntil(lambda: task.state.done, timeout=60_000)
    state = main_window.state
    names = list(state.queries)
    assert len(names) == 4
    state.settings.set("methods", ["sfm", "points"])
    streamed: list[tuple[str, str]] = []
    state.results_changed.connect(lambda q, m: streamed.append((q, m)) if m else None)
    run = main_window.bench.localize_all(out=tmp_path / "all")
    assert run is not None
    qtbot.waitUntil(lambda: run.state.done, timeout=300_000)
    assert sorted(streamed) == sorted((q, m) for q in names for m in ("sfm", "points"))
    window = main_window.eval_windows[-1]  # opened when the run finished
    qtbot.addWidget(window)
    assert window.folder.path == tmp_path / "all"
    rows = {(r["query"], r["method"]): r for r in window.folder.rows}
    for (q, m), r in rows.items():  # the stored rows are the results the window shows
        shown = state.results[q][m]
        assert r["success"] == shown.success and r["num_inliers"] == shown.num_inliers
        if shown.success:
            assert r["t_err"] == pytest.approx(state.errors(shown)[0], abs=1e-6)
    assert window.table.rowCount() == 2
    exported = window.export(tmp_path / "export")
    assert {p.name for p in exported} >= {"summary.csv", "tiny_error_t.svg", "tiny_error_t.png"}


def test_localize_all_without_queries_says_what_to_do(main_window) -> None:
    said: list[str] = []
    main_window.state.notifications.posted.connect(lambda n: said.append(n.message))
    assert main_window.bench.localize_all() is None
    assert said and "no queries" in said[0]
