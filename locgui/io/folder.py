"""A plain folder of images (no poses) -> ``SceneMap``.

One SIMPLE_PINHOLE camera per distinct image size, guessed from a field of view
(``meta["intrinsics_guessed"] = True``): good enough to start SfM, which refines them.
"""

from __future__ import annotations

from pathlib import Path

from locgui.core.camera import Camera
from locgui.core.errors import SceneFormatError
from locgui.core.scene import SceneImage, SceneMap
from locgui.io.images import IMAGE_SUFFIXES, image_size
from locgui.io.limits import list_folder

GUESSED_FOV_DEG = 60.0


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


def read_image_folder(path: str | Path, fov_deg: float = GUESSED_FOV_DEG) -> SceneMap:
    """Every image file of the folder, unposed, with guessed intrinsics.

    Raises:
        SceneFormatError: no image files.
        ImageDecodeError: a file whose size cannot be read (not an image).
    """
    path = Path(path)
    folder = image_folder_of(path)
    if folder is None:
        raise SceneFormatError(f"{path}: no image files ({', '.join(IMAGE_SUFFIXES)})")
    cameras: dict[tuple[int, int], Camera] = {}
    scene = SceneMap(
        image_dir=folder,
        source_format="images",
        source_path=path,
        meta={"intrinsics_guessed": True, "guessed_fov_deg": fov_deg},
    )
    for image_id, file in enumerate(_image_files(folder), 1):
        size = image_size(file)
        if size not in cameras:
            cameras[size] = Camera.from_fov(size[0], size[1], fov_deg, len(cameras) + 1)
        scene.images[image_id] = SceneImage(image_id, file.name, cameras[size].camera_id)
    scene.cameras = {c.camera_id: c for c in cameras.values()}
    return scene
