"""SACReg cosine encoding: Table 11 parameters, round trip, noise behaviour, torch twin."""

from __future__ import annotations

import numpy as np
import pytest

from locgui.methods.scr.encoding import (
    PAPER_FREQUENCIES,
    decode,
    decode_points,
    encode,
    encode_points,
    encode_points_torch,
    frequency_set,
    normalize_pairs,
    normalize_pairs_torch,
    search_range,
)

# (F, P_1 metres, P_F metres) as printed in the paper's Table 11.
TABLE_11_PERIODS = [(4, 302.0, 1.59), (6, 351.0, 0.50), (8, 201.0, 0.27)]


@pytest.mark.parametrize(("count", "p1", "pf"), TABLE_11_PERIODS)
def test_table_11_periods(count, p1, pf):
    fs = frequency_set(count)
    got_p1, got_pf = fs.periods
    assert got_p1 == pytest.approx(p1, abs=1.0)
    assert got_pf == pytest.approx(pf, abs=0.01)
    assert fs.dim == 6 * count
    f = fs.frequencies()
    np.testing.assert_allclose(f[1:] / f[:-1], fs.gamma)


def test_unknown_frequency_count():
    with pytest.raises(ValueError, match="F=5"):
        frequency_set(5)


def test_encoding_layout_and_unit_pairs():
    f = frequency_set(6).frequencies()
    xyz = np.array([[1.0, -2.0, 30.0], [0.5, 0.25, -7.0]])
    phi = encode_points(xyz, f)
    assert phi.shape == (2, 36)
    np.testing.assert_allclose(phi[:, 12:24], encode(xyz[:, 1], f))
    np.testing.assert_allclose(phi[1, 0:2], [np.cos(f[0] * 0.5), np.sin(f[0] * 0.5)])
    np.testing.assert_allclose(np.linalg.norm(phi.reshape(2, 18, 2), axis=-1), 1.0)
    np.testing.assert_allclose(normalize_pairs(3.0 * phi), phi)


def test_torch_twin_matches_numpy():
    torch = pytest.importorskip("torch")
    f = frequency_set(8).frequencies()
    xyz = np.random.default_rng(0).uniform(-500, 500, (50, 3))
    got = encode_points_torch(torch.from_numpy(xyz), torch.from_numpy(f)).numpy()
    np.testing.assert_allclose(got, encode_points(xyz, f), atol=1e-12)
    y = torch.randn(2, 36, 4, 5)
    n = normalize_pairs_torch(y, dim=1).numpy()
    expected = normalize_pairs(np.moveaxis(y.numpy(), 1, -1))
    np.testing.assert_allclose(np.moveaxis(n, 1, -1), expected, atol=1e-6)


@pytest.mark.parametrize("count", [4, 6, 8])
@pytest.mark.parametrize(
    ("lo", "hi", "n"),
    [(-5.0, 5.0, 20000), (990.0, 1010.0, 5000), (-2000.0, 2000.0, 200)],
    ids=["room", "1km-offset", "4km-range"],
)
def test_round_trip_to_float_tolerance(count, lo, hi, n):
    f = frequency_set(count).frequencies()
    x = np.random.default_rng(count).uniform(lo, hi, n)
    x[:2] = lo, hi  # the ends of the search range decode too
    np.testing.assert_allclose(decode(encode(x, f), f, lo, hi), x, rtol=0, atol=1e-9)


def test_round_trip_of_float32_encodings():
    # the network outputs float32: the error is then float32-limited, far below a millimetre
    f = frequency_set(6).frequencies()
    x = np.random.default_rng(3).uniform(1000.0, 1100.0, 2000)
    y = encode(x, f).astype(np.float32)
    assert np.abs(decode(y, f, 1000.0, 1100.0) - x).max() < 1e-5


def test_points_round_trip_with_search_range_from_database_points():
    f = frequency_set(6).frequencies()
    rng = np.random.default_rng(4)
    db = [rng.uniform([0, 100, -3], [4, 103, 0], (300, 3)), rng.uniform(-1, 2, (200, 3))]
    lo, hi = search_range(db)
    np.testing.assert_allclose(lo, np.minimum(db[0].min(0), db[1].min(0)))
    np.testing.assert_allclose(hi, np.maximum(db[0].max(0), db[1].max(0)))
    pts = rng.uniform(lo, hi, (40, 30, 3))
    np.testing.assert_allclose(decode_points(encode_points(pts, f), f, lo, hi), pts, atol=1e-9)


@pytest.mark.parametrize("count", sorted(PAPER_FREQUENCIES))
def test_noise_error_grows_gracefully(count):
    """Small noise: the error is the linearized least-squares error sigma / ||f||; no jumps."""
    f = frequency_set(count).frequencies()
    rng = np.random.default_rng(5)
    x = rng.uniform(-5.0, 5.0, 20000)
    medians = []
    for sigma in (0.01, 0.03, 0.1):
        y = encode(x, f) + rng.normal(0.0, sigma, (len(x), 2 * count))
        err = np.abs(decode(y, f, -5.0, 5.0) - x)
        predicted = 0.6745 * sigma / np.linalg.norm(f)  # median of |N(0, sigma/||f||)|
        assert 0.7 * predicted < np.median(err) < 1.3 * predicted, (sigma, np.median(err))
        assert err.max() < 0.25 * (2 * np.pi / f[-1])  # no jump to another minimum
        medians.append(np.median(err))
    assert medians[0] < medians[1] < medians[2]


def test_heavy_noise_outliers_stay_rare():
    f = frequency_set(6).frequencies()
    rng = np.random.default_rng(6)
    x = rng.uniform(-5.0, 5.0, 20000)
    y = encode(x, f) + rng.normal(0.0, 0.3, (len(x), 12))
    err = np.abs(decode(y, f, -5.0, 5.0) - x)
    assert np.median(err) < 0.03
    assert np.mean(err > 0.25) < 0.05


def test_decode_rejects_wrong_width_and_empty_range():
    f = frequency_set(4).frequencies()
    with pytest.raises(ValueError, match="expected 8"):
        decode(np.zeros((3, 6)), f, 0.0, 1.0)
    with pytest.raises(ValueError, match="empty search range"):
        decode(encode(np.zeros(3), f), f, 1.0, 0.0)


def test_weighted_inverse_ignores_an_unpredictable_frequency():
    """Eq. 19 with pair amplitudes: a garbage finest frequency misleads the plain inverse, not
    the one that weights it down."""
    f = frequency_set(6).frequencies()
    rng = np.random.default_rng(7)
    x = rng.uniform(-4.0, 4.0, 5000)
    y = encode(x, f) + rng.normal(0.0, 0.02, (len(x), 12))
    y[:, 10:12] = rng.normal(size=(len(x), 2))  # f_6: no information
    plain = np.abs(decode(y, f, -4.0, 4.0) - x)
    w = np.array([1, 1, 1, 1, 1, 0.002])
    weighted = np.abs(decode(y, f, -4.0, 4.0, weights=w) - x)
    dropped = np.abs(decode(y, f, -4.0, 4.0, weights=np.r_[np.ones(5), 0.0]) - x)
    assert np.median(plain) > 0.03
    assert np.median(weighted) < 0.01 and np.median(dropped) < 0.01
    with pytest.raises(ValueError, match="weights"):
        decode(y, f, -4.0, 4.0, weights=np.zeros(6))
