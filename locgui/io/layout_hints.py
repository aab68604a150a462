"""Signs of a scene layout that did not read, for folders no specific format took.

When a folder ends up read as plain images, or as nothing, these say what looked like a failed
attempt at another layout (a ``sparse/`` folder without a model, ``cameras.txt`` alone, a
``sensors/`` folder without ``sensors.txt`` ...), so the fallback is never silent. Only file
names are looked at.
"""

from __future__ import annotations

from pathlib import Path

from locgui.io.colmap_layout import MODEL_FILES, MODEL_PARENTS, candidate_dirs, find_model_dir


def _relative(folder: Path, root: Path) -> str:
    return "" if folder == root else f"{folder.relative_to(root)}/"


def _colmap_hints(path: Path) -> list[str]:
    hints: list[str] = []
    if find_model_dir(path) is not None:
        return hints
    for folder in candidate_dirs(path):
        for ext in (".bin", ".txt"):
            present = [f"{n}{ext}" for n in MODEL_FILES if (folder / f"{n}{ext}").is_file()]
            if len(present) == 1:
                hints.append(
                    f"{_relative(folder, path)}{present[0]} alone is not a COLMAP model "
                    f"(needs cameras{ext}, images{ext} and points3D{ext})"
                )
    for name in MODEL_PARENTS:
        kapture_part = name == "reconstruction" and (path / "sensors").is_dir()
        if (path / name).is_dir() and not kapture_part:
            hints.append(
                f"{name}/ holds no COLMAP model (cameras, images, points3D as .bin or .txt, "
                f"in {name}/, {name}/0 ...)"
            )
    if (path / "database.db").is_file():
        hints.append("database.db without a COLMAP model (was the mapper run?)")
    return hints


def _other_hints(path: Path) -> list[str]:
    hints = []
    for json_file in sorted(path.glob("transforms*.json")):
        if json_file.name != "transforms.json":
            hints.append(f"{json_file.name} is not read (open the file itself to use it)")
    if (path / "sensors").is_dir() and not (path / "sensors" / "sensors.txt").is_file():
        hints.append("sensors/ without sensors.txt is not a kapture folder")
    if any(path.glob("*.nvm")) and not any(path.glob("dataset_*.txt")):
        hints.append("an .nvm file without dataset_train.txt / dataset_test.txt is not read")
    if any(p.is_dir() for p in path.glob("seq-*")):
        hints.append("seq-* folders without frame-*.pose.txt files are not a 7-Scenes scene")
    return hints


def layout_hints(path: Path) -> list[str]:
    """Sentences naming what in ``path`` looks like a layout that was not recognized."""
    if not path.is_dir():
        return []
    try:
        return _colmap_hints(path) + _other_hints(path)
    except OSError:  # an unreadable subfolder: no hints rather than a crash
        return []
