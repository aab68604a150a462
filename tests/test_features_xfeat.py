"""XFeat extractor: descriptor norms, geometric correctness of matches, pixel convention."""

from __future__ import annotations

import numpy as np
import pytest

from locgui.methods.features import Features, get_extractor, get_matcher
from tests.plugins.features import apply_homography


@pytest.fixture(scope="module")
def xfeat() -> object:
    return get_extractor("xfeat", top_k=1024)


def test_xfeat_features_follow_the_contract(xfeat: object, textured_rgb: np.ndarray) -> None:
    f = xfeat.extract(textured_rgb)  # type: ignore[attr-defined]
    assert isinstance(f, Features) and f.kind == "xfeat" and f.image_size == (320, 240)
    assert 200 < len(f) <= 1024 and f.dim == 64
    assert f.keypoints.dtype == np.float32 and f.descriptors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(f.descriptors, axis=1), 1.0, atol=1e-5)
    assert np.all(f.keypoints > 0) and np.all(f.keypoints < [320, 240])
    assert np.all(np.diff(f.scores) <= 0)  # sorted best first


def test_xfeat_mnn_matches_follow_the_homography(
    xfeat: object, warped_pair: tuple[np.ndarray, np.ndarray, np.ndarray]
) -> None:
    img0, img1, h = warped_pair
    f0, f1 = xfeat.extract(img0), xfeat.extract(img1)  # type: ignore[attr-defined]
    m = get_matcher("mnn", ratio=0.9).match(f0, f1)
    err = np.linalg.norm(apply_homography(h, f0.keypoints[m.idx0]) - f1.keypoints[m.idx1], axis=1)
    assert len(m) > 100
    assert np.mean(err < 2.0) > 0.9
