"""Gradient checks: compare backpropagated gradients with central finite differences in float64.

For a function ``f`` of tensors and a random cotangent ``v`` (fixed seed), backprop gives
``∇_x ⟨v, f(x)⟩``. Finite differences estimate the same quantity:

* entry by entry (the full vector–Jacobian product) when the inputs are small:
  ``∂⟨v, f⟩/∂x_i ≈ (⟨v, f(x + ε e_i)⟩ − ⟨v, f(x − ε e_i)⟩) / 2ε``;
* along random directions ``d`` otherwise: ``Σ_i ⟨∇_{x_i}, d_i⟩ ≈ (⟨v, f(x + ε d)⟩ − ⟨v, f(x − ε d)⟩) / 2ε``.

Central differences have error O(ε²), so float64 with ε = 1e-6 leaves about eight correct digits; that is why
inputs must be float64 (in float32 the rounding error ε⁻¹·1e-7 would swamp the comparison).
"""

from __future__ import annotations

import numpy as np

from neurones.autodiff.grad_mode import enable_grad, no_grad
from neurones.errors import DTypeError, GradcheckError

FULL_JACOBIAN_LIMIT = 512  # total input entries up to which every entry is perturbed


def gradcheck(
    f,
    inputs,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    directions: int = 4,
    seed: int = 0,
    raise_exception: bool = True,
) -> bool:
    """Check the gradients of ``f(*inputs)`` with respect to every input that requires grad.

    ``inputs`` is a tensor or a sequence of tensors (non-tensors are passed through). Returns True, or raises
    :class:`~neurones.errors.GradcheckError` naming the worst entry (or returns False if ``raise_exception``
    is False).
    """
    from neurones.autodiff.tensor import Tensor

    inputs = (inputs,) if isinstance(inputs, Tensor) else tuple(inputs)
    checked = [i for i, x in enumerate(inputs) if isinstance(x, Tensor) and x.requires_grad]
    if not checked:
        raise ValueError("gradcheck: no input requires grad")
    for i in checked:
        if inputs[i].dtype != np.float64:
            raise DTypeError(f"gradcheck: input {i} has dtype {inputs[i].dtype}; finite differences need float64")

    rng = np.random.default_rng(seed)
    with enable_grad():
        out = f(*inputs)
    v = rng.standard_normal(out.shape)
    for i in checked:
        inputs[i].grad = None
    out.backward(v)
    analytic = [np.zeros(inputs[i].shape) if inputs[i].grad is None else inputs[i].grad.data.copy() for i in checked]

    def objective() -> float:
        with no_grad():
            return float(np.sum(v * f(*inputs).data))

    total = sum(inputs[i].data.size for i in checked)
    wrong_shapes = [(i, g.shape) for i, g in zip(checked, analytic) if g.shape != inputs[i].shape]
    if wrong_shapes:
        i, shape = wrong_shapes[0]
        failure = (
            f"gradcheck failed: input {i} has shape {inputs[i].shape} but backprop gives a gradient of shape {shape}"
        )
    elif total <= FULL_JACOBIAN_LIMIT:
        failure = _check_entries(objective, [inputs[i] for i in checked], analytic, checked, eps, atol, rtol)
    else:
        failure = _check_directions(objective, [inputs[i] for i in checked], analytic, eps, atol, rtol, directions, rng)
    if failure is None:
        return True
    if raise_exception:
        raise GradcheckError(failure)
    return False


def _check_entries(objective, tensors, analytic, indices, eps, atol, rtol):
    worst, worst_excess = None, 0.0
    for tensor, grad, index in zip(tensors, analytic, indices):
        data = tensor.data  # perturbed through indexing, not a reshape, which copies a non-contiguous array
        for position in np.ndindex(data.shape):
            original = data[position]
            data[position] = original + eps
            plus = objective()
            data[position] = original - eps
            minus = objective()
            data[position] = original
            numeric = (plus - minus) / (2 * eps)
            exact = grad[position]
            excess = abs(exact - numeric) - (atol + rtol * abs(numeric))
            if excess > worst_excess:
                worst_excess = excess
                worst = (
                    f"gradcheck failed: input {index} at {position}: backprop gives "
                    f"{exact:.10g}, finite differences give {numeric:.10g} (|diff| = {abs(exact - numeric):.3g}, "
                    f"allowed {atol + rtol * abs(numeric):.3g})"
                )
    return worst


def _check_directions(objective, tensors, analytic, eps, atol, rtol, directions, rng):
    for trial in range(directions):
        ds = [rng.standard_normal(t.shape) for t in tensors]
        originals = [t.data.copy() for t in tensors]
        for t, d, x in zip(tensors, ds, originals):
            t.data[...] = x + eps * d
        plus = objective()
        for t, d, x in zip(tensors, ds, originals):
            t.data[...] = x - eps * d
        minus = objective()
        for t, x in zip(tensors, originals):
            t.data[...] = x
        numeric = (plus - minus) / (2 * eps)
        exact = float(sum(np.sum(g * d) for g, d in zip(analytic, ds)))
        if abs(exact - numeric) > atol + rtol * abs(numeric):
            return (
                f"gradcheck failed along random direction {trial}: backprop gives {exact:.10g}, finite "
                f"differences give {numeric:.10g} (|diff| = {abs(exact - numeric):.3g})"
            )
    return None
