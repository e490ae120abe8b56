"""The residual network of "Implicit regularization of deep residual networks towards neural ODEs"
(Marion, Wu, Sander & Biau, ICLR 2024; seed 003):

    h_0 = A x,    h_{k+1} = h_k + (1/L) V_{k+1} σ(W_{k+1} h_k)   (0 ≤ k ≤ L − 1),    F(x) = B h_L,

with V_k ∈ R^{q×m}, W_k ∈ R^{m×q}: hidden width q, inner width m, depth L. With V_k = 𝒱(k/L), W_k = 𝒲(k/L) for
smooth 𝒱, 𝒲 it is the explicit Euler scheme, step 1/L, of the neural ODE dH/ds = 𝒱(s) σ(𝒲(s) H(s)) on [0, 1].

Initializations of V and W (each chosen separately, as the authors start from V = 0 and a smooth W):

- ``"iid"``: every entry of every V_k (or W_k) i.i.d. N(0, std²) — no function of depth behind it;
- ``"constant"``: the smooth initialization with 𝒱 (or 𝒲) constant in depth — every layer equal to one draw;
- ``"gp"``: the smooth initialization with each entry a Gaussian process in depth, RBF kernel of ``bandwidth``;
- ``"zero"``: all zeros;
- a callable 𝒵: s ↦ weights at depths s (for instance a :class:`~neurones.nn.depth_functions.ConstantInDepth`),
  so that networks of several depths share the same weight functions.

A and B are the identity (the authors' synthetic code: h_0 = x, F = h_L; then q equals the input and output
sizes) or fixed random Gaussian maps of entries N(0, 1/d) and N(0, 1/q); they are trained only when asked.
Every block is one fused graph node (:func:`neurones.ops.residual.residual_block`).
"""

from __future__ import annotations

import math

import numpy as np

from neurones.autodiff.tensor import Tensor
from neurones.backend import DEFAULT_DTYPE, Seed, as_dtype, as_generator
from neurones.nn.containers import ModuleList
from neurones.nn.depth_functions import WeightInit, weights_in_depth
from neurones.nn.module import Module
from neurones.nn.parameter import Parameter
from neurones.ops.linear import linear
from neurones.ops.residual import residual_block

ODE_ACTIVATIONS = ("gelu", "tanh", "relu", "identity")
MAPS = ("identity", "random")


class ODEResidualBlock(Module):
    """h ↦ h + (1/L) V σ(W h), with V (q, m) and W (m, q)."""

    def __init__(self, V: np.ndarray, W: np.ndarray, depth: int, activation: str) -> None:
        super().__init__()
        self.V, self.W = Parameter(V), Parameter(W)
        self.step = 1 / depth
        self.activation = activation

    def forward(self, h: Tensor) -> Tensor:
        parameters = self._parameters  # as ScaledResidualBlock.forward: no Module.__getattr__ per block
        return residual_block(h, parameters["V"], parameters["W"], self.step, self.activation)

    def extra_repr(self) -> str:
        q, m = self.V.shape
        return f"width={q}, inner_width={m}, step=1/{round(1 / self.step)}, activation={self.activation}"


