"""Fused residual blocks: one graph node for h ↦ h + α V σ(W h).

Deep residual networks of the theory ("Facteur de régulation des ResNets profonds", Table 2.1) have hundreds
or thousands of narrow blocks. As a chain of primitive nodes a block costs five nodes (two products, the
activation, the scaling, the sum); fused, it costs one, and the backward is four matrix products written once:

    u = h Wᵀ,   r = σ(u),   y = h + α r Vᵀ                      (rows of h are examples)

    ∂L/∂V = α gᵀ r,   δ = α (g V) ⊙ σ′(u),   ∂L/∂W = δᵀ h,   ∂L/∂h = g + δ W

For ``res-1`` there is no inner matrix (u = h, so ∂L/∂h = g + δ). With an inner matrix the block may be
rectangular, V ∈ R^{q×m} and W ∈ R^{m×q} (the two-layer-perceptron residuals of the neural-ODE papers).
Supported σ: ``relu`` (σ′(0) = 0), ``leaky_relu`` (slope ``negative_slope`` for u < 0, 1 for u > 0, and
``negative_slope`` at 0 as in PyTorch), ``tanh``, ``gelu`` (u Φ(u), σ′(u) = Φ(u) + u φ(u), smooth) and
``identity``.
"""

from __future__ import annotations

import numpy as np

from neurones.autodiff.function import Function
from neurones.errors import ShapeError
from neurones.ops.activations import gelu_slope, normal_cdf, shared_zeros_like

ACTIVATIONS = ("relu", "leaky_relu", "tanh", "gelu", "identity")


def _gelu_parts(u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(Φ(u), u Φ(u)): the backward needs Φ(u) again, and erf is the costly part of GELU."""
    cdf = normal_cdf(u)
    return cdf, u * cdf


def _activate(u: np.ndarray, activation: str, negative_slope: float) -> np.ndarray:
    """σ(u), computed in place into ``u`` (a fresh product nobody else holds); GELU returns a new array."""
    if activation == "gelu":
        return _gelu_parts(u)[1]
    if activation == "relu":
        return np.maximum(u, shared_zeros_like(u), out=u)  # array–array: NumPy's vectorized loop (2.3 → 0.9 µs)
    if activation == "leaky_relu":
        return np.where(u > 0, u, u * negative_slope).astype(u.dtype, copy=False)
    if activation == "tanh":
        return np.tanh(u, out=u)
    return u


def activation_function(activation: str, negative_slope: float = 0.01):
    """σ as a plain function of arrays (a fresh result; the argument is left alone), for code outside the graph."""
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {ACTIVATIONS}, got {activation!r}")
    return lambda u: _activate(np.array(u, copy=True), activation, negative_slope)


def _times_derivative(d: np.ndarray, r: np.ndarray, activation: str, negative_slope: float,
                      gelu_parts: tuple[np.ndarray, np.ndarray] | None) -> np.ndarray:
    """δ ⊙ σ′(u), in place into ``d``; through r = σ(u) where σ′ can be read from it, through (u, Φ(u)) for GELU."""
    if activation == "gelu":
        return np.multiply(d, gelu_slope(*gelu_parts), out=d)
    if activation == "relu":
        return np.multiply(d, np.greater(r, shared_zeros_like(r)), out=d)
    if activation == "leaky_relu":
        return np.multiply(d, np.where(r > 0, 1.0, negative_slope).astype(d.dtype), out=d)
    if activation == "tanh":
        return np.multiply(d, 1 - r * r, out=d)
    return d


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
        u = h @ _transposed(W) if W is not None else h.copy()
        if activation == "gelu":
            cdf, r = _gelu_parts(u)
        else:
            r = _activate(u, activation, negative_slope)
            u = cdf = None
        y = r @ _transposed(V)
        y *= alpha
        y += h
        self.save_for_backward(h, V, W, r, u, cdf)
        self.alpha, self.activation, self.negative_slope = alpha, activation, negative_slope
        return y

    def backward(self, g):
        parents = self.parents
        h, V, W, r, u, cdf = self.saved
        ga = g * self.alpha
        grad_V = ga.T @ r if parents[1] is not None else None
        gelu_parts = None if u is None else (u, cdf)
        delta = _times_derivative(ga @ V, r, self.activation, self.negative_slope, gelu_parts)
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
