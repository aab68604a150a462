"""One progress bar over a task of several stages: each stage owns a span of the bar, so the
bar only moves forward and its text names the stage. (A map build reports extraction 0-100 %,
then matching 0-100 %; shown raw, the bar went from 31 % back to 19 %.)"""

from __future__ import annotations

MAP_BUILD_STAGES: dict[str, tuple[float, float]] = {
    "load": (0.0, 0.02),
    "extract": (0.02, 0.40),
    "retrieval": (0.40, 0.43),
    "match": (0.43, 0.73),
    "verify": (0.73, 0.77),  # posed images: verify, then triangulate ...
    "triangulate": (0.77, 0.89),
    "sfm": (0.73, 0.89),  # ... unposed images: incremental SfM in the same span
    "descriptors": (0.89, 0.95),
    "write": (0.95, 1.0),
}
"""(start, end) of each ``map build`` stage on the bar."""


class StagedProgress:
    """Maps (stage, fraction of the stage, message) to (fraction of the task, text).

    An unknown fraction (-1) keeps the stage's start; the value never goes back; a stage not
    listed leaves the bar where it is and only changes the text.
    """

    def __init__(self, spans: dict[str, tuple[float, float]]) -> None:
        self.spans = spans
        self.value = 0.0

    def __call__(self, stage: str, fraction: float, message: str = "") -> tuple[float, str]:
        if stage in self.spans:
            start, end = self.spans[stage]
            f = min(max(fraction, 0.0), 1.0)
            self.value = max(self.value, start + (end - start) * f)
        return self.value, (f"{stage}: {message}" if message else stage)


GENERATE_SHARE = 0.35
"""Share of the demo's first start spent rendering the scene; its map build takes the rest."""

DEMO_STAGES: dict[str, tuple[float, float]] = {
    "generate": (0.0, GENERATE_SHARE),
    "map": (GENERATE_SHARE, GENERATE_SHARE),
    **{name: (GENERATE_SHARE + (1 - GENERATE_SHARE) * a, GENERATE_SHARE + (1 - GENERATE_SHARE) * b)
       for name, (a, b) in MAP_BUILD_STAGES.items()},
}  # fmt: skip
"""The demo's first start: render the synthetic room, then build its map."""

STAGES_OF_TASK: dict[str, dict[str, tuple[float, float]]] = {
    "build": MAP_BUILD_STAGES,
    "demo": DEMO_STAGES,
}
"""Task kinds whose progress is shown as one forward-only bar."""
