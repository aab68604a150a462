"""Application state with change events (pure Python, no Qt): the model the views subscribe to."""

from locgui.model.events import Signal
from locgui.model.notifications import Notification, Notifications
from locgui.model.selection import Selection, SelectionModel
from locgui.model.settings import Settings
from locgui.model.state import AppState

__all__ = [
    "AppState",
    "Notification",
    "Notifications",
    "Selection",
    "SelectionModel",
    "Settings",
    "Signal",
]
