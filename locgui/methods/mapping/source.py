"""What a map is built from: any scene the readers load, or a plain folder of images."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from pathlib import Path

from locgui.core.errors import SceneFormatError
from locgui.core.scene import SceneMap
from locgui.io.calibration import Intrinsics

log = logging.getLogger(__name__)


@dataclass
class MappingInput:
    """The scene and which of its images go into the map.

    Attributes:
        scene: the source scene (images, cameras, maybe poses, depth).
        map_ids: image ids to map, sorted.
        query_ids: image ids held out as queries (split "test" or ``holdout``).
        posed: whether every mapping image has a known pose.
        left_out: image name -> why it is not in the map (duplicates, panoramas).
    """

    scene: SceneMap
    map_ids: list[int]
    query_ids: list[int]
    posed: bool
    left_out: dict[str, str] = field(default_factory=dict)


MAX_ASPECT = 4.0
"""Images wider (or taller) than this ratio are taken for panoramas, which no pinhole camera
model describes: they are left out of SfM with that reason."""


def load_source(path: Path) -> SceneMap:
    """The scene at ``path``: any layout ``open_scene`` reads, including a plain image folder."""
    from locgui.io import open_scene

    return open_scene(Path(path))


def select_images(scene: SceneMap, holdout: int = 0, mode: str = "auto") -> MappingInput:
    """Split the scene's images into mapping and query images.

    Images of split "test" are queries; with ``holdout`` N > 0, every N-th remaining image
    (by name, starting with the first) is a query too and is marked split "test". Images whose
    file is missing are skipped. ``mode`` "triangulate" needs poses, "sfm" ignores them.
    """
    if scene.image_dir is None:
        raise SceneFormatError(f"{scene.source_path}: the scene has no image folder to map")
    scene = scene.subset(list(scene.images))  # a copy: held-out images are re-labelled below
    missing = set(scene.missing_images)
    usable = sorted(
        (im for im in scene.images.values() if im.name not in missing), key=lambda im: im.name
    )
    queries = [im.image_id for im in usable if im.split == "test"]
    rest = [im for im in usable if im.split != "test"]
    left_out: dict[str, str] = {}
    if mode == "sfm" or not any(im.cam_from_world is not None for im in rest):
        left_out = unusable_for_sfm(scene, rest)
        rest = [im for im in rest if im.name not in left_out]
        for name, why in left_out.items():
            log.warning("%s left out of the map: %s", name, why)
    if holdout > 0:
        held = [im for k, im in enumerate(rest) if k % holdout == 0]
        for im in held:
            scene.images[im.image_id] = replace(im, split="test")
        queries += [im.image_id for im in held]
        rest = [im for k, im in enumerate(rest) if k % holdout != 0]
    posed = [im.image_id for im in rest if im.cam_from_world is not None]
    if mode == "sfm" or (mode == "auto" and not posed):
        map_ids, is_posed = [im.image_id for im in rest], False
    else:
        if not posed:
            raise SceneFormatError(f"{scene.source_path}: no image has a pose to triangulate")
        if len(posed) < len(rest):
            log.warning("%d unposed images left out of the map", len(rest) - len(posed))
        map_ids, is_posed = posed, True
    if len(map_ids) < 2:
        raise SceneFormatError(f"{scene.source_path}: {len(map_ids)} mapping images; need 2+")
    return MappingInput(scene, sorted(map_ids), sorted(queries), is_posed, left_out)


def unusable_for_sfm(scene: SceneMap, images: list) -> dict[str, str]:
    """Images SfM must not use: name -> reason. Exact duplicates of an earlier image (same
    bytes: zero baseline, they only add degenerate pairs) and panoramas (``MAX_ASPECT``)."""
    import hashlib

    assert scene.image_dir is not None
    out: dict[str, str] = {}
    seen: dict[str, str] = {}
    for im in images:
        cam = scene.cameras.get(im.camera_id)
        if cam is not None and max(cam.width, cam.height) > MAX_ASPECT * min(cam.width, cam.height):
            out[im.name] = (
                f"{cam.width}x{cam.height} looks like a panorama (aspect > {MAX_ASPECT:g}:1), "
                "which no pinhole camera model describes"
            )
            continue
        digest = hashlib.sha1((scene.image_dir / im.name).read_bytes()).hexdigest()
        if digest in seen:
            out[im.name] = f"an exact duplicate of {seen[digest]}"
        else:
            seen[digest] = im.name
    return out


def with_calibration(scene: SceneMap, calibration: Intrinsics) -> SceneMap:
    """A copy of ``scene`` whose cameras come from a user-given ``calibration`` (images of
    another aspect ratio keep priors; see ``locgui.io.camera_priors.group_cameras``)."""
    from locgui.io.camera_priors import group_cameras
    from locgui.io.images import image_size

    if scene.image_dir is None:
        raise SceneFormatError(f"{scene.source_path}: the scene has no image folder")
    out = scene.subset(list(scene.images))
    listed = []
    for im in out.images.values():
        file = scene.image_dir / im.name
        if im.name in scene.missing_images or not file.is_file():
            continue
        listed.append((im.image_id, file, image_size(file)))
    cameras, camera_of, priors = group_cameras(listed, calibration)
    out.cameras = cameras
    for image_id, cid in camera_of.items():
        out.images[image_id] = replace(out.images[image_id], camera_id=cid)
    out.meta = {**scene.meta, "camera_priors": priors,
                "intrinsics_guessed": any(r["source"] != "calibration" for r in priors.values())}
    return out
