"""Exports: screenshots of any view, the current result as JSON, a session's poses."""

from __future__ import annotations

import json
import re
from pathlib import Path

from PySide6 import QtWidgets

from locgui.core.errors import LocguiError
from locgui.model.state import AppState


def save_screenshot(widget: QtWidgets.QWidget, path: Path) -> Path:
    """Grab a widget (GL children included, under a real GL context) and save it as PNG.

    ``import locgui`` must precede pycolmap in the process (zlib order) or PNG writing aborts.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    QtWidgets.QApplication.processEvents()
    pixmap = widget.grab()
    if pixmap.isNull() or not pixmap.save(str(path), "PNG"):
        raise LocguiError(f"could not save a screenshot to {path}")
    return path


def result_document(state: AppState, query: str | None = None) -> dict:
    """JSON-ready results of one query (default: the current one), every method."""
    name = query or state.selection.current.query
    if name is None:
        raise LocguiError("no query selected: nothing to export")
    q = state.queries.get(name)
    doc: dict = {
        "scene": str(state.scene_path) if state.scene_path else None,
        "query": name,
        "query_path": str(q.path) if q and q.path else None,
        "ground_truth": q.gt_cam_from_world.to_dict() if q and q.gt_cam_from_world else None,
        "results": [],
    }
    for r in state.query_results(name).values():
        entry = r.summary()
        err = state.errors(r)
        entry["error_translation"] = err[0] if err else None
        entry["error_rotation_deg"] = err[1] if err else None
        doc["results"].append(entry)
    return doc


def save_result_json(state: AppState, path: Path, query: str | None = None) -> Path:
    path = Path(path)
    path.write_text(json.dumps(result_document(state, query), indent=2), encoding="utf-8")
    return path


def save_session_poses(state: AppState, method: str, path: Path, fmt: str = "tum") -> int:
    """Write every successful pose of ``method`` in this session; returns how many."""
    from locgui.io.poses import write_poses

    poses = state.session_poses(method)
    if not poses:
        raise LocguiError(f"no successful {method} poses in this session")
    names = [re.sub(r"\s+", "_", n) for n, _ in poses]
    write_poses(path, names, [p for _, p in poses], fmt=fmt)
    return len(poses)
