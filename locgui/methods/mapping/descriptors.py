"""Per-3D-point descriptors for the ``points`` localizer (3DFA deployment mode)."""

from __future__ import annotations

from typing import Any

import numpy as np

from locgui.core.scene import Points3D


def mean_point_descriptors(points: Points3D, features: dict[int, Any]) -> np.ndarray:
    """The re-normalized mean of each point's observation descriptors.

    Args:
        points: map points with tracks (``track_image``, ``track_keypoint`` index ``features``).
        features: image id -> ``Features`` whose rows are the images' COLMAP points2D.
    Returns:
        (N, D) float32 L2-normalized rows, in ``points.ids`` order.
    """
    if len(points) == 0:
        dim = next(iter(features.values())).descriptors.shape[1] if features else 0
        return np.zeros((0, dim), np.float32)
    dim = next(iter(features.values())).descriptors.shape[1]
    sums = np.zeros((len(points), dim), np.float64)
    for image_id in np.unique(points.track_image):
        sel = points.track_image == image_id
        desc = features[int(image_id)].descriptors[points.track_keypoint[sel]]
        np.add.at(sums, points.track_point[sel], desc)
    norms = np.linalg.norm(sums, axis=1, keepdims=True)
    return (sums / np.maximum(norms, 1e-12)).astype(np.float32)
