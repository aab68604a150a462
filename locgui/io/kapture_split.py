"""A kapture-localization dataset: ``mapping/`` and ``query/`` kaptures side by side.

Both are read and merged into one scene: mapping images in split "train", query images in split
"test" (posed where ``query/sensors/trajectories.txt`` holds ground truth), 3D points from the
mapping kapture. Image names become paths from the dataset root
(``mapping/sensors/records_data/...``), query camera and image ids follow the mapping ones.
"""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

from locgui.core.scene import SceneMap

log = logging.getLogger(__name__)

PARTS = ("mapping", "query")
SPLITS = {"mapping": "train", "query": "test"}


def is_kapture_pair(path: Path) -> bool:
    """Detection hook: a folder with ``mapping/sensors/sensors.txt``."""
    return path.is_dir() and (path / "mapping" / "sensors" / "sensors.txt").is_file()


def _add_part(scene: SceneMap, part: SceneMap, name: str) -> None:
    camera_offset = max(scene.cameras, default=0)
    image_offset = max(scene.images, default=0)
    for camera_id, camera in part.cameras.items():
        new_id = camera_id + camera_offset
        scene.cameras[new_id] = dataclasses.replace(camera, camera_id=new_id)
    prefix = f"{name}/sensors/records_data/"
    for image_id, im in part.images.items():
        new_id = image_id + image_offset
        scene.images[new_id] = dataclasses.replace(
            im,
            image_id=new_id,
            name=prefix + im.name,
            camera_id=im.camera_id + camera_offset,
            split=SPLITS[name],
            # the query kapture's own tracks refer to points that are not read
            keypoints=im.keypoints if name == "mapping" else None,
            point3D_ids=im.point3D_ids if name == "mapping" else None,
        )
    scene.missing_images += [prefix + n for n in part.missing_images]


def read_kapture_pair(path: str | Path) -> SceneMap:
    """Read ``mapping/`` (and ``query/`` when present) as one scene (see the module docstring).

    Raises:
        SceneFormatError, UnsupportedCameraModel: from reading either kapture.
    """
    from locgui.io.kapture import read_kapture

    root = Path(path)
    scene = SceneMap(image_dir=root, source_format="kapture", source_path=root)
    for name in PARTS:
        if not (root / name / "sensors" / "sensors.txt").is_file():
            continue
        part = read_kapture(root / name)
        if name == "mapping":
            scene.points = part.points
        elif len(part.points):
            log.info("%s: the query kapture's 3D points are not read", root / name)
        _add_part(scene, part, name)
        scene.meta.update({k: v for k, v in part.meta.items() if k == "intrinsics_guessed"})
    scene.meta["kapture_parts"] = [n for n in PARTS if (root / n / "sensors").is_dir()]
    return scene
