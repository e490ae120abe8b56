r"""Constructions of approximation theory as networks: exact ReLU interpolants, Rolnick & Tegmark's multiplication
gate and product tree, and the best uniform polynomial approximation to compare them with.

**ReLU interpolation** ("Mise en œuvre de Neurones", §IV). A continuous piecewise-affine function on [−M, M] with
knots −M = a₀ < a₁ < … < a_p = M, values v_k and slopes s_k = (v_k − v_{k−1})/(a_k − a_{k−1}) is exactly

    f(x) = f(−M) + s₁(x + M)₊ + Σ_{k=1}^{p−1} (s_{k+1} − s_k)(x − a_k)₊,

and the constant is itself made of two units, (x + M)₊ + (−x + M)₊ = 2M on [−M, M]; so one hidden layer of p + 1
ReLU units (at most p + 2, as the notes count) represents it with no output bias (:func:`relu_interpolant`).

**Multiplication from four neurons** (Rolnick & Tegmark 2018, the construction behind Theorem 2 of "Théorie de
l'Apprentissage par Réseaux de Neurones" §3). For σ with σ″(0) ≠ 0, σ(u) + σ(−u) = 2σ(0) + σ″(0)u² + O(u⁴), so

    xy ≈ [σ(λ(x+y)) + σ(−λ(x+y)) − σ(λ(x−y)) − σ(−λ(x−y))] / (4λ²σ″(0)),

with an error O(λ²) as λ → 0 (:func:`multiplication_gate`). A binary tree of gates computes x₁⋯x_n with 4(n − 1)
neurons plus, at levels with an odd count, a pass-through of two neurons, exact for the activations with
σ(u) − σ(−u) = u (softplus, GELU) (:func:`product_tree`).

**Best polynomial approximation**: min over polynomials p of degree ≤ k of max_{x ∈ grid} |f(x) − p(x)|, a linear
program in (coefficients, t) solved by SciPy's HiGHS (:func:`best_uniform_polynomial_error`; :func:`best_uniform_fit`
for any basis, such as the hidden units of a network).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from scipy import optimize

from neurones.nn.activation import GELU, ReLU, Softplus
from neurones.nn.containers import Sequential
from neurones.nn.linear import Linear
from neurones.nn.module import Module

GATE_ACTIVATIONS = {"softplus": (Softplus, 0.25), "gelu": (GELU, 2 / math.sqrt(2 * math.pi))}
"""The activations of :func:`multiplication_gate`, with σ″(0): softplus″(0) = ¼, GELU″(0) = 2φ(0) = √(2/π). Both
satisfy σ(u) − σ(−u) = u, which the product tree's pass-through uses."""


def _dense(weight: np.ndarray, bias: np.ndarray | None, dtype) -> Linear:
    layer = Linear(weight.shape[1], weight.shape[0], bias=bias is not None, dtype=dtype)
    layer.weight.data[...] = weight
    if bias is not None:
        layer.bias.data[...] = bias
    return layer


def relu_interpolant(knots, values, dtype=np.float64) -> Sequential:
    """``Linear(1, m) – ReLU – Linear(m, 1)`` computing the continuous piecewise-affine interpolant of (knots,
    values) exactly on [knots[0], knots[-1]] = [−M, M] (a symmetric interval; m = p + 1 for p pieces), by the
    construction of the module docstring."""
    a = np.asarray(knots, dtype=np.float64)
    v = np.asarray(values, dtype=np.float64)
    if a.ndim != 1 or v.shape != a.shape:
        raise ValueError(f"relu_interpolant: knots {a.shape} and values {v.shape} must be 1-D of the same length")
    if a.size < 2 or not np.all(np.isfinite(a)) or not np.all(np.isfinite(v)):
        raise ValueError("relu_interpolant: need at least two finite knots and values")
    if np.any(np.diff(a) <= 0):
        raise ValueError("relu_interpolant: knots must be strictly increasing (sorted, no duplicates)")
    bound = float(a[-1])
    if bound <= 0 or not math.isclose(a[0], -bound, rel_tol=1e-12, abs_tol=0.0):
        raise ValueError(f"relu_interpolant: the knots must span a symmetric interval [−M, M], got [{a[0]}, {a[-1]}]")
    slopes = np.diff(v) / np.diff(a)
    constant = v[0] / (2 * bound)
    # Units: (x + M)₊, (x − a_k)₊ for the interior knots, (−x + M)₊.
    weights = np.concatenate([[1.0], np.ones(a.size - 2), [-1.0]])[:, None]
    biases = np.concatenate([[bound], -a[1:-1], [bound]])
    readout = np.concatenate([[slopes[0] + constant], np.diff(slopes), [constant]])[None, :]
    return Sequential(_dense(weights, biases, dtype), ReLU(), _dense(readout, None, dtype))


def piecewise_affine(knots, values) -> Callable[[np.ndarray], np.ndarray]:
    """The interpolant as a plain function (NumPy's ``interp``), to compare the network with."""
    a, v = np.asarray(knots, dtype=np.float64), np.asarray(values, dtype=np.float64)
    return lambda x: np.interp(x, a, v)


def _gate_activation(activation: str) -> tuple[type, float]:
    if activation not in GATE_ACTIVATIONS:
        raise ValueError(f"multiplication_gate: activation must be one of {tuple(GATE_ACTIVATIONS)} "
                         f"(σ″(0) ≠ 0), got {activation!r}")
    return GATE_ACTIVATIONS[activation]


def _check_scale(scale: float) -> float:
    if not (isinstance(scale, (int, float)) and math.isfinite(scale) and scale > 0):
        raise ValueError(f"multiplication_gate: λ must be a finite number > 0, got {scale!r}")
    return float(scale)


