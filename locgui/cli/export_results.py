"""``locgui export kapture-results RESULTS OUT``: localization results as a query kapture.

RESULTS is the JSON list printed by ``locgui localize --json`` or the ``summary.json`` that
``locgui eval --out`` writes. OUT gets ``sensors/`` with one record per query and a trajectory
(the estimated ``cam_from_world``) per localized query, as kapture-localization's evaluation
reads them.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("results", help="`locgui localize --json` output or eval summary.json")
    parser.add_argument("out", help="query kapture folder to create")
    parser.add_argument(
        "--overwrite", action="store_true", help="write into an existing kapture folder"
    )


def load_results(path: Path) -> list[dict[str, Any]]:
    """The per-query result entries of a results file (raises SceneFormatError)."""
    from locgui.core.errors import SceneFormatError

    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise SceneFormatError(f"{path}: unreadable results file ({exc})") from exc
    rows = data.get("rows") if isinstance(data, dict) else data
    if not isinstance(rows, list) or not all(
        isinstance(r, dict) and isinstance(r.get("query"), str) for r in rows
    ):
        raise SceneFormatError(
            f"{path}: not a list of localization results (each with a 'query' name)"
        )
    return rows


def run(args: argparse.Namespace) -> int:
    from locgui.core.camera import Camera
    from locgui.core.errors import SceneFormatError
    from locgui.core.pose import Rigid3
    from locgui.io.kapture_write import write_query_kapture

    path = Path(args.results)
    names, poses, cameras = [], [], []
    for k, row in enumerate(load_results(path)):
        try:
            pose = row.get("cam_from_world") if row.get("success") else None
            camera = row.get("camera")
            poses.append(None if pose is None else Rigid3.from_dict(pose))
            cameras.append(None if camera is None else Camera.from_dict(camera))
        except (KeyError, TypeError, ValueError) as exc:
            raise SceneFormatError(f"{path}: result {k} is malformed ({exc})") from exc
        names.append(row["query"])
    out = write_query_kapture(args.out, names, poses, cameras, args.overwrite)
    posed = sum(p is not None for p in poses)
    print(f"wrote query kapture {out}: {posed} of {len(names)} queries posed")
    return 0
