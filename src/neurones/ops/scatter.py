"""Writing at positions: ``scatter``, ``scatter_add`` (the adjoints of ``gather``), ``scatter_reduce``,
``masked_fill``, ``masked_select``, ``nonzero`` and ``one_hot``, with PyTorch's signatures.

For ``dim = 0``, ``scatter`` writes out[index[i][j]][j] = src[i][j] into a copy of the input, and ``scatter_add``
adds it. Their derivatives read back what was written: ∂L/∂src[i][j] = g[index[i][j]][j] (a gather), and
∂L/∂input = g, except at the positions ``scatter`` overwrote, where it is 0. When ``index`` repeats a position,
``scatter`` keeps the last write (PyTorch leaves the choice undefined) and its gradient goes to that write only.

``scatter_reduce`` combines everything that lands on a position (and the input's own entry unless
``include_self=False``) by a sum, a product, a mean, a maximum or a minimum. Each member m of the group G_p of
position p then receives: g_p for a sum; g_p/|G_p| for a mean; g_p Π_{m′∈G_p, m′≠m} m′ for a product (computed
from the count of zeros and the product of the non-zero members, so that zeros are exact); for a maximum or a
minimum, g_p/k when m is one of the k members equal to the result, 0 otherwise (ties share, as in PyTorch).
"""

from __future__ import annotations

import numpy as np

from neurones.autodiff.function import Function
from neurones.autodiff.tensor import Tensor
from neurones.errors import DTypeError, ShapeError
from neurones.ops import arithmetic as ar
from neurones.ops.dims import canonical_dim
from neurones.ops.indexing import check_bounds, gather_coordinates, getitem, index_array
from neurones.ops.shape import broadcast_to


class Scatter(Function):
    """out = input with src written (``accumulate=False``) or added (``accumulate=True``) at ``coordinates``;
    ∂L/∂input = g (0 where overwritten), ∂L/∂src = g at the coordinates (0 beyond the index's extent)."""

    def forward(self, x, src, *, coordinates, accumulate):
        # The index's own shape: the coordinates broadcast to it, but only the one along dim has it in full.
        self.extent = tuple(slice(0, n) for n in np.broadcast_shapes(*(c.shape for c in coordinates)))
        out = x.copy()
        values = src[self.extent]
        if accumulate:
            np.add.at(out, coordinates, values)
        else:
            out[coordinates] = values
        self.src_shape, self.accumulate = src.shape, accumulate
        self.save_for_backward(*coordinates)
        return out

    def backward(self, g):
        coordinates = self.saved
        px, ps = self.parents
        gx = gs = None
        if px is not None:
            gx = g if self.accumulate else g.copy()
            if not self.accumulate:
                gx[coordinates] = 0
        if ps is not None:
            gs = np.zeros(self.src_shape, g.dtype)
            gs[self.extent] = g[coordinates]
        return gx, gs


REDUCTIONS = {"sum": np.add, "prod": np.multiply, "mean": np.add, "amax": np.maximum, "amin": np.minimum}


def _identity(reduce: str, dtype) -> float:
    """The value a group starts from when the input's own entry is left out."""
    if reduce in ("sum", "mean"):
        return 0
    if reduce == "prod":
        return 1
    if np.dtype(dtype).kind == "f":
        return -np.inf if reduce == "amax" else np.inf
    limits = np.iinfo(dtype)
    return limits.min if reduce == "amax" else limits.max


