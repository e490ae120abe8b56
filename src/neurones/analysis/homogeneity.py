r"""The positive homogeneity of one-hidden-layer ReLU networks and the penalties it relates ("Mise en œuvre de
Neurones", §II).

For f(x) = Σ_j η_j (w_jᵀx + b_j)₊ and α_j > 0, the rescaling (η_j α_j, w_j/α_j, b_j/α_j) leaves f unchanged, since
(t/α)₊ = t₊/α. Hence:

- a penalty that is not invariant can be minimized along the rescalings for free: with the homogenized weight decay
  Ω_j = λη_j² + ‖w_j‖² + b_j²/M²,

      min_{α>0} λα²η_j² + (‖w_j‖² + b_j²/M²)/α² = 2√λ |η_j| ‖(w_j, b_j/M)‖,

  reached when the unit is *balanced*, λη_j² = ‖w_j‖² + b_j²/M² (:func:`weight_decay_penalty`,
  :func:`path_penalty`, :func:`balance`);
- without a penalty, gradient flow conserves η_j² − ‖w_j‖² − b_j² for each unit: the flow gives
  d/dt(η² − ‖w‖² − b²) = −2 Σᵢ ℓ′ᵢ (η ∂_η u − w·∇_w u − b ∂_b u)(xᵢ) for the unit u = η(wᵀx + b)₊, and Euler's
  identity for its two homogeneous factors makes the bracket u − u = 0. Gradient descent keeps it up to O(step²)
  per step, O(step) over a fixed time (:func:`unit_invariants`).

Networks are ``Sequential(Linear(d, m), ReLU(), Linear(m, 1, bias=False))``: the first layer holds (w_j, b_j), the
readout's weight holds η.
"""

from __future__ import annotations

import numpy as np

from neurones.nn.containers import Sequential
from neurones.nn.linear import Linear


def unit_parameters(network: Sequential) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(η (m,), w (m, d), b (m,)) of ``Sequential(Linear(d, m), ReLU(), Linear(m, 1, bias=False))``, as float64."""
    first, readout = network[0], network[-1]
    if not (isinstance(first, Linear) and isinstance(readout, Linear) and readout.out_features == 1
            and first.bias is not None and readout.bias is None):
        raise ValueError("homogeneity: expected Sequential(Linear(d, m), ReLU(), Linear(m, 1, bias=False))")
    eta = np.asarray(readout.weight.data[0], dtype=np.float64)
    return eta, np.asarray(first.weight.data, dtype=np.float64), np.asarray(first.bias.data, dtype=np.float64)


def rescale_units(network: Sequential, alphas) -> None:
    """In place: η_j ← α_j η_j, w_j ← w_j/α_j, b_j ← b_j/α_j (α_j > 0); the function is unchanged."""
    alphas = np.asarray(alphas, dtype=np.float64)
    if np.any(alphas <= 0):
        raise ValueError("rescale_units: every α_j must be > 0")
    first, readout = network[0], network[-1]
    readout.weight.data[0] *= alphas.astype(readout.weight.dtype)
    first.weight.data /= alphas[:, None].astype(first.weight.dtype)
    first.bias.data /= alphas.astype(first.bias.dtype)


def input_norms(network: Sequential, bound: float) -> np.ndarray:
    """‖(w_j, b_j/M)‖ for every unit (M = ``bound``)."""
    _, w, b = unit_parameters(network)
    return np.sqrt(np.sum(w * w, axis=1) + (b / bound) ** 2)


def normalize_units(network: Sequential, bound: float) -> None:
    """In place: each unit onto the sphere ‖(w_j, b_j/M)‖ = 1 (units at zero are left there). Unlike
    :func:`rescale_units` this changes f; it is the projection of methods that train on that sphere."""
    norms = input_norms(network, bound)
    norms[norms == 0] = 1.0
    first = network[0]
    first.weight.data /= norms[:, None].astype(first.weight.dtype)
    first.bias.data /= norms.astype(first.bias.dtype)


def weight_decay_penalty(network: Sequential, strength: float, bound: float) -> float:
    """Σ_j λη_j² + ‖w_j‖² + b_j²/M² (λ = ``strength``, M = ``bound``): the notes' homogenized weight decay."""
    eta, _, _ = unit_parameters(network)
    return float(np.sum(strength * eta**2 + input_norms(network, bound) ** 2))


def path_penalty(network: Sequential, strength: float, bound: float) -> float:
    """Σ_j 2√λ |η_j| ‖(w_j, b_j/M)‖: the weight decay minimized over the rescalings (invariant under them)."""
    eta, _, _ = unit_parameters(network)
    return float(np.sum(2 * np.sqrt(strength) * np.abs(eta) * input_norms(network, bound)))


def balance(network: Sequential, strength: float, bound: float) -> np.ndarray:
    """(λη_j² − ‖(w_j, b_j/M)‖²) / (λη_j² + ‖(w_j, b_j/M)‖²) per unit: 0 for a balanced unit, ±1 at the extremes."""
    eta, _, _ = unit_parameters(network)
    outer, inner = strength * eta**2, input_norms(network, bound) ** 2
    total = outer + inner
    return np.divide(outer - inner, total, out=np.zeros_like(total), where=total > 0)


def balancing_scales(network: Sequential, strength: float, bound: float) -> np.ndarray:
    """The α_j that balance each unit: α_j² = ‖(w_j, b_j/M)‖ / (√λ |η_j|) (1 for a unit that is zero on one side)."""
    eta, _, _ = unit_parameters(network)
    inner, outer = input_norms(network, bound), np.sqrt(strength) * np.abs(eta)
    ratio = np.divide(inner, outer, out=np.ones_like(inner), where=(outer > 0) & (inner > 0))
    return np.sqrt(ratio)


def unit_invariants(network: Sequential) -> np.ndarray:
    """η_j² − ‖w_j‖² − b_j² per unit: conserved by the gradient flow of any loss of f, without penalty."""
    eta, w, b = unit_parameters(network)
    return eta**2 - np.sum(w * w, axis=1) - b**2
