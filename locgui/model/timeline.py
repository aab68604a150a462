"""The timeline: scrub a live run or a method's trajectory over the queries (Qt-free).

A track is a sequence of ``TimePoint``s with a few numeric columns for plotting:
- a live run (``RunLog``, key "live:N"), recorded frame by frame by the live job;
- a method's results over the queries in name order (``QueryTrack``, key "queries:METHOD").

``Timeline`` holds the track shown and the position in it. Seeking a query track selects
that query and method (every view follows); a live track's position is drawn by the 3D view
(the camera at that frame) and the timeline widget (frame, status, inliers, thumbnail).
While ``follow`` is on, a live track's position stays on its newest frame; seeking an
earlier frame turns it off (Rerun's behaviour), seeking the last frame turns it on again.

Signals:
    tracks_changed(): a track was added or its content changed (the list to offer).
    position_changed(track, index): the shown track or the position changed (track None:
        nothing to show).
"""

from __future__ import annotations

import math
from typing import Any, Protocol

import numpy as np

from locgui.model.events import Signal
from locgui.model.match_filter import inlier_counts
from locgui.model.run_log import STATUS_CODES, RunLog, TimePoint


class Track(Protocol):
    key: str
    title: str

    def __len__(self) -> int: ...
    def frame(self, i: int) -> TimePoint: ...
    def column(self, key: str) -> np.ndarray: ...


class QueryTrack:
    """One method's results over the queries, in query-name order."""

    def __init__(self, state: Any, method: str) -> None:
        self.state, self.method = state, method
        self.key, self.title = f"queries:{method}", f"queries · {method}"
        self._points: list[TimePoint] | None = None

    def invalidate(self) -> None:
        self._points = None

    def points(self) -> list[TimePoint]:
        if self._points is None:
            self._points = [self._point(i, q) for i, q in enumerate(sorted(self.state.queries))]
        return self._points

    def __len__(self) -> int:  # every query, localized or not: no rebuild needed
        return len(self.state.queries)

    def frame(self, i: int) -> TimePoint:
        return self.points()[i]

    def index_of(self, query: str | None) -> int | None:
        for p in self.points():
            if p.query == query:
                return p.index
        return None

    def column(self, key: str) -> np.ndarray:
        pts = self.points()
        if key == "time":
            return np.arange(len(pts), dtype=float)
        if key == "status":
            return np.array([STATUS_CODES.get(p.status, 2) for p in pts], np.int8)
        if key == "inliers":
            return np.array([p.num_inliers for p in pts], np.int32)
        if key in ("latency", "error_t", "error_r"):
            return np.array([getattr(p, key) for p in pts], float)
        if key in ("center", "gt_center"):
            poses = [p.cam_from_world if key == "center" else p.gt_cam_from_world for p in pts]
            return np.array([q.center if q is not None else [np.nan] * 3 for q in poses],
                            float).reshape(-1, 3)  # fmt: skip
        raise KeyError(key)

    def _point(self, i: int, name: str) -> TimePoint:
        q = self.state.queries[name]
        r = self.state.results.get(name, {}).get(self.method)
        gt = q.gt_cam_from_world
        if r is None:
            return TimePoint(i, float(i), name, "missing", "not localized by this method",
                             None, q.camera, gt, 0, 0, math.nan, math.nan, math.nan,
                             query=name)  # fmt: skip
        err = self.state.errors(r) if r.success else None
        et, er = err if err is not None else (math.nan, math.nan)
        status = "relocalized" if r.success else "lost"
        inliers, matches = inlier_counts(r)
        return TimePoint(
            i, float(i), name, status, r.reason or ("localized" if r.success else "failed"),
            r.cam_from_world if r.success else None, r.camera, gt, inliers, matches,
            float(r.total_time), et, er, query=name,
        )  # fmt: skip


