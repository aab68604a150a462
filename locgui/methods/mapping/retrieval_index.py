"""The map's global retrieval index: fitted on the mapping images' local features.

Thin glue over ``locgui.methods.retrieval.GlobalIndex`` (the retrieval contract): image ids
are handed to the index with the features, and the index answers with image ids.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

MAX_TRAIN = 25_000
"""Local descriptors sampled to learn the vocabulary (plenty for tens of words; k-means
cost grows linearly with it)."""


def fit_index(features: dict[int, Any], clusters: int, seed: int) -> Any:
    """A ``GlobalIndex`` over ``features`` (image id -> Features), vocabulary learned here."""
    from locgui.methods.retrieval import GlobalIndex

    ids = sorted(features)
    index = GlobalIndex(num_words=clusters, seed=seed, max_train=MAX_TRAIN)
    index.fit([features[i] for i in ids], image_ids=ids)
    return index


def neighbours_fn(index: Any, features: dict[int, Any]) -> Callable[[int, int], list[int]]:
    """``(image_id, k) -> the k most similar other mapping images`` (for pair selection)."""

    def neighbours(image_id: int, k: int) -> list[int]:
        desc = index.describe(features[image_id])
        return [int(i) for i, _ in index.query(desc, k, exclude=(image_id,))]

    return neighbours
