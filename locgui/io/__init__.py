"""Readers and writers: files on disk <-> core types.

``open_scene(path)`` detects the layout through the format registry (``formats.FORMATS``).
Heavy packages (pycolmap, OpenCV, open3d) are imported inside the reading functions only.
"""

from locgui.io.bundle_scene import is_bundle
from locgui.io.cambridge import is_cambridge
from locgui.io.colmap_layout import is_colmap
from locgui.io.folder import is_image_folder
from locgui.io.formats import FORMATS, SceneFormat, detect_format, open_scene, register_format
from locgui.io.kapture import is_kapture
from locgui.io.ply import is_ply
from locgui.io.sevenscenes import is_7scenes
from locgui.io.transforms_json import is_transforms_json

# Specific layouts first; a plain image folder is the fallback.
for _fmt in (
    SceneFormat(
        "locmap",
        is_bundle,
        "locgui.io.bundle_scene:read_bundle_scene",
        "locgui map bundle (SCENE.locmap): its mapping model and what the bundle holds",
    ),
    SceneFormat(
        "kapture",
        is_kapture,
        "locgui.io.kapture:read_kapture",
        "kapture folder (sensors/sensors.txt, records, trajectories, reconstruction/)",
    ),
    SceneFormat(
        "colmap",
        is_colmap,
        "locgui.io.colmap:read_colmap",
        "COLMAP model (binary or text), or a project folder with sparse/N, sparse/ or "
        "reconstruction/ (+ images/)",
    ),
    SceneFormat(
        "transforms.json",
        is_transforms_json,
        "locgui.io.transforms_json:read_transforms",
        "instant-ngp / nerfstudio transforms.json (file or its folder)",
    ),
    SceneFormat(
        "7scenes",
        is_7scenes,
        "locgui.io.sevenscenes:read_7scenes",
        "Microsoft 7-Scenes scene folder (seq-XX/frame-*.color/.depth/.pose)",
    ),
    SceneFormat(
        "cambridge",
        is_cambridge,
        "locgui.io.cambridge:read_cambridge",
        "Cambridge Landmarks scene folder (dataset_train/test.txt, reconstruction.nvm)",
    ),
    SceneFormat("ply", is_ply, "locgui.io.ply:read_ply", "PLY point cloud (points only)"),
    SceneFormat(
        "images",
        is_image_folder,
        "locgui.io.folder:read_image_folder",
        "folder of images without poses (intrinsics guessed)",
    ),
):
    register_format(_fmt)

__all__ = ["FORMATS", "SceneFormat", "detect_format", "open_scene", "register_format"]
