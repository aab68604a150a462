"""The timeline's model without Qt: a live run's record (every frame, thumbnails, columns),
scrubbing a live run (follow / stop following) and a method's results over the queries
(seeking selects the query), and the entity tree (visibility, selection)."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest

from locgui.core.camera import Camera
from locgui.core.pose import Rigid3, axis_angle_to_rotmat
from locgui.methods.live.results import LOST, RELOCALIZED, TRACKED, LiveFrameResult
from locgui.model import entities, run_log
from locgui.model.match_filter import inlier_counts
from locgui.model.run_log import RunLog, decode_thumbnail
from locgui.model.state import AppState
from locgui.model.timeline import LiveTrack, QueryTrack
from tests.plugins.qt import exact_result

CAM = Camera("PINHOLE", 64, 48, (50.0, 50.0, 32.0, 24.0))


def _pose(i: int) -> Rigid3:
    R = axis_angle_to_rotmat(np.radians([0.0, 0.5 * i, 0.0]))
    return Rigid3(R, -R @ np.array([0.01 * i, 0.0, -2.0]))


def _frame(i: int) -> LiveFrameResult:
    """Frame ``i``: lost every 7th frame, relocalized every 5th, else tracked."""
    status = LOST if i % 7 == 3 else RELOCALIZED if i % 5 == 0 else TRACKED
    pose = None if status == LOST else _pose(i)
    gt = _pose(i)
    return LiveFrameResult(
        i, 10.0 + 0.1 * i, f"f{i:04d}", status, f"reason {i}", cam_from_world=pose,
        camera=CAM, num_inliers=100 + i, num_matches=200 + i, timings={"total": 0.001 * i},
        gt_cam_from_world=gt, error_t=0.001 * i if pose else float("nan"),
    )  # fmt: skip


def _rgb(i: int) -> np.ndarray:
    """A 480x640 frame whose left half is grey level ``i`` and right half white."""
    img = np.full((480, 640, 3), 255, np.uint8)
    img[:, :320] = i
    return img


def test_run_log_keeps_every_frame_and_its_thumbnail() -> None:
    log = RunLog("clip.mp4", "sfm", 3)
    for i in range(150):  # grows past the first capacity twice
        log.append(_frame(i), _rgb(i))
    assert len(log) == 150 and log.title == "live 3 · clip.mp4 · sfm"
    for i in (0, 3, 64, 149):
        p, r = log.frame(i), _frame(i)
        assert (p.index, p.name, p.status, p.reason) == (i, r.name, r.status, r.reason)
        assert p.time == pytest.approx(0.1 * i)
        assert (p.num_inliers, p.num_matches) == (100 + i, 200 + i)
        assert p.latency == pytest.approx(0.001 * i)
        if r.status == LOST:
            assert p.cam_from_world is None and not p.localized
            assert np.isnan(log.column("center")[i]).all()
        else:
            np.testing.assert_allclose(p.cam_from_world.matrix(), _pose(i).matrix())
            np.testing.assert_allclose(log.column("center")[i], _pose(i).center)
        np.testing.assert_allclose(log.column("gt_center")[i], _pose(i).center)
        thumb = decode_thumbnail(p.thumbnail)
        assert thumb is not None and thumb.shape == (180, 240, 3)  # 240 px on the long side
        assert abs(int(thumb[90, 40].mean()) - i) < 6 and thumb[90, 200].min() > 245
    codes = log.column("status")
    assert codes[3] == run_log.STATUS_CODES[LOST] and codes[5] == run_log.STATUS_CODES[RELOCALIZED]
    np.testing.assert_array_equal(log.column("inliers"), 100 + np.arange(150))
    with pytest.raises(IndexError):
        log.frame(150)


def test_run_log_thumbnails_stop_at_the_byte_budget(monkeypatch) -> None:
    log = RunLog("clip", "sfm")
    one = len(RunLog._thumbnail(_rgb(0)) or b"")
    monkeypatch.setattr(run_log, "THUMB_BUDGET", int(2.5 * one))
    for i in range(5):
        log.append(_frame(i), _rgb(0))
    kept = [log.frame(i).thumbnail is not None for i in range(5)]
    assert kept == [True, True, False, False, False]
    assert len(log) == 5  # the frames themselves are all kept


def test_run_log_reads_while_a_thread_appends() -> None:
    log = RunLog("clip", "sfm")
    done = threading.Event()

    def writer() -> None:
        for i in range(2000):
            log.append(_frame(i))
        done.set()

    t = threading.Thread(target=writer)
    t.start()
    seen = 0
    while not done.is_set() or seen < len(log):
        n = len(log)
        if n:
            centres = log.column("center")
            assert len(centres) >= n - 0 and log.frame(n - 1).index == n - 1
            seen = n
    t.join()
    assert len(log) == 2000 and log.frame(1999).name == "f1999"


def test_timeline_follows_a_live_run_until_the_user_scrubs_back() -> None:
    state = AppState()
    positions: list[int] = []
    state.timeline.position_changed.connect(lambda track, i: positions.append(i))
    state.live.begin("clip.mp4", "sfm")
    log = state.live.runs[-1]
    track = state.timeline.track
    assert isinstance(track, LiveTrack) and track.log is log and state.timeline.follow
    for i in range(10):
        log.append(_frame(i))
        state.timeline.frames_added()  # what a drawn frame triggers
    assert state.timeline.index == 9 and positions[-1] == 9
    point = state.timeline.seek(4)
    assert point is not None and point.name == "f0004" and not state.timeline.follow
    log.append(_frame(10))
    state.timeline.frames_added()
    assert state.timeline.index == 4  # not following: stays where the user put it
    state.timeline.seek(99)  # clamped to the last frame: following again
    assert state.timeline.index == 10 and state.timeline.follow
    assert state.timeline.step(-3).index == 7 and state.timeline.step(-100).index == 0
    # A second run is shown first; the first is still there to scrub.
    state.live.begin("cam 0", "points")
    keys = [t.key for t in state.timeline.tracks()]
    assert keys == ["live:2", "live:1"] and state.timeline.track.key == "live:2"
    assert state.timeline.point() is None  # no frame yet
    # Only the two newest runs keep their thumbnails (memory stays bounded).
    log.append(_frame(11), _rgb(11))
    assert log.frame(11).thumbnail is not None
    state.live.begin("cam 0", "sfm")
    assert log.frame(11).thumbnail is None and log.frame(11).num_inliers == 111


def test_query_track_seeks_select_the_query_and_follow_the_selection(tiny_scene) -> None:
    state = AppState()
    state.set_scene(tiny_scene, path=Path("tiny"))
    qids, db = tiny_scene.split_ids("test"), tiny_scene.split_ids("train")[0]
    names = sorted(state.queries)
    results = {}
    for qid in qids[:2]:
        r = exact_result(tiny_scene, qid, db)
        state.set_result(r)
        results[r.query_name] = r
    failed = exact_result(tiny_scene, qids[2], db, method="rpr")
    failed.success, failed.reason = False, "4 inliers < 12"
    state.set_result(failed)
    keys = [t.key for t in state.timeline.tracks()]
    assert keys == ["queries:rpr", "queries:sfm"]
    track = state.timeline.track_by_key("queries:sfm")
    assert isinstance(track, QueryTrack) and len(track) == len(names)
    state.timeline.show(track)
    target = names.index(sorted(results)[1])
    point = state.timeline.seek(target)
    assert point.query == names[target] and state.selection.current.query == names[target]
    assert state.selection.current.method == "sfm"
    r = results[names[target]]
    assert (point.num_inliers, point.num_matches) == inlier_counts(r)
    assert point.localized and point.error_t == pytest.approx(0.0, abs=1e-9)
    missing = next(i for i, n in enumerate(names) if n not in results)
    assert track.frame(missing).status == "missing" and not track.frame(missing).localized
    inl = track.column("inliers")
    assert inl[target] == inlier_counts(r)[0] and inl[missing] == 0
    # Another view selects a query: the track's position follows without re-selecting.
    state.select_query(names[missing], source="queries")
    assert state.timeline.index == missing
    # A failed result is "lost" in the rpr track, with its reason.
    rpr = state.timeline.track_by_key("queries:rpr")
    p = rpr.frame(names.index(failed.query_name))
    assert p.status == "lost" and p.reason == "4 inliers < 12" and not p.localized


def test_entity_tree_mirrors_the_state_and_drives_visibility_and_selection(tiny_scene) -> None:
    state = AppState()
    state.set_scene(tiny_scene, path=Path("tiny"))
    qid, db = tiny_scene.split_ids("test")[0], tiny_scene.split_ids("train")
    r = exact_result(tiny_scene, qid, db[0])
    state.set_result(r)
    nodes = {n.key: n for top in entities.build(state, lambda m: "#123456") for n in top.walk()}
    assert [n.key for n in entities.build(state, lambda m: "#000000")] == [
        "scene", "queries", "methods", "trajectories", "links", "live",
    ]  # fmt: skip
    assert {f"image:{i}" for i in db} <= set(nodes)
    assert nodes["points"].detail == f"{len(tiny_scene.points):,}"
    q = r.query_name
    res = nodes[f"result:{q}|sfm"]
    inl, n = inlier_counts(r)
    assert f"{inl}/{n} inliers" in res.detail and res.colour == "#123456"
    assert nodes[f"query:{q}"].detail == "1/1 localized"
    # Check boxes: layers and one method's estimates.
    entities.set_visible(state, "points", False)
    assert not state.settings.layer_visible("points")
    entities.set_visible(state, "method:sfm", False)
    assert state.settings["hidden_methods"] == ["sfm"]
    assert not {n.key: n for n in entities.build(state, str)[2].walk()}["method:sfm"].visible
    entities.set_visible(state, "method:sfm", True)
    assert state.settings["hidden_methods"] == []
    # Selection: an image, a result, a method (its track in the timeline).
    entities.select(state, f"image:{db[1]}")
    assert state.selection.current.image_id == db[1]
    other = next(n for n in state.queries if n != q)
    state.select_query(other)
    entities.select(state, f"result:{q}|sfm")
    assert state.selection.current.query == q and state.selection.current.method == "sfm"
    assert entities.selected_key(state) == f"result:{q}|sfm"
    entities.select(state, "method:sfm")
    assert state.timeline.track.key == "queries:sfm"
    assert state.timeline.point().query == q


def test_query_tracks_are_rebuilt_when_read_not_per_result(tiny_scene, monkeypatch) -> None:
    """Localize all streams one result at a time: the shown track is not rebuilt for each
    (that was quadratic in the number of queries)."""
    state = AppState()
    state.set_scene(tiny_scene, path=Path("tiny"))
    qids, db = tiny_scene.split_ids("test"), tiny_scene.split_ids("train")[0]
    state.set_result(exact_result(tiny_scene, qids[0], db))
    state.timeline.show(state.timeline.track_by_key("queries:sfm"))
    built: list[str] = []
    original = QueryTrack._point

    def counted(self, i, name):
        built.append(name)
        return original(self, i, name)

    monkeypatch.setattr(QueryTrack, "_point", counted)
    for qid in qids[1:]:
        state.set_result(exact_result(tiny_scene, qid, db))
    assert built == []
    point = state.timeline.point()
    assert point is not None and len(built) == len(state.queries)
