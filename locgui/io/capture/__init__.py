"""Frame sources for live relocalization (webcam, video file, image folder) and the capture
thread that always holds only the newest frame. OpenCV is imported lazily."""

from locgui.io.capture.latest import CaptureStatus, LatestFrameCapture
from locgui.io.capture.sources import (
    CaptureError,
    FolderSource,
    Frame,
    FrameSource,
    GroundTruth,
    VideoSource,
    WebcamSource,
    ground_truth_beside,
    open_source,
)

__all__ = [
    "CaptureError",
    "CaptureStatus",
    "FolderSource",
    "Frame",
    "FrameSource",
    "GroundTruth",
    "LatestFrameCapture",
    "VideoSource",
    "WebcamSource",
    "ground_truth_beside",
    "open_source",
]
