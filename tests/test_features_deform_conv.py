"""Pure-torch deform_conv2d against reference computations, and the torchvision shim."""

from __future__ import annotations

import importlib.util
import math
import sys

import pytest

torch = pytest.importorskip("torch")
F = torch.nn.functional

from locgui.methods.features.deform_conv import deform_conv2d, torchvision_shim  # noqa: E402

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _bilinear_reference(img: torch.Tensor, y: float, x: float) -> float:
    """torchvision's bilinear_interpolate: 0 outside (-1, H) x (-1, W), zero corners outside."""
    h, w = img.shape
    if y <= -1 or y >= h or x <= -1 or x >= w:
        return 0.0
    y0, x0 = math.floor(y), math.floor(x)
    value = 0.0
    for yy, wy in ((y0, 1 - (y - y0)), (y0 + 1, y - y0)):
        for xx, wx in ((x0, 1 - (x - x0)), (x0 + 1, x - x0)):
            if 0 <= yy < h and 0 <= xx < w:
                value += wy * wx * float(img[yy, xx])
    return value


def _loop_reference(inp, offset, weight, bias, stride, padding, dilation, mask):  # type: ignore[no-untyped-def]
    b, c, _, _ = inp.shape
    c_out, c_in_g, kh, kw = weight.shape
    groups, taps = c // c_in_g, kh * kw
    n_off = offset.shape[1] // (2 * taps)
    h_out, w_out = offset.shape[-2:]
    out = torch.zeros(b, c_out, h_out, w_out, dtype=torch.float64)
    for n in range(b):
        for o in range(c_out):
            g = o // (c_out // groups)
            for i in range(h_out):
                for j in range(w_out):
                    acc = float(bias[o]) if bias is not None else 0.0
                    for ci in range(c_in_g):
                        ch = g * c_in_g + ci
                        og = ch // (c // n_off)
                        for k in range(taps):
                            ky, kx = divmod(k, kw)
                            dy = float(offset[n, 2 * (og * taps + k), i, j])
                            dx = float(offset[n, 2 * (og * taps + k) + 1, i, j])
                            y = i * stride - padding + ky * dilation + dy
                            x = j * stride - padding + kx * dilation + dx
                            v = _bilinear_reference(inp[n, ch], y, x)
                            if mask is not None:
                                v *= float(mask[n, og * taps + k, i, j])
                            acc += float(weight[o, ci, ky, kx]) * v
                    out[n, o, i, j] = acc
    return out


def _out_size(size: int, k: int, stride: int, padding: int, dilation: int) -> int:
    return (size + 2 * padding - dilation * (k - 1) - 1) // stride + 1


@pytest.mark.parametrize(
    ("stride", "padding", "dilation", "groups"), [(1, 1, 1, 1), (2, 0, 1, 2), (1, 2, 2, 1)]
)
def test_zero_offsets_equal_conv2d(stride: int, padding: int, dilation: int, groups: int) -> None:
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(2, 4, 11, 9, generator=gen, dtype=torch.float64)
    weight = torch.randn(6, 4 // groups, 3, 3, generator=gen, dtype=torch.float64)
    bias = torch.randn(6, generator=gen, dtype=torch.float64)
    ho, wo = (_out_size(s, 3, stride, padding, dilation) for s in (11, 9))
    offset = torch.zeros(2, 18, ho, wo, dtype=torch.float64)
    got = deform_conv2d(x, offset, weight, bias, stride, padding, dilation)
    ref = F.conv2d(x, weight, bias, stride, padding, dilation, groups)
    torch.testing.assert_close(got, ref, rtol=0, atol=1e-12)
    ones = torch.ones(2, 9, ho, wo, dtype=torch.float64)
    torch.testing.assert_close(
        deform_conv2d(x, offset, weight, bias, stride, padding, dilation, ones),
        ref,
        rtol=0,
        atol=1e-12,
    )


def test_integer_offsets_equal_conv_on_shifted_input() -> None:
    gen = torch.Generator().manual_seed(1)
    x = torch.randn(1, 3, 12, 10, generator=gen, dtype=torch.float64)
    weight = torch.randn(5, 3, 3, 3, generator=gen, dtype=torch.float64)
    dy, dx = 2, -3
    offset = torch.zeros(1, 18, 12, 10, dtype=torch.float64)
    offset[:, 0::2], offset[:, 1::2] = dy, dx
    # Sampling at p + (dy, dx) == a padding-free conv over the zero-padded input's window
    # moved by (dy, dx).
    pad = 5
    xp = F.pad(x, (pad, pad, pad, pad))
    window = xp[..., pad - 1 + dy : pad + 1 + dy + 12, pad - 1 + dx : pad + 1 + dx + 10]
    got = deform_conv2d(x, offset, weight, None, 1, 1, 1)
    ref = F.conv2d(window, weight)
    torch.testing.assert_close(got, ref, rtol=0, atol=1e-12)


def test_fractional_offsets_with_mask_and_groups_match_a_bilinear_loop() -> None:
    gen = torch.Generator().manual_seed(2)
    x = torch.randn(1, 4, 5, 6, generator=gen, dtype=torch.float64)
    weight = torch.randn(4, 2, 3, 3, generator=gen, dtype=torch.float64)  # groups = 2
    bias = torch.randn(4, generator=gen, dtype=torch.float64)
    offset = 2.5 * torch.randn(
        1, 2 * 2 * 9, 5, 6, generator=gen, dtype=torch.float64
    )  # 2 offset groups
    mask = torch.rand(1, 2 * 9, 5, 6, generator=gen, dtype=torch.float64)
    got = deform_conv2d(x, offset, weight, bias, 1, 1, 1, mask)
    ref = _loop_reference(x, offset, weight, bias, 1, 1, 1, mask)
    assert (offset.abs() > 2).any()  # some taps sample outside the image
    torch.testing.assert_close(got, ref, rtol=0, atol=1e-10)


def test_single_pixel_input() -> None:
    x = torch.full((1, 1, 1, 1), 2.0, dtype=torch.float64)
    weight = torch.ones(1, 1, 1, 1, dtype=torch.float64)
    offset = torch.tensor([0.25, -0.5], dtype=torch.float64).view(1, 2, 1, 1)
    got = deform_conv2d(x, offset, weight)
    ref = _loop_reference(x, offset, weight, None, 1, 0, 1, None)
    torch.testing.assert_close(got, ref, rtol=0, atol=1e-12)
    assert float(got) == pytest.approx(2.0 * 0.75 * 0.5)


def test_shim_is_visible_only_inside_the_block() -> None:
    before = sys.modules.get("torchvision")
    with torchvision_shim():
        import torchvision  # type: ignore[import-not-found]
        from torchvision.models import resnet  # type: ignore[import-not-found]

        assert torchvision.ops.deform_conv2d is deform_conv2d
        assert resnet.conv3x3(2, 3).padding == (1, 1)
    assert sys.modules.get("torchvision") is before
    if before is None:
        assert importlib.util.find_spec("torchvision") is None or "torchvision" not in sys.modules