def _gate_weights(scale: float) -> tuple[np.ndarray, np.ndarray]:
    """Input weights (4, 2) for λ(x+y), −λ(x+y), λ(x−y), −λ(x−y), and the readout signs."""
    first = scale * np.array([[1.0, 1.0], [-1.0, -1.0], [1.0, -1.0], [-1.0, 1.0]])
    return first, np.array([1.0, 1.0, -1.0, -1.0])


def multiplication_gate(activation: str = "softplus", scale: float = 0.1, dtype=np.float64) -> Sequential:
    """``Linear(2, 4) – σ – Linear(4, 1)`` computing xy up to O(λ²) (λ = ``scale``), the module docstring's gate."""
    module, curvature = _gate_activation(activation)
    scale = _check_scale(scale)
    first, signs = _gate_weights(scale)
    readout = (signs / (4 * scale**2 * curvature))[None, :]
    return Sequential(_dense(first, None, dtype), module(), _dense(readout, None, dtype))


class ProductTree(Module):
    """x₁⋯x_n by a binary tree of multiplication gates: ⌈log₂ n⌉ hidden layers (see :func:`product_tree`)."""

    def __init__(self, levels: list[tuple[Linear, Linear]], activation: type, neurons: int):
        super().__init__()
        self.levels = Sequential(*[Sequential(first, activation(), second) for first, second in levels])
        self.neurons = neurons

    def forward(self, x):
        return self.levels(x)


def product_tree(n: int, activation: str = "softplus", scale: float = 0.1, dtype=np.float64) -> ProductTree:
    """A deep network computing x₁⋯x_n (inputs (batch, n), output (batch, 1)): at each level the values are paired
    into gates of four neurons, and an odd one out passes through two neurons, [σ(λx) − σ(−λx)]/λ = x exactly for
    softplus and GELU. ``neurons`` counts the hidden units: 4(n − 1) plus 2 per odd level."""
    module, curvature = _gate_activation(activation)
    scale = _check_scale(scale)
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 2:
        raise ValueError(f"product_tree: n must be an integer ≥ 2, got {n!r}")
    gate_first, signs = _gate_weights(scale)
    levels, neurons, count = [], 0, int(n)
    while count > 1:
        pairs, odd = count // 2, count % 2
        width = 4 * pairs + 2 * odd
        first, second = np.zeros((width, count)), np.zeros((pairs + odd, width))
        for k in range(pairs):
            first[4 * k : 4 * k + 4, 2 * k : 2 * k + 2] = gate_first
            second[k, 4 * k : 4 * k + 4] = signs / (4 * scale**2 * curvature)
        if odd:
            first[-2:, -1] = [scale, -scale]
            second[-1, -2:] = [1 / scale, -1 / scale]
        levels.append((_dense(first, None, dtype), _dense(second, None, dtype)))
        neurons += width
        count = pairs + odd
    return ProductTree(levels, module, neurons)


def best_uniform_fit(basis: np.ndarray, values: np.ndarray) -> tuple[float, np.ndarray]:
    """(t, c) minimizing t = max_i |values_i − (basis c)_i|: the best uniform combination of the basis columns on
    the sample points, the linear program min t subject to −t ≤ values − basis·c ≤ t, solved by HiGHS."""
    basis = np.asarray(basis, dtype=np.float64)
    values = np.asarray(values, dtype=np.float64)
    if basis.ndim != 2 or values.shape != (basis.shape[0],):
        raise ValueError(f"best_uniform_fit: basis {basis.shape} and values {values.shape} do not match")
    points, size = basis.shape
    # Columns scaled to a unit maximum: features of very different sizes ((wx + b)² next to 1) leave HiGHS
    # without a solution otherwise; the coefficients are scaled back at the end.
    scales = np.max(np.abs(basis), axis=0)
    scales[scales == 0] = 1.0
    basis = basis / scales
    ones = np.ones((points, 1))
    cost = np.zeros(size + 1)
    cost[-1] = 1.0  # variables (c, t): minimize t
    constraints = np.block([[-basis, -ones], [basis, -ones]])
    for method in ("highs-ds", "highs-ipm"):  # the dual simplex is exact at a vertex; the interior point is the backup
        solution = optimize.linprog(cost, A_ub=constraints, b_ub=np.concatenate([-values, values]),
                                    bounds=[(None, None)] * (size + 1), method=method)
        if solution.success:
            break
    else:
        raise RuntimeError(f"best_uniform_fit: the linear program failed ({solution.message})")
    return float(solution.x[-1]), solution.x[:-1] / scales


def best_uniform_polynomial_error(function: Callable[[np.ndarray], np.ndarray], degree: int, interval=(-1.0, 1.0),
                                  points: int = 2001) -> float:
    """min_p max_{x ∈ grid} |f(x) − p(x)| over polynomials of degree ≤ ``degree``, on ``points`` equally spaced
    points of ``interval`` (:func:`best_uniform_fit` in the Chebyshev basis of the interval, well conditioned). On
    a fine grid this is the best uniform error up to the grid's resolution."""
    if isinstance(degree, bool) or not isinstance(degree, (int, np.integer)) or degree < 0:
        raise ValueError(f"best_uniform_polynomial_error: degree must be an integer ≥ 0, got {degree!r}")
    low, high = map(float, interval)
    if not high > low:
        raise ValueError(f"best_uniform_polynomial_error: empty interval {interval}")
    x = np.linspace(low, high, points)
    basis = np.polynomial.chebyshev.chebvander((2 * x - low - high) / (high - low), degree)
    return best_uniform_fit(basis, function(x))[0]
