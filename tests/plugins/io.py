"""Fixtures for the io tests: random scenes with exact values to round-trip."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from locgui.core import Camera, Points3D, Rigid3, SceneImage, SceneMap
from locgui.core.pose import axis_angle_to_rotmat


def make_random_scene(seed: int = 0, n_images: int = 6, n_points: int = 12) -> SceneMap:
    """Two cameras, posed images with keypoints, one unposed image, points with tracks."""
    rng = np.random.default_rng(seed)
    cameras = {
        1: Camera("OPENCV", 640, 480, (500.5, 510.25, 320.1, 240.2, 0.1, -0.01, 1e-3, 2e-3), 1),
        4: Camera.pinhole(300.0, 301.0, 160.0, 120.0, 320, 240, 4),
    }
    images: dict[int, SceneImage] = {}
    for i in range(1, n_images + 1):
        images[i] = SceneImage(
            image_id=i,
            name=f"img_{i:03d}.png",
            camera_id=1 if i % 2 else 4,
            cam_from_world=Rigid3(axis_angle_to_rotmat(rng.normal(size=3)), rng.normal(size=3)),
            split="test" if i % 3 == 0 else "train",
            keypoints=rng.random((20, 2)) * 300,
            point3D_ids=np.full(20, -1, np.int64),
        )
    images[n_images + 10] = SceneImage(n_images + 10, "unposed.png", 1)
    track_point, track_image, track_keypoint = [], [], []
    for row in range(n_points):
        for image_id in rng.choice(np.arange(1, n_images + 1), size=2, replace=False):
            track_point.append(row)
            track_image.append(int(image_id))
            track_keypoint.append(row)  # keypoint `row` of each image observes point `row`
    points = Points3D(
        ids=np.arange(n_points, dtype=np.int64) * 3 + 7,
        xyz=rng.normal(size=(n_points, 3)),
        rgb=rng.integers(0, 256, (n_points, 3)).astype(np.uint8),
        error=np.where(np.arange(n_points) == 1, np.nan, rng.random(n_points)),
        track_point=np.array(track_point, np.int64),
        track_image=np.array(track_image, np.int64),
        track_keypoint=np.array(track_keypoint, np.int64),
    )
    for row, image_id, kp in zip(track_point, track_image, track_keypoint, strict=True):
        ids = images[image_id].point3D_ids
        assert ids is not None
        ids[kp] = points.ids[row]
    return SceneMap(cameras, images, points, units="metres", meta={"origin": "random"})


@pytest.fixture
def random_scene() -> Callable[..., SceneMap]:
    """Factory: ``random_scene(seed=0, n_images=6, n_points=12) -> SceneMap``."""
    return make_random_scene
