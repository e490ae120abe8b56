"""Pooling: max and average pooling over windows, adaptive average pooling, for sequences (NCL) and images (NCHW).

A window of output position (a, b) covers the input positions (s_h a − p_h + d_h i, s_w b − p_w + d_w j) for the
kernel offsets 0 ≤ i < kh, 0 ≤ j < kw. Both pools are computed as a loop over the kh·kw kernel offsets, each
taking one strided plane of the padded input (for non-overlapping windows, kernel = stride, this plane is
``x.reshape(..., Ho, kh, Wo, kw)[..., i, :, j]``): a handful of whole-array operations, never a loop over
positions. (Reducing that 6-D reshape over its two kernel axes in one NumPy call is 15–35× slower than the
plane loop, because NumPy's reductions iterate element by element over short strided axes.)

* ``max_pool``: y = max over the window (padding counts as −∞). ∂L/∂x sends g to the position of the maximum;
  on ties to the first maximum in row-major window order, as PyTorch. Overlapping windows add their shares.
* ``avg_pool``: y = (Σ window) / divisor; ∂L/∂x[position] = Σ over the windows containing it of g / divisor.
  The divisor is the window size including the zero padding (``count_include_pad``) or only the real inputs,
  and never counts the overhang that ``ceil_mode`` adds past the padding (PyTorch's rule).
* ``adaptive_avg_pool``: output cell a averages rows ⌊aH/Ho⌋ … ⌈(a+1)H/Ho⌉ − 1 (likewise columns). That is
  y = A_h x A_wᵀ with averaging matrices A (rows of 1/len on each bin), so ∂L/∂x = A_hᵀ g A_w; when the bins
  are equal (Ho divides H) it is an average pool with kernel = stride = H/Ho.

The 1-D ops are the 2-D ones on a height-1 image.
"""

from __future__ import annotations

import numpy as np

from neurones.autodiff.function import Function
from neurones.autodiff.tensor import Tensor
from neurones.errors import ShapeError


class _Windows:
    """The geometry of a pooling: kernel, stride, padding, dilation and output size along the last two axes."""

    __slots__ = ("dilation", "in_hw", "kernel", "out_hw", "padding", "stride")

    def __init__(self, kernel, stride, padding, dilation, in_hw, out_hw) -> None:
        self.kernel, self.stride, self.padding, self.dilation = kernel, stride, padding, dilation
        self.in_hw, self.out_hw = in_hw, out_hw

    def padded_hw(self) -> tuple:
        """The padded extent the windows read: the padding before, and after it whatever ``ceil_mode`` overhangs."""
        return tuple(
            max(size + 2 * p, (out - 1) * s + d * (k - 1) + 1)
            for size, p, s, d, k, out in zip(
                self.in_hw, self.padding, self.stride, self.dilation, self.kernel, self.out_hw
            )
        )

    def pad(self, x: np.ndarray, value) -> np.ndarray:
        """``x`` placed in an array of the padded extent filled with ``value`` (``x`` itself if none is needed)."""
        (ph, pw), (hp, wp) = self.padding, self.padded_hw()
        h, w = self.in_hw
        if (hp, wp) == (h, w):
            return x
        out = np.full((*x.shape[:-2], hp, wp), value, x.dtype)
        out[..., ph : ph + h, pw : pw + w] = x
        return out

    def crop(self, xp: np.ndarray) -> np.ndarray:
        """The inverse of :meth:`pad`: the input's region of a padded array."""
        (ph, pw), (h, w) = self.padding, self.in_hw
        if xp.shape[-2:] == (h, w):
            return xp
        return xp[..., ph : ph + h, pw : pw + w]

    def planes(self, xp: np.ndarray):
        """Yield (k, plane): for each kernel offset k = i kw + j, the strided view of ``xp`` that it reads."""
        (kh, kw), (sh, sw), (dh, dw), (oh, ow) = self.kernel, self.stride, self.dilation, self.out_hw
        span_h, span_w = (oh - 1) * sh + 1, (ow - 1) * sw + 1
        for i in range(kh):
            for j in range(kw):
                yield i * kw + j, xp[..., i * dh : i * dh + span_h : sh, j * dw : j * dw + span_w : sw]


