"""The entity tree: everything the workbench holds, as a tree the user toggles and selects.

scene > points, database cameras (> each image), floor grid; queries (ground truth) > each
query > each method's result; methods (their estimates) > each method; trajectories;
matches and selection; live runs > each run. A node's check box shows or hides a layer of
the 3D view (``layer.*`` settings) or one method's estimates (``hidden_methods``); selecting
a node selects what it stands for (an image, a query, a result) or shows its track in the
timeline (a method, a live run). Node keys are stable strings, so a view can keep its
expanded and selected nodes across rebuilds. Qt-free.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from locgui.model import colours
from locgui.model.match_filter import inlier_counts

LAYER_OF = {
    "points": "points",
    "cameras": "cameras",
    "grid": "grid",
    "queries": "ground_truth",
    "methods": "estimates",
    "trajectories": "trajectories",
    "links": "links",
    "live": "live",
}
"""Node key -> the 3D view layer its check box shows."""


@dataclass
class Entity:
    """One node of the tree.

    Attributes:
        key: stable identifier ("points", "image:12", "query:q1", "result:q1|sfm",
            "method:sfm", "live:2", ...). title: its name. detail: a short second column.
        colour: '#rrggbb' of what it draws (None: nothing of its own). visible: its check
            box (None: no check box). tooltip: a longer text. children: its nodes.
    """

    key: str
    title: str
    detail: str = ""
    colour: str | None = None
    visible: bool | None = None
    tooltip: str = ""
    children: list[Entity] = field(default_factory=list)

    def walk(self) -> list[Entity]:
        """This node and every node below it, depth first."""
        out = [self]
        for c in self.children:
            out += c.walk()
        return out


def build(state: Any, method_colour: Any) -> list[Entity]:
    """The tree's top-level nodes for ``state`` (``method_colour(name)`` -> '#rrggbb')."""
    s = state.settings
    nodes: list[Entity] = []
    scene = state.scene
    if scene is not None:
        name = state.scene_path.name if state.scene_path is not None else "scene"
        db = scene.split_ids("train")
        images = [
            Entity(f"image:{i}", scene.images[i].name, tooltip=f"database image {i}")
            for i in db
        ]
        nodes.append(Entity("scene", name, scene.units, children=[
            Entity("points", "Points", f"{len(scene.points):,}", colours.MEANINGS["points"],
                   s.layer_visible("points")),
            Entity("cameras", "Database cameras", f"{len(db):,}", colours.MEANINGS["database"],
                   s.layer_visible("cameras"), children=images),
            Entity("grid", "Floor grid", "", colours.MEANINGS["grid"], s.layer_visible("grid")),
        ]))  # fmt: skip
    queries = []
    for qname in state.queries:
        results = state.results.get(qname, {})
        children = [_result_node(state, qname, m, r, method_colour) for m, r in results.items()]
        ok = sum(r.success for r in results.values())
        detail = f"{ok}/{len(results)} localized" if results else ""
        queries.append(Entity(f"query:{qname}", qname, detail, children=children))
    nodes.append(Entity("queries", "Queries (ground truth)", f"{len(queries):,}",
                        colours.MEANINGS["ground_truth"], s.layer_visible("ground_truth"),
                        children=queries))  # fmt: skip
    hidden = set(s["hidden_methods"])
    methods = sorted({m for per in state.results.values() for m in per})
    method_nodes = []
    for m in methods:
        rs = [per[m] for per in state.results.values() if m in per]
        ok = sum(r.success for r in rs)
        method_nodes.append(Entity(
            f"method:{m}", m, f"{ok}/{len(rs)} localized", method_colour(m), m not in hidden,
            tooltip=f"{m}: show or hide its estimates; select it to scrub its results in "
                    "the timeline",
        ))  # fmt: skip
    nodes.append(Entity("methods", "Estimates", f"{len(methods)} methods", None,
                        s.layer_visible("estimates"), children=method_nodes))  # fmt: skip
    nodes.append(Entity("trajectories", "Trajectories", "", None,
                        s.layer_visible("trajectories")))  # fmt: skip
    nodes.append(Entity("links", "Matches and selection", "", colours.MEANINGS["selection"],
                        s.layer_visible("links")))  # fmt: skip
    runs = [
        Entity(f"live:{log.number}", log.title, f"{len(log):,} frames",
               tooltip=f"{log.source} with {log.method}: select it to scrub it in the timeline")
        for log in reversed(state.live.runs)
    ]  # fmt: skip
    nodes.append(Entity("live", "Live runs", f"{len(runs)}", colours.MEANINGS["live"],
                        s.layer_visible("live"), children=runs))  # fmt: skip
    return nodes


def _result_node(state: Any, query: str, method: str, r: Any, method_colour: Any) -> Entity:
    inliers, matches = inlier_counts(r)
    counts = f"{inliers}/{matches} inliers" if matches else f"{inliers} inliers"
    if not r.success:
        return Entity(f"result:{query}|{method}", method, "failed", method_colour(method),
                      tooltip=r.reason)  # fmt: skip
    err = state.errors(r)
    detail = counts
    if err is not None and all(math.isfinite(e) for e in err):
        detail = f"{length_text(err[0], state)} / {err[1]:.2f}° · {counts}"
    return Entity(f"result:{query}|{method}", method, detail, method_colour(method),
                  tooltip=r.reason)  # fmt: skip


def length_text(value: float, state: Any) -> str:
    """A distance in ``state``'s scene for the user: "0.9 cm" / "1.25 m" in metres, else 3
    significant digits."""
    if state.scene is not None and state.scene.units == "metres":
        return f"{100 * value:.1f} cm" if value < 1 else f"{value:.2f} m"
    return f"{value:.3g}"


def set_visible(state: Any, key: str, visible: bool) -> None:
    """Show or hide what node ``key`` stands for (a layer, or a method's estimates)."""
    if key in LAYER_OF:
        state.settings.set(f"layer.{LAYER_OF[key]}", bool(visible))
    elif key.startswith("method:"):
        method = key.split(":", 1)[1]
        hidden = [m for m in state.settings["hidden_methods"] if m != method]
        state.settings.set("hidden_methods", hidden if visible else sorted([*hidden, method]))


def select(state: Any, key: str) -> None:
    """Select what node ``key`` stands for (nodes without a meaning do nothing)."""
    kind, _, rest = key.partition(":")
    if kind == "image":
        state.select_image(int(rest), source="tree")
    elif kind == "query" and rest in state.queries:
        state.select_query(rest, source="tree")
    elif kind == "result":
        query, _, method = rest.partition("|")
        if query in state.queries:
            state.select_query(query, source="tree")
            state.select_method(method, source="tree")
    elif kind in ("method", "live"):
        track = state.timeline.track_by_key(f"queries:{rest}" if kind == "method" else key)
        if kind == "method":
            state.select_method(rest, source="tree")
        if track is not None:
            state.timeline.show(track)


def selected_key(state: Any) -> str | None:
    """The node that stands for the current selection (the focused result, else the query)."""
    sel = state.selection.current
    if sel.query is not None and sel.method is not None:
        if sel.method in state.results.get(sel.query, {}):
            return f"result:{sel.query}|{sel.method}"
    if sel.query is not None:
        return f"query:{sel.query}"
    return None
