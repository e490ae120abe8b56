"""Instruments for residual networks read as discretized neural ODEs (seed 003, Marion et al., ICLR 2024).

For h_{k+1} = h_k + (1/L) V_{k+1} σ(W_{k+1} h_k) (:class:`~neurones.nn.ODEResNet`):

- **roughness in depth** of a stack Z_1, …, Z_L of weights: max_k ‖Z_{k+1} − Z_k‖_F. Weights that sample a
  Lipschitz function of s = k/L have roughness O(1/L); i.i.d. weights have roughness O(1) at every depth;
- **the limit neural ODE** dH/ds = 𝒱(s) σ(𝒲(s) H(s)), H(0) = A x, F_∞(x) = B H(1), integrated accurately by an
  adaptive Runge–Kutta method (scipy's ``solve_ivp``, DOP853), given weight functions of s — for a trained network
  its own weights read as a function of s (:class:`PiecewiseLinearInDepth`);
- **the distance to the ODE**: max_i ‖F_L(x_i) − F_∞(x_i)‖, which is O(1/L) for smooth weights (Euler's error);
- **the Polyak–Łojasiewicz ratio** of the gradient flow ∂Z_k/∂t = −L ∂R/∂Z_k:
  dR/dt = −L Σ_k ‖∂R/∂Z_k‖² = −μ_t R, so μ_t = L Σ_k ‖∂R/∂Z_k‖² / R. A positive floor μ_t ≥ μ > 0 gives
  R(t) ≤ R(0) e^{−μ t}: the loss decays linearly on a log scale. (Without the factor L, the sum alone shrinks like
  1/L, since each of the L blocks gets a gradient of order 1/L.)
"""

from __future__ import annotations

import copy
from collections.abc import Callable

import numpy as np
from scipy.integrate import solve_ivp

import neurones as nr
from neurones.nn.depth_functions import depth_grid
from neurones.nn.ode_resnet import ODEResNet
from neurones.ops.activations import array_activation

WeightFunction = Callable[[np.ndarray], np.ndarray]


def layer_steps(weights: np.ndarray) -> np.ndarray:
    """‖Z_{k+1} − Z_k‖_F for k = 1, …, L − 1, over a stack ``weights`` of shape (L, …)."""
    weights = np.asarray(weights, dtype=np.float64)
    steps = np.diff(weights, axis=0).reshape(max(weights.shape[0] - 1, 0), max(weights[0].size, 1))
    return np.linalg.norm(steps, axis=1)


def roughness(weights: np.ndarray) -> float:
    """max_k ‖Z_{k+1} − Z_k‖_F over a stack ``weights`` of shape (L, …); 0 for a single layer."""
    steps = layer_steps(weights)
    return float(steps.max()) if steps.size else 0.0


def network_roughness(model: ODEResNet) -> float:
    """max(roughness of V, roughness of W) of a network's current weights."""
    V, W = model.stacked_weights()
    return max(roughness(V), roughness(W))


class PiecewiseLinearInDepth:
    """A stack Z_1, …, Z_L read as a function of depth: Z_k at s = k/L, linear in between, Z_1 on [0, 1/L]."""

    def __init__(self, weights: np.ndarray) -> None:
        self.weights = np.asarray(weights, dtype=np.float64)
        self.grid = depth_grid(self.weights.shape[0])

    def __call__(self, s) -> np.ndarray:
        s = np.atleast_1d(np.asarray(s, dtype=np.float64))
        position = np.clip(s * self.grid.size - 1, 0, self.grid.size - 1)
        below = np.minimum(np.floor(position).astype(int), self.grid.size - 1)
        above = np.minimum(below + 1, self.grid.size - 1)
        fraction = (position - below).reshape(-1, *([1] * (self.weights.ndim - 1)))
        return (1 - fraction) * self.weights[below] + fraction * self.weights[above]


