"""points: direct 2D-3D matching gives exactly the answer of its definition."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from locgui.core.results import Query
from locgui.io import open_scene
from locgui.io.bundle import MapBundle
from locgui.io.queries import refs_from_scene
from locgui.methods.registry import get_method

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _brute_force(desc: np.ndarray, cand: np.ndarray, cfg: object) -> set[tuple[int, int]]:
    """(query index, candidate index) pairs by the definition, on the whole matrix."""
    sim = desc.astype(np.float64) @ cand.T.astype(np.float64)
    order = np.argsort(-sim, axis=1)
    best = sim[np.arange(len(sim)), order[:, 0]]
    second = sim[np.arange(len(sim)), order[:, 1]]
    keep = best >= cfg.reliability  # type: ignore[attr-defined]
    d1, d2 = np.maximum(2 - 2 * best, 0), np.maximum(2 - 2 * second, 0)
    keep &= d1 <= cfg.ratio**2 * d2  # type: ignore[attr-defined]
    keep &= sim.argmax(axis=0)[order[:, 0]] == np.arange(len(sim))
    return {(int(i), int(order[i, 0])) for i in np.flatnonzero(keep)}


def test_point_matching_equals_the_brute_force_definition(
    tiny_bundle: MapBundle, tiny_scene_dir: Path
) -> None:
    """Reliability, ratio and mutual (column maxima compared by value, not argmax) on a
    real query against the points of five map images, in float64 by the definition."""
    spec = get_method("points")
    loc = spec.create(tiny_bundle, spec.make_config(**spec.test_config)).inner  # type: ignore[attr-defined]
    query: Query = refs_from_scene(open_scene(tiny_scene_dir))[0].load()
    feats = loc.extractor.extract(query.image)
    rows = loc.candidate_rows(sorted(tiny_bundle.scene.images)[:5])
    _, table = loc.cache.point_descriptors()
    q, prow, score = loc.match_points(feats.descriptors, rows)
    cand_index = {int(r): i for i, r in enumerate(rows)}
    got = {(int(a), cand_index[int(b)]) for a, b in zip(q, prow, strict=True)}
    expected = _brute_force(feats.descriptors, table.numpy()[rows], loc.config)
    assert len(expected) > 50
    assert got == expected
    sim = feats.descriptors[q] * table.numpy()[prow]
    np.testing.assert_allclose(score, sim.sum(axis=1), atol=1e-5)
