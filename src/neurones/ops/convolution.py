"""Convolutions of images (NCHW) and sequences (NCL): ``conv1d`` and ``conv2d``, by im2col and one matrix product.

Notation: input x (N, C, H, W), weight w (O, C/G, kh, kw) split into G groups of Og = O/G output and Cg = C/G
input channels, stride s, dilation d, and xp the input zero-padded by p. Like PyTorch, a "convolution" is a
cross-correlation (the kernel is not flipped):

    y[n, o, a, b] = bias[o] + Σ_{c ∈ group(o), i, j} w[o, c, i, j] · xp[n, c, s_h a + d_h i, s_w b + d_w j].

**im2col.** Copy the windows once: cols[g, (c, i, j), (n, a, b)] = xp[n, g Cg + c, s_h a + d_h i, s_w b + d_w j]
(a strided view of xp copied into one contiguous array), plus a row of ones when there is a bias. Each group is
then a matrix product, Y_g = [W_g | bias_g] · cols_g, with W_g the (Og, Cg kh kw) matrix of group g's kernel: the
bias add is part of the product, in the same node. The batch is processed in chunks whose cols stay in the cache
(``CHUNK_BYTES``); the forward product of each image of a chunk is written straight into the NCHW output (the
image's columns are a strided block of the chunk's cols, which BLAS reads in place). For stride 1 the windows are
contiguous runs of the flattened padded planes (see :class:`_Geometry`), which makes the copies several times
faster than copying rows of Wo numbers.

**Derivatives.** With G_g the cotangent of Y_g, chunk by chunk (one 2-D product per chunk and group):

* ∂L/∂[W_g | bias_g]ᵀ = cols_g · G_gᵀ: the row of ones gives ∂L/∂bias[o] = Σ_{n, a, b} g[n, o, a, b]. The cols of
  each chunk are recomputed from the saved padded input rather than kept from the forward pass: measured, that
  is faster than allocating and reading back 9× the input for a 3×3 kernel, and holds far less memory.
* ∂L/∂x: each entry of cols is a copy of one entry of xp, so ∂L/∂xp gathers dcols_g = W_gᵀ G_g back to where the
  windows read it (col2im): one whole-array add per kernel offset (i, j), kh kw adds in all, never a loop over
  positions. For stride 1 each add is of contiguous runs (the flat layout). This was measured against the other
  classic form for stride 1, a correlation of g padded by d(k − 1) − p with the flipped, channel-swapped kernel
  (im2col of g and one product): col2im is faster here, as the correlation's cols have O·kh·kw rows (twice as
  many on the benchmark shape, 16→32 channels) and its product has only C rows.

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
# Bytes of cols per batch chunk. Measured on the benchmark shape (2 cores, OpenBLAS): 2 MiB is fastest on one thread
# and within 3% of the best (3-4 MiB) on two; much larger chunks fall out of the cache, much smaller ones make
# the products too thin.
CHUNK_BYTES = 2 << 20


class _Geometry:
    """Sizes of one convolution, and the layouts of its padded input, cols and cotangents.

    Two layouts of the padded input xp:

    * stride 1 ("flat"): each (n, c) plane is one flat array of rows R = max(W, Wo) wide: ``left`` leading zeros,
      then ``top`` zero rows, the H rows of x (zero-filled from W to R), ``bottom`` zero rows and a few trailing
      zeros. The window of kernel offset (i, j) at all output positions (a, b), b < R, is then the contiguous
      run of Ho·R numbers starting at i d_h R + j d_w: im2col copies, and col2im adds back, whole runs instead
      of rows of Wo numbers (several times faster in NumPy). Where the run wraps around a row, that is where
      the input column b + j d_w − left falls outside [0, W), the copied values belong to the horizontal zero
      padding: those entries of cols are zeroed (a few columns per kernel offset). With "same" padding R = W = Wo,
      so x, y and their cotangents move in and out of this layout as whole planes; otherwise the R − Wo last
      output columns are computed and dropped.
    * other strides ("strided"): xp is (N, C, Hp, Wp) and the windows are strided views of it.
    """

    def __init__(self, x_shape, w_shape, stride, padding, dilation, groups, dtype) -> None:
        self.n, self.c, self.h, self.w = x_shape
        self.o, self.cg, self.kh, self.kw = w_shape
        (self.top, self.bottom), (self.left, self.right) = padding
        self.stride, self.dilation, self.groups, self.dtype = stride, dilation, groups, dtype
        self.hp, self.wp = self.h + self.top + self.bottom, self.w + self.left + self.right
        self.out_h = (self.hp - dilation[0] * (self.kh - 1) - 1) // stride[0] + 1
        self.out_w = (self.wp - dilation[1] * (self.kw - 1) - 1) // stride[1] + 1
        self.flat = stride == (1, 1)
        # The row width of the input and output planes as stored and computed (before dropping junk columns).
        self.width = max(self.w, self.out_w) if self.flat else self.out_w
        self.length = self.left + self.hp * self.width + dilation[1] * (self.kw - 1)
        per_image = self.c * self.kh * self.kw * self.out_h * self.width * np.dtype(dtype).itemsize
        self.chunk = int(min(self.n, max(1, CHUNK_BYTES // per_image)))

    def region(self, xp: np.ndarray) -> np.ndarray:
        """The (…, H, W) view of the input inside an array in the padded layout."""
        if not self.flat:
            return xp[..., self.top : self.top + self.h, self.left : self.left + self.w]
        first = self.left + self.top * self.width
        rows = xp[..., first : first + self.h * self.width].reshape((*xp.shape[:-1], self.h, self.width))
        return rows if self.width == self.w else rows[..., : self.w]

    def pad(self, x: np.ndarray) -> np.ndarray:
        """xp: x zero-padded, in the layout of this geometry."""
        shape = (self.n, self.c, self.length) if self.flat else (self.n, self.c, self.hp, self.wp)
        xp = np.zeros(shape, self.dtype)
        self.region(xp)[...] = x
        return xp

    def im2col(self, xp_chunk: np.ndarray, buffer: np.ndarray, ones_row: bool) -> np.ndarray:
        """cols of a chunk of n images, (G, Cg kh kw [+ 1], n Ho width), copied into ``buffer``; with ``ones_row``
        each group gets a last row of ones, so that the product with [W_g | bias_g] adds the bias."""
        n = xp_chunk.shape[0]
        (dh, dw), item = self.dilation, xp_chunk.itemsize
        if self.flat:
            sn, sc, _ = xp_chunk.strides
            shape = (self.c, self.kh, self.kw, n, self.out_h * self.width)
            strides = (sc, dh * self.width * item, dw * item, sn, item)
        else:
            sn, sc, sy, sx = xp_chunk.strides
            sh, sw = self.stride
            shape = (self.c, self.kh, self.kw, n, self.out_h, self.out_w)
            strides = (sc, dh * sy, dw * sx, sn, sh * sy, sw * sx)
        body_rows, columns = self.cg * self.kh * self.kw, n * self.out_h * self.width
        rows = body_rows + ones_row
        cols = buffer[: self.groups * rows * columns].reshape(self.groups, rows, columns)
        body = cols[:, :body_rows].reshape((self.groups, self.cg, *shape[1:]))
        np.copyto(body, as_strided(xp_chunk, shape, strides, writeable=False).reshape(body.shape))
        if self.flat:
            self.zero_wrapped(body)
        if ones_row:
            cols[:, body_rows] = 1
        return cols

    def zero_wrapped(self, cols: np.ndarray) -> None:
        """Zero the entries of flat cols (…, kw, n, Ho·R) whose input column lies outside [0, W)."""
        rows = cols.reshape((*cols.shape[:-1], self.out_h, self.width))
        for j in range(self.kw):
            shift = j * self.dilation[1] - self.left  # output column b reads input column b + shift
            if shift < 0:
                rows[..., j, :, :, : min(-shift, self.width)] = 0
            if self.w - shift < self.width:
                rows[..., j, :, :, max(self.w - shift, 0) :] = 0

    def col2im(self, dcols: np.ndarray, n: int) -> np.ndarray:
        """∂L/∂x of a chunk as a (C, n, H, W) view, from dcols (G, Cg kh kw, n Ho width): each kernel offset adds
        its plane of dcols where its windows read."""
        (dh, dw), (sh, sw) = self.dilation, self.stride
        dcols = dcols.reshape(self.c, self.kh, self.kw, n, -1)
        if self.flat:
            self.zero_wrapped(dcols)
            run = self.out_h * self.width
            dxp = np.empty((self.c, n, self.length), self.dtype)
            dxp[:, :, :run] = dcols[:, 0, 0]  # offset (0, 0) starts the sum: no zero-filling, one add fewer
            dxp[:, :, run:] = 0
            for i in range(self.kh):
                for j in range(1 if i == 0 else 0, self.kw):
                    start = i * dh * self.width + j * dw
                    dxp[:, :, start : start + run] += dcols[:, i, j]
            return self.region(dxp)
        dxp = np.zeros((self.c, n, self.hp, self.wp), self.dtype)
        span_h, span_w = sh * (self.out_h - 1) + 1, sw * (self.out_w - 1) + 1
        for i in range(self.kh):
            for j in range(self.kw):
                rows = slice(i * dh, i * dh + span_h, sh)
                columns = slice(j * dw, j * dw + span_w, sw)
                dxp[:, :, rows, columns] += dcols[:, i, j].reshape(self.c, n, self.out_h, self.out_w)
        return self.region(dxp)


class Conv2d(Function):
    """2-D convolution (cross-correlation) with stride, zero padding, dilation and groups; see the module docstring.

    ``padding`` is ((top, bottom), (left, right)); an unbatched (C, H, W) input gives a (O, Ho, Wo) output.
    Saved for backward: the padded input and the kernel (with the bias as its last column).
    """

    def forward(self, x, weight, bias=None, *, stride, padding, dilation, groups):
        unbatched = x.ndim == 3
        if unbatched:
            x = x[None]
        dtype = np.result_type(x, weight) if bias is None else np.result_type(x, weight, bias)
        geo = _Geometry(x.shape, weight.shape, stride, padding, dilation, groups, dtype)
        og = geo.o // groups
        kernel = weight.astype(dtype, copy=False).reshape(groups, og, -1)
        if bias is not None:
            kernel = np.concatenate([kernel, bias.astype(dtype).reshape(groups, og, 1)], axis=2)
        xp = geo.pad(x)
        y = np.empty((geo.n, geo.o, geo.out_h, geo.out_w), dtype)
        buffer = np.empty(groups * kernel.shape[2] * geo.chunk * geo.out_h * geo.width, dtype)
        cropped = geo.width != geo.out_w
        for start in range(0, geo.n, geo.chunk):
            n = min(geo.chunk, geo.n - start)
            cols = geo.im2col(xp[start : start + n], buffer, bias is not None)
            if cropped:
                product = np.matmul(kernel, cols).reshape(geo.o, n, geo.out_h, geo.width)[..., : geo.out_w]
                np.copyto(y[start : start + n], product.transpose(1, 0, 2, 3))
            else:
                # One product per (image, group), written straight into y: no transposed copy of the output.
                per_image = cols.reshape(groups, -1, n, geo.out_h * geo.out_w).transpose(2, 0, 1, 3)
                np.matmul(kernel, per_image, out=y[start : start + n].reshape(n, groups, og, -1))
        if self.parents is not None:
            self.xp, self.kernel, self.geometry, self.unbatched = xp, kernel, geo, unbatched
        return y[0] if unbatched else y

    def backward(self, g):
        geo, kernel, xp = self.geometry, self.kernel, self.xp
        parents = self.parents
        has_bias = len(parents) == 3
        need_x, need_w = parents[0] is not None, parents[1] is not None
        need_b = has_bias and parents[2] is not None
        groups, og = geo.groups, geo.o // geo.groups
        body_rows = geo.cg * geo.kh * geo.kw
        g = g[None] if self.unbatched else g
        kernel_t = np.ascontiguousarray(kernel[:, :, :body_rows].transpose(0, 2, 1)) if need_x else None
        # ∂L/∂[W_g | bias_g]ᵀ accumulated over chunks: the row of ones of the cols gives the bias gradient.
        gk_t = np.zeros((groups, kernel.shape[2], og), geo.dtype) if need_w else None
        gx = np.empty((geo.n, geo.c, geo.h, geo.w), geo.dtype) if need_x else None
        size = groups * kernel.shape[2] * geo.chunk * geo.out_h * geo.width
        buffer = np.empty(size, geo.dtype) if need_w else None
        dcols_buffer = np.empty(size, geo.dtype) if need_x else None
        # The cotangent of a chunk laid out as the product was, (O, n, Ho, width); junk columns stay 0.
        g_wide = np.zeros((geo.o, geo.chunk, geo.out_h, geo.width), geo.dtype)
        for start in range(0, geo.n, geo.chunk):
            n = min(geo.chunk, geo.n - start)
            gc = g_wide[:, :n]
            np.copyto(gc[..., : geo.out_w], g[start : start + n].transpose(1, 0, 2, 3))
            gc = gc.reshape(groups, og, -1)
            if need_w:
                cols = geo.im2col(xp[start : start + n], buffer, has_bias)
                gk_t += np.matmul(cols, gc.transpose(0, 2, 1))
            if need_x:
                dcols = dcols_buffer[: groups * body_rows * gc.shape[2]].reshape(groups, body_rows, -1)
                region = geo.col2im(np.matmul(kernel_t, gc, out=dcols), n)
                np.copyto(gx[start : start + n], region.transpose(1, 0, 2, 3))
        if need_x and self.unbatched:
            gx = gx[0]
        gw = gk_t[:, :body_rows].transpose(0, 2, 1).reshape(geo.o, geo.cg, geo.kh, geo.kw) if need_w else None
        if not has_bias:
            return gx, gw
        if need_b:
            gb = gk_t[:, body_rows].reshape(geo.o) if need_w else g.sum(axis=(0, 2, 3), dtype=geo.dtype)
        else:
            gb = None
        return gx, gw, gb


class Conv1d(Conv2d):
    """1-D convolution of (N, C, L) sequences: :class:`Conv2d` on (N, C, 1, L) images with a (O, C/G, 1, k) kernel."""

    def forward(self, x, weight, bias=None, *, stride, padding, dilation, groups):
        y = super().forward(
            x[..., None, :],
            weight[:, :, None, :],
            bias,
            stride=stride,
            padding=padding,
            dilation=dilation,
            groups=groups,
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
