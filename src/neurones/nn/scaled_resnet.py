"""The deep ResNets of "Facteur de régulation des ResNets profonds" (Shen & Vin, 2023), Table 2.1.

    h_0 = A x,    h_{k+1} = h_k + α_L V_{k+1} g(h_k, θ_{k+1}),    F(x) = B h_L,    α_L = L^{−β}

with three blocks, none with biases:

    res-1:  g(h) = σ(h)              res-2:  g(h, W) = σ(W h)              res-3:  g(h, W) = ReLU(W h)

At initialization the entries of √d·V_k and √d·W_k are i.i.d., symmetric, of unit variance (Hypothesis 1 and
Proposition 1): Gaussian N(0, 1/d), or uniform on [−√(3/d), √(3/d)]. For res-1 and res-2, Table 2.1 assumes
a|x| ≤ |σ(x)| ≤ b|x| with 1/√2 ≤ a < b ≤ 1; the default σ, a leaky ReLU of negative slope 0.75 (a = 0.75,
b = 1), satisfies it. Other activations are allowed, but the theorems then say nothing.

The embedding A (d × n_in) and read-out B (n_out × d) are Gaussian with variance 1/n_in and 1/d, so that
‖h_0‖² ≈ ‖x‖² and the output has the scale of h_L. Each block is one fused graph node
(:func:`neurones.ops.residual.residual_block`), so networks of a thousand blocks train quickly.
"""

from __future__ import annotations

import math

import numpy as np

from neurones.autodiff.tensor import Tensor
from neurones.backend import DEFAULT_DTYPE, Seed, as_dtype, as_generator
from neurones.nn.containers import ModuleList
from neurones.nn.module import Module
from neurones.nn.parameter import Parameter
from neurones.ops.linear import linear
from neurones.ops.residual import ACTIVATIONS, residual_block

BLOCKS = ("res-1", "res-2", "res-3")
INITS = ("gaussian", "uniform")
DEFAULT_LEAKY_SLOPE = 0.75


def unit_variance_matrix(shape: tuple, scale: float, init: str, rng: np.random.Generator, dtype) -> np.ndarray:
    """Entries i.i.d., symmetric, of variance ``scale²``: Gaussian, or uniform on [−√3·scale, √3·scale]."""
    if init == "gaussian":
        return (rng.standard_normal(shape) * scale).astype(dtype)
    return rng.uniform(-math.sqrt(3) * scale, math.sqrt(3) * scale, size=shape).astype(dtype)


class ScaledResidualBlock(Module):
    """h ↦ h + α V g(h, W): one block of :class:`ScaledResNet` (``W`` absent for res-1)."""

    def __init__(self, width: int, block: str, alpha: float, activation: str, negative_slope: float,
                 init: str, rng: np.random.Generator, dtype) -> None:
        super().__init__()
        self.block, self.alpha = block, alpha
        self.activation, self.negative_slope = activation, negative_slope
        scale = 1 / math.sqrt(width)
        self.V = Parameter(unit_variance_matrix((width, width), scale, init, rng, dtype))
        if block == "res-1":
            self.W = None
        else:
            self.W = Parameter(unit_variance_matrix((width, width), scale, init, rng, dtype))

    def forward(self, h: Tensor) -> Tensor:
        # The registry is read directly: ``self.V`` goes through Module.__getattr__ after a failed ordinary
        # lookup (0.6 µs against 0.06), twice per block and thousands of blocks per step. res-1 registers no W.
        parameters = self._parameters
        return residual_block(h, parameters["V"], parameters.get("W"), self.alpha, self.activation, self.negative_slope)

    def extra_repr(self) -> str:
        return f"{self.block}, width={self.V.shape[0]}, alpha={self.alpha:.4g}, activation={self.activation}"


class ScaledResNet(Module):
    """The ResNet h_{k+1} = h_k + α_L V_{k+1} g(h_k, θ_{k+1}) of Shen & Vin (Table 2.1), α_L = depth^(−β).

    Parameters
    ----------
    in_features, width, out_features, depth:
        n_in, d, n_out and L.
    block:
        ``"res-1"`` (V σ(h)), ``"res-2"`` (V σ(W h)) or ``"res-3"`` (V ReLU(W h)).
    alpha, beta:
        the residual scale α_L; if ``alpha`` is None it is ``depth ** -beta`` (β = ½ is the critical scaling).
    activation:
        σ for res-1/res-2 (default ``"leaky_relu"`` of slope 0.75, inside the theorems' assumption); res-3
        always uses ReLU.
    init:
        ``"gaussian"`` or ``"uniform"`` entries for √d·V and √d·W (unit variance, symmetric).
    """

    def __init__(self, in_features: int, width: int, out_features: int, depth: int, block: str = "res-3",
                 alpha: float | None = None, beta: float = 0.5, activation: str | None = None,
                 negative_slope: float = DEFAULT_LEAKY_SLOPE, init: str = "gaussian", rng: Seed = None,
                 dtype=None) -> None:
        super().__init__()
        if block not in BLOCKS:
            raise ValueError(f"ScaledResNet: block must be one of {BLOCKS}, got {block!r}")
        if init not in INITS:
            raise ValueError(f"ScaledResNet: init must be one of {INITS}, got {init!r}")
        if depth < 1:
            raise ValueError(f"ScaledResNet: depth must be at least 1, got {depth}")
        if block == "res-3":
            if activation not in (None, "relu"):
                raise ValueError("ScaledResNet: res-3 is defined with ReLU; use res-2 for another activation")
            activation = "relu"
        activation = activation or "leaky_relu"
        if activation not in ACTIVATIONS:
            raise ValueError(f"ScaledResNet: activation must be one of {ACTIVATIONS}, got {activation!r}")
        gen = as_generator(rng)
        dtype = DEFAULT_DTYPE if dtype is None else as_dtype(dtype)
        self.depth, self.width, self.block_kind = depth, width, block
        self.beta = beta
        self.alpha = float(alpha) if alpha is not None else depth ** (-beta)
        embedding_scale = 1 / math.sqrt(in_features)
        self.A = Parameter(unit_variance_matrix((width, in_features), embedding_scale, "gaussian", gen, dtype))
        self.blocks = ModuleList(
            ScaledResidualBlock(width, block, self.alpha, activation, negative_slope, init, gen, dtype)
            for _ in range(depth)
        )
        self.B = Parameter(unit_variance_matrix((out_features, width), 1 / math.sqrt(width), "gaussian", gen, dtype))

    def forward(self, x: Tensor, return_states: bool = False):
        """F(x) = B h_L; with ``return_states=True`` also the list [h_0, ..., h_L] (tensors of the graph)."""
        h = linear(x, self.A)
        states = [h] if return_states else None
        for block in self.blocks:
            h = block(h)
            if return_states:
                states.append(h)
        out = linear(h, self.B)
        return (out, states) if return_states else out

    def extra_repr(self) -> str:
        return f"depth={self.depth}, width={self.width}, block={self.block_kind}, alpha={self.alpha:.4g}"
