"""``crashy``: a plug-in method that misbehaves on purpose, for the batch engine's tests. On
a query whose name contains ``raise_on`` it raises; on one containing ``exit_on`` it kills its
process (as a crash in native code would); every other query fails politely."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from locgui.core.results import LocalizationResult, Query
from locgui.methods.registry import MethodSpec
from locgui.runtime.context import RunContext


@dataclass
class CrashyConfig:
    raise_on: str = field(default="0001", metadata={"help": "raise on these query names"})
    exit_on: str = field(default="0002", metadata={"help": "exit the process on these"})


class CrashyLocalizer:
    name = "crashy"

    def __init__(self, bundle: Any, config: CrashyConfig, device: str = "cpu") -> None:
        self.config = config

    def localize(self, query: Query, ctx: RunContext) -> LocalizationResult:
        if self.config.raise_on and self.config.raise_on in query.name:
            raise RuntimeError(f"crashy breaks on {query.name}")
        if self.config.exit_on and self.config.exit_on in query.name:
            os._exit(3)
        return LocalizationResult(self.name, query.name, False, reason="crashy never localizes")


SPECS = [
    MethodSpec(
        name="crashy",
        title="Crashy: raises or dies on chosen queries",
        family="test double",
        config="tests.toy_plugin.crashy:CrashyConfig",
        factory="tests.toy_plugin.crashy:CrashyLocalizer",
        paper="none: tests that a crashing method costs one failed query, not the run",
    )
]
