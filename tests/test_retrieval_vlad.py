"""VLAD global retrieval: k-means, descriptor normalization, queries, saved state, ranking."""

from __future__ import annotations

import io

import numpy as np
import pytest

from locgui.core.errors import BundleError, MethodError
from locgui.methods.features import Features
from locgui.methods.retrieval import GlobalIndex, kmeans, nearest_centres, vlad


def _features(desc: np.ndarray, kind: str = "sift") -> Features:
    desc = np.asarray(desc, np.float32)
    desc = desc / np.linalg.norm(desc, axis=1, keepdims=True)
    n = len(desc)
    return Features(np.zeros((n, 2), np.float32), desc, np.ones(n, np.float32), (64, 48), kind)


def _place(rng: np.random.Generator, centres: np.ndarray, words: np.ndarray, n: int) -> Features:
    """An image of a 'place': descriptors drawn around that place's own subset of words."""
    picks = rng.choice(words, n)
    return _features(centres[picks] + 0.05 * rng.normal(size=(n, centres.shape[1])))


def test_kmeans_recovers_separated_clusters_deterministically() -> None:
    rng = np.random.default_rng(0)
    truth = 10.0 * np.eye(6, 8)
    x = np.concatenate([c + 0.1 * rng.normal(size=(50, 8)) for c in truth])
    centres = kmeans(x, 6, seed=3)
    order = np.argmin(((truth[:, None] - centres[None]) ** 2).sum(-1), axis=1)
    assert sorted(order.tolist()) == list(range(6))
    np.testing.assert_allclose(centres[order], truth, atol=0.05)
    np.testing.assert_array_equal(kmeans(x, 6, seed=3), centres)
    with pytest.raises(MethodError, match="visual words"):
        kmeans(x[:3], 6)


def test_vlad_normalization_on_a_hand_example() -> None:
    centres = np.array([[1.0, 0.0], [0.0, 1.0]], np.float32)
    desc = np.array([[1.0, 0.5], [1.0, -0.3], [0.2, 1.0]], np.float32)
    # Residuals to word 0: (0, 0.5) + (0, -0.3) = (0, 0.2) -> intra-norm (0, 1);
    # word 1: (0.2, 0) -> (1, 0). Signed sqrt keeps them; global L2 divides by sqrt(2).
    expected = np.array([0.0, 1.0, 1.0, 0.0]) / np.sqrt(2.0)
    np.testing.assert_allclose(vlad(desc, centres), expected, atol=1e-6)
    # Signed square root acts after intra-normalization: (0.6, -0.8) -> (sqrt .6, -sqrt .8).
    v = vlad(np.array([[1.6, -0.8]], np.float32), centres)
    np.testing.assert_allclose(v, np.array([0.6**0.5, -(0.8**0.5), 0, 0]) / 1.4**0.5, atol=1e-6)
    assert np.all(vlad(np.zeros((0, 2), np.float32), centres) == 0)


def test_query_ranks_images_of_the_same_place_first() -> None:
    rng = np.random.default_rng(1)
    centres = rng.normal(size=(40, 16))
    places = [rng.choice(40, 8, replace=False) for _ in range(5)]
    db = [_place(rng, centres, places[i % 5], 200) for i in range(15)]  # 3 views per place
    ids = [100 + i for i in range(15)]
    index = GlobalIndex(num_words=16).fit(db, ids)
    for p, words in enumerate(places):
        shortlist = index.query(index.describe(_place(rng, centres, words, 150)), k=3)
        assert {i for i, _ in shortlist} == {100 + p, 105 + p, 110 + p}
        assert all(a[1] >= b[1] for a, b in zip(shortlist, shortlist[1:], strict=False))
    # exclude removes the held-out image; k larger than the database is clamped.
    hits = index.query(index.describe(db[0]), k=50, exclude={100})
    assert len(hits) == 14 and 100 not in {i for i, _ in hits}
    assert hits[0][0] in {105, 110}


def test_state_round_trips_through_npz_without_pickle() -> None:
    rng = np.random.default_rng(2)
    db = [_features(rng.normal(size=(60, 8))) for _ in range(6)]
    index = GlobalIndex(num_words=4, seed=7).fit(db, [5, 6, 7, 8, 9, 10])
    buf = io.BytesIO()
    np.savez(buf, **index.state())
    buf.seek(0)
    with np.load(buf, allow_pickle=False) as z:
        restored = GlobalIndex.from_state({k: z[k] for k in z.files})
    q = _features(rng.normal(size=(30, 8)))
    assert restored.query(restored.describe(q), 6) == index.query(index.describe(q), 6)
    assert (restored.kind, restored.num_words, restored.seed) == ("sift", 4, 7)
    broken = index.state()
    broken["database"] = broken["database"][:, :5]
    with pytest.raises(BundleError, match="inconsistent"):
        GlobalIndex.from_state(broken)
    with pytest.raises(BundleError, match="lacks"):
        GlobalIndex.from_state({"centers": index.centers})


def test_describe_rejects_other_feature_kinds() -> None:
    rng = np.random.default_rng(3)
    index = GlobalIndex(num_words=4).fit([_features(rng.normal(size=(40, 8)))] * 2)
    with pytest.raises(MethodError, match="built on sift"):
        index.describe(_features(rng.normal(size=(10, 8)), kind="xfeat"))
    with pytest.raises(MethodError, match="mixed feature kinds"):
        GlobalIndex(num_words=2).fit(
            [_features(rng.normal(size=(9, 8))), _features(rng.normal(size=(9, 8)), "xfeat")]
        )


def test_nearest_centres_is_the_argmin_of_the_distances() -> None:
    rng = np.random.default_rng(4)
    x = rng.normal(size=(500, 16)).astype(np.float32)
    centers = rng.normal(size=(20, 16)).astype(np.float32)
    dist = ((x[:, None, :].astype(np.float64) - centers[None]) ** 2).sum(-1)
    np.testing.assert_array_equal(nearest_centres(x, centers), dist.argmin(1))
