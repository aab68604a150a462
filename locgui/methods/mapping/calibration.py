"""Bounded self-calibration for SfM: which cameras' focal lengths bundle adjustment may
refine, within what range of their priors, and the report of prior vs final focal.

A camera is refined unless its intrinsics are user-calibrated, or its EXIF focal is shared by
fewer than ``min_images`` mapping images (one or two photos pin a focal down no better than
EXIF does). A camera with only the default prior (no EXIF: 1.2 x the longer side, often 20 %
off) is always refined: held, it distorts the map (sceaux resized to 11 sizes without EXIF,
one camera each: camera centres 2.74 % of the radius off a pycolmap reconstruction held, 0.51 %
refined). A refined focal must stay within [prior / bounds, prior * bounds]
(``locgui.io.camera_priors``); one that leaves is re-estimated with its focal held at the prior.

An EXIF focal is not held fixed when self-calibration moves it within bounds: on sceaux the
refined focal (+4 % from EXIF, +2.6 % from the calibrated K) gives camera centres closer to
both a free and a K-fixed pycolmap SIFT reconstruction (0.16 % / 0.54 % of the radius) than
the EXIF focal held fixed does (0.82 % / 0.79 %): the photos' geometry, not the calibration
sheet, is what the map must fit.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from locgui.core.scene import SceneMap
from locgui.io.camera_priors import DEFAULT_BOUNDS


@dataclass(frozen=True)
class CameraPlan:
    """How SfM treats one camera.

    Attributes:
        prior: prior focal length, pixels.
        source: "exif", "calibration", "default" or "scene" (the reader's own intrinsics).
        bounds: the final focal must lie within [prior / bounds, prior * bounds].
        images: mapping images using the camera.
        refine: whether bundle adjustment refines focal and distortion.
        note: why it is held, when it is.
        name: the EXIF camera name ("" without EXIF): queries from that camera use it.
    """

    prior: float
    source: str
    bounds: float
    images: int
    refine: bool
    note: str = ""
    name: str = ""


def has_focal_prior(scene: SceneMap, camera_id: int) -> bool:
    """Whether a camera's focal is trusted (calibrated or EXIF), not a default guess."""
    priors = scene.meta.get("camera_priors")
    if priors and camera_id in priors:
        return priors[camera_id]["source"] != "default"
    return not scene.meta.get("intrinsics_guessed", False)


def calibration_policy(scene: SceneMap, ids: list[int], min_images: int) -> CalibrationPolicy:
    """The plan of every camera used by the images ``ids``."""
    counts: dict[int, int] = {}
    for i in ids:
        cid = scene.images[i].camera_id
        counts[cid] = counts.get(cid, 0) + 1
    priors = scene.meta.get("camera_priors") or {}
    guessed = bool(scene.meta.get("intrinsics_guessed", False))
    plans: dict[int, CameraPlan] = {}
    for cid, n in sorted(counts.items()):
        focal = float(scene.cameras[cid].focal[0])
        rec = priors.get(cid)
        name = ""
        if rec is not None:
            source, bounds, name = str(rec["source"]), float(rec["bounds"]), str(rec["name"])
        else:
            source, bounds = ("default" if guessed else "scene"), DEFAULT_BOUNDS
        if source in ("calibration", "scene"):
            plans[cid] = CameraPlan(focal, source, 1.0, n, False, "calibrated", name)
        elif n < min_images and source == "exif":
            note = f"only {n} image(s) share it (< {min_images}): focal held at its EXIF value"
            plans[cid] = CameraPlan(focal, source, bounds, n, False, note, name)
        else:
            plans[cid] = CameraPlan(focal, source, bounds, n, True, "", name)
    return CalibrationPolicy(plans)


@dataclass(frozen=True)
class CalibrationPolicy:
    plans: dict[int, CameraPlan]

    def apply(self, options: Any) -> None:
        """Set pycolmap ``IncrementalPipelineOptions`` for this plan."""
        refine = any(p.refine for p in self.plans.values())
        options.constant_cameras = {cid for cid, p in self.plans.items() if not p.refine}
        options.ba_refine_focal_length = refine
        options.ba_refine_extra_params = refine
        options.ba_refine_principal_point = False
        options.mapper.abs_pose_refine_focal_length = refine
        options.mapper.abs_pose_refine_extra_params = refine
        # COLMAP drops images whose camera looks bogus: keep that filter within a sane field of
        # view (about 5-140 deg) whatever the prior.
        options.mapper.min_focal_length_ratio = 0.18
        options.mapper.max_focal_length_ratio = 12.0

    def escaped(self, reconstruction: Any) -> dict[int, str]:
        """Refined cameras whose focal left the bounds of their prior: id -> reason."""
        out: dict[int, str] = {}
        for cid, plan in self.plans.items():
            if not plan.refine or cid not in reconstruction.cameras:
                continue
            focal = _focal(reconstruction.cameras[cid])
            lo, hi = plan.prior / plan.bounds, plan.prior * plan.bounds
            if not lo <= focal <= hi:
                out[cid] = (
                    f"focal {focal:.1f} px left [{lo:.0f}, {hi:.0f}] around its {plan.source} "
                    f"prior {plan.prior:.0f} px"
                )
        return out

    def holding(self, escaped: dict[int, str], db_path: Path) -> CalibrationPolicy:
        """The policy with the ``escaped`` cameras held at their priors (and the database's
        cameras reset to the prior and marked as having a trusted focal)."""
        import pycolmap

        with pycolmap.Database.open(str(db_path)) as db:
            for cid in escaped:
                camera = db.read_camera(cid)
                camera.has_prior_focal_length = True
                db.update_camera(camera)
        plans = dict(self.plans)
        for cid, reason in escaped.items():
            plans[cid] = replace(plans[cid], refine=False, note=f"held at the prior: {reason}")
        return CalibrationPolicy(plans)

    def report(self, reconstruction: Any, scene: SceneMap, ids: list[int]) -> list[dict]:
        """Per camera: prior and final focal, images used and registered, refined or why not."""
        registered: dict[int, int] = {}
        for image in reconstruction.images.values():
            if image.has_pose:
                registered[image.camera_id] = registered.get(image.camera_id, 0) + 1
        rows = []
        for cid, plan in self.plans.items():
            final = _focal(reconstruction.cameras[cid]) if cid in reconstruction.cameras else None
            rows.append({
                "camera_id": cid, "source": plan.source, "prior_focal": round(plan.prior, 2),
                "final_focal": None if final is None else round(final, 2),
                "change": None if final is None else round(final / plan.prior - 1.0, 4),
                "images": plan.images, "registered": registered.get(cid, 0),
                "refined": plan.refine, "note": plan.note, "name": plan.name,
            })  # fmt: skip
        return rows


def _focal(camera: Any) -> float:
    """Mean focal length of a pycolmap camera."""
    idx = list(camera.focal_length_idxs())
    return float(sum(camera.params[i] for i in idx) / len(idx))
