"""A plain folder of images (no poses) -> ``SceneMap``.

Cameras come from priors: one SIMPLE_RADIAL camera per (EXIF camera, image size, EXIF focal)
group, or per image size for photos without EXIF (``locgui.io.camera_priors``). They are
marked ``meta["intrinsics_guessed"]`` (SfM refines them, within bounds) unless a calibration
is given; ``meta["camera_priors"]`` records each camera's prior. When the folder also holds
what looks like a failed attempt at another layout (``layout_hints``), a warning is logged and
``meta["layout_notes"]`` lists it (``locgui info`` prints it).
"""

from __future__ import annotations

import logging
from pathlib import Path

from locgui.core.errors import SceneFormatError
from locgui.core.scene import SceneImage, SceneMap
from locgui.io.calibration import Intrinsics
from locgui.io.camera_priors import group_cameras
from locgui.io.images import IMAGE_SUFFIXES, image_size
from locgui.io.layout_hints import layout_hints
from locgui.io.limits import list_folder

log = logging.getLogger(__name__)


def _image_files(folder: Path) -> list[Path]:
    return sorted(
        p for p in list_folder(folder) if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file()
    )


def image_folder_of(path: Path) -> Path | None:
    """``path`` if it holds images, else ``path/images`` if that does, else None."""
    if not path.is_dir():
        return None
    for folder in (path, path / "images"):
        if folder.is_dir() and _image_files(folder):
            return folder
    return None


def is_image_folder(path: Path) -> bool:
    """Detection hook: a folder with image files (or an ``images/`` subfolder with them)."""
    return image_folder_of(path) is not None


def read_image_folder(path: str | Path, calibration: Intrinsics | None = None) -> SceneMap:
    """Every image file of the folder, unposed, with cameras from priors
    (``locgui.io.camera_priors``: EXIF focal, else 1.2 x the longer side) or ``calibration``.

    Raises:
        SceneFormatError: no image files.
        ImageDecodeError: a file whose size cannot be read (not an image).
    """
    path = Path(path)
    folder = image_folder_of(path)
    if folder is None:
        raise SceneFormatError(f"{path}: no image files ({', '.join(IMAGE_SUFFIXES)})")
    files = _image_files(folder)
    listed = [(image_id, file, image_size(file)) for image_id, file in enumerate(files, 1)]
    cameras, camera_of, priors = group_cameras(listed, calibration)
    guessed = any(rec["source"] != "calibration" for rec in priors.values())
    scene = SceneMap(
        image_dir=folder,
        source_format="images",
        source_path=path,
        meta={"intrinsics_guessed": guessed, "camera_priors": priors},
    )
    for image_id, file, _ in listed:
        scene.images[image_id] = SceneImage(image_id, file.name, camera_of[image_id])
    scene.cameras = cameras
    notes = layout_hints(path)
    if notes:
        scene.meta["layout_notes"] = notes
        log.warning("%s: read as plain images without poses, but %s", path, "; ".join(notes))
    return scene
