"""Progress lines on stderr that later messages never share.

A progress printer that rewrites one line (``\\r``, no newline) marks it open; whatever
prints next on stderr (an error, "cancelled") calls ``end_progress_line`` first so that it
starts on a line of its own.
"""

from __future__ import annotations

import sys

_line_open = False


def write_progress(text: str, *, open_line: bool) -> None:
    """Write ``text`` to stderr; ``open_line``: it does not end its line (a ``\\r`` status)."""
    global _line_open
    sys.stderr.write(text)
    sys.stderr.flush()
    _line_open = open_line


def end_progress_line() -> None:
    """End a progress line left open, so that the next message starts on a fresh line."""
    global _line_open
    if _line_open:
        sys.stderr.write("\n")
        sys.stderr.flush()
    _line_open = False