class ScatterReduce(Function):
    """out[p] = reduce(the input's entry at p (if ``include_self``), every src entry scattered to p) at the
    positions ``coordinates`` reach, the input elsewhere; the gradient of each group member is in the module doc."""

    def forward(self, x, src, *, coordinates, reduce, include_self):
        self.extent = tuple(slice(0, n) for n in np.broadcast_shapes(*(c.shape for c in coordinates)))
        self.reduce, self.include_self, self.src_shape = reduce, include_self, src.shape
        values = src[self.extent]
        reached = np.zeros(x.shape, bool)
        reached[coordinates] = True
        out = x.copy()
        if not include_self:
            out[reached] = _identity(reduce, x.dtype)
        REDUCTIONS[reduce].at(out, coordinates, values)
        counts = np.full(x.shape, int(include_self))
        np.add.at(counts, coordinates, 1)
        if reduce == "mean":
            divided = out / np.maximum(counts, 1)
            out = np.where(reached, divided if out.dtype.kind == "f" else np.floor(divided), out).astype(x.dtype)
        self.save_for_backward(x, values, out, reached, counts, *coordinates)
        return out

    def backward(self, g):
        x, values, out, reached, counts, *coordinates = self.saved
        coordinates = tuple(coordinates)
        reduce = self.reduce
        if reduce in ("sum", "mean"):
            share = g / np.maximum(counts, 1) if reduce == "mean" else g
            own, scattered = share, share[coordinates]
        elif reduce == "prod":
            own, scattered = self._product_shares(g, x, values, reached, coordinates)
        else:  # amax, amin: the members equal to the result share g_p
            ties = np.where(self.include_self & (x == out), 1, 0)
            np.add.at(ties, coordinates, values == out[coordinates])
            share = g / np.maximum(ties, 1)
            own, scattered = np.where(x == out, share, 0), np.where(values == out[coordinates], share[coordinates], 0)
        px, ps = self.parents
        gx = gs = None
        if px is not None:
            gx = np.where(reached, own if self.include_self else 0, g).astype(g.dtype, copy=False)
        if ps is not None:
            gs = np.zeros(self.src_shape, g.dtype)
            gs[self.extent] = scattered
        return gx, gs

    def _product_shares(self, g, x, values, reached, coordinates):
        """g_p times the product of the other members, for the input's entries and the scattered ones."""
        zeros = np.where(self.include_self & (x == 0), 1, 0)
        np.add.at(zeros, coordinates, values == 0)
        nonzero_product = np.where(self.include_self & (x != 0), x, 1).astype(g.dtype)
        np.multiply.at(nonzero_product, coordinates, np.where(values != 0, values, 1))

        def share(member, z, product, gp):
            with np.errstate(divide="ignore", invalid="ignore"):
                others = np.where(member != 0, np.where(z == 0, product / member, 0), np.where(z == 1, product, 0))
            return gp * others

        own = share(x, zeros, nonzero_product, g)
        scattered = share(values, zeros[coordinates], nonzero_product[coordinates], g[coordinates])
        return own, scattered


def _scatter(op: str, input, dim: int, index, src, accumulate: bool):
    src, coordinates = _checked(op, input, dim, index, src)
    return Scatter.apply(input, src, coordinates=coordinates, accumulate=accumulate)


def _checked(op: str, input, dim: int, index, src) -> tuple:
    """``src`` as a tensor and the coordinates ``index`` reaches along ``dim``, after PyTorch's checks."""
    index = index_array(index, op)
    if index.dtype.kind == "b":
        raise DTypeError(f"{op}: index must be an integer tensor, got dtype bool")
    if index.ndim != input.ndim:
        raise ShapeError(
            f"{op}: index of shape {index.shape} must have as many dims as the input of shape {input.shape}"
        )
    axis = canonical_dim(dim, input.shape, op)
    if not isinstance(src, Tensor):
        src = Tensor(np.full(index.shape, src, dtype=input.dtype))
    too_large = any(k > n for i, (k, n) in enumerate(zip(index.shape, input.shape)) if i != axis)
    if too_large or any(k > n for k, n in zip(index.shape, src.shape)):
        raise ShapeError(
            f"{op}: index of shape {index.shape} exceeds src of shape {src.shape} or the input of shape "
            f"{input.shape} outside dim {axis}"
        )
    check_bounds(op, index, input.shape[axis], axis)
    return src, gather_coordinates(index, axis)


