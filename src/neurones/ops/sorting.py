"""Sorting: ``sort``, ``argsort`` and ``topk``, with PyTorch's signatures.

The values are a permutation (or a selection) of the input, read by ``gather``: the cotangent of each value goes
back to the entry it came from. Ties are ordered stably (by position); PyTorch's order of tied entries is
unspecified, so its indices may differ there while the values agree.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from neurones.autodiff.tensor import Tensor
from neurones.errors import ShapeError
from neurones.ops.dims import canonical_dim
from neurones.ops.indexing import gather


class ValuesIndices(NamedTuple):
    """What ``sort`` and ``topk`` return, as ``torch.return_types.sort``: values and their indices."""

    values: Tensor
    indices: Tensor


def _order(data: np.ndarray, axis: int, descending: bool) -> np.ndarray:
    if descending:
        # Stable descending order: reverse-sort the negated keys would break ties backwards, so sort the flipped
        # array stably and map the positions back.
        flipped = np.flip(data, axis)
        order = np.argsort(flipped, axis=axis, kind="stable")
        order = data.shape[axis] - 1 - np.flip(order, axis)
        return order
    return np.argsort(data, axis=axis, kind="stable")


def argsort(input, dim: int = -1, descending: bool = False, stable: bool = False) -> Tensor:
    """The indices that sort ``input`` along ``dim`` (an int64 tensor; ties by position)."""
    if input.ndim == 0:
        return Tensor(np.zeros((), np.int64))
    axis = canonical_dim(dim, input.shape, "argsort")
    return Tensor(_order(input.data, axis, descending).astype(np.int64))


def sort(input, dim: int = -1, descending: bool = False, stable: bool = False) -> ValuesIndices:
    """``(values, indices)``: ``input`` sorted along ``dim``, and where each value came from."""
    indices = argsort(input, dim, descending)
    if input.ndim == 0:
        return ValuesIndices(input.clone(), indices)
    return ValuesIndices(gather(input, dim, indices), indices)


def topk(input, k: int, dim: int = -1, largest: bool = True, sorted: bool = True) -> ValuesIndices:
    """The ``k`` largest (or smallest) entries along ``dim``, in order, and their indices."""
    axis = canonical_dim(dim, input.shape, "topk")
    size = input.shape[axis] if input.ndim else 1
    if not 0 <= k <= size:
        raise ShapeError(f"topk: k = {k} is out of range for dim {axis} of size {size} (shape {input.shape})")
    order = argsort(input, axis, descending=largest)
    if input.ndim == 0:
        return ValuesIndices(input.clone(), order)
    indices = Tensor(np.take(order.data, np.arange(k), axis=axis))
    return ValuesIndices(gather(input, axis, indices), indices)
