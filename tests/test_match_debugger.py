"""The match debugger: filters that compose and never hide what a tick shows, one inlier
count in every view, the large window, labels that do not overlap."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from locgui.core.results import LocalizationResult, Matches2D3D
from locgui.model.linking import MatchTable
from locgui.model.match_filter import MatchFilter, describe, fates, inlier_counts
from tests.plugins.qt import exact_result


def table(n_in: int = 6, n_out: int = 4, n_no3d: int = 2) -> MatchTable:
    n = n_in + n_out + n_no3d
    m3d = np.r_[np.arange(n_in + n_out), -np.ones(n_no3d, int)]
    inlier = np.r_[np.ones(n_in, bool), np.zeros(n_out + n_no3d, bool)]
    error = np.r_[np.linspace(0.5, 3, n_in), np.linspace(60, 900, n_out), np.full(n_no3d, np.nan)]
    xy = np.arange(2 * n, dtype=float).reshape(n, 2)
    return MatchTable(xy, xy + 1, m3d, inlier, error, m3d.copy())


def test_ticked_outliers_show_whatever_their_error() -> None:
    t = table()
    keep, hidden = MatchFilter().apply(t)  # the defaults: every fate, any error
    assert keep.all() and hidden == {"fate": 0, "error": 0, "budget": 0}
    keep, _ = MatchFilter(show=frozenset({"outlier"})).apply(t)
    assert np.array_equal(keep, fates(t)["outlier"]) and keep.sum() == 4


def test_filters_compose_and_count_what_they_hide() -> None:
    t = table()
    f = MatchFilter(show=frozenset({"inlier", "outlier", "no3d"}), min_error=1.0, max_error=100)
    keep, hidden = f.apply(t)
    known = np.isfinite(t.error)
    expected = ~known | ((t.error >= 1.0) & (t.error <= 100))
    assert np.array_equal(keep, expected)
    assert keep[~known].all()  # no error (no 3D point): never hidden by the range
    assert hidden["error"] == int((~expected).sum()) and hidden["fate"] == 0
    no3d_only = MatchFilter(show=frozenset({"no3d"}), max_error=1.0).apply(t)[0]
    assert np.array_equal(no3d_only, fates(t)["no3d"])


def test_line_budget_subsamples_evenly() -> None:
    t = table(n_in=100, n_out=0, n_no3d=0)
    keep, hidden = MatchFilter(max_lines=10).apply(t)
    rows = np.flatnonzero(keep)
    assert len(rows) == 10 and hidden["budget"] == 90
    assert rows[0] == 0 and rows[-1] == 99 and np.all(np.diff(rows) >= 10)
    text = describe(t, keep, hidden)
    assert text == "10 of 100 matches shown · 10 of 100 inliers · hidden: 90 by the line budget"


def test_inliers_never_exceed_matches() -> None:
    n = 305
    m3d = Matches2D3D(np.zeros((n, 2)), np.zeros((n, 3)), np.arange(n), np.zeros(n, int),
                      np.arange(n) < 200, np.zeros(n))  # fmt: skip
    rpr = LocalizationResult("rpr", "q", True, num_inliers=452, matches_2d3d=m3d)
    assert inlier_counts(rpr) == (200, 305)  # not "452 / 305"
    assert inlier_counts(dataclasses.replace(rpr, matches_2d3d=None)) == (452, 0)
    assert inlier_counts(None) == (0, 0)


# ---------------------------------------------------------------------------- the view


@pytest.fixture
def shown(main_window, qtbot, tiny_scene):
    from tests.test_qt_window import WAIT_MS, _show

    qid, db = tiny_scene.split_ids("test")[1], tiny_scene.split_ids("train")[1]
    result = exact_result(tiny_scene, qid, db, n_outliers=5)
    _show(main_window, qtbot, tiny_scene, result)
    mv = main_window.matches
    qtbot.waitUntil(lambda: mv.query_rgb is not None and mv.db_rgb is not None, timeout=WAIT_MS)
    return main_window, mv, result


def test_view_shows_every_ticked_match_and_one_inlier_count(shown) -> None:
    window, mv, result = shown
    n = len(result.matches_2d3d)
    assert len(mv.visible) == len(mv.table) == n + 2  # outliers at 50 px show by default
    assert int(fates(mv.visible)["outlier"].sum()) == 5
    n_in = int(result.matches_2d3d.inliers.sum())
    assert window.results.item(0, 2).text() == f"{n_in} / {n}"
    assert mv.shortlist.item(0, 2).text() == f"{n_in}/{n}"  # the "all matches" row
    assert f"{n_in} of {n_in} inliers" in mv.readout.text()
    assert int(sum(c.sum() for c in mv.histogram.counts)) == n
    mv.fate_boxes["inlier"].setChecked(False)
    mv.max_err.setValue(10.0)  # outliers are at 50 px: the range hides them, and says so
    assert len(mv.visible) == 2 and "hidden: " in mv.readout.text()
    assert f"{n_in} by fate" in mv.readout.text() and "5 by error range" in mv.readout.text()
    mv.max_err.setValue(0.0)  # "any"
    assert mv.max_err.text() == "any" and len(mv.visible) == 7


def test_large_window_follows_the_selection(shown, qtbot) -> None:
    from tests.test_qt_window import WAIT_MS

    window, mv, result = shown
    mv.pop_out()
    big = mv._popped[-1]
    qtbot.addWidget(big)
    view = big.view
    qtbot.waitUntil(lambda: view.query_rgb is not None and view.db_rgb is not None,
                    timeout=WAIT_MS)  # fmt: skip
    area = big.screen().availableGeometry()
    assert big.width() >= 0.85 * area.width() and len(view.visible) == len(mv.visible)
    big.resize(1600, 1000)  # as on the screen
    qtbot.waitUntil(lambda: view.canvas.width() > 900, timeout=WAIT_MS)
    assert view.db_offset()[0] > 0  # a wide window: side by side
    a, b = (lab.sceneBoundingRect() for lab in view.labels)
    assert not a.intersects(b)
    other = int(result.matches_2d3d.point3D_ids.size // 2)
    window.state.select_match(other, source="test")
    assert view.state.selection.current.match_index == other
    x, _ = view.sel_line.getData()
    assert len(x) >= 1
