"""Cumulative sums and products along one dim: ``cumsum`` and ``cumprod``.

* y_k = Σ_{i≤k} x_i:  ∂L/∂x_i = Σ_{k≥i} g_k, the cumulative sum of g taken from the end.
* y_k = Π_{i≤k} x_i:  ∂L/∂x_i = Σ_{k≥i} g_k Π_{j≤k, j≠i} x_j = (Π_{j<i} x_j) · r_i, with r_i = Σ_{k≥i} g_k Π_{i<j≤k} x_j
  computed from the end by r_i = g_i + x_{i+1} r_{i+1}. Nothing is divided by x, so the gradient is exact where
  entries are 0 (as PyTorch's).
"""

from __future__ import annotations

import numpy as np

from neurones.autodiff.function import Function
from neurones.ops.dims import canonical_dim
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
        x, g = np.moveaxis(x, self.axis, -1), np.moveaxis(g, self.axis, -1)
        before = np.ones_like(x)  # Π_{j<i} x_j
        np.cumprod(x[..., :-1], axis=-1, out=before[..., 1:])
        r = np.empty(np.broadcast_shapes(x.shape, g.shape), np.result_type(x, g))
        r[..., -1] = g[..., -1]
        for i in range(x.shape[-1] - 2, -1, -1):
            r[..., i] = g[..., i] + x[..., i + 1] * r[..., i + 1]
        return (np.moveaxis(before * r, -1, self.axis),)


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
