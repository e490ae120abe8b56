"""Gradient clipping: bound the step when a gradient explodes, by its total norm or entry by entry.

Clipping by norm keeps the direction of the full gradient g = (∇θ₁, …, ∇θ_k) and shrinks its length to at most
``max_norm``: g ← g · min(1, max_norm / (‖g‖_p + 10⁻⁶)). The norm of the concatenation is the norm of the
per-tensor norms, ‖g‖_p = ‖(‖∇θ₁‖_p, …, ‖∇θ_k‖_p)‖_p, which is how it is computed. The functions and their
numbers are PyTorch's (``torch.nn.utils``); the gradients are modified in place and record nothing.
"""

from __future__ import annotations

import math

import numpy as np

from neurones.autodiff.tensor import Tensor
from neurones.backend import DEFAULT_DTYPE
from neurones.errors import GradientError


def _gradients(parameters) -> list[np.ndarray]:
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    return [p.grad.data for p in parameters if p.grad is not None]


def _vector_norm(array: np.ndarray, norm_type: float):
    """‖x‖_p of the flattened array, in its dtype (p = inf: max |x|, p = −inf: min |x|, p = 0: count of x ≠ 0)."""
    flat = array.reshape(-1)
    if norm_type == 2.0:
        return np.sqrt(np.dot(flat, flat))
    return np.linalg.norm(flat, ord=norm_type).astype(array.dtype)


def get_total_norm(tensors, norm_type: float = 2.0, error_if_nonfinite: bool = False) -> Tensor:
    """The p-norm of all ``tensors`` seen as one vector, as a 0-d tensor (0 if there are none)."""
    if isinstance(tensors, Tensor):
        tensors = [tensors]
    arrays = [t.data for t in tensors]
    norm_type = float(norm_type)
    if not arrays:
        return Tensor(np.zeros((), dtype=DEFAULT_DTYPE))
    dtype = np.result_type(*arrays)
    norms = np.array([_vector_norm(a, norm_type) for a in arrays], dtype=dtype)
    total = _vector_norm(norms, norm_type)
    if error_if_nonfinite and not math.isfinite(total):
        raise GradientError(
            f"the total norm of order {norm_type} of the gradients is non-finite ({total}), so it cannot be "
            f"clipped; to scale the gradients by it anyway, pass error_if_nonfinite=False"
        )
    return Tensor(np.asarray(total, dtype=dtype))


def clip_grads_with_norm_(parameters, max_norm: float, total_norm) -> None:
    """Scale the gradients of ``parameters`` by min(1, max_norm / (total_norm + 10⁻⁶)), in place."""
    grads = _gradients(parameters)
    if not grads:
        return
    total = total_norm.data if isinstance(total_norm, Tensor) else np.asarray(total_norm)
    coefficient = np.minimum(float(max_norm) / (total + 1e-6), 1.0)
    with np.errstate(invalid="ignore"):  # an infinite norm gives 0 · ∞ = NaN, as in PyTorch: no warning per tensor
        for g in grads:
            g *= coefficient


def clip_grad_norm_(parameters, max_norm: float, norm_type: float = 2.0, error_if_nonfinite: bool = False) -> Tensor:
    """Rescale the gradients of ``parameters`` (a tensor or an iterable) so that their total p-norm is at most
    ``max_norm``; return the total norm before clipping, as a 0-d tensor.

    Gradients that are ``None`` are skipped. With ``error_if_nonfinite`` a NaN or infinite norm raises
    :class:`~neurones.errors.GradientError` instead of spreading NaN into every gradient.
    """
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    parameters = list(parameters)
    grads = [p.grad for p in parameters if p.grad is not None]
    total = get_total_norm(grads, norm_type, error_if_nonfinite)
    clip_grads_with_norm_(parameters, max_norm, total)
    return total


def clip_grad_value_(parameters, clip_value: float) -> None:
    """Clip every gradient entry of ``parameters`` into [−clip_value, clip_value], in place."""
    clip_value = float(clip_value)
    for g in _gradients(parameters):
        np.clip(g, -clip_value, clip_value, out=g)
