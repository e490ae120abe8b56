r"""Statistics of the gradients along training: their norm, the distance travelled, and how much minibatch
gradients agree ("Rien ne sert de courir", dropout; Liu et al. 2023, "Dropout reduces underfitting").

Liu et al. explain early dropout by its effect on the gradients of the first iterations:

- the gradient norm ‖∇L_B(θ)‖ (smaller with dropout);
- the displacement ‖θ_t − θ₀‖ (larger with dropout: the steps agree, so they add up);
- the gradient direction variance across minibatches, the mean pairwise cosine distance
  (2/(K(K−1))) Σ_{a<b} (1 − cos(g_a, g_b)) over K minibatch gradients (lower with dropout);
- the gradient direction error against the full-batch gradient, mean (1 − cos(g_B, ∇L)).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np

from neurones.autodiff.grad_mode import enable_grad, no_grad
from neurones.nn.utils import parameters_to_vector


def flat_gradient(model) -> np.ndarray:
    """The model's current ``.grad`` of every parameter, as one float64 vector (zeros where there is none)."""
    return np.concatenate([
        (np.zeros(p.data.size) if p.grad is None else np.asarray(p.grad.data, dtype=np.float64).ravel())
        for p in model.parameters()
    ])


def flat_parameters(model) -> np.ndarray:
    """Every parameter of the model as one float64 vector (a copy; ``nn.utils.parameters_to_vector``'s values)."""
    with no_grad():
        return np.array(parameters_to_vector(model.parameters()).data, dtype=np.float64)


def gradient_norm(model) -> float:
    """‖∇‖ of the gradients currently stored in the model's parameters."""
    return float(np.linalg.norm(flat_gradient(model)))


def displacement(model, start: np.ndarray) -> float:
    """‖θ − θ₀‖ for θ₀ = ``start`` (a :func:`flat_parameters` vector taken earlier)."""
    return float(np.linalg.norm(flat_parameters(model) - start))


def minibatch_gradients(model, loss_fn: Callable, batches: Iterable) -> np.ndarray:
    """One row per ``(inputs, targets)`` batch: the gradient of ``loss_fn(model(inputs), targets)``. The model's
    own ``.grad`` is restored afterwards. Dropout layers act as the model's mode says (train: one mask per batch)."""
    saved = [p.grad for p in model.parameters()]
    rows = []
    try:
        for inputs, targets in batches:
            for p in model.parameters():
                p.grad = None
            with enable_grad():
                loss_fn(model(inputs), targets).backward()
            rows.append(flat_gradient(model))
    finally:
        for p, grad in zip(model.parameters(), saved):
            p.grad = grad
    return np.array(rows)


def _unit_rows(gradients: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(gradients, axis=1, keepdims=True)
    if np.any(norms == 0):
        raise ValueError("gradient statistics: a gradient is zero, its direction is undefined")
    return gradients / norms


def direction_variance(gradients: np.ndarray) -> float:
    """Mean pairwise cosine distance (1 − cos) between the rows (K ≥ 2 gradients)."""
    gradients = np.asarray(gradients, dtype=np.float64)
    if gradients.ndim != 2 or gradients.shape[0] < 2:
        raise ValueError(f"direction_variance: need at least two gradients as rows, got shape {gradients.shape}")
    units = _unit_rows(gradients)
    cosines = units @ units.T
    k = units.shape[0]
    return float(np.sum(1 - cosines[np.triu_indices(k, 1)]) / (k * (k - 1) / 2))


def direction_error(gradients: np.ndarray, full: np.ndarray) -> float:
    """Mean cosine distance (1 − cos) between each row and the full-batch gradient ``full``."""
    gradients = np.atleast_2d(np.asarray(gradients, dtype=np.float64))
    units = _unit_rows(gradients)
    reference = _unit_rows(np.asarray(full, dtype=np.float64)[None])[0]
    return float(np.mean(1 - units @ reference))