def _lowest(dtype: np.dtype):
    return -np.inf if dtype.kind == "f" else np.iinfo(dtype).min


def _max_and_first_argmax(xp: np.ndarray, windows: _Windows, with_index: bool) -> tuple:
    """The maximum of each window and, if asked, the kernel offset k = i kw + j of its first maximum."""
    planes = windows.planes(xp)
    y = next(planes)[1].copy()
    index = None
    if with_index:
        # The first maximum sits at the last offset where the running maximum strictly rose; offsets come in
        # increasing order, so that offset is the largest k·[plane_k > running max] seen.
        index = np.zeros(y.shape, np.min_scalar_type(windows.kernel[0] * windows.kernel[1]))
        rose = np.empty(y.shape, bool)
    for k, plane in planes:
        if plane.strides[-1] != plane.itemsize:
            # NumPy vectorizes its comparison and maximum loops only over contiguous runs: a plane that skips
            # columns (stride ≥ 2) is copied first, which costs less than the two strided passes that read it
            # (2×2 pool of 128×16×28×28 float32: 1.62 → 1.15 ms; small CNN step 14.9 → 14.1 ms).
            plane = plane.copy()
        if with_index:
            np.greater(plane, y, out=rose)
            np.maximum(index, np.multiply(rose, k, dtype=index.dtype), out=index)
        np.maximum(y, plane, out=y)
    return y, index


def _flat_positions(index: np.ndarray, windows: _Windows) -> np.ndarray:
    """PyTorch's ``return_indices``: the flat position in the unpadded H·W plane of each window's first maximum."""
    (_kh, kw), (sh, sw), (ph, pw), (dh, dw), (oh, ow) = (
        windows.kernel,
        windows.stride,
        windows.padding,
        windows.dilation,
        windows.out_hw,
    )
    i, j = np.divmod(index.astype(np.int64), kw)
    rows = (np.arange(oh) * sh - ph)[:, None] + i * dh
    cols = (np.arange(ow) * sw - pw)[None, :] + j * dw
    return rows * windows.in_hw[1] + cols


class MaxPool2d(Function):
    """y = max over each window of the last two axes; ∂L/∂x = g at the first maximum of each window (0 elsewhere)."""

    def forward(self, x, *, windows):
        recording = self.parents is not None
        y, index = _max_and_first_argmax(windows.pad(x, _lowest(x.dtype)), windows, recording)
        if recording:
            self.windows, self.lead = windows, x.shape[:-2]
            self.save_for_backward(index)
        return y

    def backward(self, g):
        windows = self.windows
        (index,) = self.saved
        spans = [d * (k - 1) + 1 for k, d in zip(windows.kernel, windows.dilation)]
        overlapping = any(s < span for s, span in zip(windows.stride, spans))
        # Disjoint windows that tile the padded input exactly write every entry once: no zero-filling needed.
        tiled = not overlapping and windows.dilation == (1, 1) and windows.kernel == windows.stride
        tiled = tiled and all(o * k == n for o, k, n in zip(windows.out_hw, windows.kernel, windows.padded_hw()))
        gxp = (np.empty if tiled else np.zeros)(self.lead + windows.padded_hw(), g.dtype)
        hit = np.empty(g.shape, bool)
        share = np.empty(g.shape, g.dtype) if overlapping else None
        for k, plane in windows.planes(gxp):
            np.equal(index, k, out=hit)
            # (A masked ufunc, np.add(..., where=hit), is ten times slower than multiplying by the mask.)
            if overlapping:
                plane += np.multiply(g, hit, out=share)
            else:
                np.multiply(g, hit, out=plane)
        return (np.ascontiguousarray(windows.crop(gxp)),)


