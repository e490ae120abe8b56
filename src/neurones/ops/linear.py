"""Linear maps: the matrix product with NumPy/PyTorch semantics, and the affine layer ``x Wᵀ + b`` as one node.

``matmul`` follows ``numpy.matmul`` (and ``torch.matmul``): a 1-D left operand is a row vector and a 1-D right
operand a column vector (the added axis is removed from the result), and operands of 3 or more dimensions are
stacks of matrices whose leading (batch) axes broadcast. Its backward undoes each of these: the cotangent of a
broadcast batch axis is summed (:func:`~neurones.autodiff.function.unbroadcast`), that of a promoted vector
loses its added axis.

``linear`` is the affine map of every dense layer, fused into a single node: one GEMM forward, two GEMMs and a
column sum backward, whatever the number of leading axes of ``x``. Weights are shaped ``(out, in)`` as in PyTorch.
"""

from __future__ import annotations

import numpy as np

from neurones.autodiff.function import Function, unbroadcast
from neurones.autodiff.tensor import Tensor
from neurones.errors import ShapeError


class MatMul(Function):
    """y = a @ b.

    For matrices, ∂L/∂a = g bᵀ and ∂L/∂b = aᵀ g. Vectors are promoted to matrices (a: (n,) → (1, n),
    b: (n,) → (n, 1)) so that the same two products apply; stacked operands sum these products over the batch
    axes along which they were broadcast.
    """

    def forward(self, a, b):
        try:
            y = a @ b
        except ValueError:
            raise ShapeError(f"matmul: cannot multiply {a.shape} by {b.shape}") from None
        self.save_for_backward(a, b)
        return y

    def backward(self, g):
        a, b = self.saved
        pa, pb = self.parents
        if a.ndim == 2 and b.ndim == 2:  # the hot path of every dense layer: two GEMMs, nothing else
            return (g @ b.T if pa is not None else None, a.T @ g if pb is not None else None)
        return _batched_matmul_backward(g, a, b, pa is not None, pb is not None)


def _batched_matmul_backward(g, a, b, need_a: bool, need_b: bool) -> tuple:
    """The cotangents of ``a @ b`` when an operand is a vector or a stack of matrices."""
    a2 = a[None, :] if a.ndim == 1 else a
    b2 = b[:, None] if b.ndim == 1 else b
    # Restore the axes the promoted vectors lost from the result: b's column first, so that a 0-d cotangent
    # (vector · vector) has an axis for a's row to be inserted before.
    if b.ndim == 1:
        g = g[..., None]
    if a.ndim == 1:
        g = np.expand_dims(g, -2)
    ga = gb = None
    if need_a:
        ga = unbroadcast(g @ np.swapaxes(b2, -1, -2), a2.shape).reshape(a.shape)
    if need_b:
        if b2.ndim == 2 and a2.ndim > 2:
            # A matrix applied to a stack: Σ_batch a_iᵀ g_i is one GEMM over the stacked rows.
            k = a2.shape[-1]
            rows = np.broadcast_to(a2, g.shape[:-2] + a2.shape[-2:]).reshape(-1, k)
            gb = (rows.T @ g.reshape(-1, g.shape[-1])).reshape(b.shape)
        else:
            gb = unbroadcast(np.swapaxes(a2, -1, -2) @ g, b2.shape).reshape(b.shape)
    return ga, gb


class Linear(Function):
    """y = x Wᵀ + b for x of shape (..., in), W of shape (out, in), b of shape (out,).

    With X the rows of x stacked into a matrix (N, in) and G those of the cotangent (N, out):
    ∂L/∂x = G W,  ∂L/∂W = Gᵀ X,  ∂L/∂b = Σ_rows G.
    """

    def forward(self, x, weight, bias=None):
        if x.ndim == 2:
            y = x @ weight.T
        else:
            self.x_shape = x.shape
            x = x.reshape(-1, x.shape[-1])
            y = (x @ weight.T).reshape((*self.x_shape[:-1], weight.shape[0]))
        if bias is not None:
            y += bias  # y is a fresh product: adding in place saves an allocation
        self.save_for_backward(x, weight)
        return y

    def backward(self, g):
        x2, weight = self.saved
        parents = self.parents
        g2 = g if g.ndim == 2 else g.reshape(-1, g.shape[-1])
        gx = gw = None
        if parents[0] is not None:
            gx = g2 @ weight
            if g.ndim != 2:
                gx = gx.reshape(self.x_shape)
        if parents[1] is not None:
            gw = g2.T @ x2
        if len(parents) == 2:
            return gx, gw
        return gx, gw, (g2.sum(axis=0) if parents[2] is not None else None)


# ------------------------------------------------------------------------------------------------ public API
def _as_tensor(x, like: Tensor) -> Tensor:
    return x if isinstance(x, Tensor) else Tensor(np.asarray(x, dtype=like.data.dtype))


def matmul(a, b):
    """Matrix product with ``numpy.matmul`` semantics: vectors are promoted, batch axes broadcast."""
    if not isinstance(a, Tensor):
        a = _as_tensor(a, b)
    elif not isinstance(b, Tensor):
        b = _as_tensor(b, a)
    return MatMul.apply(a, b)


def mm(a, b):
    """Product of two matrices (both 2-D, as ``torch.mm`` requires)."""
    if a.ndim != 2 or b.ndim != 2:
        raise ShapeError(f"mm: expected two 2-D tensors, got shapes {tuple(a.shape)} and {tuple(b.shape)}")
    return matmul(a, b)


def linear(input, weight, bias=None):
    """The affine map ``input @ weight.T + bias`` of a dense layer, as one node.

    ``input`` has shape (..., in_features), ``weight`` (out_features, in_features), ``bias`` (out_features,)
    or None; the result has shape (..., out_features).
    """
    if not isinstance(input, Tensor):  # PyTorch's TypeError, rather than an AttributeError deep in the engine
        raise TypeError(f"linear: input must be a Tensor, got {type(input).__name__} (wrap arrays with nr.tensor)")
    x_shape, w_shape = input.shape, weight.shape
    if len(w_shape) != 2 or len(x_shape) == 0 or x_shape[-1] != w_shape[1]:
        raise ShapeError(f"linear: input of shape {x_shape} does not fit weight of shape {w_shape} (out, in)")
    if bias is None:
        return Linear.apply(input, weight)
    if bias.shape != (w_shape[0],):
        raise ShapeError(f"linear: bias of shape {bias.shape} does not fit weight of shape {w_shape}")
    return Linear.apply(input, weight, bias)
