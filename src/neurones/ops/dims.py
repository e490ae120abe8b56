"""PyTorch's conventions for ``dim`` arguments, shared by the reduction, shape and indexing ops.

A ``dim`` counts from the front (``0``) or from the back (``-1`` is the last axis). A 0-d tensor accepts ``0`` and
``-1`` as PyTorch does (there is nothing to reduce or select: the op acts on the one element). Reductions also take
a tuple of dims, or ``None`` (and, as in PyTorch, the empty tuple) for all of them.
"""

from __future__ import annotations

import numpy as np

from neurones.errors import DimError, ShapeError


def canonical_dim(dim, shape: tuple, op: str, extra: int = 0) -> int:
    """``dim`` as a non-negative axis of an array of ``shape``.

    ``extra = 1`` is for ops that insert an axis (``unsqueeze``, ``stack``): ``dim`` may then also name the
    position after the last axis.
    """
    if isinstance(dim, bool) or not isinstance(dim, (int, np.integer)):
        raise TypeError(f"{op}: dim must be an integer, got {dim!r}")
    count = len(shape) + extra
    bound = count if count > 0 else 1
    if not -bound <= dim < bound:
        raise DimError(
            f"{op}: dim {dim} is out of range for a tensor of shape {shape} (expected a dim in [{-bound}, {bound - 1}])"
        )
    return int(dim) % bound if count > 0 else 0


def canonical_dims(dim, shape: tuple, op: str) -> tuple:
    """The sorted axes named by ``dim`` (an int, a sequence of ints, or ``None``/``()`` for all axes)."""
    if dim is None or (isinstance(dim, (tuple, list)) and len(dim) == 0):
        return tuple(range(len(shape)))
    if not isinstance(dim, (tuple, list)):
        dim = (dim,)
    axes = [canonical_dim(d, shape, op) for d in dim]
    if len(set(axes)) != len(axes):
        raise ShapeError(f"{op}: dim {tuple(dim)} names an axis more than once (tensor of shape {shape})")
    if not shape:  # a 0-d tensor: dims 0 and -1 are accepted, and there is no axis to reduce
        return ()
    return tuple(sorted(axes))


def kept_shape(shape: tuple, axes: tuple) -> tuple:
    """``shape`` with the reduced ``axes`` set to 1: the shape of a reduction with ``keepdim=True``."""
    return tuple(1 if i in axes else n for i, n in enumerate(shape))
