"""Drawing the live run (``AppState.live``): its camera and trajectory in the 3D view, and
the HUD line of the live dock. The run itself goes through the worker bridge
(``Workbench.start_live``, job ``locgui.model.live.run_live``)."""

from __future__ import annotations

from typing import Any

import numpy as np

from locgui.methods.live.results import LOST, RELOCALIZED, TRACKED, LiveFrameResult
from locgui.model.live import LiveUpdate
from locgui.model.run_log import TimePoint
from locgui.qt import style

STATUS_COLORS = {TRACKED: style.INLIER, RELOCALIZED: "#ffb020", LOST: style.OUTLIER}
LIVE_COLOR = style.LIVE
STAGES = ("extract", "select", "match", "pnp", "relocalize")


def draw_live(view3d: Any, r: LiveFrameResult, centers: np.ndarray, gt: np.ndarray) -> None:
    """Live items of the 3D view: the trajectory (line strip), the current camera frustum
    and the ground-truth trajectory."""
    from locgui.model import geometry

    gl = view3d.gl
    color = style.rgba(LIVE_COLOR)
    gl.set_lines("live:trajectory", centers if len(centers) > 1 else np.zeros((0, 3)), color,
                 2.0, "live", mode="line_strip")  # fmt: skip
    gt_color = style.rgba(style.GROUND_TRUTH, 0.7)
    gl.set_lines("live:gt", gt if len(gt) > 1 else np.zeros((0, 3)), gt_color, 1.0,
                 "live", mode="line_strip")  # fmt: skip
    segs = np.zeros((0, 3))
    if r.cam_from_world is not None and r.camera is not None:
        verts = geometry.frustum_vertices(r.camera, r.cam_from_world, view3d.frustum_depth)
        segs = geometry.frustum_segments(verts)
    gl.set_lines("live:camera", segs, color, 3.0, "live")
    gl.update()


def draw_timeline(view3d: Any, track: Any, point: TimePoint | None) -> None:
    """The timeline's position in a live run: the camera at that frame (thick, with a dot at
    its centre) and, for a run other than the one running, the run's trajectory and ground
    truth. A query track draws nothing here (it selects its query, which every view shows)."""
    from locgui.model import geometry
    from locgui.model.timeline import LiveTrack

    gl, live = view3d.gl, view3d.state.live
    color = style.rgba(LIVE_COLOR)
    segs, centre = np.zeros((0, 3)), np.zeros((0, 3))
    is_live = isinstance(track, LiveTrack)
    if is_live and point is not None and point.localized and point.camera is not None:
        assert point.cam_from_world is not None
        depth = 1.5 * view3d.frustum_depth
        verts = geometry.frustum_vertices(point.camera, point.cam_from_world, depth)
        segs, centre = geometry.frustum_segments(verts), point.cam_from_world.center[None]
    gl.set_lines("timeline:camera", segs, color, 4.0, "live", on_top=True)
    gl.set_markers("timeline:centre", centre, color, 12.0, "live")
    running = live.active and bool(live.runs) and is_live and track.log is live.runs[-1]
    key = (track.key, len(track)) if is_live and not running else None
    if key != view3d._timeline_drawn:
        view3d._timeline_drawn = key
        path, gt = np.zeros((0, 3)), np.zeros((0, 3))
        if key is not None:
            path, gt = _finite(track.column("center")), _finite(track.column("gt_center"))
        gl.set_lines("timeline:trajectory", path if len(path) > 1 else np.zeros((0, 3)),
                     color, 2.0, "live", mode="line_strip")  # fmt: skip
        gt_colour = style.rgba(style.GROUND_TRUTH, 0.7)
        gl.set_lines("timeline:gt", gt if len(gt) > 1 else np.zeros((0, 3)), gt_colour, 1.0,
                     "live", mode="line_strip")  # fmt: skip
    gl.update()


def _finite(xyz: np.ndarray) -> np.ndarray:
    return xyz[np.isfinite(xyz).all(axis=1)]


def clear_live(view3d: Any) -> None:
    """Remove the live items from the 3D view (a new run starts)."""
    for name in view3d.gl.names("live:"):
        view3d.gl.remove(name)
    view3d.gl.update()


def hud_html(update: LiveUpdate) -> str:
    """The HUD: status, frames/s, per-stage latency, inliers, error, dropped, intrinsics."""
    r = update.result
    color = STATUS_COLORS.get(r.status, "#ffffff")
    stages = " · ".join(
        f"{s} {1000 * r.timings[s]:.0f}" for s in STAGES if s in r.timings
    )  # fmt: skip
    err = ""
    if np.isfinite(r.error_t):
        err = f" · error {r.error_t:.3f} / {r.error_r:.1f}°"
    return (
        f'<b style="color:{color}">{r.status.upper()}</b> · {update.fps:.1f} frames/s · '
        f"{1000 * r.latency:.0f} ms ({stages} ms) · {r.num_inliers} inliers{err} · "
        f"dropped {update.dropped}<br><span style='color:#8a9099'>{update.intrinsics}</span>"
    )
