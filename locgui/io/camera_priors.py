"""Initial intrinsics of unposed photos: one camera per (EXIF camera, image size, focal) group.

An image's focal-length prior comes from its EXIF (``locgui.io.exif``); without EXIF it is
``DEFAULT_FOCAL_FACTOR`` x the image's longer side (COLMAP's convention, a ~45 deg horizontal
field of view for 4:3 photos). Images with the same EXIF camera, size and focal share one
camera; images without EXIF share one camera per image size (photos of one size in one set
most often come from one camera; SfM's bounded self-calibration tells when they do not).

``scene.meta["camera_priors"]`` records, per camera id, the prior focal, where it came from
and how far refinement may move it (``bounds``: the final focal must lie within
[prior / bounds, prior * bounds]).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from locgui.core.camera import Camera
from locgui.io.calibration import Intrinsics, IntrinsicsError
from locgui.io.exif import read_exif

DEFAULT_FOCAL_FACTOR = 1.2
"""Focal prior of a photo without EXIF, in units of its longer side."""

EXIF_BOUNDS = 1.25
"""How far self-calibration may move an EXIF focal (x or / this factor): EXIF is a few percent
off for most cameras, more with digital zoom or a missing sensor size."""

DEFAULT_BOUNDS = 2.5
"""How far self-calibration may move the default focal prior (0.48x-3x the longer side)."""


@dataclass(frozen=True)
class CameraPrior:
    """The focal-length prior of one image.

    Attributes:
        focal: focal length in pixels.
        source: "exif", "calibration" (user-given; never refined) or "default".
        name: the EXIF camera name ("" without EXIF).
        bounds: refinement may move the focal within [focal / bounds, focal * bounds].
    """

    focal: float
    source: str
    name: str = ""
    bounds: float = DEFAULT_BOUNDS

    def key(self, width: int, height: int) -> tuple[object, ...]:
        """Images with equal keys share a camera."""
        if self.source == "default":
            return ("default", width, height)
        return (self.source, self.name, width, height, round(self.focal, 1))

    def to_dict(self) -> dict[str, object]:
        return {"focal": round(self.focal, 3), "source": self.source, "name": self.name,
                "bounds": self.bounds}  # fmt: skip


def image_prior(path: Path, width: int, height: int) -> CameraPrior:
    """The focal prior of the image file ``path`` of size ``width`` x ``height``."""
    exif = read_exif(path)
    focal = exif.focal_px(width, height)
    if focal is not None:
        return CameraPrior(focal, "exif", exif.camera_name, EXIF_BOUNDS)
    return CameraPrior(DEFAULT_FOCAL_FACTOR * max(width, height), "default")


def prior_camera(prior: CameraPrior, width: int, height: int, camera_id: int) -> Camera:
    """A SIMPLE_RADIAL camera at the prior focal, principal point at the centre, k = 0."""
    return Camera("SIMPLE_RADIAL", width, height,
                  (prior.focal, width / 2.0, height / 2.0, 0.0), camera_id)  # fmt: skip


def group_cameras(
    images: Iterable[tuple[int, Path, tuple[int, int]]],
    calibration: Intrinsics | None = None,
) -> tuple[dict[int, Camera], dict[int, int], dict[int, dict[str, object]]]:
    """Cameras for images given as (image_id, file, (width, height)).

    With a user-given ``calibration`` (``--intrinsics``: a file, or a field of view), images it
    fits (same size, or same aspect ratio: scaled) use it as it is, never refined; images of
    another aspect ratio get priors.

    Returns (camera id -> Camera, image id -> camera id, camera id -> prior record).
    """
    cameras: dict[int, Camera] = {}
    of_image: dict[int, int] = {}
    records: dict[int, dict[str, object]] = {}
    by_key: dict[tuple[object, ...], int] = {}
    for image_id, path, (width, height) in images:
        given = _calibrated(calibration, width, height)
        if given is not None and calibration is not None:
            prior = CameraPrior(given.focal[0], "calibration", calibration.origin, 1.0)
        else:
            prior = image_prior(path, width, height)
        key = prior.key(width, height)
        if key not in by_key:
            cid = len(by_key) + 1
            by_key[key] = cid
            if given is not None:
                cameras[cid] = Camera(given.model, width, height, given.params, cid)
            else:
                cameras[cid] = prior_camera(prior, width, height, cid)
            records[cid] = {**prior.to_dict(), "images": 0}
        cid = by_key[key]
        of_image[image_id] = cid
        records[cid]["images"] = int(records[cid]["images"]) + 1  # type: ignore[call-overload]
    return cameras, of_image, records


def _calibrated(calibration: Intrinsics | None, width: int, height: int) -> Camera | None:
    """The calibration for this image size, or None when it does not fit: another aspect
    ratio, or (a calibration without image size, like a bare K) a principal point more than
    10 % of the size away from the image centre."""
    if calibration is None or calibration.kind == "auto":
        return None
    try:
        camera = calibration.for_size(width, height)[0]
    except IntrinsicsError:
        return None
    if camera is None:
        return None
    cx, cy = camera.principal_point
    if abs(cx / width - 0.5) > 0.1 or abs(cy / height - 0.5) > 0.1:
        return None
    return camera
