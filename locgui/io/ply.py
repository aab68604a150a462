"""PLY point clouds <-> points, through open3d (imported lazily)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from locgui.core.errors import MissingDependency, SceneFormatError
from locgui.core.scene import Points3D, SceneMap


def is_ply(path: Path) -> bool:
    """Detection hook: a ``.ply`` file."""
    return path.is_file() and path.suffix.lower() == ".ply"


def _open3d():  # type: ignore[no-untyped-def]
    try:
        import open3d
    except ImportError as exc:
        raise MissingDependency("PLY files need open3d: pip install open3d") from exc
    return open3d


_PLY_SIZES = {
    "char": 1, "uchar": 1, "int8": 1, "uint8": 1, "short": 2, "ushort": 2, "int16": 2,
    "uint16": 2, "int": 4, "uint": 4, "int32": 4, "uint32": 4, "float": 4, "float32": 4,
    "double": 8, "float64": 8,
}  # fmt: skip


def check_ply(path: Path) -> None:
    """Refuse PLY files whose vertex data is shorter than the header announces.

    open3d reports a truncated file only as a console warning and returns zero-filled points,
    so the size is checked here first (binary: the vertex block's bytes; ASCII: its lines).
    """
    data = path.read_bytes()
    end = data.find(b"end_header")
    if not data.startswith(b"ply") or end < 0:
        raise SceneFormatError(f"{path}: not a PLY file (no 'ply' magic or no end_header)")
    header = data[:end].decode("ascii", errors="replace").splitlines()
    body = data[data.index(b"\n", end) + 1 :] if b"\n" in data[end:] else b""
    fmt = next(
        (line.split()[1] for line in header if len(line.split()) > 1 and line.startswith("format")),
        "",
    )
    elements: list[tuple[str, int, int | None]] = []  # name, count, row bytes (None: lists)
    for line in header:
        tokens = line.split()
        if tokens[:1] == ["element"] and len(tokens) == 3:
            if not tokens[2].isdigit():
                raise SceneFormatError(f"{path}: bad PLY element count {tokens[2]!r}")
            elements.append((tokens[1], int(tokens[2]), 0))
        elif tokens[:1] == ["property"] and len(tokens) >= 2 and elements:
            name, count, row = elements[-1]
            size = _PLY_SIZES.get(tokens[1]) if tokens[1] != "list" else None
            elements[-1] = (name, count, None if row is None or size is None else row + size)
    if not elements or elements[0][0] != "vertex":
        raise SceneFormatError(f"{path}: PLY file without a leading vertex element")
    _, count, row = elements[0]
    if fmt == "ascii":
        available = len([ln for ln in body.splitlines() if ln.strip()])
        needed = count
    else:
        available, needed = len(body), count * (row or 0)
    if available < needed:
        raise SceneFormatError(f"{path}: truncated PLY file ({count} vertices announced)")


def read_ply_points(path: str | Path) -> Points3D:
    """Points of a PLY file: xyz (N, 3) float64, rgb (N, 3) uint8 (grey 128 if uncoloured)."""
    path = Path(path)
    check_ply(path)
    o3d = _open3d()
    with o3d.utility.VerbosityContextManager(o3d.utility.VerbosityLevel.Error):
        cloud = o3d.io.read_point_cloud(str(path), format="ply")
    xyz = np.asarray(cloud.points, dtype=np.float64)
    if len(xyz) == 0:
        raise SceneFormatError(f"{path}: PLY file holds no points (or is corrupt)")
    if cloud.has_colors():
        rgb = np.round(np.asarray(cloud.colors) * 255.0).clip(0, 255).astype(np.uint8)
    else:
        rgb = np.full((len(xyz), 3), 128, np.uint8)
    return Points3D(
        ids=np.arange(len(xyz), dtype=np.int64),
        xyz=xyz,
        rgb=rgb,
        error=np.full(len(xyz), np.nan),
    )


def read_ply(path: str | Path) -> SceneMap:
    """A scene holding only the PLY's points (no cameras, no images)."""
    path = Path(path)
    return SceneMap(points=read_ply_points(path), source_format="ply", source_path=path)


def write_ply(path: str | Path, xyz: np.ndarray, rgb: np.ndarray | None = None) -> Path:
    """Write points (N, 3) float64 with optional (N, 3) uint8 colours as binary PLY."""
    o3d = _open3d()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    cloud = o3d.geometry.PointCloud()
    cloud.points = o3d.utility.Vector3dVector(np.asarray(xyz, dtype=np.float64).reshape(-1, 3))
    if rgb is not None:
        colors = np.asarray(rgb, dtype=np.float64).reshape(-1, 3) / 255.0
        cloud.colors = o3d.utility.Vector3dVector(colors)
    if not o3d.io.write_point_cloud(str(path), cloud, write_ascii=False):
        raise SceneFormatError(f"{path}: open3d could not write the PLY file")
    return path