class AvgPool2d(Function):
    """y = (Σ window) / divisor over the last two axes; ∂L/∂x = Σ over the windows containing x of g / divisor."""

    def forward(self, x, *, windows, count_include_pad, divisor_override):
        scale = _reciprocal_divisor(windows, count_include_pad, divisor_override, x.dtype)
        (oh, _ow), (kh, kw) = windows.out_hw, windows.kernel
        if _tiles_exactly(windows) and kw == x.shape[-1]:
            # Windows of whole rows (global pooling): each is a contiguous run of kh·W numbers, summed in one call.
            y = x[..., : oh * kh, :].reshape((*x.shape[:-2], oh, kh * kw)).sum(axis=-1, keepdims=True)
        else:
            planes = windows.planes(x if _tiles_exactly(windows) else windows.pad(x, 0))
            y = next(planes)[1].copy()
            for _, plane in planes:
                np.add(y, plane, out=y)
        y *= scale
        if self.parents is not None:
            self.windows, self.shape = windows, x.shape
            self.save_for_backward(scale)  # a Python float, or an array of reciprocal divisors
        return y

    def backward(self, g):
        windows = self.windows
        (scale,) = self.saved
        share = g * scale
        if _tiles_exactly(windows):
            # The reshape trick: every input of block (a, b) receives share[a, b].
            lead, (oh, ow), (kh, kw) = share.shape[:-2], windows.out_hw, windows.kernel
            blocks = np.broadcast_to(share[..., :, None, :, None], (*lead, oh, kh, ow, kw))
            blocks = blocks.reshape((*lead, oh * kh, ow * kw))
            if blocks.shape == self.shape:
                return (blocks,)
            gx = np.zeros(self.shape, g.dtype)
            gx[..., : oh * kh, : ow * kw] = blocks
            return (gx,)
        gxp = np.zeros(self.shape[:-2] + windows.padded_hw(), g.dtype)
        for _, plane in windows.planes(gxp):
            plane += share
        return (np.ascontiguousarray(windows.crop(gxp)),)


def _tiles_exactly(windows: _Windows) -> bool:
    """Whether the windows are disjoint blocks of the unpadded input (kernel = stride, no padding, no dilation)."""
    return (
        windows.kernel == windows.stride
        and windows.padding == (0, 0)
        and windows.dilation == (1, 1)
        and all(o * k <= n for o, k, n in zip(windows.out_hw, windows.kernel, windows.in_hw))
    )


def _reciprocal_divisor(windows: _Windows, count_include_pad: bool, divisor_override, dtype):
    """1 / divisor of each output cell: a Python float when it is the same everywhere, else an (Ho, Wo) array."""
    if divisor_override is not None:
        return 1.0 / divisor_override
    counts = []
    for size, k, s, p, out in zip(windows.in_hw, windows.kernel, windows.stride, windows.padding, windows.out_hw):
        start = np.arange(out) * s - p
        end = np.minimum(start + k, size + p)
        if not count_include_pad:
            start, end = np.maximum(start, 0), np.minimum(end, size)
        counts.append(end - start)
    divisor = counts[0][:, None] * counts[1][None, :]
    if np.all(divisor == divisor.flat[0]):
        return 1.0 / int(divisor.flat[0])
    return (1.0 / divisor).astype(dtype)


class AdaptiveAvgPool2d(Function):
    """y = A_h x A_wᵀ with the averaging matrices of PyTorch's adaptive bins;  ∂L/∂x = A_hᵀ g A_w."""

    def forward(self, x, *, output_size):
        (h, w), (oh, ow) = x.shape[-2:], output_size
        rows, cols = _bin_matrix(oh, h, x.dtype), _bin_matrix(ow, w, x.dtype)
        self.save_for_backward(rows, cols)
        return rows @ (x @ cols.T)

    def backward(self, g):
        rows, cols = self.saved
        return ((rows.T @ g) @ cols,)


