"""Typed errors. Each carries a one-line message a user can act on."""

from __future__ import annotations


class LocguiError(Exception):
    """Base class of every error locgui raises on purpose."""


class SceneFormatError(LocguiError):
    """A scene folder or file is missing, empty, corrupt or of an unknown layout."""


class UnsupportedCameraModel(LocguiError):
    """A camera model locgui does not handle."""


class ImageDecodeError(LocguiError):
    """An image file is missing or does not decode."""


class BundleError(LocguiError):
    """A map bundle is incomplete, of an unknown version or inconsistent."""


class MethodError(LocguiError):
    """A method cannot run with this map or configuration."""


class InputLimitError(LocguiError):
    """An input exceeds a configurable limit (files in a folder, JSON size; see io.limits)."""


class MissingDependency(LocguiError):
    """An optional package needed for this feature is not installed."""


class Cancelled(LocguiError):
    """The user cancelled the running task."""
