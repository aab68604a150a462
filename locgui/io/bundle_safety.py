"""Keeping map bundles whole: atomic replaces, one writer at a time, recovery after a crash,
no symbolic links inside, never writing over a source.

Every bundle write (``write_bundle``, ``MapBundle.add_checkpoint``) holds ``bundle_lock``: a
``filelock`` lock file ``.NAME.lock`` beside the bundle. Folders and the manifest are written
under unique hidden names and renamed into place; names carry the writer's PID so that what a
crashed process left behind is recognized (``recover``) and what a live one is writing is not.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from locgui.core.errors import BundleError

log = logging.getLogger(__name__)


@contextmanager
def staging_dir(
    target: Path, overwrite: bool = False, commit: Callable[[], None] | None = None
) -> Iterator[Path]:
    """Yield an empty hidden folder beside ``target``; on success it replaces ``target``.

    ``commit`` (e.g. the manifest update that records the new folder) runs after the swap;
    the replace counts as done only when it returns. On any exception before that (including
    KeyboardInterrupt and ``Cancelled``) the previous ``target`` is put back, the staging
    folders are removed and ``target`` is left as it was. A process killed between the two
    renames of a replace leaves ``.NAME.old-PID-*`` holding the previous ``target``:
    ``recover`` puts it back. The caller holds the bundle's lock (``bundle_lock``).
    """
    target = Path(target).absolute()
    recover(target)
    if target.exists() and not overwrite:
        raise BundleError(f"{target} already exists (pass overwrite to replace it)")
    target.parent.mkdir(parents=True, exist_ok=True)
    tag = f"{os.getpid()}-"
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.partial-{tag}", dir=target.parent))
    trash: Path | None = None
    try:
        yield tmp
        if target.exists():
            trash = Path(tempfile.mkdtemp(prefix=f".{target.name}.old-{tag}", dir=target.parent))
            os.replace(target, trash / target.name)
        os.replace(tmp, target)
        if commit is not None:
            commit()
    except BaseException:
        _roll_back(target, tmp, trash)
        raise
    if trash is not None:
        shutil.rmtree(trash, ignore_errors=True)


def _roll_back(target: Path, tmp: Path, trash: Path | None) -> None:
    """Undo an unfinished ``staging_dir`` replace: the new copy goes, the old one comes back.
    What was done is read from the folders (an interrupt may land just after a rename)."""
    if not tmp.exists() and target.exists():  # the new copy is at target: set it aside
        os.replace(target, tmp)
    old = trash / target.name if trash is not None else None
    if old is not None and old.exists() and not target.exists():
        os.replace(old, target)
    shutil.rmtree(tmp, ignore_errors=True)
    if trash is not None:
        shutil.rmtree(trash, ignore_errors=True)


# ``.NAME.partial-PID-xxxx`` (a copy being written) or ``.NAME.old-PID-xxxx`` (the replaced one)
_LEFTOVER = re.compile(r"^\.(?P<name>.+)\.(?P<kind>partial|old)-(?P<pid>\d+)-[^/]+$")


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True  # this process's own work in progress
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # exists, owned by someone else
    return True


def _leftovers(folder: Path) -> dict[str, list[tuple[str, Path]]]:
    """Staging folders in ``folder`` whose writer process is gone: name -> [(kind, path)]."""
    found: dict[str, list[tuple[str, Path]]] = {}
    try:
        entries = list(folder.iterdir())
    except OSError:
        return found
    for entry in entries:
        m = _LEFTOVER.match(entry.name)
        if m and entry.is_dir() and not entry.is_symlink() and not _alive(int(m["pid"])):
            found.setdefault(m["name"], []).append((m["kind"], entry))
    return found


def recover(target: Path) -> None:
    """Undo a replace of ``target`` that a crashed process left half done.

    If ``target`` is missing and a dead writer's ``.NAME.old-*`` holds it, it is put back
    (the replace never happened); then that writer's stale ``.old-*`` / ``.partial-*`` folders
    are removed. Folders of live processes are left alone. The caller holds the lock.
    """
    target = Path(target).absolute()
    stale = _leftovers(target.parent).get(target.name, [])
    if not target.exists() and not target.is_symlink():
        olds = [
            p / target.name for kind, p in stale if kind == "old" and (p / target.name).is_dir()
        ]
        if olds:
            newest = max(olds, key=lambda p: p.stat().st_mtime)
            try:
                os.replace(newest, target)
            except OSError as exc:
                raise BundleError(
                    f"{target}: a replace was interrupted and the previous copy in "
                    f"{newest.parent} could not be put back ({exc}); move {newest} to "
                    f"{target} by hand"
                ) from exc
            log.warning("%s: restored from %s (a replace was interrupted)", target, newest.parent)
    for _, folder in stale:
        shutil.rmtree(folder, ignore_errors=True)
        log.info("removed %s left by an interrupted write", folder)


def recover_bundle(path: Path) -> None:
    """``recover`` the bundle at ``path`` and its checkpoints, under the bundle's lock.

    Cheap when there is nothing to do (no lock is taken): opening a bundle calls it.
    """
    path = Path(path).absolute()
    checkpoints = path / "checkpoints"
    if path.name not in _leftovers(path.parent) and not _leftovers(checkpoints):
        return
    try:
        with bundle_lock(path):
            recover(path)
            for name in _leftovers(checkpoints):
                recover(checkpoints / name)
    except OSError as exc:  # e.g. a read-only copy: the lock file cannot be made
        if not path.exists():
            raise BundleError(
                f"{path}: a write was interrupted and could not be recovered ({exc}); the "
                f"previous copy is in a hidden .{path.name}.old-* folder beside it"
            ) from exc
        log.warning("%s: leftovers of an interrupted write not cleaned (%s)", path, exc)


def check_disjoint(out: Path, sources: Iterable[Path | None]) -> None:
    """Raise BundleError if ``out`` is, contains or lies inside one of ``sources``."""
    out = Path(out).absolute().resolve()
    for src in sources:
        if src is None:
            continue
        src = Path(src).absolute().resolve()
        if out == src or out.is_relative_to(src) or src.is_relative_to(out):
            raise BundleError(
                f"--out {out} overlaps the source {src} (the same folder, inside it or "
                "holding it); write the map bundle somewhere else"
            )


def write_json_atomic(path: Path, data: Mapping[str, Any]) -> None:
    """Write JSON to ``path`` through a uniquely named temporary file and an atomic rename
    (readers see the old file or the new one, whoever else writes beside it)."""
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    tmp = Path(name)
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(json.dumps(data, indent=2, sort_keys=False) + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        tmp.chmod(0o644)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


LOCK_TIMEOUT_S = 5.0
"""How long a bundle write waits for another process's write before giving up."""


