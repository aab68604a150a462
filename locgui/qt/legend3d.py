"""The 3D view's legend: one entry per kind of item drawn now, in a fixed order.

GL items map to entries by name (``legend_key``): "est_current:sfm" is one of the method
entries, "gt_centre" a camera centre, "live:gt" ground truth. An item the legend does not
know makes ``legend_key`` return None (tests check every drawn item has an entry).
"""

from __future__ import annotations

import re

import numpy as np

from locgui.model import colours
from locgui.model.state import AppState
from locgui.qt import style
from locgui.qt.gl_scene import SceneGLWidget

SHAPE = "#d0d4da"  # entries that describe a shape drawn in each method's colour

LEGEND_ORDER = (
    "points", "cameras", "ground_truth", "methods", "centres", "errors", "trajectories",
    "live", "selection", "observations", "selected_image", "inliers", "predicted", "grid",
)  # fmt: skip
_LEGEND_KEYS = {
    "db_cameras": "cameras",
    "gt_all": "ground_truth",
    "gt_current": "ground_truth",
    "gt_centre": "centres",
    "est": "methods",
    "est_current": "methods",
    "est_centre": "centres",
    "err": "errors",
    "err_current": "errors",
    "traj": "trajectories",
    "live": "live",
    "timeline": "live",
    "sel_point": "selection",
    "sel_ray": "selection",
    "sel_obs": "observations",
    "sel_image": "selected_image",
    "inliers": "inliers",
    "predicted": "predicted",
    "grid": "grid",
}


def legend_key(item_name: str) -> str | None:
    """The legend entry of a GL item ("est_current:sfm" -> "methods"; "live:gt" ->
    "ground_truth"), None for an item the legend does not know."""
    if item_name in ("live:gt", "timeline:gt"):
        return "ground_truth"
    return _LEGEND_KEYS.get(item_name.split(":", 1)[0])


def unbreakable(html: str) -> str:
    """A legend entry whose text never wraps inside (entries wrap between each other)."""
    parts = re.split(r"(<[^>]*>)", html)
    return "".join(p if p.startswith("<") else p.replace(" ", "&nbsp;") for p in parts)


def legend_html(entries: list[tuple[str, str]]) -> str:
    """The legend's rich text: entries wrap between each other, never inside one."""
    return "&nbsp;&nbsp; ".join(unbreakable(html) for _, html in entries)


def _shown(item: object) -> bool:
    """An item is drawn: it exists, is visible and has vertices."""
    pos = getattr(item, "pos", None)
    visible = item is not None and bool(item.visible())  # type: ignore[attr-defined]
    return visible and pos is not None and len(pos) > 0


def legend_entries(
    gl: SceneGLWidget, state: AppState, points: colours.PointColours, grid_step: float
) -> list[tuple[str, str]]:
    """(key, HTML) of every kind of item drawn now (shown, with data), in a fixed order;
    the keys are ``legend_key`` of the GL items."""
    drawn = {
        key
        for name in gl.names()
        if _shown(gl.item(name)) and (key := legend_key(name)) is not None
    }
    if gl.cloud.visible() and gl.cloud.pos is not None and len(gl.cloud.pos):
        drawn.add("points")
    methods = sorted({n.split(":", 1)[1] for n in gl.names("est") if _shown(gl.item(n))})
    meaning, result = colours.MEANINGS, state.result()
    unit = "m" if state.scene is not None and state.scene.units == "metres" else ""
    texts = {
        "points": points_legend(points),
        "cameras": style.swatch_html(meaning["database"], "database cameras"),
        "ground_truth": style.swatch_html(
            meaning["ground_truth"], "ground truth (big, dot: current query)"
        ),
        "centres": style.swatch_html(SHAPE, "camera centre", "&#9679;"),
        "errors": style.swatch_html(SHAPE, "error: ground truth → estimate", "&#9585;"),
        "trajectories": style.swatch_html(SHAPE, "trajectory", "&#8767;"),
        "selection": style.swatch_html(meaning["selection"], "selected point, its ray"),
        "observations": style.swatch_html(meaning["observations"], "observing cameras"),
        "selected_image": style.swatch_html(meaning["selected_image"], "selected database image"),
        "inliers": style.swatch_html(
            style.method_color(result.method) if result is not None else SHAPE,
            "inliers of the focused method",
            "&#8226;",
        ),
        "predicted": style.ramp_html(
            ["#ff4040", "#40ff40", "#4040ff"], "predicted coordinates (x y z as r g b)"
        ),
        "live": style.swatch_html(meaning["live"], "live run (thick, dot: timeline frame)"),
        "grid": style.swatch_html("#8a9099", f"grid {grid_step:g} {unit}".rstrip(), "&#9638;"),
    }
    out = []
    for key in LEGEND_ORDER:
        if key == "methods":
            out += [(f"method:{m}", style.swatch_html(style.method_color(m), m)) for m in methods]
        elif key in drawn:
            out.append((key, texts[key]))
    return out


def points_legend(pc: colours.PointColours) -> str:
    """The point cloud's entry: its colouring, with the ramp's range."""
    if pc.mode == "image":
        return style.ramp_html(["#d08050", "#70a070", "#6080c0"], "map points (image colour)")
    if pc.mode in ("error", "track"):
        cells = ["#" + bytes(c.tolist()).hex() for c in colours.ramp(np.linspace(0, 1, 4))]
        what = "reprojection error, px" if pc.mode == "error" else "observations per point"
        unknown = f", {pc.unknown:,} unknown" if pc.unknown else ""
        return style.ramp_html(cells, f"map points: {what} {pc.low:.3g}–{pc.high:.3g}{unknown}")
    return style.swatch_html(colours.MEANINGS["points"], "map points")
