"""``toy``: the pose of the nearest mapping view (image retrieval as a localizer).

Registration only: this module is what the entry point names, and it imports nothing heavy.
The trainer stores each mapping image's camera centre as a "model" (a stand-in for real
weights, exercising the checkpoint, cache and fingerprint machinery a real method uses).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from locgui.methods.registry import MethodSpec, TrainerSpec


@dataclass
class ToyConfig:
    """Settings of the toy localizer."""

    shortlist: int = field(default=1, metadata={"help": "retrieved views to pick from", "min": 1})


@dataclass
class ToyTrainConfig:
    """Settings of the toy trainer."""

    epochs: int = field(default=1, metadata={"help": "passes (the toy needs one)", "min": 1})


SPECS = [
    MethodSpec(
        name="toy",
        title="Toy: pose of the nearest mapping view",
        family="image retrieval",
        config="tests.toy_plugin.method:ToyConfig",
        factory="tests.toy_plugin.localizer:ToyLocalizer",
        requires=("retrieval", "toy"),
        test_config={"shortlist": 1},
        paper="the retrieval baseline: a query takes the pose of its best database image",
    )
]

TRAINERS = [
    TrainerSpec(
        name="toy",
        title="the toy method's table of camera centres",
        config="tests.toy_plugin.method:ToyTrainConfig",
        train="tests.toy_plugin.localizer:train",
        provides=("toy",),
        summary=("images",),
    )
]
