"""One notification area for the whole application: every worker error ends up here."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from locgui.model.events import Signal

LEVELS = ("info", "warning", "error")


@dataclass(frozen=True)
class Notification:
    """A message for the user.

    Attributes:
        level: "info", "warning" or "error".
        message: one line the user can act on.
        detail: longer text (e.g. a traceback) shown on demand.
        source: what produced it ("localize", "open scene", ...).
        time: seconds since the epoch.
    """

    level: str
    message: str
    detail: str = ""
    source: str = ""
    time: float = field(default_factory=time.time)


class Notifications:
    """The list of notifications; ``posted(notification)`` fires for each new one."""

    def __init__(self, limit: int = 500) -> None:
        self.posted = Signal("notifications.posted")
        self.cleared = Signal("notifications.cleared")
        self.items: list[Notification] = []
        self._limit = limit

    def post(self, level: str, message: str, detail: str = "", source: str = "") -> Notification:
        if level not in LEVELS:
            raise ValueError(f"notification level {level!r} is not one of {LEVELS}")
        note = Notification(level, message, detail, source)
        self.items.append(note)
        del self.items[: -self._limit]
        self.posted.emit(note)
        return note

    def info(self, message: str, source: str = "") -> Notification:
        return self.post("info", message, source=source)

    def warning(self, message: str, detail: str = "", source: str = "") -> Notification:
        return self.post("warning", message, detail, source)

    def error(self, message: str, detail: str = "", source: str = "") -> Notification:
        return self.post("error", message, detail, source)

    def clear(self) -> None:
        self.items.clear()
        self.cleared.emit()

    def errors(self) -> list[Notification]:
        return [n for n in self.items if n.level == "error"]
