"""Work items of a batch run: one (map, method, preset, settings, query) each.

A plan is built in the driver (it opens each map once to list its queries, ground truth,
scene radius and alignment) and its items are handed, pickled, to workers. An item's ``key``
names what it computes, so a rerun skips the items whose key is already in the result store.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from locgui.core.pose import Sim3
from locgui.io.queries import QueryRef


@dataclass(frozen=True)
class Settings:
    """How a method runs: preset, ``--set`` overrides and the query intrinsics.

    Attributes:
        method: registered method name.
        preset: preset name, or None for the defaults.
        overrides: (field, value) pairs applied after the preset.
        intrinsics: ``--intrinsics`` as given (a calibration file or ``fov:DEG``), or None.
    """

    method: str
    preset: str | None = None
    overrides: tuple[tuple[str, Any], ...] = ()
    intrinsics: str | None = None

    @property
    def label(self) -> str:
        return self.preset or "default"

    def digest(self) -> str:
        """8 hex digits identifying the settings (part of every item key)."""
        text = json.dumps([self.method, self.preset, list(self.overrides), self.intrinsics],
                          sort_keys=True, default=str)  # fmt: skip
        return hashlib.sha1(text.encode()).hexdigest()[:8]


@dataclass(frozen=True)
class MapPlan:
    """One map of a run and what evaluation needs of it.

    Attributes:
        label: short unique name of the map in this run (result rows, tables).
        path: the bundle folder (absolute).
        units: "metres" or "map units" (of the ground truth).
        scene_radius: radius for relative errors, in ground-truth units.
        radius_cameras: how many ground-truth cameras the radius comes from.
        align: ``gt_from_map`` for a map built by SfM, else None.
        refs: the queries.
    """

    label: str
    path: str
    units: str = "map units"
    scene_radius: float = 1.0
    radius_cameras: int = 0
    align: Sim3 | None = None
    refs: tuple[QueryRef, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"label": self.label, "path": self.path, "units": self.units,
                "scene_radius": self.scene_radius, "radius_cameras": self.radius_cameras,
                "queries": len(self.refs)}  # fmt: skip


@dataclass(frozen=True)
class WorkItem:
    """One query of one map localized by one method with one set of settings."""

    index: int
    map_label: str
    map_path: str
    settings: Settings
    ref: QueryRef
    align: Sim3 | None = None
    device: str = "auto"

    @property
    def key(self) -> str:
        s = self.settings
        return f"{self.map_label}/{s.method}/{s.label}/{s.digest()}/{self.ref.name}"


@dataclass
class Plan:
    """Maps x settings x queries, in a fixed order."""

    maps: list[MapPlan]
    settings: list[Settings]
    device: str = "auto"  # resolved by each worker: "auto" is its GPU where it has one
    items: list[WorkItem] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.items:
            combos = [(m, s, ref) for m in self.maps for s in self.settings for ref in m.refs]
            self.items = [WorkItem(k, m.label, m.path, s, ref, m.align, self.device)
                          for k, (m, s, ref) in enumerate(combos)]  # fmt: skip

    def describe(self) -> dict[str, Any]:
        """JSON-ready: what the run computes (written as run.json)."""
        return {
            "maps": [m.to_dict() for m in self.maps],
            "settings": [{"method": s.method, "preset": s.label, "overrides": dict(s.overrides),
                          "intrinsics": s.intrinsics, "digest": s.digest()}
                         for s in self.settings],  # fmt: skip
            "items": len(self.items),
            "device": self.device,
        }


def map_labels(paths: list[str | Path]) -> list[str]:
    """Short unique labels for bundle folders: the folder name without ``.locmap``, with the
    parent folder's name in front where two maps share a name."""
    names = [Path(p).name.removesuffix(".locmap") for p in paths]
    labels = []
    for p, name in zip(paths, names, strict=True):
        labels.append(f"{Path(p).resolve().parent.name}-{name}" if names.count(name) > 1 else name)
    seen: dict[str, int] = {}
    out = []
    for label in labels:
        seen[label] = seen.get(label, 0) + 1
        out.append(label if seen[label] == 1 else f"{label}-{seen[label]}")
    return out


def eval_map_plan(path: str | Path, label: str, queries: str, limit: int = 0,
                  drop_cameras: bool = False) -> MapPlan:  # fmt: skip
    """The queries with ground truth of one map (``locgui eval --queries``), its scene radius
    and alignment. ``drop_cameras``: forget the known intrinsics (a field-of-view guess)."""
    import dataclasses

    from locgui.io.bundle import open_bundle
    from locgui.io.queries import refs_for_eval
    from locgui.methods.localize.evaluation import evaluation_radius, gt_alignment

    bundle = open_bundle(path)
    refs, gt_scene = refs_for_eval(bundle, queries)
    if limit > 0:
        refs = refs[:limit]
    align = gt_alignment(bundle, gt_scene)
    radius, n_cameras = evaluation_radius(bundle, gt_scene, refs, align is not None)
    if drop_cameras:
        refs = [dataclasses.replace(ref, camera=None) for ref in refs]
    return MapPlan(label, str(Path(path).resolve()), gt_scene.units, radius, n_cameras, align,
                   tuple(refs))  # fmt: skip


def file_map_plan(path: str | Path, label: str, refs: list[QueryRef]) -> MapPlan:
    """Queries without ground truth (``locgui localize``)."""
    return MapPlan(label, str(Path(path).resolve()), refs=tuple(refs))
