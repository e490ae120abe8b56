"""Rearranging entries: ``flip``, ``roll``, ``repeat``, ``repeat_interleave``, ``tril``, ``triu``, ``diagonal``,
``diag`` and ``meshgrid``, with PyTorch's semantics.

Each moves, copies or masks entries, a linear map whose adjoint sends every cotangent back to the entry it came
from. Most are built on indexing and selection nodes, whose backward does exactly that (copies accumulate);
``repeat`` (a tiling) has its own node, whose backward sums the tiles.
"""

from __future__ import annotations

import numpy as np

from neurones.autodiff.function import Function
from neurones.autodiff.tensor import Tensor
from neurones.errors import ShapeError
from neurones.ops import arithmetic as ar
from neurones.ops.dims import canonical_dim, canonical_dims
from neurones.ops.indexing import getitem, index_select
from neurones.ops.shape import expand, pad, permute, reshape


def flip(input, dims):
    """The entries in reverse order along each of ``dims`` (``()`` flips nothing, as in PyTorch)."""
    if isinstance(dims, (tuple, list)) and len(dims) == 0:
        return getitem(input, ())
    axes = canonical_dims(dims, input.shape, "flip")
    return getitem(input, tuple(slice(None, None, -1) if i in axes else slice(None) for i in range(input.ndim)))


def roll(input, shifts, dims=None):
    """Entries shifted cyclically by ``shifts`` along ``dims`` (the flattened tensor when ``dims`` is None)."""
    if dims is None:
        flat = reshape(input, -1)
        return reshape(roll(flat, shifts, 0), *input.shape)
    shifts = (shifts,) if isinstance(shifts, int) else tuple(shifts)
    dims = (dims,) if isinstance(dims, int) else tuple(dims)
    if len(shifts) != len(dims):
        raise ShapeError(f"roll: {len(shifts)} shifts for {len(dims)} dims")
    out = input
    for shift, dim in zip(shifts, dims):
        axis = canonical_dim(dim, input.shape, "roll")
        n = input.shape[axis]
        out = index_select(out, axis, (np.arange(n) - shift) % n) if n else out
    return out