def _bin_matrix(out: int, size: int, dtype) -> np.ndarray:
    """The (out, size) matrix averaging PyTorch's adaptive bins: row a is 1/len on [⌊a·size/out⌋, ⌈(a+1)·size/out⌉)."""
    a = np.arange(out)
    start = (a * size) // out
    end = -((-(a + 1) * size) // out)
    positions = np.arange(size)
    inside = (positions >= start[:, None]) & (positions < end[:, None])
    return (inside / (end - start)[:, None]).astype(dtype)


class MaxPool1d(MaxPool2d):
    """:class:`MaxPool2d` of (..., L) sequences seen as (..., 1, L) images."""

    def forward(self, x, *, windows):
        return super().forward(x[..., None, :], windows=windows)[..., 0, :]

    def backward(self, g):
        return (super().backward(g[..., None, :])[0][..., 0, :],)


class AvgPool1d(AvgPool2d):
    """:class:`AvgPool2d` of (..., L) sequences seen as (..., 1, L) images."""

    def forward(self, x, **params):
        return super().forward(x[..., None, :], **params)[..., 0, :]

    def backward(self, g):
        return (super().backward(g[..., None, :])[0][..., 0, :],)


class AdaptiveAvgPool1d(AdaptiveAvgPool2d):
    """:class:`AdaptiveAvgPool2d` of (..., L) sequences seen as (..., 1, L) images."""

    def forward(self, x, *, output_size):
        return super().forward(x[..., None, :], output_size=output_size)[..., 0, :]

    def backward(self, g):
        return (super().backward(g[..., None, :])[0][..., 0, :],)


# ------------------------------------------------------------------------------------------------ public API
def _ints(value, count: int, name: str, op: str) -> tuple:
    values = tuple(value) if isinstance(value, (tuple, list)) else (value,) * count
    if len(values) != count or not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in values):
        raise ValueError(f"{op}: {name} must be an int or a tuple of {count} ints, got {value!r}")
    return tuple(int(v) for v in values)


def _output_size(size: int, k: int, s: int, p: int, d: int, ceil_mode: bool) -> int:
    """PyTorch's pooling output length; with ``ceil_mode`` a last window must start inside the input or padding."""
    reach = size + 2 * p - d * (k - 1) - 1
    out = (reach + (s - 1 if ceil_mode else 0)) // s + 1
    if ceil_mode and (out - 1) * s >= size + p:
        out -= 1
    return out


def _windows(op, input, spatial, kernel_size, stride, padding, dilation, ceil_mode) -> _Windows:
    if input.ndim not in (spatial + 1, spatial + 2):
        raise ShapeError(f"{op}: expected a {spatial + 1}-D or {spatial + 2}-D input, got shape {tuple(input.shape)}")
    kernel = _ints(kernel_size, spatial, "kernel_size", op)
    stride = kernel if stride is None or stride == [] or stride == () else _ints(stride, spatial, "stride", op)
    padding = _ints(padding, spatial, "padding", op)
    dilation = _ints(dilation, spatial, "dilation", op)
    if min(kernel) < 1 or min(stride) < 1 or min(dilation) < 1:
        raise ValueError(f"{op}: kernel_size {kernel}, stride {stride} and dilation {dilation} must be positive")
    if any(p < 0 or p > k // 2 for p, k in zip(padding, kernel)):
        raise ValueError(f"{op}: padding {padding} must be between 0 and half the kernel size {kernel}")
    in_hw = tuple(input.shape[-spatial:])
    out_hw = tuple(_output_size(*args, ceil_mode) for args in zip(in_hw, kernel, stride, padding, dilation))
    if min(out_hw) < 1:
        raise ShapeError(f"{op}: input {tuple(input.shape)} is too small for kernel {kernel} with padding {padding}")
    if spatial == 1:
        kernel, stride, padding, dilation = (1, *kernel), (1, *stride), (0, *padding), (1, *dilation)
        in_hw, out_hw = (1, *in_hw), (1, *out_hw)
    return _Windows(kernel, stride, padding, dilation, in_hw, out_hw)


def _max_pool(cls, op, spatial, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices):
    windows = _windows(op, input, spatial, kernel_size, stride, padding, dilation, ceil_mode)
    y = cls.apply(input, windows=windows)
    if not return_indices:
        return y
    if y._edge is not None:
        (index,) = y._edge.saved
    else:
        data = input.data if spatial == 2 else input.data[..., None, :]
        index = _max_and_first_argmax(windows.pad(data, _lowest(data.dtype)), windows, True)[1]
    positions = _flat_positions(index, windows)
    return y, Tensor(positions if spatial == 2 else positions[..., 0, :])


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    """Max pooling of (N, C, H, W) or (C, H, W) over kh×kw windows, as ``torch.nn.functional.max_pool2d``.

    ``stride`` defaults to ``kernel_size``; padding (at most half the kernel) counts as −∞. With
    ``return_indices`` also returns the flat H·W position of each maximum (int64, no gradient).
    """
    return _max_pool(
        MaxPool2d, "max_pool2d", 2, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices
    )


def max_pool1d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    """Max pooling of (N, C, L) or (C, L) over windows of ``kernel_size``, as ``torch.nn.functional.max_pool1d``."""
    return _max_pool(
        MaxPool1d, "max_pool1d", 1, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices
    )


def avg_pool2d(
    input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True, divisor_override=None
):
    """Average pooling of (N, C, H, W) or (C, H, W), as ``torch.nn.functional.avg_pool2d``.

    The divisor counts the zero padding when ``count_include_pad`` (never the ``ceil_mode`` overhang), or is
    ``divisor_override`` when given.
    """
    if divisor_override is not None and (isinstance(divisor_override, bool) or divisor_override <= 0):
        raise ValueError(f"avg_pool2d: divisor_override must be a positive number, got {divisor_override!r}")
    windows = _windows("avg_pool2d", input, 2, kernel_size, stride, padding, 1, ceil_mode)
    return AvgPool2d.apply(
        input, windows=windows, count_include_pad=bool(count_include_pad), divisor_override=divisor_override
    )


def avg_pool1d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True):
    """Average pooling of (N, C, L) or (C, L), as ``torch.nn.functional.avg_pool1d``."""
    windows = _windows("avg_pool1d", input, 1, kernel_size, stride, padding, 1, ceil_mode)
    return AvgPool1d.apply(input, windows=windows, count_include_pad=bool(count_include_pad), divisor_override=None)


