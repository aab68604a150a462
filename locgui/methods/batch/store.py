"""The results store of a batch run: one JSON line per finished work item.

Each row is appended, flushed and fsynced as soon as its item finishes, so an interrupted run
loses only the items in flight; a rerun reads the keys already stored and skips them. A torn
last line (the process died while writing it) is cut off before anything is appended; a
line that does not parse is skipped (its item runs again). Valid rows are never rewritten.
One run at a time may write a store (a lock file beside it).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

from locgui.core.errors import LocguiError

RESULTS_NAME = "results.jsonl"


class StoreBusyError(LocguiError):
    """Another run is writing the same results store."""


class ResultStore:
    """``folder/results.jsonl``; use as a context manager while a run writes it."""

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)
        self.path = self.folder / RESULTS_NAME
        self.skipped_lines = 0
        self._fh: TextIO | None = None
        self._lock: Any = None

    def __enter__(self) -> ResultStore:
        from filelock import FileLock, Timeout

        self.folder.mkdir(parents=True, exist_ok=True)
        self._lock = FileLock(str(self.path) + ".lock")
        try:
            self._lock.acquire(timeout=0)
        except Timeout as exc:
            raise StoreBusyError(
                f"{self.path} is being written by another run; wait for it or choose another "
                "--out folder"
            ) from exc
        self._cut_torn_tail()
        self._fh = self.path.open("a", encoding="utf-8")
        return self

    def __exit__(self, *exc: object) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None
        if self._lock is not None:
            self._lock.release()
            self._lock = None

    def rows(self) -> list[dict[str, Any]]:
        """Every stored row (the last one per key), in the order written."""
        out: dict[str, dict[str, Any]] = {}
        for row in self._read():
            out[row["key"]] = row
        return list(out.values())

    def keys(self) -> set[str]:
        return {row["key"] for row in self._read()}

    def append(self, row: dict[str, Any]) -> None:
        """Write one row durably (flushed and fsynced before this returns)."""
        if self._fh is None:
            raise RuntimeError("ResultStore.append outside its `with` block")
        self._fh.write(json.dumps(row, allow_nan=False, separators=(",", ":")) + "\n")
        self._fh.flush()
        os.fsync(self._fh.fileno())

    def _read(self) -> Iterator[dict[str, Any]]:
        self.skipped_lines = 0
        if not self.path.exists():
            return
        with self.path.open("r", encoding="utf-8", errors="replace") as fh:
            for line in fh:
                if not line.endswith("\n"):
                    break  # torn tail: not a finished row
                try:
                    row = json.loads(line)
                except ValueError:
                    self.skipped_lines += 1
                    continue
                if isinstance(row, dict) and isinstance(row.get("key"), str):
                    yield row
                else:
                    self.skipped_lines += 1

    def _cut_torn_tail(self) -> None:
        """Drop a last line without its newline (written by a run that died mid-line)."""
        if not self.path.exists():
            return
        with self.path.open("rb+") as fh:
            size = fh.seek(0, os.SEEK_END)
            if size == 0:
                return
            fh.seek(size - 1)
            if fh.read(1) == b"\n":
                return
            block = min(size, 1 << 20)
            while True:
                fh.seek(size - block)
                tail = fh.read(block)
                cut = tail.rfind(b"\n")
                if cut >= 0 or block == size:
                    fh.truncate(size - block + cut + 1 if cut >= 0 else 0)
                    return
                block = min(size, block * 2)
