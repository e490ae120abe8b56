"""Convolutions of images (NCHW) and sequences (NCL): ``conv1d`` and ``conv2d``, by im2col and one matrix product.

Notation: input x (N, C, H, W), weight w (O, C/G, kh, kw) split into G groups of Og = O/G output and Cg = C/G
input channels, stride s, dilation d, and xp the input zero-padded by p. Like PyTorch, a "convolution" is a
cross-correlation (the kernel is not flipped):

    y[n, o, a, b] = bias[o] + Σ_{c ∈ group(o), i, j} w[o, c, i, j] · xp[n, c, s_h a + d_h i, s_w b + d_w j].

**im2col.** Copy the windows once: cols[g, (i, j, c), (n, a, b)] = xp[n, g Cg + c, s_h a + d_h i, s_w b + d_w j]
(a strided view of xp copied into one contiguous array), plus a row of ones when there is a bias. Each group is
then a matrix product, Y_g = [W_g | bias_g] · cols_g, with W_g the (Og, kh kw Cg) matrix of group g's kernel: the
bias add is part of the product, in the same node. The batch is processed in chunks whose cols stay in the cache
(``CHUNK_BYTES``): one product per chunk and group, copied into the NCHW output. For stride 1 the input is stored
chunk by chunk as flat planes, so that the windows of one kernel offset over a whole chunk are one contiguous run
(see :class:`_Geometry`): im2col is kh·kw 1-D copies per chunk and col2im kh·kw 1-D adds, several times faster in
NumPy than the same numbers copied as rows. With few input channels and "same" padding, where the products are
short and the copies to and from NCHW cost as much as they do, each image gets its own product (a batched
product) that writes the NCHW output, and reads the NCHW cotangent, in place (``PER_IMAGE_ROWS``).

**Derivatives.** With G_g the cotangent of Y_g, chunk by chunk (one 2-D product per chunk and group):

* ∂L/∂[W_g | bias_g]ᵀ = cols_g · G_gᵀ: the row of ones gives ∂L/∂bias[o] = Σ_{n, a, b} g[n, o, a, b]. The cols of
  each chunk are recomputed from the saved padded input rather than kept from the forward pass: that is faster
  than writing and reading back 9× the input for a 3×3 kernel (which does not fit in the cache), and holds far
  less memory. When that product's output is small (few channels: the first layer of a CNN), it is cut
  into a batch of products over blocks of positions and summed (``_inner_product_over_positions``): OpenBLAS
  runs a long, thin product with a tiny output well below its speed on a batch of shorter ones.
* ∂L/∂x: each entry of cols is a copy of one entry of xp, so ∂L/∂xp gathers dcols_g = W_gᵀ G_g back to where the
  windows read it (col2im): one whole-array add per kernel offset (i, j), kh kw adds in all, never a loop over
  positions. (The other classic form for stride 1, a correlation of g with the flipped, channel-swapped kernel,
  builds cols of O·kh·kw rows from g: slower here, see ``benchmarks/README.md``.)

Speed: the alternatives measured and rejected (Python threads over chunks, keeping the forward's cols, kh·kw thin
products reading the input in place, Winograd), with their numbers, are recorded in ``benchmarks/README.md``; where
the time goes today is measured by ``benchmarks/profiles.py`` (tables in ``benchmarks/RESULTS.md``).

``conv1d`` is ``conv2d`` on a height-1 image. The convolution is linear in x and in w, so there is no
subgradient convention to state.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import as_strided, sliding_window_view

from neurones.autodiff.function import Function
from neurones.autodiff.tensor import Tensor
from neurones.errors import ShapeError


# ------------------------------------------------------------------------------------------- readable reference
def im2col_reference(xp: np.ndarray, kernel_size: tuple, stride: tuple, dilation: tuple) -> np.ndarray:
    """The windows of an already padded xp (N, C, H, W) as a strided view, the definition's indexing written out:

        cols[n, c, i, j, a, b] = xp[n, c, s_h a + d_h i, s_w b + d_w j],   shape (N, C, kh, kw, Ho, Wo).

    The fast path below computes the same numbers in a cache-friendly layout; this is the reference the tests
    check it against, and what per-example gradients (``neurones.func``) read.
    """
    (kh, kw), (sh, sw), (dh, dw) = kernel_size, stride, dilation
    spans = (dh * (kh - 1) + 1, dw * (kw - 1) + 1)
    windows = sliding_window_view(xp, spans, axis=(2, 3))  # (N, C, H − span_h + 1, W − span_w + 1, span_h, span_w)
    windows = windows[:, :, ::sh, ::sw, ::dh, ::dw]  # (N, C, Ho, Wo, kh, kw)
    return windows.transpose(0, 1, 4, 5, 2, 3)


def col2im_reference(cols: np.ndarray, padded_hw: tuple, stride: tuple, dilation: tuple) -> np.ndarray:
    """The adjoint of :func:`im2col_reference`: each window entry is added back where it was read,

        xp[n, c, s_h a + d_h i, s_w b + d_w j] += cols[n, c, i, j, a, b],   one strided add per kernel offset (i, j).
    """
    n, c, kh, kw, out_h, out_w = cols.shape
    (sh, sw), (dh, dw) = stride, dilation
    xp = np.zeros((n, c, *padded_hw), cols.dtype)
    for i in range(kh):
        for j in range(kw):
            xp[:, :, dh * i : dh * i + sh * out_h : sh, dw * j : dw * j + sw * out_w : sw] += cols[:, :, i, j]
    return xp


def conv2d_reference(xp: np.ndarray, weight: np.ndarray, stride: tuple, dilation: tuple, groups: int) -> np.ndarray:
    """y[n, o, a, b] = Σ_{c ∈ group(o), i, j} w[o, c, i, j] · cols[n, c, i, j, a, b], without bias, on padded xp."""
    cols = im2col_reference(xp, weight.shape[2:], stride, dilation)
    n, c, kh, kw, out_h, out_w = cols.shape
    o = weight.shape[0]
    cols = cols.reshape(n, groups, c // groups * kh * kw, out_h * out_w)
    kernel = weight.reshape(groups, o // groups, -1)
    return np.matmul(kernel, cols).reshape(n, o, out_h, out_w)


# ------------------------------------------------------------------------------------------------ array kernels
# Bytes of cols per batch chunk. Measured on the benchmark shape (2 cores, OpenBLAS): 2 MiB is the fastest on one
# thread and within noise of 3-4 MiB on two; much larger chunks fall out of the cache, much smaller ones make the
# products too thin.
CHUNK_BYTES = 2 << 20
# The weight gradient cols · Gᵀ has a small (kh kw Cg [+ 1]) × Og output and a long inner dimension (the positions).
# OpenBLAS runs such a product at 20-40 GFLOP/s when the output has at most ~512 entries; cut into a batch of
# products over blocks of positions, then summed, it runs 2-4× faster (measured on 2 cores: a 10 × 16 output over
# 65,536 positions, 0.94 → 0.31 ms). From ~600 output entries on, both take the same time.
SMALL_OUTPUT = 512
POSITION_BLOCK = 2048
# With stride 1 and rows as wide as the output (same padding), an image's outputs are the first Ho·Wo columns of
# its plane, so one product per image (a batched product) can write the NCHW output, and read the NCHW cotangent,
# in place: no copy between the product's layout and NCHW. That pays when the products are short (few rows of
# cols: few input channels), so that the copies cost as much as they do, and each image has enough outputs.
# Measured on 2 cores, 3×3 kernels on 64 images of 28 × 28, forward and backward: 1 → 16 channels 1.25 → 0.92 ms,
# 4 → 16 3.7 → 3.1 ms, 8 → 16 6.0 → 5.7 ms, but 16 → 32 (144 rows) 14.6 → 15.5 ms; 14 × 14 images lose (1.8 →
# 2.2 ms for one forward chunk of 16 → 32 channels).
PER_IMAGE_OUTPUTS = 512
PER_IMAGE_ROWS = 96


class _Geometry:
    """Sizes of one convolution, and the layouts of its padded input, cols and cotangents.

    The rows of cols are ordered (group, i, j, channel within the group): the rows of one kernel offset (i, j) are
    one block. Two layouts of the padded input xp, and of the columns of cols:

    * stride 1 ("flat"): the batch is stored chunk by chunk, and a chunk of n images as one flat block of C·n
      planes, channel-major ((c, m) is plane c n + m), each ``plane`` numbers apart, in rows R = max(W, Wo) wide.
      Plane p holds row r of x (zero-filled from W to R) at p·plane + lead + r R, lead = left + top R; all else is
      zero. The window of kernel offset (i, j) at output position (a, b) of plane p reads p·plane + (a + i d_h) R
      + b + j d_w, so the windows of one kernel offset over the whole chunk are one contiguous run of C·n·plane
      numbers: im2col copies, and col2im adds back, one run per kernel offset (a 1-D copy or add is several times
      faster in NumPy than the same numbers as rows). Consecutive planes share their zero rows: plane =
      max(H + max(top, bottom), Ho)·R is enough for every window to read zeros outside its own image. The columns
      of cols are the chunk's n·plane positions; the last plane − Ho·R of each image (max(top, bottom) rows with "same"
      padding) are junk, computed and dropped, with cotangent 0. Where a window wraps around a row, where the input
      column b + j d_w − left falls outside [0, W), the value read belongs to the horizontal zero padding: those
      entries of cols are zeroed (a few columns per kernel offset). With "same" padding R = W = Wo; otherwise the
      R − Wo last output columns of each row are junk too. (Rows stored apart so that no window wraps would need
      no zeroing, but their junk columns widen the products more than the zeroing costs: ``benchmarks/README.md``.)
    * other strides ("strided"): xp is (N, C, Hp, Wp), the windows are strided views of it, and the columns of
      cols are the chunk's (n, Ho, Wo) output positions.
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
        self.plane = max(self.h + max(self.top, self.bottom), self.out_h) * self.width
        self.lead = self.left + self.top * self.width
        self.reach = (self.kh - 1) * dilation[0] * self.width + (self.kw - 1) * dilation[1]  # the largest offset
        self.columns = self.plane if self.flat else self.out_h * self.out_w  # columns of cols per image
        self.body_rows = self.cg * self.kh * self.kw
        self.outputs_per_image = self.out_h * self.out_w
        self.per_image = (
            self.flat
            and self.width == self.out_w
            and self.outputs_per_image >= PER_IMAGE_OUTPUTS
            and self.body_rows <= PER_IMAGE_ROWS
        )
        bytes_per_image = self.c * self.kh * self.kw * self.columns * np.dtype(dtype).itemsize
        self.chunk = int(min(self.n, max(1, CHUNK_BYTES // bytes_per_image)))
        self.chunks = [(start, min(self.chunk, self.n - start)) for start in range(0, self.n, self.chunk)]

    def kernel_matrix(self, weight: np.ndarray) -> np.ndarray:
        """The (G, Og, kh kw Cg) matrices W_g of the kernel, columns in the order of the rows of cols."""
        og = self.o // self.groups
        blocks = weight.reshape(self.groups, og, self.cg, self.kh, self.kw).transpose(0, 1, 3, 4, 2)
        return blocks.reshape(self.groups, og, self.body_rows)

    def weight(self, matrices_t: np.ndarray) -> np.ndarray:
        """The (O, Cg, kh, kw) kernel of the transposed matrices (G, kh kw Cg, Og): the inverse of kernel_matrix."""
        blocks = matrices_t.reshape(self.groups, self.kh, self.kw, self.cg, -1).transpose(0, 4, 3, 1, 2)
        return blocks.reshape(self.o, self.cg, self.kh, self.kw)

    def outputs(self, columns: np.ndarray) -> np.ndarray:
        """The (…, Ho, Wo) view of the output positions inside (…, columns per image)."""
        if not self.flat:
            return columns.reshape((*columns.shape[:-1], self.out_h, self.out_w))
        rows = columns[..., : self.out_h * self.width].reshape((*columns.shape[:-1], self.out_h, self.width))
        return rows if self.width == self.out_w else rows[..., : self.out_w]

    def images(self, columns: np.ndarray, n: int) -> np.ndarray:
        """The (n, G, rows, Ho Wo) view of each image's output columns inside (G, rows, n columns), when
        ``per_image``: the first Ho·Wo columns of each image's plane."""
        g, rows = columns.shape[:2]
        item = columns.itemsize
        strides = (self.columns * item, rows * n * self.columns * item, n * self.columns * item, item)
        return as_strided(columns, (n, g, rows, self.outputs_per_image), strides)

    def block_size(self, n: int) -> int:
        """Numbers in the flat block of a chunk of n images: the planes, then zeros for the windows' overhang."""
        return self.c * n * self.plane + max(self.lead, self.reach)

    def flat_size(self) -> int:
        """Numbers in the flat padded input of the whole batch: the blocks of its chunks, end to end."""
        last, n = self.chunks[-1]
        return (last // self.chunk) * self.block_size(self.chunk) + self.block_size(n)

    def block(self, xp: np.ndarray, start: int, n: int) -> np.ndarray:
        """The padded input of the chunk of n images from ``start``: a flat block, or (n, C, Hp, Wp)."""
        if not self.flat:
            return xp[start : start + n]
        first = (start // self.chunk) * self.block_size(self.chunk)
        return xp[first : first + self.block_size(n)]

    def region(self, block: np.ndarray, n: int) -> np.ndarray:
        """The (C, n, H, W) view of the input of a chunk inside its padded layout (or (n, C, H, W), strided)."""
        if not self.flat:
            return block[..., self.top : self.top + self.h, self.left : self.left + self.w]
        planes = block[self.lead : self.lead + self.c * n * self.plane].reshape(self.c, n, self.plane)
        rows = planes[..., : self.h * self.width].reshape(self.c, n, self.h, self.width)
        return rows if self.width == self.w else rows[..., : self.w]

    def pad(self, x: np.ndarray) -> np.ndarray:
        """xp: x zero-padded, in the layout of this geometry."""
        if not self.flat:
            xp = np.zeros((self.n, self.c, self.hp, self.wp), self.dtype)
            self.region(xp, self.n)[...] = x
            return xp
        xp = np.zeros(self.flat_size(), self.dtype)
        for start, n in self.chunks:
            self.region(self.block(xp, start, n), n)[...] = x[start : start + n].transpose(1, 0, 2, 3)
        return xp

    def im2col(self, xp: np.ndarray, start: int, n: int, buffer: np.ndarray, ones_row: bool) -> np.ndarray:
        """cols of the chunk of n images from ``start``, (G, kh kw Cg [+ 1], n columns), copied into ``buffer``;
        with ``ones_row`` each group gets a last row of ones, so that the product with [W_g | bias_g] adds the
        bias."""
        g, cg, kh, kw = self.groups, self.cg, self.kh, self.kw
        (dh, dw), item = self.dilation, xp.itemsize
        block, columns = self.block(xp, start, n), n * self.columns
        cols = buffer[: g * (self.body_rows + ones_row) * columns].reshape(g, -1, columns)
        if self.flat:
            run = cg * columns  # the numbers of one group and kernel offset
            windows = as_strided(block, (g, kh, kw, run), (run * item, dh * self.width * item, dw * item, item))
            body = cols[:, : self.body_rows].reshape(g, kh, kw, run)
        else:
            sn, sc, sy, sx = block.strides
            sh, sw = self.stride
            shape = (g, kh, kw, cg, n, self.out_h, self.out_w)
            windows = as_strided(block, shape, (cg * sc, dh * sy, dw * sx, sc, sn, sh * sy, sw * sx))
            body = cols[:, : self.body_rows].reshape(shape)
        np.copyto(body, windows)
        if self.flat:
            self.zero_wrapped(cols[:, : self.body_rows], n)
        if ones_row:
            cols[:, self.body_rows] = 1
        return cols

    def zero_wrapped(self, cols: np.ndarray, n: int) -> None:
        """Zero the entries of flat cols (G, kh kw Cg, n plane) whose input column lies outside [0, W)."""
        planes = cols.reshape(self.groups, self.kh, self.kw, self.cg, n, self.plane)
        rows = planes[..., : self.out_h * self.width].reshape((*planes.shape[:-1], self.out_h, self.width))
        for j in range(self.kw):
            shift = j * self.dilation[1] - self.left  # output column b reads input column b + shift
            if shift < 0:
                rows[:, :, j, ..., : min(-shift, self.width)] = 0
            if self.w - shift < self.width:
                rows[:, :, j, ..., max(self.w - shift, 0) :] = 0

    def col2im(self, dcols: np.ndarray, n: int) -> np.ndarray:
        """∂L/∂x of a chunk as a (C, n, H, W) view, from dcols (G, kh kw Cg, n columns): each kernel offset adds
        its block of dcols where its windows read."""
        g, kh, kw = self.groups, self.kh, self.kw
        (dh, dw), (sh, sw) = self.dilation, self.stride
        if self.flat:
            self.zero_wrapped(dcols, n)
            run = self.cg * n * self.plane
            offsets = dcols.reshape(g, kh, kw, run)
            dxp = np.empty(self.block_size(n), self.dtype)
            dxp[: g * run].reshape(g, run)[...] = offsets[:, 0, 0]  # offset (0, 0) starts the sum: one add fewer
            dxp[g * run :] = 0
            for i in range(kh):
                for j in range(1 if i == 0 else 0, kw):
                    first = i * dh * self.width + j * dw
                    target = dxp[first : first + g * run].reshape(g, run)
                    np.add(target, offsets[:, i, j], out=target)
            return self.region(dxp, n)
        offsets = dcols.reshape(g, kh, kw, self.cg, n, self.out_h, self.out_w)
        dxp = np.zeros((g, self.cg, n, self.hp, self.wp), self.dtype)
        span_h, span_w = sh * (self.out_h - 1) + 1, sw * (self.out_w - 1) + 1
        for i in range(kh):
            for j in range(kw):
                rows = slice(i * dh, i * dh + span_h, sh)
                columns = slice(j * dw, j * dw + span_w, sw)
                dxp[:, :, :, rows, columns] += offsets[:, i, j]
        return self.region(dxp.reshape(self.c, n, self.hp, self.wp), n)


def _inner_product_over_positions(cols: np.ndarray, gc: np.ndarray) -> np.ndarray:
    """cols · gcᵀ per group, (G, R, P) · (G, Og, P)ᵀ → (G, R, Og): a sum over P positions, cut into blocks of
    ``POSITION_BLOCK`` positions (one batched product, then a sum over the blocks) when the R × Og output is small."""
    rows, positions, og = cols.shape[1], cols.shape[2], gc.shape[1]
    blocks = positions // POSITION_BLOCK
    if rows * og > SMALL_OUTPUT or blocks < 2:
        return np.matmul(cols, gc.transpose(0, 2, 1))
    body = blocks * POSITION_BLOCK
    cols_blocks = cols[..., :body].reshape(cols.shape[0], rows, blocks, POSITION_BLOCK).transpose(0, 2, 1, 3)
    gc_blocks = gc[..., :body].reshape(gc.shape[0], og, blocks, POSITION_BLOCK).transpose(0, 2, 3, 1)
    total = np.matmul(cols_blocks, gc_blocks).sum(axis=1)
    if body < positions:
        total += np.matmul(cols[..., body:], gc[..., body:].transpose(0, 2, 1))
    return total


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
        kernel = geo.kernel_matrix(weight.astype(dtype, copy=False))
        if bias is None:
            kernel = np.ascontiguousarray(kernel)
        else:
            kernel = np.concatenate([kernel, bias.astype(dtype).reshape(groups, og, 1)], axis=2)
        xp = geo.pad(x)
        y = np.empty((geo.n, geo.o, geo.out_h, geo.out_w), dtype)
        # Two cols buffers in turn: measured 0.4 ms faster on the benchmark shape than refilling at once the one the
        # product has just read (presumably as BLAS's second thread, on the other core, still caches its lines).
        size = groups * kernel.shape[2] * geo.chunk * geo.columns
        buffers = [np.empty(size, dtype) for _ in range(min(2, len(geo.chunks)))]
        product = None if geo.per_image else np.empty((groups, og, geo.chunk * geo.columns), dtype)
        for k, (start, n) in enumerate(geo.chunks):
            cols = geo.im2col(xp, start, n, buffers[k % len(buffers)], bias is not None)
            if geo.per_image:
                np.matmul(kernel, geo.images(cols, n), out=y[start : start + n].reshape(n, groups, og, -1))
                continue
            out = np.matmul(kernel, cols, out=product[..., : n * geo.columns])
            np.copyto(y[start : start + n], geo.outputs(out.reshape(geo.o, n, geo.columns)).transpose(1, 0, 2, 3))
        if self.parents is not None:
            self.geometry, self.unbatched = geo, unbatched
            self.save_for_backward(xp, kernel)
        return y[0] if unbatched else y

    def backward(self, g):
        geo = self.geometry
        xp, kernel = self.saved
        parents = self.parents
        has_bias = len(parents) == 3
        need_x, need_w = parents[0] is not None, parents[1] is not None
        need_b = has_bias and parents[2] is not None
        groups, og, body_rows = geo.groups, geo.o // geo.groups, geo.body_rows
        g = g[None] if self.unbatched else g
        kernel_t = np.ascontiguousarray(kernel[:, :, :body_rows].transpose(0, 2, 1)) if need_x else None
        # ∂L/∂[W_g | bias_g]ᵀ accumulated over chunks: the row of ones of the cols gives the bias gradient.
        gk_t = np.zeros((groups, kernel.shape[2], og), geo.dtype) if need_w else None
        gx = np.empty((geo.n, geo.c, geo.h, geo.w), geo.dtype) if need_x else None
        size = groups * kernel.shape[2] * geo.chunk * geo.columns
        buffer = np.empty(size, geo.dtype) if need_w else None
        dcols_buffer = np.empty(size, geo.dtype) if need_x else None
        # The cotangent of a chunk laid out as the product was, (O, n, columns); junk columns stay 0.
        g_wide = None if geo.per_image else np.zeros((geo.o, geo.chunk, geo.columns), geo.dtype)
        for start, n in geo.chunks:
            if geo.per_image:
                # Each image's (G, Og, Ho Wo) cotangent as it is (made contiguous if it is a broadcast view).
                g_images = np.ascontiguousarray(g[start : start + n]).reshape(n, groups, og, -1)
            else:
                gc = g_wide[:, :n]
                np.copyto(geo.outputs(gc), g[start : start + n].transpose(1, 0, 2, 3))
                gc = gc.reshape(groups, og, -1)
            if need_w:
                cols = geo.im2col(xp, start, n, buffer, has_bias)
                if geo.per_image:
                    gk_t += np.matmul(geo.images(cols, n), g_images.transpose(0, 1, 3, 2)).sum(axis=0)
                else:
                    gk_t += _inner_product_over_positions(cols, gc)
            if need_x:
                dcols = dcols_buffer[: groups * body_rows * n * geo.columns].reshape(groups, body_rows, -1)
                if geo.per_image:
                    np.matmul(kernel_t, g_images, out=geo.images(dcols, n))
                    dcols.reshape(groups, body_rows, n, geo.columns)[..., geo.outputs_per_image :] = 0  # junk
                else:
                    np.matmul(kernel_t, gc, out=dcols)
                region = geo.col2im(dcols, n)
                np.copyto(gx[start : start + n], region.transpose(1, 0, 2, 3))
        if need_x and self.unbatched:
            gx = gx[0]
        gw = geo.weight(gk_t[:, :body_rows]) if need_w else None
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
