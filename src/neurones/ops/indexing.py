"""Indexing: ``x[index]`` with NumPy's rules, ``gather`` and ``index_select`` with PyTorch's.

Forward is NumPy indexing itself. Backward writes the cotangent back at the positions the forward read, into
zeros of the input's shape:

* basic indexing (ints, slices, ``None``, ``Ellipsis``) and boolean masks read each position at most once, so a
  plain assignment ``∂L/∂x[index] = g`` is exact;
* integer-array indexing may read a position several times (``x[[0, 0, 1]]``); the cotangents of the repeats are
  summed (:func:`scatter_add`).
"""

from __future__ import annotations

import math

import numpy as np

from neurones.autodiff.function import Function
from neurones.autodiff.tensor import Tensor
from neurones.errors import DTypeError, ShapeError
from neurones.ops.dims import canonical_dim

# Above this fraction of selected entries per input entry, one ``bincount`` pass over the whole input beats
# ``np.add.at``, whose cost per added element is several times higher (measured: 3× for embedding rows).
_BINCOUNT_FRACTION = 0.25


def scatter_add(shape: tuple, index, g: np.ndarray) -> np.ndarray:
    """A new array of zeros of ``shape`` in which ``g`` is added at the positions ``x[index]`` reads.

    Positions read more than once receive the sum of their cotangents: ∂L/∂xⱼ = Σ_{k : index(k) = j} g_k.
    """
    size = math.prod(shape)
    if g.size >= _BINCOUNT_FRACTION * size:
        positions = np.arange(size).reshape(shape)[index]
        summed = np.bincount(positions.ravel(), weights=g.ravel(), minlength=size)
        return summed.reshape(shape).astype(g.dtype, copy=False)
    out = np.zeros(shape, g.dtype)
    np.add.at(out, index, g)
    return out


class BasicIndex(Function):
    """y = x[index] for ints, slices, ``None`` and ``Ellipsis`` (a view of x);  ∂L/∂x = g at the read positions,
    0 elsewhere."""

    def forward(self, x, index):
        if self.parents is not None:
            self.shape, self.index = x.shape, index
        return x[index]

    def backward(self, g):
        grad = np.zeros(self.shape, g.dtype)
        grad[self.index] = g
        return (grad,)


class AdvancedIndex(Function):
    """y = x[index] with integer arrays or boolean masks in the index (a copy);  ∂L/∂x = g summed back at the
    read positions (repeated positions accumulate), 0 elsewhere. ``unique`` says no position is read twice."""

    def forward(self, x, index, unique):
        if self.parents is not None:
            self.shape, self.unique = x.shape, unique
            self.save_for_backward(*index)  # index arrays may be the user's: a later write to them must be seen
        return x[index]

    def backward(self, g):
        index = self.saved
        if not self.unique:
            return (scatter_add(self.shape, index, g),)
        grad = np.zeros(self.shape, g.dtype)
        grad[index] = g
        return (grad,)


class Gather(AdvancedIndex):
    """y[i…] = x[i…] with the coordinate along ``dim`` replaced by index[i…] (``torch.gather``);
    ∂L/∂x = g summed back at the gathered positions."""


def index_array(item, op: str) -> np.ndarray:
    array = item.data if isinstance(item, Tensor) else np.asarray(item)
    if array.dtype.kind not in "iub":
        raise DTypeError(f"{op}: indices must be integers or booleans, got dtype {array.dtype}")
    return array


def _is_basic(item) -> bool:
    return (
        item is None
        or item is Ellipsis
        or isinstance(item, slice)
        or (isinstance(item, (int, np.integer)) and not isinstance(item, (bool, np.bool_)))
    )


def _is_integer(item) -> bool:
    return isinstance(item, (int, np.integer)) and not isinstance(item, (bool, np.bool_))


def _selection_steps(item) -> tuple:
    """What ``item`` contributes to the integer-selection step: the integer itself, full slices over the axes it
    consumes otherwise (a boolean mask consumes one axis per dim)."""
    if _is_integer(item) or item is Ellipsis:
        return (item,)
    if isinstance(item, np.ndarray) and item.dtype.kind == "b":
        return (slice(None),) * item.ndim
    return (slice(None),)


