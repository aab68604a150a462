"""The pure-Python model: signals, selection, the app state and its linking."""

from __future__ import annotations

import gc

import numpy as np
import pytest

from locgui.core.pose import Rigid3, axis_angle_to_rotmat
from locgui.io.queries import HELD_OUT_SUFFIX, QueryRef
from locgui.model import AppState, Signal
from locgui.model.events import set_slot_error_hook
from tests.plugins.qt import OUTLIER_SHIFT, exact_result


class Recorder:
    def __init__(self) -> None:
        self.calls: list[tuple] = []

    def slot(self, *args: object) -> None:
        self.calls.append(args)


def test_signal_calls_slots_in_order_and_drops_dead_methods():
    sig = Signal("x")
    order: list[str] = []
    sig.connect(lambda v: order.append(f"f{v}"))
    rec = Recorder()
    sig.connect(rec.slot)
    sig.connect(rec.slot)  # connecting twice keeps one
    sig.emit(1)
    assert order == ["f1"] and rec.calls == [(1,)]
    with sig.blocked():
        sig.emit(2)
    assert rec.calls == [(1,)]
    del rec
    gc.collect()
    assert len(sig.slots()) == 1  # the bound method of a deleted view is gone
    sig.emit(3)
    assert order == ["f1", "f3"]


def test_a_failing_slot_does_not_stop_the_others():
    sig = Signal("x")
    seen: list[int] = []
    errors: list[str] = []

    def bad(v: int) -> None:
        raise RuntimeError(f"broken view {v}")

    sig.connect(bad)
    sig.connect(seen.append)
    previous = set_slot_error_hook(lambda exc, slot: errors.append(str(exc)))
    try:
        sig.emit(5)
    finally:
        set_slot_error_hook(previous)
    assert seen == [5] and errors == ["broken view 5"]


def test_selection_emits_once_per_real_change():
    state = AppState()
    rec = Recorder()
    state.selection.changed.connect(rec.slot)
    assert state.selection.update("3d", point3D_id=7)
    assert not state.selection.update("matches", point3D_id=7)  # same value, other source
    assert len(rec.calls) == 1
    new, old = rec.calls[0]
    assert (new.point3D_id, new.source, old.point3D_id) == (7, "3d", None)


def test_set_scene_lists_the_query_split_with_ground_truth(tiny_scene):
    state = AppState()
    rec = Recorder()
    state.scene_changed.connect(rec.slot)
    state.set_scene(tiny_scene)
    test_ids = tiny_scene.split_ids("test")
    assert list(state.queries) == [tiny_scene.images[i].name for i in test_ids]
    first = state.queries[tiny_scene.images[test_ids[0]].name]
    assert first.gt_cam_from_world == tiny_scene.images[test_ids[0]].cam_from_world
    assert first.camera == tiny_scene.camera_of(test_ids[0])
    assert state.selection.current.query == first.name
    assert rec.calls == [()]


def test_what_the_readers_noticed_reaches_the_notifications(tiny_scene):
    scene = tiny_scene.subset(list(tiny_scene.images))
    scene.missing_images = [im.name for im in list(scene.images.values())[:7]]
    scene.meta["layout_notes"] = ["sparse/ holds no COLMAP model"]
    state = AppState()
    state.set_scene(scene)
    texts = [n.message for n in state.notifications.items]
    assert f"7 of {len(scene.images)} images of the scene have no file" in texts
    assert any(t.endswith("sparse/ holds no COLMAP model") for t in texts)
    detail = next(n.detail for n in state.notifications.items if "have no file" in n.message)
    assert detail.endswith("and 2 more")


def test_held_out_query_is_named_and_excluded(tiny_scene):
    db = tiny_scene.split_ids("train")[3]
    q = QueryRef.from_scene(tiny_scene, db, held_out=True)
    assert q.name == tiny_scene.images[db].name + HELD_OUT_SUFFIX
    query = q.load()
    assert query.held_out_image_id == db
    assert query.image.shape == (240, 320, 3) and query.image.dtype == np.uint8