class Repeat(Function):
    """y = x tiled ``repeats`` times along each dim (``torch.Tensor.repeat``, NumPy's ``tile``);
    ∂L/∂x = the sum of g over the tiles."""

    def forward(self, x, repeats):
        self.shape = x.shape
        return np.tile(x, repeats)

    def backward(self, g):
        lead = g.ndim - len(self.shape)  # dims that the extra leading repeat counts added
        g = g.sum(axis=tuple(range(lead))) if lead else g
        split = []  # each dim of g as (tiles, the input's size)
        for axis, n in enumerate(self.shape):
            split += [g.shape[axis] // n if n else 0, n]
        return (g.reshape(split).sum(axis=tuple(range(0, 2 * len(self.shape), 2))),)


def repeat(input, *sizes):
    """The tensor tiled ``sizes[k]`` times along dim k; extra leading sizes add dims (``Tensor.repeat``)."""
    sizes = tuple(sizes[0]) if len(sizes) == 1 and isinstance(sizes[0], (tuple, list)) else sizes
    if len(sizes) < input.ndim:
        raise ShapeError(f"repeat: {len(sizes)} repeat counts for a tensor of {input.ndim} dims (shape {input.shape})")
    if any(int(s) < 0 for s in sizes):
        raise ValueError(f"repeat: repeat counts must be non-negative, got {sizes}")
    return Repeat.apply(input, repeats=tuple(int(s) for s in sizes))


def repeat_interleave(input, repeats, dim=None):
    """Each entry repeated ``repeats`` times (an int, or one count per entry) along ``dim`` (flattened if None)."""
    if dim is None:
        input, dim = reshape(input, -1), 0
    axis = canonical_dim(dim, input.shape, "repeat_interleave")
    counts = repeats.data if isinstance(repeats, Tensor) else np.asarray(repeats)
    n = input.shape[axis]
    if counts.ndim == 0 or counts.size == 1:
        counts = np.full(n, int(counts.reshape(())))
    if counts.shape != (n,):
        raise ShapeError(f"repeat_interleave: {counts.size} repeat counts for dim {axis} of size {n}")
    return index_select(input, axis, np.repeat(np.arange(n), counts))


def _triangle(op: str, input, diagonal: int, keep):
    if input.ndim < 2:
        raise ShapeError(f"{op}: needs a tensor of at least 2 dims, got shape {input.shape}")
    rows, cols = input.shape[-2:]
    kept = keep(np.arange(cols)[None, :] - np.arange(rows)[:, None], diagonal)
    return ar.where(kept, input, 0)


def tril(input, diagonal: int = 0):
    """The lower triangle of the last two dims: entries (i, j) with j − i ≤ ``diagonal``; 0 elsewhere."""
    return _triangle("tril", input, diagonal, np.less_equal)


def triu(input, diagonal: int = 0):
    """The upper triangle of the last two dims: entries (i, j) with j − i ≥ ``diagonal``; 0 elsewhere."""
    return _triangle("triu", input, diagonal, np.greater_equal)


def diagonal(input, offset: int = 0, dim1: int = 0, dim2: int = 1):
    """The entries (i, i + offset) of dims ``dim1`` and ``dim2``, as a new last dim (``torch.diagonal``)."""
    return _diagonal(input, offset, dim1, dim2)


def _diagonal(input, offset: int, dim1: int, dim2: int):
    a, b = canonical_dim(dim1, input.shape, "diagonal"), canonical_dim(dim2, input.shape, "diagonal")
    if a == b:
        raise ShapeError(f"diagonal: dim1 and dim2 must differ, both are {a}")
    rest = [i for i in range(input.ndim) if i not in (a, b)]
    moved = permute(input, *rest, a, b)
    rows, cols = input.shape[a], input.shape[b]
    start_row, start_col = max(-offset, 0), max(offset, 0)
    length = max(0, min(rows - start_row, cols - start_col))
    steps = np.arange(length)
    return getitem(moved, (Ellipsis, steps + start_row, steps + start_col))


def diag(input, diagonal: int = 0):
    """A 1-d input placed on the ``diagonal``-th diagonal of a square matrix, or a matrix's diagonal as 1-d."""
    if input.ndim == 2:
        return _diagonal(input, diagonal, 0, 1)
    if input.ndim != 1:
        raise ShapeError(f"diag: needs a 1-d or 2-d tensor, got shape {input.shape}")
    n, k = input.shape[0], abs(diagonal)
    size = n + k
    padded = pad(input, (0, k))  # the diagonal's entries, then zeros to the matrix's size
    on_diagonal = np.arange(size)[None, :] - np.arange(size)[:, None] == diagonal
    along = reshape(padded, size, 1) if diagonal >= 0 else reshape(padded, 1, size)
    return ar.where(on_diagonal, expand(along, size, size), 0)


def meshgrid(*tensors, indexing: str = "ij") -> tuple:
    """Coordinate grids from 1-d tensors, as ``torch.meshgrid``: ``indexing="ij"`` (matrix) or ``"xy"``
    (Cartesian: the first two axes swapped)."""
    if len(tensors) == 1 and isinstance(tensors[0], (tuple, list)):
        tensors = tuple(tensors[0])
    if indexing not in ("ij", "xy"):
        raise ValueError(f"meshgrid: indexing must be 'ij' or 'xy', got {indexing!r}")
    if any(t.ndim > 1 for t in tensors):
        raise ShapeError(f"meshgrid: expects 0-d or 1-d tensors, got shapes {[t.shape for t in tensors]}")
    sizes = [max(t.numel(), 1) if t.ndim else 1 for t in tensors]
    order = list(range(len(tensors)))
    if indexing == "xy" and len(tensors) >= 2:
        order[0], order[1] = 1, 0
    shape = tuple(sizes[i] for i in order)
    grids = []
    for k, t in enumerate(tensors):
        position = order.index(k)
        view = [1] * len(tensors)
        view[position] = sizes[k]
        grids.append(expand(reshape(t, *view), *shape))
    return tuple(grids)