def scatter(input, dim: int, index, src=None, *, value=None):
    """A copy of ``input`` with ``src`` (a tensor, or the scalar ``value``) written where ``index`` points along
    ``dim``: out[index[i][j]][j] = src[i][j] for ``dim = 0``."""
    if (src is None) == (value is None):
        raise ValueError("scatter: give exactly one of src and value")
    return _scatter("scatter", input, dim, index, value if src is None else src, accumulate=False)


def scatter_add(input, dim: int, index, src):
    """A copy of ``input`` with ``src`` added where ``index`` points along ``dim`` (repeats accumulate)."""
    return _scatter("scatter_add", input, dim, index, src, accumulate=True)


def scatter_reduce(input, dim: int, index, src, reduce: str, *, include_self: bool = True):
    """A copy of ``input`` where each position ``index`` reaches along ``dim`` holds the ``reduce`` ("sum",
    "prod", "mean", "amax" or "amin") of the ``src`` entries sent there, and of its own entry unless
    ``include_self=False``; gradients in the module docstring."""
    if reduce not in REDUCTIONS:
        raise ValueError(f"scatter_reduce: reduce must be one of {sorted(REDUCTIONS)}, got {reduce!r}")
    src, coordinates = _checked("scatter_reduce", input, dim, index, src)
    return ScatterReduce.apply(input, src, coordinates=coordinates, reduce=reduce, include_self=include_self)


def masked_fill(input, mask, value):
    """``input`` with ``value`` where ``mask`` (boolean, broadcast to the input's shape) is true."""
    mask = mask.data if isinstance(mask, Tensor) else np.asarray(mask)
    if mask.dtype != bool:
        raise DTypeError(f"masked_fill: mask must be a boolean tensor, got dtype {mask.dtype}")
    if np.broadcast_shapes(mask.shape, input.shape) != input.shape:
        raise ShapeError(f"masked_fill: mask of shape {mask.shape} does not broadcast to the input's {input.shape}")
    return ar.where(mask, value, input)


def masked_select(input, mask):
    """The entries of ``input`` where ``mask`` is true, as a 1-d tensor (both broadcast to a common shape)."""
    mask = mask.data if isinstance(mask, Tensor) else np.asarray(mask)
    if mask.dtype != bool:
        raise DTypeError(f"masked_select: mask must be a boolean tensor, got dtype {mask.dtype}")
    try:
        shape = np.broadcast_shapes(mask.shape, input.shape)
    except ValueError:
        raise ShapeError(f"masked_select: mask of shape {mask.shape} and input of shape {input.shape}") from None
    expanded = input if input.shape == shape else broadcast_to(input, shape)
    return getitem(expanded, np.broadcast_to(mask, shape))


def nonzero(input, *, as_tuple: bool = False):
    """The coordinates of the non-zero entries: an (n, ndim) int64 tensor, or one 1-d tensor per dim."""
    data = input.data if isinstance(input, Tensor) else np.asarray(input)
    if as_tuple:
        return tuple(Tensor(axis.astype(np.int64)) for axis in np.nonzero(data))
    return Tensor(np.argwhere(data).astype(np.int64))


def one_hot(labels, num_classes: int = -1, dtype=np.int64):
    """``(..., num_classes)`` indicators of integer ``labels`` (``torch.nn.functional.one_hot``; int64 unless
    ``dtype`` says otherwise), a tensor for a tensor and an array for an array. ``num_classes=-1`` takes one more
    than the largest label."""
    array = labels.data if isinstance(labels, Tensor) else np.asarray(labels)
    if array.dtype.kind not in "iu":
        raise DTypeError(f"one_hot: labels must be integers, got dtype {array.dtype}")
    if array.size and array.min() < 0:
        raise ValueError(f"one_hot: labels must be non-negative, got {int(array.min())}")
    largest = int(array.max()) if array.size else -1
    if num_classes == -1:
        num_classes = largest + 1
    elif largest >= num_classes:
        raise ValueError(f"one_hot: label {largest} out of range for num_classes={num_classes}")
    indicators = np.eye(num_classes, dtype=dtype)[array]
    return Tensor(indicators) if isinstance(labels, Tensor) else indicators