def test_results_errors_and_linking(tiny_scene):
    state = AppState()
    state.set_scene(tiny_scene)
    qid, db = tiny_scene.split_ids("test")[0], tiny_scene.split_ids("train")[0]
    result = exact_result(tiny_scene, qid, db)
    changes = Recorder()
    state.results_changed.connect(changes.slot)
    state.set_result(result)
    assert changes.calls == [(result.query_name, "sfm")]
    assert state.selection.current.method == "sfm"
    # Exact GT pose: zero error.
    assert state.errors(result) == pytest.approx((0.0, 0.0), abs=1e-6)
    # A pose 0.1 units off and 2 degrees turned.
    gt = result.cam_from_world
    R = axis_angle_to_rotmat(np.radians([0, 0, 2.0])) @ gt.rotation
    moved = Rigid3(R, -R @ (gt.center + np.array([0.1, 0, 0])))
    result2 = exact_result(tiny_scene, qid, db, method="points")
    result2.cam_from_world = moved
    dt, dr = state.errors(result2)
    assert dt == pytest.approx(0.1, abs=1e-9) and dr == pytest.approx(2.0, abs=1e-9)

    # Match -> point: the selection carries its map point and database image.
    i = 5
    state.select_match(i, source="matches")
    sel = state.selection.current
    assert sel.point3D_id == int(result.matches_2d3d.point3D_ids[i])
    assert sel.image_id == db and sel.match_index == i
    # Point -> match: the reverse finds the same match.
    state.selection.clear_links()
    state.select_point(int(result.matches_2d3d.point3D_ids[i]), source="3d")
    assert state.selection.current.match_index == i
    # An outlier's error is what the fixture displaced it by.
    assert result.matches_2d3d.reproj_error[0] == pytest.approx(np.linalg.norm(OUTLIER_SHIFT))


def test_partials_then_result(tiny_scene):
    state = AppState()
    state.set_scene(tiny_scene)
    qid, db = tiny_scene.split_ids("test")[1], tiny_scene.split_ids("train")[2]
    result = exact_result(tiny_scene, qid, db)
    state.select_query(result.query_name)
    state.set_partial(result.query_name, "sfm", "matches_2d2d", result.matches_2d2d)
    part = state.result(result.query_name, "sfm")
    assert part is not None and not part.success
    assert part.matches_2d2d[0].image_id == db
    state.set_result(result)
    assert state.result(result.query_name, "sfm") is result
    assert state.partials == {}
    assert state.session_poses("sfm") == [(result.query_name, result.cam_from_world)]


def test_scene_coordinates_before_the_pose_reach_the_views(tiny_scene):
    """SCR sends its dense coordinates before PnP: the partial result the views read has them
    in the typed field (not buried in extras); an unknown kind is refused, not lost."""
    from locgui.core.results import SceneCoordinates

    state = AppState()
    state.set_scene(tiny_scene)
    query = tiny_scene.images[tiny_scene.split_ids("test")[0]].name
    state.select_query(query)
    grid = np.zeros((3, 4, 2))
    sc = SceneCoordinates(grid, np.ones((3, 4, 3)), np.full((3, 4), 2.0))
    kinds: list[str] = []
    state.partial_changed.connect(lambda q, m, k: kinds.append(k))
    state.set_partial(query, "scr", "scene_coordinates", sc)
    state.set_partial(query, "scr", "extras:render_rgb", "pixels")
    part = state.result(query, "scr")
    assert part is not None and part.scene_coordinates is sc and not part.success
    assert part.extras == {"render_rgb": "pixels"}
    assert kinds == ["scene_coordinates", "extras:render_rgb"]
    with pytest.raises(ValueError, match="partial kind"):
        state.set_partial(query, "scr", "scene_coords", sc)