def integrate_neural_ode(h0: np.ndarray, V: WeightFunction, W: WeightFunction, activation: str = "gelu",
                         rtol: float = 1e-9, atol: float = 1e-11) -> np.ndarray:
    """H(1) for dH/ds = 𝒱(s) σ(𝒲(s) H(s)), H(0) = ``h0`` (a batch, shape (N, q)), in float64.

    ``V`` and ``W`` map an array of depths s to weights of shapes (len(s), q, m) and (len(s), m, q).
    """
    h0 = np.asarray(h0, dtype=np.float64)
    sigma = array_activation(activation)

    def velocity(s: float, flat: np.ndarray) -> np.ndarray:
        H = flat.reshape(h0.shape)
        return (sigma(H @ W(s)[0].T) @ V(s)[0].T).ravel()

    solution = solve_ivp(velocity, (0.0, 1.0), h0.ravel(), method="DOP853", rtol=rtol, atol=atol)
    if not solution.success:
        raise RuntimeError(f"integrate_neural_ode: the solver failed: {solution.message}")
    return solution.y[:, -1].reshape(h0.shape)


def _matrix(parameter) -> np.ndarray | None:
    return None if parameter is None else np.asarray(parameter.data, dtype=np.float64)


def neural_ode_output(model: ODEResNet, x, V: WeightFunction | None = None, W: WeightFunction | None = None,
                      rtol: float = 1e-9, atol: float = 1e-11) -> np.ndarray:
    """F_∞(x) = B H(1) with H(0) = A x, using the model's A, B and σ; the weight functions default to the model's
    own weights read as functions of depth (:class:`PiecewiseLinearInDepth`)."""
    if V is None or W is None:
        V_stack, W_stack = model.stacked_weights()
        V = V or PiecewiseLinearInDepth(V_stack)
        W = W or PiecewiseLinearInDepth(W_stack)
    x = np.asarray(x.data if isinstance(x, nr.Tensor) else x, dtype=np.float64)
    A, B = _matrix(model.A), _matrix(model.B)
    h0 = x if A is None else x @ A.T
    h1 = integrate_neural_ode(h0, V, W, model.activation, rtol, atol)
    return h1 if B is None else h1 @ B.T


def distance_to_neural_ode(model: ODEResNet, x, V: WeightFunction | None = None, W: WeightFunction | None = None,
                           rtol: float = 1e-9, atol: float = 1e-11) -> float:
    """max_i ‖F_L(x_i) − F_∞(x_i)‖ over the rows x_i of ``x``: the network against its limit ODE.

    The network is evaluated in float64 on a copy of its weights, so the distance measures the discretization,
    not float32 rounding.
    """
    network = model if model.blocks[0].V.dtype == np.float64 else copy.deepcopy(model).to(np.float64)
    x = np.asarray(x.data if isinstance(x, nr.Tensor) else x, dtype=np.float64)
    with nr.no_grad():
        F_L = network(nr.tensor(x)).data
    F_inf = neural_ode_output(network, x, V, W, rtol, atol)
    return float(np.linalg.norm(F_L - F_inf, axis=1).max())


def features_at_zero_V(model: ODEResNet, x) -> tuple[np.ndarray, np.ndarray]:
    """(H, S) for a network whose V are all zero, in float64: every hidden state is h_0, so H = A x (rows are
    examples) and S_k = σ(H W_kᵀ), stacked as S of shape (L, n, m), are the features the first step of the flow
    regresses on (∂R/∂V_k = (1/L) Pᵀ S_k with P = ∂R/∂h_L, and ∂R/∂W_k = 0)."""
    V, W = model.stacked_weights()
    if np.any(V):
        raise ValueError("features_at_zero_V: the network's V must be zero (its closed forms hold at V = 0 only)")
    x = np.asarray(x.data if isinstance(x, nr.Tensor) else x, dtype=np.float64)
    A = _matrix(model.A)
    H = x if A is None else x @ A.T
    return H, array_activation(model.activation)(H @ np.swapaxes(W.astype(np.float64), 1, 2))


def pl_ratio(model: ODEResNet, risk: float) -> float:
    """μ_t = L Σ_k (‖∂R/∂V_k‖² + ‖∂R/∂W_k‖²) / R, from the gradients left by the last ``backward``."""
    if risk <= 0:
        return float("inf") if risk == 0 else float("nan")
    squared = 0.0
    for parameter in model.residual_parameters():
        if parameter.grad is None:
            raise ValueError("pl_ratio: the residual weights have no gradient; call backward on the risk first")
        gradient = parameter.grad.data.astype(np.float64, copy=False).ravel()
        squared += float(gradient @ gradient)
    return model.depth * squared / risk
