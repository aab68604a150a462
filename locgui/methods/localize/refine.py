"""Sub-pixel query keypoints of 2D-3D matches, aligned to the map images they came through.

A query keypoint matched to a map point is moved to where the point's image content lies:
the map point is projected into the database image the match came through, and the patch
there is aligned with the query (``align_points``). The query position then follows the map
point's own position instead of the detector's, which is off by about half a pixel (XFeat).
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from typing import Any

import numpy as np

from locgui.core.results import Matches2D2D, Matches2D3D
from locgui.methods.features.align import (
    AlignConfig,
    align_templates,
    gray_image,
    local_affines,
    templates,
)

log = logging.getLogger(__name__)


class ReferenceImages:
    """Grayscale copies of a bundle's mapping images at the feature resolution, read on first
    use and kept for the ``capacity`` most recently used images (one 640x480 image: 0.3 MB,
    so 77 MB at most). Decoding is 7 ms an image: with room for fewer images than the map
    has (the demo: 72), the shortlist of most queries needed a decode or two.
    """

    def __init__(self, bundle: Any, max_side: int | None, capacity: int = 256) -> None:
        self.bundle = bundle
        self.max_side = max_side
        self.capacity = capacity
        self._images: OrderedDict[int, tuple[np.ndarray, np.ndarray] | None] = OrderedDict()

    def get(self, image_id: int) -> tuple[np.ndarray, np.ndarray] | None:
        """(grayscale (h, w) uint8, (2,) its pixels per full-image pixel), or None when the
        image file cannot be read (the map was moved without its images)."""
        if image_id in self._images:
            self._images.move_to_end(image_id)
            return self._images[image_id]
        from locgui.core.errors import ImageDecodeError

        try:
            entry = self._load(image_id)
        except (ImageDecodeError, ValueError, OSError) as exc:
            log.warning("no sub-pixel refinement through image %d: %s", image_id, exc)
            entry = None
        self._images[image_id] = entry
        while len(self._images) > self.capacity:
            self._images.popitem(last=False)
        return entry

    def _load(self, image_id: int) -> tuple[np.ndarray, np.ndarray]:
        """Decode at the largest JPEG reduction (1/2, 1/4, 1/8) still at least the working
        size, then shrink by area averaging as ``gray_image`` does."""
        import cv2

        from locgui.io.images import read_gray
        from locgui.methods.features.common import target_size

        cam = self.bundle.scene.camera_of(image_id)
        w, h = target_size(cam.width, cam.height, self.max_side)
        reduce = 1
        while reduce < 8 and cam.width // (2 * reduce) >= w and cam.height // (2 * reduce) >= h:
            reduce *= 2
        gray = read_gray(self.bundle.scene.image_path(image_id), reduce)
        expected = (-(-cam.height // reduce), -(-cam.width // reduce))
        if gray.shape != expected:
            raise ValueError(f"image is {gray.shape[::-1]} px, its camera says {expected[::-1]}")
        if (gray.shape[1], gray.shape[0]) != (w, h):
            gray = cv2.resize(gray, (w, h), interpolation=cv2.INTER_AREA)
        return gray, np.array([w / cam.width, h / cam.height])


def reference_images(bundle: Any, max_side: int | None) -> ReferenceImages:
    """The shared ``ReferenceImages`` of ``bundle`` at ``max_side`` (kept by the bundle)."""
    refs: ReferenceImages = bundle.resources.get(
        f"reference_images_{max_side}", "cpu", lambda: ReferenceImages(bundle, max_side)
    )
    return refs


def refine_query_points(
    query_rgb: np.ndarray,
    matches: Matches2D3D,
    pairs: list[Matches2D2D],
    refs: ReferenceImages,
    config: AlignConfig | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Query positions of ``matches`` aligned to their map points' database images.

    The patch of the database image is compared with the query through the local affine
    distortion between the two images, fitted to the 2D-2D matches around the point.

    Args:
        query_rgb: (H, W, 3) uint8, the query image (``matches.query_xy`` is in its pixels).
        matches: 2D-3D matches with their ``source_image_ids``.
        pairs: the 2D-2D matches with each database image (for the local distortion).
        refs: the database images.

    Returns:
        ((N, 2) float64 query pixels, refined where accepted; (N,) bool accepted).
    """
    xy = np.asarray(matches.query_xy, np.float64).copy()
    ok = np.zeros(len(xy), bool)
    if len(xy) == 0:
        return xy, ok
    query = gray_image(query_rgb, refs.max_side)
    q_scale = np.array([query.shape[1] / query_rgb.shape[1], query.shape[0] / query_rgb.shape[0]])
    cfg = config or AlignConfig()
    scene = refs.bundle.scene
    by_image = {m.image_id: m for m in pairs}
    # Templates and local distortions per database image, then one alignment of them all in
    # the query (one pass of numpy operations per iteration, not one per image).
    rows, patches, inside, affines = [], [], [], []
    for image_id in np.unique(matches.source_image_ids):
        sel = np.flatnonzero(matches.source_image_ids == image_id)
        image = scene.images.get(int(image_id))
        ref = refs.get(int(image_id)) if image is not None else None
        if ref is None or image.cam_from_world is None:
            continue
        gray, scale = ref
        cam = scene.camera_of(int(image_id))
        src = cam.project(image.cam_from_world.apply(matches.xyz[sel])) * scale
        good = np.isfinite(src).all(axis=1)
        pair = by_image.get(int(image_id))
        if pair is not None:
            affines.append(local_affines(pair.db_xy * scale, pair.query_xy * q_scale, src[good]))
        else:
            affines.append(np.broadcast_to(np.eye(2), (int(good.sum()), 2, 2)))
        patch, fits = templates(gray, src[good], cfg.window)
        rows.append(sel[good])
        patches.append(patch)
        inside.append(fits)
    if not rows:
        return xy, ok
    sel = np.concatenate(rows)
    start = xy[sel] * q_scale
    new, accepted = align_templates(
        np.concatenate(patches), np.concatenate(affines), query, start, cfg
    )
    accepted &= np.concatenate(inside)
    xy[sel[accepted]] = new[accepted] / q_scale
    ok[sel[accepted]] = True
    return xy, ok
