"""``torch.nn.utils``' helpers: parameters as one flat vector, gradient clipping, and the opt-in fusion of a ReLU
with the max-pool after it.

The flat vector θ ∈ ℝᴾ is how the theory writes a network's parameters (a point of the loss landscape, the
argument of the kernel ∂f/∂θ): ``parameters_to_vector`` concatenates the flattened parameters in the order given,
``vector_to_parameters`` writes a vector back into them.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable

from neurones.autodiff.grad_mode import no_grad
from neurones.autodiff.tensor import Tensor
from neurones.errors import ShapeError
from neurones.nn.activation import ReLU
from neurones.nn.containers import Sequential
from neurones.nn.pooling import MaxPool1d, MaxPool2d, ReLUMaxPool1d, ReLUMaxPool2d
from neurones.ops.shape import cat
from neurones.optim.clip_grad import clip_grad_norm_, clip_grad_value_

__all__ = [
    "clip_grad_norm_",
    "clip_grad_value_",
    "fuse_relu_max_pool",
    "parameters_to_vector",
    "vector_to_parameters",
]

_FUSED = {MaxPool1d: ReLUMaxPool1d, MaxPool2d: ReLUMaxPool2d}


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


def fuse_relu_max_pool(model: Sequential) -> Sequential:
    """A new ``Sequential`` of the same modules, where each ``nn.ReLU`` directly followed by an ``nn.MaxPool1d/2d``
    (exactly those classes, without ``return_indices``) is one :class:`~neurones.nn.ReLUMaxPool2d` (or ``1d``),
    named after the ReLU: same outputs and gradients, less work. Nested ``Sequential`` modules are fused too."""
    items = list(model._modules.items())
    fused: OrderedDict = OrderedDict()
    position = 0
    while position < len(items):
        name, module = items[position]
        following = items[position + 1][1] if position + 1 < len(items) else None
        if type(module) is ReLU and type(following) in _FUSED and not following.return_indices:
            pool = following
            fused[name] = _FUSED[type(pool)](pool.kernel_size, pool.stride, pool.padding, pool.dilation, pool.ceil_mode)
            position += 2
            continue
        fused[name] = fuse_relu_max_pool(module) if type(module) is Sequential else module
        position += 1
    return Sequential(fused)