def getitem(x, index):
    """``x[index]`` with NumPy's indexing rules; tensors in the index act as arrays (int or bool)."""
    items = index if isinstance(index, tuple) else (index,)
    if all(_is_basic(item) for item in items):
        return BasicIndex.apply(x, index=items)
    items = tuple(item if _is_basic(item) else index_array(item, "getitem") for item in items)
    if any(_is_integer(item) for item in items):
        # PyTorch selects with integer scalars first (basic indexing), then applies the arrays to what is left;
        # NumPy counts an integer as an advanced index, which moves the indexed axes to the front when a slice
        # separates it from an array (x[1, :, d] has shape d.shape + (…) in NumPy, (…, d.shape) in PyTorch).
        selection = [step for item in items if item is not None for step in _selection_steps(item)]
        selected = BasicIndex.apply(x, index=tuple(selection))
        items = tuple(item for item in items if not _is_integer(item))
        return getitem(selected, items)
    integer_arrays = [item for item in items if isinstance(item, np.ndarray) and item.dtype.kind != "b"]
    unique = all(array.size <= 1 for array in integer_arrays)
    return AdvancedIndex.apply(x, index=items, unique=unique)


def check_bounds(op: str, index: np.ndarray, size: int, dim: int) -> None:
    """PyTorch refuses negative or too-large indices where NumPy would wrap or fail without naming the op."""
    if index.size and (index.min() < 0 or index.max() >= size):
        bad = index.min() if index.min() < 0 else index.max()
        raise IndexError(f"{op}: index {bad} is out of bounds for dim {dim} with size {size}")


def gather(x, dim: int, index):
    """``out[i][j][k] = x[index[i][j][k]][j][k]`` for ``dim = 0`` (and likewise for other dims).

    ``index`` has as many dims as ``x`` and, on every other dim, a size no larger than ``x``'s.
    """
    index = index_array(index, "gather")
    if index.dtype.kind == "b":
        raise DTypeError("gather: index must be an integer tensor, got dtype bool")
    if index.ndim != x.ndim:
        raise ShapeError(f"gather: index of shape {index.shape} must have as many dims as the input of shape {x.shape}")
    axis = canonical_dim(dim, x.shape, "gather")
    if any(k > n for i, (k, n) in enumerate(zip(index.shape, x.shape)) if i != axis):
        raise ShapeError(
            f"gather: index of shape {index.shape} is larger than the input of shape {x.shape} outside dim {axis}"
        )
    if x.ndim == 0:
        check_bounds("gather", index, 1, axis)
        return BasicIndex.apply(x, index=())
    check_bounds("gather", index, x.shape[axis], axis)
    return Gather.apply(x, index=gather_coordinates(index, axis), unique=index.shape[axis] <= 1)


def gather_coordinates(index: np.ndarray, axis: int) -> tuple:
    """The advanced index that ``gather`` (and ``scatter``, its adjoint) reads: position (i, j, …) of ``index``
    addresses the entry whose coordinate along ``axis`` is ``index[i, j, …]`` and whose others are (i, j, …)."""
    return tuple(
        index if i == axis else np.arange(k).reshape([k if j == i else 1 for j in range(index.ndim)])
        for i, k in enumerate(index.shape)
    )


def index_select(x, dim: int, index):
    """The entries of ``x`` at positions ``index`` (1-d, integers) along ``dim``."""
    index = index_array(index, "index_select")
    if index.ndim > 1 or index.dtype.kind == "b":
        raise ShapeError(f"index_select: index must be a 1-d integer tensor, got shape {index.shape} {index.dtype}")
    axis = canonical_dim(dim, x.shape, "index_select")
    size = x.shape[axis] if x.ndim else 1
    check_bounds("index_select", index, size, axis)
    if x.ndim == 0:  # PyTorch treats a 0-d input as having one entry along dim 0
        x = BasicIndex.apply(x, index=(None,))
    items = (slice(None),) * axis + (index,)
    return AdvancedIndex.apply(x, index=items, unique=index.size <= 1)
