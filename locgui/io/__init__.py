"""Readers and writers: files on disk <-> core types.

``open_scene(path)`` detects the layout through the format registry (``formats.FORMATS``).
Heavy packages (pycolmap, OpenCV, open3d) are imported inside the reading functions only.
"""

from locgui.io.colmap import is_colmap
from locgui.io.formats import FORMATS, SceneFormat, detect_format, open_scene, register_format

register_format(
    SceneFormat(
        "colmap",
        is_colmap,
        "locgui.io.colmap:read_colmap",
        "COLMAP model (binary or text), or a folder with sparse/0 or sparse/ (+ images/)",
    )
)

__all__ = ["FORMATS", "SceneFormat", "detect_format", "open_scene", "register_format"]
