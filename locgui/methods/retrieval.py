"""Global image retrieval: VLAD over the map's own local descriptors (no downloaded weights).

A k-means vocabulary (``num_words`` centres, deterministic seed) is learned from the mapping
images' local descriptors at map time. An image's descriptor aggregates the residuals of its
local descriptors to their nearest centre, per centre (V, D); each centre's block is
L2-normalized (intra-normalization), then every component gets a signed square root, then the
whole (V * D,) vector is L2-normalized. Similarity is the dot product (cosine).

numpy only: importing this module is light.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from locgui.core.errors import BundleError, MethodError
from locgui.methods.features.types import Features
from locgui.runtime.resources import file_version

log = logging.getLogger(__name__)

STATE_VERSION = 1


def _sq_dists(x: np.ndarray, centers: np.ndarray) -> np.ndarray:
    """(N, V) squared Euclidean distances between rows of x (N, D) and centers (V, D)."""
    d = (x * x).sum(1)[:, None] - 2.0 * (x @ centers.T) + (centers * centers).sum(1)[None]
    return np.maximum(d, 0.0)


def nearest_centres(x: np.ndarray, centers: np.ndarray) -> np.ndarray:
    """(N,) index of the centre (V, D) nearest to each row of ``x`` (N, D), by OpenCV's
    brute force: a query's matrix product would wake BLAS's threads, which then spin against
    torch's through the matching that follows (sfm's match stage 60 -> 41 ms with BLAS on one
    thread, demo, 2 cores)."""
    import cv2

    _, nearest = cv2.batchDistance(
        np.asarray(x, np.float32), np.asarray(centers, np.float32), cv2.CV_32F,
        normType=cv2.NORM_L2SQR, K=1,
    )  # fmt: skip
    return np.asarray(nearest[:, 0], np.int64)


def _word_sums(labels: np.ndarray, x: np.ndarray, k: int) -> np.ndarray:
    """(k, D) float32 sums of the rows of x (N, D) per label (sorted segments, one pass)."""
    x = np.asarray(x, np.float32)
    sums = np.zeros((k, x.shape[1]), np.float32)
    counts = np.bincount(labels, minlength=k)
    used = np.flatnonzero(counts)
    if len(used):
        starts = (np.cumsum(counts) - counts)[used]
        sums[used] = np.add.reduceat(x[np.argsort(labels, kind="stable")], starts, axis=0)
    return sums


def kmeans(x: np.ndarray, k: int, seed: int = 0, iterations: int = 25) -> np.ndarray:
    """(k, D) float32 centres of the rows of ``x`` (N, D): k-means++ seeding, Lloyd steps.

    Deterministic for a given seed. An emptied cluster is re-seeded at the point farthest
    from its centre.
    """
    x = np.asarray(x, dtype=np.float32)
    if len(x) < k:
        raise MethodError(f"retrieval: {len(x)} descriptors cannot make {k} visual words")
    rng = np.random.default_rng(seed)
    centers = np.empty((k, x.shape[1]), np.float32)
    centers[0] = x[rng.integers(len(x))]
    closest = _sq_dists(x, centers[:1])[:, 0]
    for i in range(1, k):
        total = float(closest.sum())
        pick = rng.choice(len(x), p=closest / total) if total > 0 else rng.integers(len(x))
        centers[i] = x[pick]
        closest = np.minimum(closest, _sq_dists(x, centers[i : i + 1])[:, 0])
    for _ in range(iterations):
        d = _sq_dists(x, centers)
        labels = d.argmin(1)
        new = _word_sums(labels, x, k)
        counts = np.bincount(labels, minlength=k).astype(np.float32)
        for empty in np.flatnonzero(counts == 0):
            far = int(d[np.arange(len(x)), labels].argmax())
            new[empty], counts[empty] = x[far], 1.0
        new /= counts[:, None]
        if np.allclose(new, centers, atol=1e-6):
            centers = new
            break
        centers = new
    return centers


def vlad(descriptors: np.ndarray, centers: np.ndarray) -> np.ndarray:
    """(V * D,) float32 VLAD of (N, D) descriptors: intra-norm, signed sqrt, L2 (zeros if N=0)."""
    v, dim = centers.shape
    agg = np.zeros((v, dim), np.float32)
    if len(descriptors):
        labels = nearest_centres(descriptors, centers)
        agg = _word_sums(labels, descriptors - centers[labels], v)
    norms = np.linalg.norm(agg, axis=1, keepdims=True)
    agg = np.divide(agg, norms, out=np.zeros_like(agg), where=norms > 0)
    flat = (np.sign(agg) * np.sqrt(np.abs(agg))).ravel()
    total = float(np.linalg.norm(flat))
    return (flat / total if total > 0 else flat).astype(np.float32)


class GlobalIndex:
    """Database of VLAD descriptors of the mapping images.

    Usage::

        index = GlobalIndex(num_words=64).fit(features, image_ids)
        shortlist = index.query(index.describe(query_features), k=10, exclude={held_out})
        np.savez(path, **index.state());  GlobalIndex.from_state(dict(np.load(path)))
    """

    def __init__(self, num_words: int = 64, seed: int = 0, max_train: int = 100_000) -> None:
        """num_words: vocabulary size V; seed: k-means seed; max_train: descriptors sampled
        (uniformly over images) to learn the vocabulary."""
        self.num_words = num_words
        self.seed = seed
        self.max_train = max_train
        self.kind = ""
        self.centers = np.zeros((0, 0), np.float32)
        self.database = np.zeros((0, 0), np.float32)
        self.image_ids = np.zeros(0, np.int64)

    @property
    def dim(self) -> int:
        """Global descriptor dimension V * D."""
        return int(self.centers.size)

    def __len__(self) -> int:
        return len(self.image_ids)

    def fit(
        self, features: Sequence[Features], image_ids: Iterable[int] | None = None
    ) -> GlobalIndex:
        """Learn the vocabulary from ``features`` and index them as the database.

        image_ids: the id of each entry (default 0..N-1); queries return these ids.
        """
        ids = np.arange(len(features)) if image_ids is None else np.fromiter(image_ids, np.int64)
        if len(ids) != len(features) or len(features) == 0:
            raise MethodError(f"retrieval: {len(features)} feature sets for {len(ids)} image ids")
        kinds = {f.kind for f in features}
        if len(kinds) != 1:
            raise MethodError(f"retrieval: mixed feature kinds {sorted(kinds)}")
        self.kind = kinds.pop()
        rng = np.random.default_rng(self.seed)
        per_image = max(1, self.max_train // len(features))
        sample = [
            f.descriptors[rng.choice(len(f), min(len(f), per_image), replace=False)]
            for f in features
        ]
        self.centers = kmeans(np.concatenate(sample), self.num_words, self.seed)
        self.database = np.stack([vlad(f.descriptors, self.centers) for f in features])
        self.image_ids = ids.astype(np.int64)
        log.info("retrieval: %d images, %d words x %d-D", len(ids), *self.centers.shape)
        return self

    def describe(self, features: Features) -> np.ndarray:
        """(V * D,) float32 unit global descriptor of one image's local features."""
        if not self.centers.size:
            raise MethodError("retrieval: the index has no vocabulary; call fit() first")
        if features.kind != self.kind or features.dim != self.centers.shape[1]:
            raise MethodError(
                f"retrieval: index built on {self.kind} ({self.centers.shape[1]}-D), "
                f"got {features.kind} ({features.dim}-D) features"
            )
        return vlad(features.descriptors, self.centers)

    def query(
        self, desc: np.ndarray, k: int, exclude: Iterable[int] = ()
    ) -> list[tuple[int, float]]:
        """The ``k`` database images most similar to ``desc``: [(image_id, cosine)], best
        first, leaving out the ids in ``exclude``."""
        if desc.shape != (self.dim,):
            raise MethodError(f"retrieval: query descriptor {desc.shape}, index is {self.dim}-D")
        # A sum of products, not a (BLAS, threaded) matrix-vector product: see nearest_centres.
        scores = np.einsum("ij,j->i", self.database, desc.astype(np.float32))
        skip = np.isin(self.image_ids, np.fromiter(exclude, np.int64))
        scores = np.where(skip, -np.inf, scores)
        k = min(k, int((~skip).sum()))
        if k <= 0:
            return []
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top], kind="stable")]
        return [(int(self.image_ids[i]), float(scores[i])) for i in top]

    def state(self) -> dict[str, np.ndarray]:
        """Plain numpy arrays (no pickling needed) that :meth:`from_state` restores."""
        return {
            "version": np.array(STATE_VERSION, np.int64),
            "kind": np.array(self.kind),
            "params": np.array([self.num_words, self.seed, self.max_train], np.int64),
            "centers": self.centers,
            "database": self.database,
            "image_ids": self.image_ids,
        }

    @classmethod
    def from_state(cls, state: dict[str, np.ndarray]) -> GlobalIndex:
        """The index saved by :meth:`state`; raises BundleError for missing/inconsistent data."""
        missing = {"version", "kind", "params", "centers", "database", "image_ids"} - set(state)
        if missing:
            raise BundleError(f"retrieval state lacks {sorted(missing)}; rebuild the map")
        if int(state["version"]) != STATE_VERSION:
            raise BundleError(f"retrieval state version {int(state['version'])} is not supported")
        num_words, seed, max_train = (int(v) for v in state["params"])
        index = cls(num_words, seed, max_train)
        index.kind = str(state["kind"])
        index.centers = np.asarray(state["centers"], np.float32)
        index.database = np.asarray(state["database"], np.float32)
        index.image_ids = np.asarray(state["image_ids"], np.int64)
        if index.centers.shape[0] != num_words or index.database.shape != (
            len(index.image_ids),
            index.centers.size,
        ):
            raise BundleError(
                f"retrieval state is inconsistent: centers {index.centers.shape}, "
                f"database {index.database.shape}, {len(index.image_ids)} ids"
            )
        return index


def bundle_index(bundle: Any) -> GlobalIndex:
    """The map bundle's global index, loaded once per bundle (its resource cache)."""
    path = bundle.path / "retrieval.npz"
    version = file_version(path)
    return bundle.resources.get(  # type: ignore[no-any-return]
        "retrieval", "cpu", lambda: GlobalIndex.from_state(bundle.retrieval_state()), version
    )