def test_nested_emission_reaches_every_slot_in_order():
    """A slot that changes the selection again must not let later slots see stale changes."""
    state = AppState()
    seen: list[tuple[int | None, int | None]] = []

    def first(new, old):
        if new.image_id == 1:
            state.selection.update("first", image_id=2)

    state.selection.changed.connect(first)
    state.selection.changed.connect(lambda new, old: seen.append((old.image_id, new.image_id)))
    state.select_image(1)
    assert seen == [(None, 1), (1, 2)]
    assert state.selection.current.image_id == 2


def test_view_camera_is_state_and_emits_only_when_it_changes():
    from locgui.core.camera import Camera
    from locgui.model.state import ViewCamera

    state = AppState()
    rec = Recorder()
    state.view_camera_changed.connect(rec.slot)
    assert state.view_camera is None
    camera = Camera.pinhole(300.0, 300.0, 200.0, 150.0, 400, 300)
    pose = Rigid3(axis_angle_to_rotmat(np.array([0.2, 0.0, 0.1])), [1.0, 0.0, 3.0])
    state.set_view_camera(camera, pose)
    state.set_view_camera(camera, Rigid3(pose.rotation.copy(), pose.translation.copy()))
    assert rec.calls == [(ViewCamera(camera, pose),)] and state.view_camera == rec.calls[0][0]
    state.set_view_camera(camera.scaled(0.5), pose)  # the view was resized
    assert len(rec.calls) == 2 and state.view_camera.camera.width == 200


def test_live_state_follows_a_run():
    from locgui.model.live import PAUSED, RUNNING, STARTING, STOPPED, LiveUpdate

    live = AppState().live
    statuses, frames, messages = Recorder(), Recorder(), Recorder()
    live.status_changed.connect(statuses.slot)
    live.frame_changed.connect(frames.slot)
    live.message_changed.connect(messages.slot)
    assert live.status == STOPPED and not live.active
    live.begin("clip.mp4", "sfm")
    assert (live.status, live.source, live.method) == (STARTING, "clip.mp4", "sfm")
    assert frames.calls == [(None,)] and live.active
    result = type("R", (), {"name": "f0", "reason": "tracked 40"})()
    update = LiveUpdate(np.zeros((2, 2, 3), np.uint8), result, np.zeros((1, 3)),
                        np.zeros((0, 3)), 9.0, 0, "guess")  # fmt: skip
    live.set_frame(update)
    assert live.status == RUNNING and live.latest is update and frames.calls[-1] == (update,)
    live.set_paused(True)
    assert live.status == PAUSED
    summary = type("S", (), {"lines": lambda self: ["1 frame"], "stopped_by": "user"})()
    live.finish(summary)
    assert live.status == STOPPED and live.summary is summary and live.latest is update
    assert [c[0] for c in statuses.calls] == [STARTING, RUNNING, PAUSED, STOPPED]
    assert messages.calls[-1] == ("1 frame — stopped by user", False)
    live.set_paused(True)  # nothing runs: no change
    live.fail("no such video file")
    assert live.status == STOPPED and live.error and len(statuses.calls) == 4


def test_live_control_keeps_only_the_newest_update_and_a_pause_for_later():
    from locgui.model.live import LiveControl

    control = LiveControl()
    assert control.offer("u1") is True
    assert control.offer("u2") is False  # the first one is still announced
    assert control.take() == "u2" and control.take() is None
    assert control.offer("u3") is True

    calls: list[str] = []
    session = type("S", (), {"pause": lambda s: calls.append("pause"),
                             "resume": lambda s: calls.append("resume"),
                             "request_step": lambda s: calls.append("step")})()  # fmt: skip
    control.pause(True)
    control.step()  # no session yet: nothing to step
    control.running(session)
    control.running(session)  # once only
    control.step()
    control.pause(False)
    assert calls == ["pause", "step", "resume"]
