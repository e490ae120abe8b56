"""Transposed convolutions ``conv_transpose1d`` and ``conv_transpose2d``: the adjoint of a convolution's map
from its input to its output, as PyTorch defines them.

With weight w (C_in, C_out/G, kh, kw), stride s, dilation d, padding p and output padding q, each input entry
spreads its value over a window of the output:

    y_full[n, o, s a + d i, s b + d j] += Σ_{c ∈ group(o)} w[c, o, i, j] · x[n, c, a, b],

then y = y_full cropped by p on each side (the extra q rows and columns stay at the end): a col2im of the products
Wᵀ x (:func:`~neurones.ops.convolution.col2im_reference`). Its derivatives are convolutions: ∂L/∂x reads the
windows of the padded cotangent (im2col) through W, and ∂L/∂w pairs those windows with x. The output size is
(H − 1) s − 2p + d (k − 1) + q + 1. This is the readable reference form; it is not tuned for speed.
"""

from __future__ import annotations

import numpy as np

from neurones.autodiff.function import Function
from neurones.errors import ShapeError
from neurones.ops.convolution import _ints, col2im_reference, im2col_reference


class ConvTranspose2d(Function):
    """y = the transposed convolution of x (N, C_in, H, W) with w (C_in, C_out/G, kh, kw); see the module doc."""

    def forward(self, x, weight, bias=None, *, stride, padding, output_padding, dilation, groups):
        n, c_in, h, w = x.shape
        _, og, kh, kw = weight.shape
        full_hw = tuple((size - 1) * s + d * (k - 1) + q + 1
                        for size, s, d, k, q in zip((h, w), stride, dilation, (kh, kw), output_padding))
        ig = c_in // groups
        kernel = weight.reshape(groups, ig, og * kh * kw)
        # cols[n, g, (o, i, j), (a, b)] = Σ_c w[g·ig + c, o, i, j] x[n, g·ig + c, a, b]
        cols = np.matmul(kernel.transpose(0, 2, 1), x.reshape(n, groups, ig, h * w))
        cols = cols.reshape(n, groups * og, kh, kw, h, w)
        full = col2im_reference(cols, full_hw, stride, dilation)
        (pt, pl) = padding
        y = full[:, :, pt : full_hw[0] - pt, pl : full_hw[1] - pl]
        if bias is not None:
            y = y + bias.reshape(1, -1, 1, 1)
        self.geometry = (stride, padding, dilation, groups, full_hw)
        self.save_for_backward(x, weight)
        return np.ascontiguousarray(y)

    def backward(self, g):
        x, weight = self.saved
        stride, (pt, pl), dilation, groups, full_hw = self.geometry
        n, c_in, h, w = x.shape
        _, og, kh, kw = weight.shape
        ig = c_in // groups
        gfull = np.zeros((*g.shape[:2], *full_hw), g.dtype)
        gfull[:, :, pt : full_hw[0] - pt, pl : full_hw[1] - pl] = g
        windows = im2col_reference(gfull, (kh, kw), stride, dilation)[..., :h, :w]  # (N, C_out, kh, kw, H, W)
        windows = windows.reshape(n, groups, og * kh * kw, h * w)
        parents = self.parents
        gx = gw = gb = None
        if parents[0] is not None:
            kernel = weight.reshape(groups, ig, og * kh * kw)
            gx = np.matmul(kernel, windows).reshape(x.shape)
        if parents[1] is not None:
            xs = x.reshape(n, groups, ig, h * w)
            gw = np.matmul(xs, windows.transpose(0, 1, 3, 2)).sum(axis=0).reshape(weight.shape)
        if len(parents) == 3 and parents[2] is not None:
            gb = g.sum(axis=(0, 2, 3))
        return (gx, gw) if len(parents) == 2 else (gx, gw, gb)


def _transpose_convolve(op: str, spatial: int, input, weight, bias, stride, padding, output_padding, groups, dilation):
    if input.ndim not in (spatial + 1, spatial + 2) or weight.ndim != spatial + 2:
        raise ShapeError(f"{op}: input of shape {input.shape} and weight of shape {weight.shape} do not fit")
    unbatched = input.ndim == spatial + 1
    stride, padding = _ints(stride, spatial, "stride", op), _ints(padding, spatial, "padding", op)
    output_padding = _ints(output_padding, spatial, "output_padding", op)
    dilation = _ints(dilation, spatial, "dilation", op)
    c_in = input.shape[0 if unbatched else 1]
    if weight.shape[0] != c_in or c_in % groups:
        raise ShapeError(
            f"{op}: weight of shape {weight.shape} needs {weight.shape[0]} input channels in {groups} groups, "
            f"got input of shape {input.shape}"
        )
    if any(q >= max(s, d) for q, s, d in zip(output_padding, stride, dilation)):
        raise ValueError(f"{op}: output_padding {output_padding} must be smaller than the stride or the dilation")
    if bias is not None and bias.shape != (weight.shape[1] * groups,):
        raise ShapeError(f"{op}: bias of shape {bias.shape} does not fit {weight.shape[1] * groups} output channels")
    x = input if not unbatched else input.unsqueeze(0)
    w = weight
    if spatial == 1:
        x, w = x.unsqueeze(2), w.unsqueeze(2)
        stride, padding, output_padding, dilation = (1, *stride), (0, *padding), (0, *output_padding), (1, *dilation)
    inputs = (x, w) if bias is None else (x, w, bias)
    y = ConvTranspose2d.apply(*inputs, stride=stride, padding=padding, output_padding=output_padding,
                              dilation=dilation, groups=int(groups))
    if spatial == 1:
        y = y.squeeze(2)
    return y.squeeze(0) if unbatched else y


def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    """The transposed 2-D convolution of (N, C_in, H, W) with a (C_in, C_out/groups, kh, kw) weight, as
    ``torch.nn.functional.conv_transpose2d`` (the gradient of ``conv2d`` with respect to its input)."""
    return _transpose_convolve("conv_transpose2d", 2, input, weight, bias, stride, padding, output_padding, groups,
                               dilation)


def conv_transpose1d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    """The transposed 1-D convolution of (N, C_in, L) with a (C_in, C_out/groups, k) weight."""
    return _transpose_convolve("conv_transpose1d", 1, input, weight, bias, stride, padding, output_padding, groups,
                               dilation)