def _adaptive_sizes(op, input, output_size, spatial: int) -> tuple:
    if input.ndim not in (spatial + 1, spatial + 2):
        raise ShapeError(f"{op}: expected a {spatial + 1}-D or {spatial + 2}-D input, got shape {tuple(input.shape)}")
    sizes = tuple(output_size) if isinstance(output_size, (tuple, list)) else (output_size,) * spatial
    if len(sizes) != spatial:
        raise ValueError(f"{op}: output_size must be an int or a tuple of {spatial}, got {output_size!r}")
    in_hw = tuple(input.shape[-spatial:])
    sizes = tuple(n if s is None else int(s) for s, n in zip(sizes, in_hw))
    if min(sizes) < 1 or min(in_hw) < 1:
        raise ShapeError(f"{op}: cannot pool input {tuple(input.shape)} to output size {sizes}")
    return sizes, in_hw


def adaptive_avg_pool2d(input, output_size):
    """Average (N, C, H, W) or (C, H, W) over PyTorch's adaptive bins down to ``output_size`` (an int or a pair, where
    ``None`` keeps that axis); ``output_size=1`` is global average pooling."""
    sizes, in_hw = _adaptive_sizes("adaptive_avg_pool2d", input, output_size, 2)
    if all(n % s == 0 for n, s in zip(in_hw, sizes)):
        kernel = tuple(n // s for n, s in zip(in_hw, sizes))
        windows = _Windows(kernel, kernel, (0, 0), (1, 1), in_hw, sizes)
        return AvgPool2d.apply(input, windows=windows, count_include_pad=True, divisor_override=None)
    return AdaptiveAvgPool2d.apply(input, output_size=sizes)


def adaptive_avg_pool1d(input, output_size):
    """Average (N, C, L) or (C, L) over PyTorch's adaptive bins down to ``output_size`` (1: global pooling)."""
    (size,), (length,) = _adaptive_sizes("adaptive_avg_pool1d", input, output_size, 1)
    if length % size == 0:
        windows = _Windows((1, length // size), (1, length // size), (0, 0), (1, 1), (1, length), (1, size))
        return AvgPool1d.apply(input, windows=windows, count_include_pad=True, divisor_override=None)
    return AdaptiveAvgPool1d.apply(input, output_size=(1, size))
