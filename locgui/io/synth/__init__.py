"""Procedural synthetic room with exact poses, intrinsics and depth (demo and test data).

``generate(out_dir, seed, preset, photometric)`` writes a complete scene; ``SyntheticRoom``
renders any view; ``render_video`` writes a continuous "webcam" clip with ground truth.
"""

from locgui.io.synth.photometric import Photometric
from locgui.io.synth.room import SyntheticRoom
from locgui.io.synth.trajectories import PRESETS, Preset, get_preset, mapping_poses, query_poses
from locgui.io.synth.video import render_video
from locgui.io.synth.writer import generate

__all__ = [
    "PRESETS",
    "Photometric",
    "Preset",
    "SyntheticRoom",
    "generate",
    "get_preset",
    "mapping_poses",
    "query_poses",
    "render_video",
]
