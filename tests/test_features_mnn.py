"""Mutual nearest-neighbour matcher on synthetic descriptors with known answers."""

from __future__ import annotations

import numpy as np
import pytest

from locgui.core.errors import MethodError
from locgui.methods.features import Features, get_matcher

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _features(desc: np.ndarray, kind: str = "xfeat") -> Features:
    desc = (desc / np.linalg.norm(desc, axis=1, keepdims=True)).astype(np.float32)
    n = len(desc)
    return Features(
        keypoints=np.zeros((n, 2), np.float32),
        descriptors=desc,
        scores=np.ones(n, np.float32),
        image_size=(64, 48),
        kind=kind,
    )


def _pairs(m: object) -> set[tuple[int, int]]:
    return set(zip(m.idx0.tolist(), m.idx1.tolist(), strict=True))  # type: ignore[attr-defined]


def test_mnn_recovers_a_known_permutation() -> None:
    rng = np.random.default_rng(0)
    d1 = rng.normal(size=(300, 64))
    perm = rng.permutation(300)[:200]
    d0 = d1[perm] + 0.05 * rng.normal(size=(200, 64))
    m = get_matcher("mnn").match(_features(d0), _features(d1))
    assert _pairs(m) == {(i, int(p)) for i, p in enumerate(perm)}
    assert m.idx0.dtype == np.int64 and m.scores.dtype == np.float32
    assert np.all(m.scores > 0.9) and np.all(m.scores <= 1.0)


def test_mnn_is_symmetric_and_chunking_does_not_change_it() -> None:
    rng = np.random.default_rng(1)
    f0 = _features(rng.normal(size=(257, 16)))
    f1 = _features(rng.normal(size=(190, 16)))
    for cfg in ({}, {"ratio": 0.95}, {"min_similarity": 0.5}):
        whole = get_matcher("mnn", **cfg).match(f0, f1)
        small = {"chunk_elements": 190 * 7, "value_chunk_elements": 190 * 7}
        chunked = get_matcher("mnn", **small, **cfg).match(f0, f1)
        small = {"chunk_elements": 257 * 3, "value_chunk_elements": 257 * 3}
        back = get_matcher("mnn", **small, **cfg).match(f1, f0)
        assert len(whole) > 0
        assert _pairs(whole) == _pairs(chunked)
        assert _pairs(whole) == {(j, i) for i, j in _pairs(back)}


def test_ratio_and_similarity_thresholds_reject_ambiguous_matches() -> None:
    e = np.eye(4)
    # Row 0 matches column 0 unambiguously; row 1 is nearly equidistant to columns 1 and 2.
    d0 = np.stack([e[0], e[1] + 0.9 * e[2], e[3]])
    d1 = np.stack([e[0], e[1], e[2], -e[3]])
    f0, f1 = _features(d0), _features(d1)
    assert _pairs(get_matcher("mnn").match(f0, f1)) == {(0, 0), (1, 1)}
    assert _pairs(get_matcher("mnn", ratio=0.8).match(f0, f1)) == {(0, 0)}
    assert _pairs(get_matcher("mnn", min_similarity=0.8).match(f0, f1)) == {(0, 0)}


def test_empty_and_mismatched_inputs() -> None:
    rng = np.random.default_rng(2)
    f = _features(rng.normal(size=(5, 8)))
    empty = f.subset(np.zeros(0, np.int64))
    assert len(get_matcher("mnn").match(f, empty)) == 0
    with pytest.raises(MethodError, match="descriptor dimensions"):
        get_matcher("mnn").match(f, _features(rng.normal(size=(5, 16))))
    with pytest.raises(MethodError, match="unknown matcher"):
        get_matcher("nope")
    with pytest.raises(MethodError, match="bad configuration"):
        get_matcher("mnn", ratios=0.5)


@pytest.mark.parametrize("chunk", [1 << 22, 64 * 5, 1])
def test_mnn_without_ratio_equals_brute_force_mutual_argmax(chunk: int) -> None:
    """Without a ratio test the matcher keeps only column maxima (no column argmax): its
    pairs are exactly the mutual argmax of the whole similarity matrix, on realistic sizes
    (XFeat-like 64-D, many near-duplicates so that mutuality is often lost) and any chunking."""
    rng = np.random.default_rng(3)
    base = rng.normal(size=(400, 64))
    d1 = np.concatenate([base, base[:150] + 0.3 * rng.normal(size=(150, 64))])
    d0 = np.concatenate([base[rng.permutation(400)[:300]], rng.normal(size=(212, 64))])
    d0 = d0 + 0.2 * rng.normal(size=d0.shape)
    f0, f1 = _features(d0), _features(d1)
    sim = f0.descriptors.astype(np.float64) @ f1.descriptors.T.astype(np.float64)
    nn01, nn10 = sim.argmax(1), sim.argmax(0)
    for min_similarity in (0.0, 0.6):
        rows = np.flatnonzero(
            (nn10[nn01] == np.arange(len(d0))) & (sim.max(1) >= min_similarity)
        )
        expected = {(int(i), int(nn01[i])) for i in rows}
        matcher = get_matcher("mnn", min_similarity=min_similarity, value_chunk_elements=chunk)
        m = matcher.match(f0, f1)
        assert 50 < len(expected) < len(d0)
        assert _pairs(m) == expected
        np.testing.assert_allclose(m.scores, sim[m.idx0, m.idx1], atol=1e-5)
