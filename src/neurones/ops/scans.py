"""Cumulative sums, products, extrema and log-sum-exps along one dim: ``cumsum``, ``cumprod``, ``cummax``,
``cummin`` and ``logcumsumexp``.

* y_k = Σ_{i≤k} x_i:  ∂L/∂x_i = Σ_{k≥i} g_k, the cumulative sum of g taken from the end.
* y_k = Π_{i≤k} x_i:  ∂L/∂x_i = Σ_{k≥i} g_k Π_{j≤k, j≠i} x_j = (Π_{j<i} x_j) · r_i, with r_i = Σ_{k≥i} g_k Π_{i<j≤k} x_j
  computed from the end by r_i = g_i + x_{i+1} r_{i+1}. Nothing is divided by x, so the gradient is exact where
  entries are 0 (as PyTorch's).
* y_k = max_{i≤k} x_i, with the index of the latest maximum (ties go to the later entry, as in PyTorch):
  ∂L/∂x_i = Σ_{k: index_k = i} g_k.
* y_k = log Σ_{i≤k} e^{x_i}:  ∂L/∂x_i = Σ_{k≥i} g_k e^{x_i − y_k}, a cumulative sum from the end taken in the log
  domain (positive and negative parts of g apart), so that nothing overflows.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from neurones.autodiff.function import Function
from neurones.autodiff.tensor import Tensor, _wrap
from neurones.ops.dims import canonical_dim
from neurones.ops.indexing import gather_coordinates
from neurones.ops.shape import reshape


class CumSum(Function):
    """y = cumulative sum along ``axis``;  ∂L/∂x = the cumulative sum of g from the end."""

    def forward(self, x, axis):
        self.axis = axis
        return np.cumsum(x, axis=axis)

    def backward(self, g):
        reverse = np.flip(g, self.axis)
        return (np.flip(np.cumsum(reverse, axis=self.axis), self.axis).copy(),)


class CumProd(Function):
    """y = cumulative product along ``axis``; ∂L/∂x from prefix products and a scan from the end (module doc)."""

    def forward(self, x, axis):
        self.axis = axis
        self.save_for_backward(x)
        return np.cumprod(x, axis=axis)

    def backward(self, g):
        (x,) = self.saved
        if x.shape[self.axis] == 0:  # an empty axis: nothing to differentiate
            return (np.zeros_like(x, dtype=g.dtype),)
        x, g = np.moveaxis(x, self.axis, -1), np.moveaxis(g, self.axis, -1)
        before = np.ones_like(x)  # Π_{j<i} x_j
        np.cumprod(x[..., :-1], axis=-1, out=before[..., 1:])
        r = np.empty(np.broadcast_shapes(x.shape, g.shape), np.result_type(x, g))
        r[..., -1] = g[..., -1]
        for i in range(x.shape[-1] - 2, -1, -1):
            r[..., i] = g[..., i] + x[..., i + 1] * r[..., i + 1]
        return (np.moveaxis(before * r, -1, self.axis),)


class CumExtremum(Function):
    """y = running maximum (or minimum) along ``axis``, read at ``indices`` (where each y_k was last reached);
    the cotangent g_k goes back to x at index_k."""

    def forward(self, x, axis, indices):
        self.axis, self.shape = axis, x.shape
        self.save_for_backward(indices)
        return np.take_along_axis(x, indices, axis=axis)

    def backward(self, g):
        (indices,) = self.saved
        grad = np.zeros(self.shape, g.dtype)
        np.add.at(grad, gather_coordinates(indices, self.axis), g)  # scatter_add, the adjoint of the gather
        return (grad,)


class LogCumSumExp(Function):
    """y_k = log Σ_{i≤k} e^{x_i} along ``axis``;  ∂L/∂x_i = Σ_{k≥i} g_k e^{x_i − y_k} (module doc)."""

    def forward(self, x, axis):
        self.axis = axis
        y = np.logaddexp.accumulate(x, axis=axis)
        self.save_for_backward(x, y)
        return y

    def backward(self, g):
        x, y = self.saved
        grad = np.zeros(np.broadcast_shapes(x.shape, g.shape), np.result_type(x, g))
        with np.errstate(divide="ignore"):
            for sign in (1, -1):
                part = np.log(np.maximum(sign * g, 0)) - y  # log of g⁺ (or g⁻) e^{−y}, −∞ where it is 0
                from_end = np.flip(np.logaddexp.accumulate(np.flip(part, self.axis), axis=self.axis), self.axis)
                grad += sign * np.exp(x + from_end)
        return (grad,)


def _scan(node, op: str, input, dim: int):
    axis = canonical_dim(dim, input.shape, op)
    if input.ndim == 0:  # a 0-d tensor is its own cumulative sum or product
        return reshape(node.apply(reshape(input, 1), axis=0), ())
    return node.apply(input, axis=axis)


def cumsum(input, dim: int):
    """y_k = Σ_{i≤k} x_i along ``dim``."""
    return _scan(CumSum, "cumsum", input, dim)


def cumprod(input, dim: int):
    """y_k = Π_{i≤k} x_i along ``dim``."""
    return _scan(CumProd, "cumprod", input, dim)


class ValuesIndices(NamedTuple):
    """What ``cummax`` and ``cummin`` return, as ``torch.return_types.cummax``: values and their indices."""

    values: Tensor
    indices: Tensor


def _extremum_scan(op: str, accumulate, input, dim: int) -> ValuesIndices:
    axis = canonical_dim(dim, input.shape, op)
    if input.ndim == 0:  # a 0-d tensor is its own running extremum, reached at index 0
        values, indices = _extremum_scan(op, accumulate, reshape(input, 1), 0)
        return ValuesIndices(reshape(values, ()), reshape(indices, ()))
    x = input.data
    running = accumulate.accumulate(x, axis=axis)
    positions = np.arange(x.shape[axis]).reshape([-1 if a == axis else 1 for a in range(x.ndim)])
    # an entry equal to the running extremum is where it was last reached (ties go to the later entry)
    indices = np.maximum.accumulate(np.where(x == running, positions, 0), axis=axis).astype(np.int64)
    return ValuesIndices(CumExtremum.apply(input, axis=axis, indices=indices), _wrap(indices))


def cummax(input, dim: int) -> ValuesIndices:
    """(y, indices): y_k = max_{i≤k} x_i along ``dim`` and the index where it was last reached."""
    return _extremum_scan("cummax", np.maximum, input, dim)


def cummin(input, dim: int) -> ValuesIndices:
    """(y, indices): y_k = min_{i≤k} x_i along ``dim`` and the index where it was last reached."""
    return _extremum_scan("cummin", np.minimum, input, dim)


def logcumsumexp(input, dim: int):
    """y_k = log Σ_{i≤k} e^{x_i} along ``dim``, without overflow."""
    return _scan(LogCumSumExp, "logcumsumexp", input, dim)
