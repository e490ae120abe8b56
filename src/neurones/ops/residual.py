"""Fused residual blocks: one graph node for h ↦ h + α V σ(W h).

Deep residual networks of the theory ("Facteur de régulation des ResNets profonds", Table 2.1) have hundreds
or thousands of narrow blocks. As a chain of primitive nodes a block costs five nodes (two products, the
activation, the scaling, the sum); fused, it costs one, and the backward is four matrix products written once:

    u = h Wᵀ,   r = σ(u),   y = h + α r Vᵀ                      (rows of h are examples)

    ∂L/∂V = α gᵀ r,   δ = α (g V) ⊙ σ′(u),   ∂L/∂W = δᵀ h,   ∂L/∂h = g + δ W

For ``res-1`` there is no inner matrix (u = h, so ∂L/∂h = g + δ). With an inner matrix the block may be
rectangular, V ∈ R^{q×m} and W ∈ R^{m×q} (the two-layer-perceptron residuals of the neural-ODE papers).
Supported σ: ``relu`` (σ′(0) = 0), ``leaky_relu`` (slope ``negative_slope`` for u < 0, 1 for u > 0, and
``negative_slope`` at 0 as in PyTorch), ``tanh``, ``sigmoid``, ``gelu`` (u Φ(u), σ′(u) = Φ(u) + u φ(u), smooth) and
``identity``: the block runs the same σ and σ′ as the activation nodes (``ops.activations.KERNELS``).
"""

from __future__ import annotations

import numpy as np

from neurones.autodiff.function import Function
from neurones.errors import ShapeError
from neurones.ops.activations import KERNELS

ACTIVATIONS = tuple(KERNELS)
SMALL_WEIGHT = 128 * 128


def _transposed(M: np.ndarray) -> np.ndarray:
    """Mᵀ for ``x @ Mᵀ``: a contiguous copy when M is small, a view otherwise.

    OpenBLAS multiplies small matrices by a transposed operand about 1.5× slower than by a contiguous one (64×64
    float32: 8.7 µs against 5.6 µs), more than the 1.6 µs the copy costs; from about 128×128 on the copy costs more
    than it saves (measured in benchmarks/, deep narrow ResNet workload).
    """
    return np.ascontiguousarray(M.T) if M.size <= SMALL_WEIGHT else M.T


def _check_shapes(h: np.ndarray, V: np.ndarray, W: np.ndarray | None) -> None:
    if W is None:
        fits = h.ndim == 2 and V.shape == (h.shape[1], h.shape[1])
        expected = "h (N, q) and V (q, q)"
    else:
        fits = h.ndim == 2 and V.ndim == 2 and W.shape == (V.shape[1], h.shape[1]) and V.shape[0] == h.shape[1]
        expected = "h (N, q), V (q, m) and W (m, q)"
    if not fits:
        shapes = f"h {h.shape}, V {V.shape}" + ("" if W is None else f", W {W.shape}")
        raise ShapeError(f"residual_block: needs {expected}, got {shapes}")


class ResidualBlock(Function):
    """y = h + α V σ(W h) (``W`` given) or y = h + α V σ(h) (``W`` is None: the res-1 block)."""

    def forward(self, h, V, W=None, *, alpha, activation, negative_slope):
        _check_shapes(h, V, W)
        self.alpha, self.activation = alpha, activation
        self.slope = (negative_slope,) if activation == "leaky_relu" else ()
        u = h @ _transposed(W) if W is not None else h.copy()
        r, needs = KERNELS[activation].forward(u, *self.slope, in_place=True)  # u is a fresh product: overwrite it
        y = r @ _transposed(V)
        y *= alpha
        y += h
        self.save_for_backward(h, V, W, r, *needs)
        return y

    def backward(self, g):
        parents = self.parents
        h, V, W, r, *needs = self.saved
        ga = g * self.alpha
        grad_V = ga.T @ r if parents[1] is not None else None
        delta = KERNELS[self.activation].times_derivative(ga @ V, *needs, *self.slope, in_place=True)
        if W is None:
            grad_h = delta
            grad_h += g
            return grad_h, grad_V
        grad_W = delta.T @ h if parents[2] is not None else None
        grad_h = None
        if parents[0] is not None:
            grad_h = delta @ W
            grad_h += g
        return grad_h, grad_V, grad_W


def residual_block(h, V, W=None, alpha: float = 1.0, activation: str = "relu", negative_slope: float = 0.01):
    """One fused residual block ``h + alpha · V σ(W h)`` on a batch ``h`` of shape (N, d).

    ``W=None`` gives the res-1 block ``h + alpha · V σ(h)`` (V square); otherwise V is (q, m) and W is (m, q).
    ``activation`` is one of ``relu``, ``leaky_relu``, ``tanh``, ``gelu``, ``identity``.
    """
    if activation not in ACTIVATIONS:
        raise ValueError(f"residual_block: activation must be one of {ACTIVATIONS}, got {activation!r}")
    params = {"alpha": float(alpha), "activation": activation, "negative_slope": float(negative_slope)}
    if W is None:
        return ResidualBlock.apply(h, V, **params)
    return ResidualBlock.apply(h, V, W, **params)
