"""XFeat extractor: the Features contract, sizes, and configuration."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from locgui.core.errors import MethodError
from locgui.methods.features import Features, get_extractor

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_xfeat_features_follow_the_contract(xfeat_extractor: Any, textured_rgb: np.ndarray) -> None:
    f = xfeat_extractor.extract(textured_rgb)
    assert isinstance(f, Features) and f.kind == "xfeat" and f.image_size == (320, 240)
    assert 200 < len(f) <= 1024 and f.dim == 64 == xfeat_extractor.dim
    assert f.keypoints.dtype == np.float32 and f.descriptors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(f.descriptors, axis=1), 1.0, atol=1e-5)
    assert np.all(f.keypoints > 0) and np.all(f.keypoints < [320, 240])
    assert np.all(np.diff(f.scores) <= 0)  # best first


def test_xfeat_top_k_and_bad_inputs(textured_rgb: np.ndarray) -> None:
    assert len(get_extractor("xfeat", top_k=50).extract(textured_rgb)) == 50
    xfeat = get_extractor("xfeat", top_k=50, max_side=24)
    with pytest.raises(MethodError, match="below 32 pixels"):
        xfeat.extract(textured_rgb)
    with pytest.raises(MethodError, match="uint8 RGB"):
        xfeat.extract(textured_rgb.astype(np.float32))
    with pytest.raises(MethodError, match="bad configuration"):
        get_extractor("xfeat", topk=5)
