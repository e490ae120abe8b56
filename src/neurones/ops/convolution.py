"""Convolutions of images (NCHW) and sequences (NCL): ``conv1d`` and ``conv2d``, by im2col and one matrix product.

Notation: input x (N, C, H, W), weight w (O, C/G, kh, kw) split into G groups of Og = O/G output and Cg = C/G
input channels, stride s, dilation d, and xp the input zero-padded by p. Like PyTorch, a "convolution" is a
cross-correlation (the kernel is not flipped):

    y[n, o, a, b] = bias[o] + Σ_{c ∈ group(o), i, j} w[o, c, i, j] · xp[n, c, s_h a + d_h i, s_w b + d_w j].

**im2col.** Copy the windows once: cols[n, g, (c, i, j), (a, b)] = xp[n, g Cg + c, s_h a + d_h i, s_w b + d_w j]
(a strided view of xp, copied into one contiguous array). Then each group is one matrix product,
Y[n, g] = W_g · cols[n, g] with W_g the kernel of group g as an (Og, Cg kh kw) matrix; the bias is added into the
product in place, in the same node.

**Derivatives.** With G[n, g] the cotangent of Y[n, g] as an (Og, Ho Wo) matrix:

* ∂L/∂bias[o] = Σ_{n, a, b} g[n, o, a, b];
* ∂L/∂W_g = Σ_n G[n, g] · cols[n, g]ᵀ (the cols of the forward are kept for this);
* ∂L/∂x: each entry of cols is one entry of xp, so ∂L/∂xp gathers dcols = W_gᵀ G[n, g] back to where the
  windows read it (col2im): one strided add per kernel offset (i, j), kh kw adds in all. For stride 1 the same
  sum is a correlation of g, padded by d(k − 1) − p (cropped where that is negative), with the kernel flipped
  in space and its channel axes swapped — again im2col and one product, without a scatter. Both are kept: the
  correlation wins when O·kh·kw copies of g cost less than the kh·kw adds of col2im (see ``_correlation_wins``).

``conv1d`` is ``conv2d`` on a height-1 image. The convolution is linear in x and in w, so there is no
subgradient convention to state.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import as_strided

from neurones.autodiff.function import Function
from neurones.autodiff.tensor import Tensor
from neurones.errors import ShapeError


# ------------------------------------------------------------------------------------------------ array kernels
def _pad(x: np.ndarray, top: int, bottom: int, left: int, right: int) -> np.ndarray:
    """Zero-pad the last two axes of ``x`` (N, C, H, W) by the given amounts; a negative amount crops instead."""
    if not (top or bottom or left or right):
        return x
    n, c, h, w = x.shape
    out = np.zeros((n, c, h + top + bottom, w + left + right), x.dtype)
    rows = slice(max(-top, 0), h - max(-bottom, 0))
    cols = slice(max(-left, 0), w - max(-right, 0))
    out[:, :, max(top, 0) : max(top, 0) + rows.stop - rows.start, max(left, 0) : max(left, 0) + cols.stop - cols.start] = (
        x[:, :, rows, cols]
    )
    return out


def _im2col(xp: np.ndarray, kernel: tuple, stride: tuple, dilation: tuple, out_hw: tuple, groups: int) -> np.ndarray:
    """The windows of ``xp`` (N, C, Hp, Wp) as a contiguous (N, G, (C/G) kh kw, Ho Wo) array."""
    n, c = xp.shape[:2]
    (kh, kw), (sh, sw), (dh, dw), (out_h, out_w) = kernel, stride, dilation, out_hw
    sn, sc, sy, sx = xp.strides
    windows = as_strided(
        xp, (n, c, kh, kw, out_h, out_w), (sn, sc, dh * sy, dw * sx, sh * sy, sw * sx), writeable=False
    )
    cols = np.empty(windows.shape, xp.dtype)
    np.copyto(cols, windows)
    return cols.reshape(n, groups, (c // groups) * kh * kw, out_h * out_w)


def _correlation_wins(out_channels: int, in_channels: int) -> bool:
    """Whether ∂L/∂x for stride 1 is cheaper as a correlation than by col2im.

    Both do one product of the same size; the correlation then copies O·kh·kw planes of g into its cols, col2im
    adds C·kh·kw planes into the input gradient. Measured with OpenBLAS on 2 cores, an add costs about twice a
    copy (it reads two planes and writes one, with short rows): the correlation wins unless O > 2C.
    """
    return out_channels <= 2 * in_channels


class Conv2d(Function):
    """2-D convolution (cross-correlation) with stride, zero padding, dilation and groups; see the module docstring.

    ``padding`` is ((top, bottom), (left, right)); an unbatched (C, H, W) input gives a (O, Ho, Wo) output.
    """

    def forward(self, x, weight, bias=None, *, stride, padding, dilation, groups):
        unbatched = x.ndim == 3
        if unbatched:
            x = x[None]
        dtype = np.result_type(x, weight) if bias is None else np.result_type(x, weight, bias)
        x, weight = x.astype(dtype, copy=False), weight.astype(dtype, copy=False)
        (top, bottom), (left, right) = padding
        n, c, h, w = x.shape
        o, cg, kh, kw = weight.shape
        out_h = (h + top + bottom - dilation[0] * (kh - 1) - 1) // stride[0] + 1
        out_w = (w + left + right - dilation[1] * (kw - 1) - 1) // stride[1] + 1
        cols = _im2col(_pad(x, top, bottom, left, right), (kh, kw), stride, dilation, (out_h, out_w), groups)
        y = np.matmul(weight.reshape(groups, o // groups, cg * kh * kw), cols)
        if bias is not None:
            y += bias.astype(dtype, copy=False).reshape(groups, o // groups, 1)
        if self.parents is not None:
            self.cols = cols if self.parents[1] is not None else None
            self.weight = weight
            self.geometry = (unbatched, x.shape, (out_h, out_w), stride, padding, dilation, groups)
        y = y.reshape(n, o, out_h, out_w)
        return y[0] if unbatched else y

    def backward(self, g):
        unbatched, x_shape, (out_h, out_w), stride, padding, dilation, groups = self.geometry
        weight = self.weight
        o, cg, kh, kw = weight.shape
        n = x_shape[0]
        g = np.ascontiguousarray(g[None] if unbatched else g, dtype=weight.dtype)
        gy = g.reshape(n, groups, o // groups, out_h * out_w)
        parents = self.parents
        gx = gw = gb = None
        if parents[1] is not None:
            gw = np.matmul(gy, self.cols.transpose(0, 1, 3, 2)).sum(axis=0).reshape(weight.shape)
        if len(parents) == 3 and parents[2] is not None:
            gb = g.sum(axis=(0, 2, 3))
        if parents[0] is not None:
            if stride == (1, 1) and _correlation_wins(o, x_shape[1]):
                gx = _input_grad_by_correlation(g, weight, x_shape, padding, dilation, groups)
            else:
                gx = _input_grad_by_col2im(gy, weight, x_shape, (out_h, out_w), stride, padding, dilation, groups)
            if unbatched:
                gx = gx[0]
        return (gx, gw) if len(parents) == 2 else (gx, gw, gb)


def _input_grad_by_correlation(g, weight, x_shape, padding, dilation, groups) -> np.ndarray:
    """∂L/∂x for stride 1: g padded by d(k − 1) − p, correlated with the flipped kernel, channels swapped."""
    n, c, h, w = x_shape
    o, cg, kh, kw = weight.shape
    (top, bottom), (left, right) = padding
    dh, dw = dilation
    flipped = weight.reshape(groups, o // groups, cg, kh, kw)[:, :, :, ::-1, ::-1].transpose(0, 2, 1, 3, 4)
    flipped = flipped.reshape(groups, cg, (o // groups) * kh * kw)
    reach_h, reach_w = dh * (kh - 1), dw * (kw - 1)
    gp = _pad(g, reach_h - top, reach_h - bottom, reach_w - left, reach_w - right)
    gcols = _im2col(gp, (kh, kw), (1, 1), dilation, (h, w), groups)
    return np.matmul(flipped, gcols).reshape(x_shape)


def _input_grad_by_col2im(gy, weight, x_shape, out_hw, stride, padding, dilation, groups) -> np.ndarray:
    """∂L/∂x: dcols = W_gᵀ G, then each kernel offset adds its plane of dcols where its windows read xp."""
    n, c, h, w = x_shape
    o, cg, kh, kw = weight.shape
    (top, bottom), (left, right) = padding
    (sh, sw), (dh, dw), (out_h, out_w) = stride, dilation, out_hw
    kernel_t = np.ascontiguousarray(weight.reshape(groups, o // groups, cg * kh * kw).transpose(0, 2, 1))
    dcols = np.matmul(kernel_t, gy).reshape(n, c, kh, kw, out_h, out_w)
    dxp = np.zeros((n, c, h + top + bottom, w + left + right), weight.dtype)
    span_h, span_w = sh * (out_h - 1) + 1, sw * (out_w - 1) + 1
    for i in range(kh):
        for j in range(kw):
            dxp[:, :, i * dh : i * dh + span_h : sh, j * dw : j * dw + span_w : sw] += dcols[:, :, i, j]
    if top or bottom or left or right:
        return dxp[:, :, top : top + h, left : left + w]
    return dxp


class Conv1d(Conv2d):
    """1-D convolution of (N, C, L) sequences: :class:`Conv2d` on (N, C, 1, L) images with a (O, C/G, 1, k) kernel."""

    def forward(self, x, weight, bias=None, *, stride, padding, dilation, groups):
        y = super().forward(
            x[..., None, :], weight[:, :, None, :], bias, stride=stride, padding=padding, dilation=dilation, groups=groups
        )
        return y[..., 0, :]

    def backward(self, g):
        grads = super().backward(g[..., None, :])
        gx, gw = grads[0], grads[1]
        return (None if gx is None else gx[..., 0, :], None if gw is None else gw[:, :, 0, :], *grads[2:])


# ------------------------------------------------------------------------------------------------ public API
def _ints(value, count: int, name: str, op: str) -> tuple:
    """An int or a sequence of ``count`` ints as a tuple of ``count`` ints."""
    values = tuple(value) if isinstance(value, (tuple, list)) else (value,) * count
    if len(values) != count or not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in values):
        raise ValueError(f"{op}: {name} must be an int or a tuple of {count} ints, got {value!r}")
    return tuple(int(v) for v in values)


def _padding(padding, kernel: tuple, stride: tuple, dilation: tuple, op: str) -> tuple:
    """PyTorch's padding argument as one (before, after) pair per spatial axis.

    "valid" is no padding; "same" pads d(k − 1) in all, half before and the odd one after (as PyTorch does), and
    exists only for stride 1.
    """
    if isinstance(padding, str):
        if padding == "valid":
            return tuple((0, 0) for _ in kernel)
        if padding != "same":
            raise ValueError(f"{op}: padding must be an int, a tuple, 'valid' or 'same', got {padding!r}")
        if any(s != 1 for s in stride):
            raise ValueError(f"{op}: padding='same' is not supported for strided convolutions (stride {stride})")
        totals = [d * (k - 1) for k, d in zip(kernel, dilation)]
        return tuple((t // 2, t - t // 2) for t in totals)
    amounts = _ints(padding, len(kernel), "padding", op)
    if any(p < 0 for p in amounts):
        raise ValueError(f"{op}: negative padding {padding!r} is not supported")
    return tuple((p, p) for p in amounts)


def _check(op: str, input, weight, bias, spatial: int, stride, dilation, groups) -> None:
    x_shape, w_shape = tuple(input.shape), tuple(weight.shape)
    if len(x_shape) not in (spatial + 1, spatial + 2) or len(w_shape) != spatial + 2:
        raise ShapeError(
            f"{op}: expected a {spatial + 2}-D (batched) or {spatial + 1}-D input and a {spatial + 2}-D weight, got "
            f"input {x_shape} and weight {w_shape}"
        )
    if not isinstance(groups, (int, np.integer)) or groups < 1:
        raise ValueError(f"{op}: groups must be a positive int, got {groups!r}")
    if any(s < 1 for s in stride) or any(d < 1 for d in dilation):
        raise ValueError(f"{op}: stride {stride} and dilation {dilation} must be positive")
    channels = x_shape[-spatial - 1]
    if w_shape[0] % groups or w_shape[1] * groups != channels:
        raise ShapeError(
            f"{op}: input {x_shape} with {channels} channels does not fit weight {w_shape} (out, in/groups, ...) "
            f"with groups={groups}"
        )
    if bias is not None and tuple(bias.shape) != (w_shape[0],):
        raise ShapeError(f"{op}: bias of shape {tuple(bias.shape)} does not fit weight of shape {w_shape}")


def _convolve(cls, op, input, weight, bias, stride, padding, dilation, groups, spatial: int):
    stride = _ints(stride, spatial, "stride", op)
    dilation = _ints(dilation, spatial, "dilation", op)
    _check(op, input, weight, bias, spatial, stride, dilation, groups)
    kernel = tuple(weight.shape[2:])
    pads = _padding(padding, kernel, stride, dilation, op)
    for size, k, d, (before, after) in zip(input.shape[-spatial:], kernel, dilation, pads):
        if size + before + after < d * (k - 1) + 1:
            raise ShapeError(
                f"{op}: input {tuple(input.shape)} padded by {pads} is smaller than the dilated kernel "
                f"{kernel} (dilation {dilation})"
            )
    if spatial == 1:
        stride, pads, dilation = (1, *stride), ((0, 0), *pads), (1, *dilation)
    params = dict(stride=stride, padding=pads, dilation=dilation, groups=int(groups))
    if bias is None:
        return cls.apply(input, weight, **params)
    return cls.apply(input, weight, bias, **params)


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """2-D convolution of ``input`` (N, C, H, W) or (C, H, W) with ``weight`` (O, C/groups, kh, kw).

    ``padding`` is an int, a pair, ``"valid"`` or ``"same"`` (stride 1 only; odd extra padding goes after);
    ``stride`` and ``dilation`` are ints or pairs. Returns (N, O, Ho, Wo) with
    Ho = ⌊(H + p_top + p_bottom − d_h (kh − 1) − 1) / s_h⌋ + 1 (likewise Wo), as ``torch.nn.functional.conv2d``.
    """
    if not isinstance(weight, Tensor) or not isinstance(input, Tensor):
        raise TypeError("conv2d: input and weight must be Tensors")
    return _convolve(Conv2d, "conv2d", input, weight, bias, stride, padding, dilation, groups, 2)


def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """1-D convolution of ``input`` (N, C, L) or (C, L) with ``weight`` (O, C/groups, k), as
    ``torch.nn.functional.conv1d``; ``padding`` is an int, a 1-tuple, ``"valid"`` or ``"same"``."""
    if not isinstance(weight, Tensor) or not isinstance(input, Tensor):
        raise TypeError("conv1d: input and weight must be Tensors")
    return _convolve(Conv1d, "conv1d", input, weight, bias, stride, padding, dilation, groups, 1)
