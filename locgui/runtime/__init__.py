"""Pure-Python runtime: run contexts, executors, caches."""

from locgui.runtime.context import RunContext, resolve_device

__all__ = ["RunContext", "resolve_device"]
