"""Camera intrinsics from a calibration file or a field-of-view guess: the one reader behind
``--intrinsics`` (``locgui localize``, ``eval``, ``live``) and the live dock.

Accepted files:
- OpenCV calibration YAML/XML (``cv2.FileStorage``): ``camera_matrix`` (3x3) and
  ``distortion_coefficients`` (k1 k2 p1 p2 [k3]), optionally ``image_width`` /
  ``image_height``; ROS ``camera_info`` YAML (``camera_matrix: {data: [...]}``) too. OpenCV's
  principal point is converted to COLMAP's pixel convention (+0.5).
- COLMAP ``cameras.txt``: the first camera line ``CAMERA_ID MODEL WIDTH HEIGHT PARAMS...``
  (or a bare ``MODEL WIDTH HEIGHT PARAMS...``).
- A bare 3x3 K matrix in text (``K.txt`` as many datasets ship it), no image size.
- JSON from ``Camera.to_dict`` (``{"model", "width", "height", "params"}``), optionally under
  a ``"camera"`` key.

A calibrated camera is scaled to the size of the images it is used for when the aspect ratio
matches (``Intrinsics.for_size``). Every error is an ``IntrinsicsError`` (a
``SceneFormatError``) with a one-line message naming the file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from locgui.core.camera import Camera
from locgui.core.errors import SceneFormatError, UnsupportedCameraModel
from locgui.io.limits import load_json

CALIBRATION_FORMATS = "OpenCV YAML/XML, COLMAP cameras.txt, camera.json or a 3x3 K text file"
"""The calibration file formats, for help texts."""

_OPENCV_SUFFIXES = (".yaml", ".yml", ".xml")


class IntrinsicsError(SceneFormatError):
    """An intrinsics file or spec cannot be used."""


@dataclass(frozen=True)
class Intrinsics:
    """How the images' intrinsics are obtained.

    Attributes:
        kind: "file" (calibrated), "fov" (a guess from a field of view) or "auto" (the
            localizing method chooses: a map camera of the image size, else a guess whose
            focal length PnP estimates).
        camera: the calibrated camera ("file"); its size may be 0 x 0 when the file has none.
        fov_deg: horizontal field of view of the guess ("fov").
        origin: where it came from, for status lines.
        note: a warning about the calibration (e.g. an ignored k3), or "".
    """

    kind: str
    camera: Camera | None = None
    fov_deg: float | None = None
    origin: str = ""
    note: str = ""

    def for_size(self, width: int, height: int) -> tuple[Camera | None, str]:
        """(camera for ``width`` x ``height`` images or None for "auto", a status line).

        Raises IntrinsicsError when a calibrated camera has another aspect ratio.
        """
        if self.kind == "fov":
            fov = float(self.fov_deg or 60.0)
            guess = Camera.from_fov(width, height, fov)
            return guess, (
                f"intrinsics GUESSED from a {fov:g} deg horizontal field of view (f = "
                f"{guess.focal[0]:.1f} px): poses are approximate; give a calibration file"
            )
        if self.kind == "auto":
            return None, (
                "intrinsics: chosen by the method (a map camera of this image size, else a "
                "field-of-view guess refined by PnP)"
            )
        if self.camera is None:
            raise IntrinsicsError(f"{self.origin}: no camera loaded")
        cam = self.camera
        note = f"; {self.note}" if self.note else ""
        if (cam.width, cam.height) == (0, 0):
            cam = Camera(cam.model, width, height, cam.params, cam.camera_id)
            return (
                cam,
                f"intrinsics: {self.origin} (no image size in it: assumed {width}x{height}){note}",
            )
        if (cam.width, cam.height) == (width, height):
            return cam, f"intrinsics: {self.origin}{note}"
        factor = width / cam.width
        if abs(height - cam.height * factor) > 1.0:
            raise IntrinsicsError(
                f"{self.origin}: calibrated for {cam.width}x{cam.height} but the images are "
                f"{width}x{height} (another aspect ratio)"
            )
        scaled = cam.scaled(factor)
        scaled = Camera(scaled.model, width, height, scaled.params, scaled.camera_id)
        return scaled, (
            f"intrinsics: {self.origin}, scaled from {cam.width}x{cam.height} to "
            f"{width}x{height}{note}"
        )


def parse_intrinsics(spec: str | Path | None, beside_source: Path | None = None) -> Intrinsics:
    """``"fov:DEG"``, a calibration file, or None (the file ``beside_source``, else "auto").

    Raises IntrinsicsError for a bad field of view or an unreadable file.
    """
    if spec is None or str(spec) == "":
        if beside_source is not None:
            cam, note = read_calibration_with_note(beside_source)
            return Intrinsics("file", cam, origin=f"{beside_source.name} beside the source",
                              note=note)  # fmt: skip
        return Intrinsics("auto", origin="method")
    text = str(spec)
    if text.lower().startswith("fov:"):
        try:
            fov = float(text[4:])
        except ValueError:
            raise IntrinsicsError(f"{text!r}: expected fov:DEGREES, e.g. fov:60") from None
        if not 1.0 <= fov <= 179.0:
            raise IntrinsicsError(f"{text!r}: the field of view must be in 1..179 degrees")
        return Intrinsics("fov", fov_deg=fov, origin=f"fov guess {fov:g} deg")
    path = Path(text).expanduser()
    cam, note = read_calibration_with_note(path)
    return Intrinsics("file", cam, origin=path.name, note=note)


def read_calibration(path: Path) -> Camera:
    """The camera of a calibration file (see the module docstring)."""
    return read_calibration_with_note(path)[0]


def read_calibration_with_note(path: Path) -> tuple[Camera, str]:
    """(camera, a warning such as ignored distortion terms, or "") of a calibration file."""
    path = Path(path)
    if not path.is_file():
        raise IntrinsicsError(f"{path}: no such intrinsics file")
    suffix = path.suffix.lower()
    try:
        if suffix in _OPENCV_SUFFIXES:
            return _read_opencv(path)
        if suffix == ".json":
            data: Any = load_json(path)
            return Camera.from_dict(data.get("camera", data)), ""
        text = path.read_text(encoding="utf-8")
        matrix = _plain_matrix(text)
        if matrix is not None:
            return matrix, "a bare 3x3 K: principal point taken as written, no distortion"
        return _read_colmap_text(path, text), ""
    except UnsupportedCameraModel as exc:
        raise IntrinsicsError(f"{path}: {exc}") from exc
    except OSError as exc:
        raise IntrinsicsError(f"{path}: cannot read calibration file ({exc.strerror})") from exc
    except (KeyError, IndexError, TypeError, ValueError, AttributeError, OverflowError) as exc:
        # UnicodeDecodeError and json.JSONDecodeError are ValueErrors; OverflowError: int(inf).
        raise IntrinsicsError(
            f"{path}: not a calibration file ({CALIBRATION_FORMATS}): {_one_line(exc)}"
        ) from exc


def _one_line(what: object) -> str:
    return " ".join(str(what).split()) or type(what).__name__


def _plain_matrix(text: str) -> Camera | None:
    """A text file holding only the 9 numbers of K (row by row) -> PINHOLE of size 0 x 0."""
    tokens = text.replace(",", " ").replace("[", " ").replace("]", " ").split()
    if len(tokens) != 9:
        return None
    try:
        k = np.array([float(t) for t in tokens]).reshape(3, 3)
    except ValueError:
        return None
    if not np.all(np.isfinite(k)) or k[2, 2] == 0 or np.any(k[[1, 2, 2], [0, 0, 1]] != 0):
        return None
    k = k / k[2, 2]
    return Camera("PINHOLE", 0, 0, (k[0, 0], k[1, 1], k[0, 2], k[1, 2]))


def _read_colmap_text(path: Path, text: str) -> Camera:
    for line in text.splitlines():
        tokens = line.split()
        if not tokens or tokens[0].startswith("#"):
            continue
        if tokens[0].isdigit():  # CAMERA_ID MODEL WIDTH HEIGHT PARAMS...
            cid, model, w, h, *params = tokens
        else:  # MODEL WIDTH HEIGHT PARAMS... (a bare line)
            cid, (model, w, h, *params) = "1", tokens
        return Camera(model, int(w), int(h), tuple(float(p) for p in params), int(cid))
    raise IntrinsicsError(f"{path}: no camera line (CAMERA_ID MODEL WIDTH HEIGHT PARAMS...)")


def _read_opencv(path: Path) -> tuple[Camera, str]:
    import cv2

    try:
        fs = cv2.FileStorage(str(path), cv2.FILE_STORAGE_READ)
        if not fs.isOpened():
            raise IntrinsicsError(f"{path}: OpenCV cannot parse this calibration file")
        try:
            K = _matrix(fs.getNode("camera_matrix"))
            dist = _matrix(fs.getNode("distortion_coefficients"))
            width = _number(fs.getNode("image_width"))
            height = _number(fs.getNode("image_height"))
        finally:
            fs.release()
    except (cv2.error, SystemError) as exc:  # a parse error surfaces as a SystemError
        raise IntrinsicsError(
            f"{path}: OpenCV cannot parse this calibration file ({_cv2_reason(exc)})"
        ) from exc
    if K is None or K.size != 9:
        raise IntrinsicsError(f"{path}: no 3x3 camera_matrix")
    K = K.reshape(3, 3)
    d = np.zeros(5) if dist is None else np.asarray(dist, np.float64).ravel()
    d = np.concatenate([d, np.zeros(max(0, 5 - len(d)))])
    fx, fy, cx, cy = K[0, 0], K[1, 1], K[0, 2] + 0.5, K[1, 2] + 0.5  # OpenCV -> COLMAP pixels
    names = ("k1", "k2", "p1", "p2", "k3", "k4", "k5", "k6")
    extra = [f"{names[i] if i < len(names) else i}={v:g}" for i, v in enumerate(d) if i >= 4 and v]
    note = f"ignored distortion terms this model lacks ({', '.join(extra)})" if extra else ""
    w, h = int(width or 0), int(height or 0)
    if np.any(d[:4] != 0.0):
        cam = Camera("OPENCV", w, h, (fx, fy, cx, cy, *d[:4]))
    else:
        cam = Camera("PINHOLE", w, h, (fx, fy, cx, cy))
    return cam, note


def _cv2_reason(exc: BaseException) -> str:
    """The short reason of an OpenCV error: "line N: what" for a parse error."""
    cause = exc.__cause__ if exc.__cause__ is not None else exc
    where = str(getattr(cause, "func", "") or "")  # parse errors: "FILE(LINE): message"
    found = re.search(r"\((\d+)\): (.+)$", where)
    if found:
        return f"line {found[1]}: {found[2]}"
    return _one_line(str(getattr(cause, "err", "") or cause))


def _matrix(node: Any) -> np.ndarray | None:
    """An OpenCV matrix node (``!!opencv-matrix``), a ROS ``{rows, cols, data}`` map or a plain
    sequence, as a flat or 2D float64 array; None when absent."""
    if node is None or node.empty():
        return None
    if node.isMap() and not node.getNode("dt").empty():  # !!opencv-matrix
        mat = node.mat()
        return None if mat is None else np.asarray(mat, np.float64)
    data = node.getNode("data") if node.isMap() else node  # ROS maps have no "dt"
    if data.isSeq():
        return np.array([data.at(i).real() for i in range(data.size())], np.float64)
    return None


def _number(node: Any) -> float | None:
    if node is None or node.empty():
        return None
    return float(node.real())