class Timeline:
    """The track shown and the position in it."""

    def __init__(self, state: Any) -> None:
        self.state = state
        self.tracks_changed = Signal("timeline.tracks_changed")
        self.position_changed = Signal("timeline.position_changed")
        self.track: Track | None = None
        self.index = 0
        self.follow = True
        self._query_tracks: dict[str, QueryTrack] = {}

    # ------------------------------------------------------------------ tracks
    def tracks(self) -> list[Track]:
        """Live runs (newest first), then one track per method with results."""
        out: list[Track] = [LiveTrack(log) for log in reversed(self.state.live.runs)]
        methods = sorted({m for per in self.state.results.values() for m in per})
        for m in methods:
            out.append(self._query_tracks.setdefault(m, QueryTrack(self.state, m)))
        return out

    def track_by_key(self, key: str) -> Track | None:
        return next((t for t in self.tracks() if t.key == key), None)

    def results_changed(self) -> None:
        """The results changed: query tracks are rebuilt on their next read."""
        for t in self._query_tracks.values():
            t.invalidate()
        if isinstance(self.track, QueryTrack):
            self.index = min(self.index, max(len(self.track) - 1, 0))
        self.tracks_changed.emit()

    def reset(self) -> None:
        """A new scene: no query track survives."""
        self._query_tracks.clear()
        if isinstance(self.track, QueryTrack):
            self.track = None
        self.tracks_changed.emit()
        self.position_changed.emit(self.track, self.index)

    def run_started(self, log: RunLog) -> None:
        """A live run began: show it, following its newest frame."""
        self.tracks_changed.emit()
        self.show(LiveTrack(log), follow=True)

    def frames_added(self) -> None:
        """The shown live run grew: follow it when asked to."""
        track = self.track
        if isinstance(track, LiveTrack) and self.follow and len(track):
            self.index = len(track) - 1
            self.position_changed.emit(track, self.index)

    # ------------------------------------------------------------------ position
    def show(self, track: Track | None, follow: bool | None = None) -> None:
        """Show ``track`` (at its newest frame when following, else at the current query
        for a query track, else at its start)."""
        self.track = track
        if follow is not None:
            self.follow = follow
        n = len(track) if track is not None else 0
        index = n - 1 if self.follow and isinstance(track, LiveTrack) else 0
        if isinstance(track, QueryTrack):
            at = track.index_of(self.state.selection.current.query)
            index = at if at is not None else 0
        self.index = max(0, index)
        self.position_changed.emit(track, self.index)

    def seek(self, index: int) -> TimePoint | None:
        """Go to ``index`` (clamped); a query track selects that query and its method."""
        track = self.track
        if track is None or len(track) == 0:
            return None
        index = min(max(int(index), 0), len(track) - 1)
        if isinstance(track, LiveTrack):
            self.follow = index == len(track) - 1
        self.index = index
        point = track.frame(index)
        self.position_changed.emit(track, index)
        if isinstance(track, QueryTrack) and point.query is not None:
            if point.query in self.state.queries:
                self.state.select_query(point.query, source="timeline")
                self.state.select_method(track.method, source="timeline")
        return point

    def step(self, delta: int) -> TimePoint | None:
        return self.seek(self.index + delta)

    def point(self) -> TimePoint | None:
        track = self.track
        if track is None or not 0 <= self.index < len(track):
            return None
        return track.frame(self.index)

    def query_selected(self, query: str | None) -> None:
        """Another view selected ``query``: a query track moves there (no re-selection)."""
        track = self.track
        if isinstance(track, QueryTrack):
            at = track.index_of(query)
            if at is not None and at != self.index:
                self.index = at
                self.position_changed.emit(track, at)


class LiveTrack:
    """A ``RunLog`` seen as a track (the same log gives equal tracks)."""

    def __init__(self, log: RunLog) -> None:
        self.log = log
        self.key, self.title = f"live:{log.number}", log.title

    def __eq__(self, other: object) -> bool:
        return isinstance(other, LiveTrack) and other.log is self.log

    def __hash__(self) -> int:
        return id(self.log)

    def __len__(self) -> int:
        return len(self.log)

    def frame(self, i: int) -> TimePoint:
        return self.log.frame(i)

    def column(self, key: str) -> np.ndarray:
        return self.log.column(key)


