"""NeRF scene representation (plain torch), NeRFMatch-Mini and a DFNet-style pose regressor.

Light package: submodules import torch lazily or are only imported by code that needs torch.

- ``config``: training configs (dataclasses, no heavy imports).
- ``rays``: rays of a locgui Camera + cam_from_world (OpenCV frame, COLMAP pixel centres).
- ``field``: multi-scale factorized tri-plane field (K-Planes style) with small MLPs.
- ``render``: sampling, volume rendering of RGB, z-depth, surface points and features.
- ``train``: ``train_nerf(scene_or_bundle, config, ctx)``.
- ``checkpoint``: saving/loading with a scene fingerprint.
- ``nerfmatch`` / ``apr``: the localizers registered in ``spec``.
"""
