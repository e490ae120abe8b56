"""The neural tangent kernel parameterization: ``NTKLinear`` and the fully connected networks made of it.

In the standard parameterization a width-n layer draws Var w = σ_w²/n; in the NTK parameterization (Jacot,
Gabriel & Hongler 2018) it draws w ~ N(0, 1) and multiplies by σ_w/√n in forward. The functions at initialization
have the same law, but the gradients differ by the factor √n: with it, gradient descent with a learning rate
independent of the width has a limit as the widths grow, kernel gradient descent with a deterministic kernel
(:mod:`neurones.analysis.ntk`).
"""

from __future__ import annotations

import itertools
import math

import numpy as np

from neurones import functional as F
from neurones.backend import Seed, as_generator
from neurones.nn import init
from neurones.nn.activation import GELU, LeakyReLU, ReLU, Sigmoid, Tanh
from neurones.nn.containers import Sequential
from neurones.nn.linear import Identity, Linear


class NTKLinear(Linear):
    r"""A dense layer in the neural tangent kernel parameterization:

        y = (σ_w/√in_features) · x Wᵀ + σ_b · b,    W_{ij}, b_i ~ N(0, 1),

    with σ_w = ``weight_std`` and σ_b = ``bias_std``. The function at initialization has the law of a ``Linear``
    with Var w = σ_w²/in_features, but the parameters are O(1) whatever the width, so the gradient descent of a
    width-n network converges, as n → ∞, to kernel gradient descent with a deterministic kernel
    (:func:`neurones.analysis.ntk.infinite_width_kernels`). With ``bias_std = 0`` the layer has no bias
    (the term and its gradient vanish). ``weight_multiplier``/``bias_multiplier`` hold σ_w/√in_features and σ_b:
    the per-example gradient and Jacobian instruments read them.
    """

    def __init__(self, in_features: int, out_features: int, weight_std: float = 1.0, bias_std: float = 0.0, *,
                 dtype=None, rng: Seed = None):
        for name, value in (("weight_std", weight_std), ("bias_std", bias_std)):
            if not (isinstance(value, (int, float, np.floating)) and math.isfinite(value) and value >= 0):
                raise ValueError(f"NTKLinear: {name} must be a finite number ≥ 0, got {value!r}")
        if isinstance(in_features, (int, np.integer)) and in_features > 0:
            self.weight_multiplier = float(weight_std) / math.sqrt(in_features)
        else:
            self.weight_multiplier = 0.0
        self.bias_multiplier = float(bias_std)
        self.weight_std, self.bias_std = float(weight_std), float(bias_std)
        super().__init__(in_features, out_features, bias=bias_std > 0, dtype=dtype, rng=rng)

    def reset_parameters(self, rng: Seed = None) -> None:
        rng = as_generator(rng)
        init.normal_(self.weight, rng=rng)
        if self.bias is not None:
            init.normal_(self.bias, rng=rng)

    def forward(self, x):
        # Scaling the (batch, out) product rather than the (out, in) weight: the cheaper of the two for the small
        # batches of kernel experiments, where the weight is the larger array.
        out = F.linear(x, self.weight) * self.weight_multiplier
        return out if self.bias is None else out + self.bias * self.bias_multiplier

    def extra_repr(self) -> str:
        return (f"in_features={self.in_features}, out_features={self.out_features}, weight_std={self.weight_std:g}, "
                f"bias_std={self.bias_std:g}")



ACTIVATIONS = {"relu": ReLU, "leaky_relu": LeakyReLU, "tanh": Tanh, "sigmoid": Sigmoid, "gelu": GELU,
               "identity": Identity}
"""The activations :func:`ntk_mlp` builds, by the names of :func:`neurones.analysis.ntk.infinite_width_kernels`."""


def ntk_mlp(
    widths, activation: str = "relu", *, weight_std: float = 1.0, bias_std: float = 0.0, dtype=None, rng: Seed = None
) -> Sequential:
    """NTKLinear(widths[0], widths[1]) – φ – … – φ – NTKLinear(widths[-2], widths[-1]): ``len(widths) − 2`` hidden
    layers, the network whose wide limit :func:`~neurones.analysis.ntk.infinite_width_kernels` computes with
    ``depth = len(widths) − 2``. One Generator (``rng``) draws every layer in order."""
    widths = list(widths)
    if len(widths) < 2:
        raise ValueError(f"ntk_mlp: need at least the input and output widths, got {widths}")
    if activation not in ACTIVATIONS:
        raise ValueError(f"ntk_mlp: activation must be one of {tuple(ACTIVATIONS)}, got {activation!r}")
    rng = as_generator(rng)
    layers = []
    for index, (fan_in, fan_out) in enumerate(itertools.pairwise(widths)):
        layers.append(NTKLinear(fan_in, fan_out, weight_std, bias_std, dtype=dtype, rng=rng))
        if index < len(widths) - 2:
            layers.append(ACTIVATIONS[activation]())
    return Sequential(*layers)