def lock_path(bundle: Path) -> Path:
    """The lock file of the bundle at ``bundle``: beside it, so it outlives a replace."""
    bundle = Path(bundle).absolute().resolve()
    return bundle.parent / f".{bundle.name}.lock"


@contextmanager
def bundle_lock(bundle: Path, timeout: float | None = None) -> Iterator[None]:
    """Hold the single-writer lock of ``bundle`` (re-entrant within a thread).

    Raises:
        BundleError: another process holds it for longer than ``timeout`` seconds
            (default ``LOCK_TIMEOUT_S``); the message names that process.
    """
    from filelock import FileLock, Timeout

    path = lock_path(bundle)
    path.parent.mkdir(parents=True, exist_ok=True)
    owner = path.with_name(path.name + ".pid")
    lock = FileLock(path, is_singleton=True)
    wait = LOCK_TIMEOUT_S if timeout is None else timeout
    try:
        lock.acquire(timeout=wait)
    except Timeout:
        try:
            who = f"PID {int(owner.read_text().split()[0])}"
        except (OSError, ValueError, IndexError):
            who = "another process"
        raise BundleError(
            f"{Path(bundle)}: map bundle in use by {who} (waited {wait:g} s); "
            "try again when it has finished"
        ) from None
    outermost = lock.lock_counter == 1
    try:
        if outermost:
            owner.write_text(f"{os.getpid()}\n")
        yield
    finally:
        if outermost:
            owner.unlink(missing_ok=True)
        lock.release()


# Folders locgui writes into (or reads whole): every entry below them is checked for links.
_CHECKED_DIRS = ("checkpoints", ".train", "model", "features", "points")


def check_no_symlinks(path: Path) -> None:
    """Raise BundleError if anything inside the bundle at ``path`` is a symbolic link.

    A link (``checkpoints`` -> another folder) would make training write, and replace
    folders, outside the bundle. The bundle folder itself may be a link; every top-level
    entry and everything below the folders locgui writes into must not be. ``images/`` is
    checked at the top only (it is read, never written, and may be large).
    """
    path = Path(path)
    if not path.is_dir():
        return
    todo = [path]
    while todo:
        folder = todo.pop()
        for entry in folder.iterdir():
            if entry.is_symlink():
                raise BundleError(
                    f"{entry}: symbolic link inside a map bundle; locgui does not follow links "
                    "in a bundle (put the real file or folder there)"
                )
            if entry.is_dir() and (folder != path or entry.name in _CHECKED_DIRS):
                todo.append(entry)
