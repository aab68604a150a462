"""Drawing the live run (``AppState.live``): its camera and trajectory in the 3D view, and
the HUD line of the live dock. The run itself goes through the worker bridge
(``Workbench.start_live``, job ``locgui.model.live.run_live``)."""

from __future__ import annotations

from typing import Any

import numpy as np

from locgui.methods.live.results import LOST, RELOCALIZED, TRACKED, LiveFrameResult
from locgui.model.live import LiveUpdate
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
                 2.0, "trajectories", mode="line_strip")  # fmt: skip
    gt_color = style.rgba(style.GROUND_TRUTH, 0.7)
    gl.set_lines("live:gt", gt if len(gt) > 1 else np.zeros((0, 3)), gt_color, 1.0,
                 "ground_truth", mode="line_strip")  # fmt: skip
    segs = np.zeros((0, 3))
    if r.cam_from_world is not None and r.camera is not None:
        verts = geometry.frustum_vertices(r.camera, r.cam_from_world, view3d.frustum_depth)
        segs = geometry.frustum_segments(verts)
    gl.set_lines("live:camera", segs, color, 3.0, "estimates")
    gl.update()


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
