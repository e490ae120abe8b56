"""``torch.nn.utils``' helpers: parameters as one flat vector, and gradient clipping.

The flat vector θ ∈ ℝᴾ is how the theory writes a network's parameters (a point of the loss landscape, the
argument of the kernel ∂f/∂θ): ``parameters_to_vector`` concatenates the flattened parameters in the order given,
``vector_to_parameters`` writes a vector back into them.
"""

from __future__ import annotations

from collections.abc import Iterable

from neurones.autodiff.grad_mode import no_grad
from neurones.autodiff.tensor import Tensor
from neurones.errors import ShapeError
from neurones.ops.shape import cat
from neurones.optim.clip_grad import clip_grad_norm_, clip_grad_value_

__all__ = ["clip_grad_norm_", "clip_grad_value_", "parameters_to_vector", "vector_to_parameters"]


def parameters_to_vector(parameters: Iterable[Tensor]) -> Tensor:
    """The parameters flattened and concatenated into one 1-d tensor (differentiable, as in PyTorch)."""
    return cat([p.reshape(-1) for p in parameters])


def vector_to_parameters(vec: Tensor, parameters: Iterable[Tensor]) -> None:
    """Copy consecutive slices of the 1-d ``vec`` into the parameters, in place (no gradient is recorded)."""
    if not isinstance(vec, Tensor):
        raise TypeError(f"vector_to_parameters: expected a Tensor, got {type(vec).__name__}")
    parameters = list(parameters)
    total = sum(p.numel() for p in parameters)
    if vec.ndim != 1 or vec.shape[0] != total:
        raise ShapeError(
            f"vector_to_parameters: a vector of shape {vec.shape} does not fit parameters of {total} entries"
        )
    start = 0
    with no_grad():
        for p in parameters:
            p.copy_(vec.data[start : start + p.numel()].reshape(p.shape))
            start += p.numel()
