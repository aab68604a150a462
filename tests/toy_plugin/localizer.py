"""The toy localizer and trainer (imported only when used)."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from locgui.core.results import LocalizationResult, Query
from locgui.methods.checkpoint import (
    check_fingerprint,
    checkpoint_folder,
    load_state,
    read_config,
    scene_fingerprint,
    shared_checkpoint,
    write_checkpoint,
)
from locgui.runtime.context import RunContext


def train(source: Any, config: Any, ctx: RunContext, *, out: Any = None, device: str = "auto",
          resume: bool = False) -> dict[str, Any]:  # fmt: skip
    import torch

    scene = source.scene
    ids = sorted(scene.posed_ids())
    centres = torch.from_numpy(scene.camera_centers(ids))
    with tempfile.TemporaryDirectory() as tmp:
        weights = Path(tmp) / "toy.pt"
        torch.save({"ids": torch.tensor(ids), "centres": centres}, weights)
        ctx.progress("toy training", 1.0, f"{len(ids)} views")
        config_json = {"scene_fingerprint": scene_fingerprint(scene), "epochs": config.epochs}
        metrics = {"images": len(ids)}
        folder = write_checkpoint(out or source, "toy", {"toy.pt": weights}, config_json, metrics)
    return {**metrics, "checkpoint": str(folder)}


def load_table(bundle: Any) -> dict[str, Any]:
    folder = checkpoint_folder(bundle, "toy")
    check_fingerprint(read_config(folder).get("scene_fingerprint"), bundle.scene, folder)
    return load_state(folder / "toy.pt", "cpu")


class ToyLocalizer:
    name = "toy"

    def __init__(self, bundle: Any, config: Any, device: str = "cpu") -> None:
        self.bundle, self.config, self.device = bundle, config, device
        self.table = shared_checkpoint(bundle, "toy", "toy.pt", "cpu", lambda: load_table(bundle))

    def localize(self, query: Query, ctx: RunContext) -> LocalizationResult:
        from locgui.methods.features import get_extractor
        from locgui.methods.retrieval import bundle_index

        bundle = self.bundle
        result = LocalizationResult(self.name, query.name, False, camera=query.camera)
        with ctx.stage("retrieve"):
            extractor = get_extractor(bundle.feature_type, device="cpu",
                                      **dict(bundle.feature_config))  # fmt: skip
            index = bundle_index(bundle)
            hits = index.query(index.describe(extractor.extract(query.image)),
                               self.config.shortlist)  # fmt: skip
        if not hits:
            result.reason = "no mapping view retrieved"
            return result
        best = int(hits[0][0])
        ids = self.table["ids"].numpy()
        if best not in ids:
            result.reason = f"view {best} is not in the toy table; retrain it"
            return result
        result.cam_from_world = bundle.scene.images[best].cam_from_world
        result.success = True
        centre = self.table["centres"].numpy()[int(np.flatnonzero(ids == best)[0])]
        result.reason = f"pose of {bundle.scene.images[best].name} (centre {np.round(centre, 2)})"
        result.timings = dict(ctx.timings)
        return result
