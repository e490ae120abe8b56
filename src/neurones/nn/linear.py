"""Dense layers and shape plumbing: ``Linear``, ``Identity``, ``Flatten``.

``Linear`` starts from PyTorch's default law, so that a ported model starts from the same distribution: weights
``kaiming_uniform_(a=√5)``, i.e. ``U(−1/√fan_in, 1/√fan_in)`` (variance ``1/(3 fan_in)``), and biases
``U(−1/√fan_in, 1/√fan_in)``. This is *not* the variance-preserving He law (variance ``2/fan_in``): call
:func:`neurones.nn.init.kaiming_normal_` (or another law of :mod:`neurones.nn.init`) to get one.
"""

from __future__ import annotations

import math

import numpy as np

from neurones import functional as F
from neurones.backend import Seed, as_generator
from neurones.nn import init
from neurones.nn.module import Module
from neurones.nn.parameter import Parameter, empty_parameter


def reset_default_parameters(weight: Parameter, bias: Parameter | None, rng: Seed) -> None:
    """PyTorch's default initialization of ``Linear`` and ``Conv*``: weights ``kaiming_uniform_(a=√5)`` =
    ``U(−1/√fan_in, 1/√fan_in)``, bias ``U(−1/√fan_in, 1/√fan_in)``; one Generator serves both draws."""
    rng = as_generator(rng)
    init.kaiming_uniform_(weight, a=math.sqrt(5.0), rng=rng)
    if bias is not None:
        fan_in, _ = init.calculate_fan_in_and_fan_out(weight)
        bound = 1.0 / math.sqrt(fan_in) if fan_in > 0 else 0.0
        init.uniform_(bias, -bound, bound, rng=rng)


class Linear(Module):
    """``y = x Wᵀ + b`` with ``W`` of shape ``(out_features, in_features)``, on inputs ``(..., in_features)``.

    ``dtype`` (float32 by default) is the parameters' dtype; ``rng`` (Generator or seed) draws the initial values.
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True, *, dtype=None, rng: Seed = None):
        super().__init__()
        for name, value in (("in_features", in_features), ("out_features", out_features)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
                raise ValueError(f"Linear: {name} must be an integer ≥ 0, got {value!r}")
        self.in_features = in_features
        self.out_features = out_features
        self.weight = empty_parameter((out_features, in_features), dtype)
        if bias:
            self.bias = empty_parameter((out_features,), dtype)
        else:
            self.register_parameter("bias", None)
        self.reset_parameters(rng)

    def reset_parameters(self, rng: Seed = None) -> None:
        reset_default_parameters(self.weight, self.bias, rng)

    def forward(self, x):
        return F.linear(x, self.weight, self.bias)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"



class Identity(Module):
    """Return the input unchanged (arguments are accepted and ignored, as in PyTorch): a placeholder layer."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__()

    def forward(self, x):
        return x


class Flatten(Module):
    """Merge dimensions ``start_dim..end_dim`` into one: ``(N, C, H, W) → (N, C·H·W)`` with the defaults."""

    def __init__(self, start_dim: int = 1, end_dim: int = -1) -> None:
        super().__init__()
        self.start_dim = start_dim
        self.end_dim = end_dim

    def forward(self, x):
        return F.flatten(x, self.start_dim, self.end_dim)

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"
