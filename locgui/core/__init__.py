"""Domain types and geometry, numpy only."""

from locgui.core.camera import MODEL_PARAMS, Camera
from locgui.core.errors import (
    BundleError,
    Cancelled,
    ImageDecodeError,
    LocguiError,
    MethodError,
    MissingDependency,
    SceneFormatError,
    UnsupportedCameraModel,
)
from locgui.core.pose import Rigid3, Sim3
from locgui.core.results import (
    LocalizationResult,
    Matches2D2D,
    Matches2D3D,
    Query,
    Retrieved,
    SceneCoordinates,
)
from locgui.core.scene import DepthInfo, Points3D, SceneImage, SceneMap

__all__ = [
    "MODEL_PARAMS",
    "BundleError",
    "Camera",
    "Cancelled",
    "DepthInfo",
    "ImageDecodeError",
    "LocalizationResult",
    "LocguiError",
    "Matches2D2D",
    "Matches2D3D",
    "MethodError",
    "MissingDependency",
    "Points3D",
    "Query",
    "Retrieved",
    "Rigid3",
    "SceneCoordinates",
    "SceneFormatError",
    "SceneImage",
    "SceneMap",
    "Sim3",
    "UnsupportedCameraModel",
]
