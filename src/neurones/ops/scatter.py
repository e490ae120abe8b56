"""Writing at positions: ``scatter``, ``scatter_add`` (the adjoints of ``gather``), ``masked_fill``,
``masked_select``, ``nonzero`` and ``one_hot``, with PyTorch's signatures.

For ``dim = 0``, ``scatter`` writes out[index[i][j]][j] = src[i][j] into a copy of the input, and ``scatter_add``
adds it. Their derivatives read back what was written: ∂L/∂src[i][j] = g[index[i][j]][j] (a gather), and
∂L/∂input = g, except at the positions ``scatter`` overwrote, where it is 0. When ``index`` repeats a position,
``scatter`` keeps the last write (PyTorch leaves the choice undefined) and its gradient goes to that write only.
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


def _scatter(op: str, input, dim: int, index, src, accumulate: bool):
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
    return Scatter.apply(input, src, coordinates=gather_coordinates(index, axis), accumulate=accumulate)


def scatter(input, dim: int, index, src=None, *, value=None):
    """A copy of ``input`` with ``src`` (a tensor, or the scalar ``value``) written where ``index`` points along
    ``dim``: out[index[i][j]][j] = src[i][j] for ``dim = 0``."""
    if (src is None) == (value is None):
        raise ValueError("scatter: give exactly one of src and value")
    return _scatter("scatter", input, dim, index, value if src is None else src, accumulate=False)


def scatter_add(input, dim: int, index, src):
    """A copy of ``input`` with ``src`` added where ``index`` points along ``dim`` (repeats accumulate)."""
    return _scatter("scatter_add", input, dim, index, src, accumulate=True)


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