class ODEResNet(Module):
    """h_{k+1} = h_k + (1/L) V_{k+1} σ(W_{k+1} h_k): the residual network that discretizes a neural ODE.

    Parameters
    ----------
    in_features, width, inner_width, out_features, depth:
        d, q, m, d′ and L. With ``embedding="identity"`` the width must equal ``in_features``; with
        ``readout="identity"`` it must equal ``out_features``.
    activation:
        σ: ``"gelu"`` (default: the theory needs σ ∈ C²), ``"tanh"``, ``"relu"`` or ``"identity"``.
    V_init, W_init:
        ``"iid"``, ``"constant"``, ``"gp"``, ``"zero"`` or a weight function of depth (see the module docstring).
    std, bandwidth:
        the entries' standard deviation for ``iid``/``constant``/``gp`` (default 1, the authors' choice) and the
        RBF bandwidth ℓ of ``gp``.
    embedding, readout:
        ``"identity"`` or ``"random"`` for A and B; ``train_embedding`` / ``train_readout`` make them trainable.
    """

    def __init__(self, in_features: int, width: int, inner_width: int, out_features: int, depth: int,
                 activation: str = "gelu", V_init: WeightInit = "zero", W_init: WeightInit = "constant",
                 std: float = 1.0, bandwidth: float = 0.25, embedding: str = "identity", readout: str = "identity",
                 train_embedding: bool = False, train_readout: bool = False, rng: Seed = None, dtype=None) -> None:
        super().__init__()
        if depth < 1:
            raise ValueError(f"ODEResNet: depth must be at least 1, got {depth}")
        if activation not in ODE_ACTIVATIONS:
            raise ValueError(f"ODEResNet: activation must be one of {ODE_ACTIVATIONS}, got {activation!r}")
        for name, kind in (("embedding", embedding), ("readout", readout)):
            if kind not in MAPS:
                raise ValueError(f"ODEResNet: {name} must be one of {MAPS}, got {kind!r}")
        if embedding == "identity" and in_features != width:
            raise ValueError(f"ODEResNet: an identity embedding needs width == in_features, got {width} and "
                             f"{in_features}")
        if readout == "identity" and out_features != width:
            raise ValueError(f"ODEResNet: an identity readout needs width == out_features, got {width} and "
                             f"{out_features}")
        gen = as_generator(rng)
        dtype = DEFAULT_DTYPE if dtype is None else as_dtype(dtype)
        self.depth, self.width, self.inner_width, self.activation = depth, width, inner_width, activation
        self.A = self._map(embedding, (width, in_features), train_embedding, gen, dtype)
        Vs = weights_in_depth(V_init, (width, inner_width), depth, std, bandwidth, gen, "ODEResNet").astype(dtype)
        Ws = weights_in_depth(W_init, (inner_width, width), depth, std, bandwidth, gen, "ODEResNet").astype(dtype)
        self.blocks = ModuleList(ODEResidualBlock(V, W, depth, activation) for V, W in zip(Vs, Ws, strict=True))
        self.B = self._map(readout, (out_features, width), train_readout, gen, dtype)

    @staticmethod
    def _map(kind: str, shape: tuple[int, int], trainable: bool, rng: np.random.Generator, dtype) -> Parameter | None:
        """None for the identity; otherwise entries N(0, 1/fan_in), so that every coordinate of A x has variance
        ‖x‖²/fan_in (E‖A x‖² = (fan_out/fan_in)‖x‖²)."""
        if kind == "identity":
            return None
        values = (rng.standard_normal(shape) / math.sqrt(shape[1])).astype(dtype)
        return Parameter(values, requires_grad=trainable)

    def forward(self, x: Tensor, return_states: bool = False):
        """F(x) = B h_L; with ``return_states=True`` also the list [h_0, …, h_L]."""
        h = x if self.A is None else linear(x, self.A)
        states = [h] if return_states else None
        for block in self.blocks:
            h = block(h)
            if return_states:
                states.append(h)
        out = h if self.B is None else linear(h, self.B)
        return (out, states) if return_states else out

    def residual_parameters(self) -> list[Parameter]:
        """V_1, W_1, …, V_L, W_L: the parameters that gradient flow moves at rate L."""
        return [p for block in self.blocks for p in (block.V, block.W)]

    def gradient_flow_groups(self, lr: float) -> list[dict]:
        """Optimizer parameter groups for the paper's gradient flow, ∂Z_k/∂t = −L ∂R/∂Z_k: learning rate lr·L for
        the residual weights, lr for a trainable A or B (which the paper's scaling leaves alone)."""
        groups = [{"params": self.residual_parameters(), "lr": lr * self.depth}]
        maps = [p for p in (self.A, self.B) if p is not None and p.requires_grad]
        if maps:
            groups.append({"params": maps, "lr": lr})
        return groups

    def stacked_weights(self) -> tuple[np.ndarray, np.ndarray]:
        """(V, W) as arrays of shapes (L, q, m) and (L, m, q): copies of the current weights."""
        V = np.stack([block.V.data for block in self.blocks])
        W = np.stack([block.W.data for block in self.blocks])
        return V, W

    def extra_repr(self) -> str:
        return (f"depth={self.depth}, width={self.width}, inner_width={self.inner_width}, "
                f"activation={self.activation}")
