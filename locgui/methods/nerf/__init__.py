"""NeRF scene representation (plain torch), NeRFMatch-Mini and a DFNet-style pose regressor.

Light package: submodules import torch lazily or are only imported by code that needs torch.

- ``config``: training configs (dataclasses, no heavy imports).
- ``rays``: rays of a locgui Camera + cam_from_world (OpenCV frame, COLMAP pixel centres).
- ``field``: multi-scale factorized tri-plane field (K-Planes style) with small MLPs.
- ``render``: sampling, volume rendering of RGB, z-depth, surface points and features.
- ``train``: ``train_nerf(scene_or_bundle, config, ctx)``.
- ``checkpoint``: saving/loading with a scene fingerprint.
- ``nerfmatch`` / ``apr``: the localizers registered in ``spec``.

``LocalizationResult.extras`` of both localizers (for the views):
``render_rgb`` (h, w, 3) uint8 and ``render_depth`` (h, w) float32 z-depth (NaN: empty) of the
NeRF at the estimated pose, ``render_camera`` (the intrinsics of that rendering, the query's
scaled to ``render_side``), ``pose_history`` [(step name, cam_from_world), ...] through the
refinement steps; nerfmatch adds ``retrieval_mode``. To render elsewhere (the ground-truth
pose, the 3D view's camera): ``checkpoint.load_nerf(bundle).render_view(camera, pose)``.
"""
