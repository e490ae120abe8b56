r"""Two-layer networks in the mean-field scaling, and the centred, rescaled models of lazy training (seed 000 §7–8).

**Mean field** (Mei, Montanari & Nguyen 2018; Sirignano & Spiliopoulos 2020; Chizat & Bach 2018). A network of N
neurons θ_j = (a_j, w_j) with the output averaged, not summed,

    f(x; θ) = (1/N) Σ_j a_j σ(w_j·x),

is a function of the empirical measure ρ_N = (1/N) Σ_j δ_{θ_j}. Gradient descent with the per-neuron step N·η moves
each neuron by η ∇_θ Ψ(θ_j; ρ_N), a quantity of order one, and as N → ∞ the measure follows a deterministic flow
(a Wasserstein gradient flow): the mean-field limit, where the neurons, the *features*, move by Θ(1).
With ``scaling="ntk"`` the output is (1/√N) Σ_j a_j σ(w_j·x) and the step is η for every neuron: the neural-tangent
scaling, in which each neuron moves by O(N^{−1/2}) and the network stays near its linearization.
:meth:`MeanFieldTwoLayer.param_groups` gives the step of each scaling.

**Centred models** (Chizat, Oyallon & Bach 2019). For any model h, ``Centered(h, α)`` computes
α(h(x; θ) − h(x; θ₀)) with θ₀ the parameters at construction, and the loss is to be divided by α²
(``loss_scale``): as α grows, training moves θ by O(1/α) and the model follows its linearization around θ₀ — lazy
training — whatever the model.
"""

from __future__ import annotations

import copy
import math

import numpy as np

from neurones.autodiff.grad_mode import no_grad
from neurones.backend import Seed, as_generator
from neurones.nn.module import Module
from neurones.nn.ntk import ACTIVATIONS
from neurones.nn.parameter import empty_parameter

SCALINGS = ("mean-field", "ntk")


class MeanFieldTwoLayer(Module):
    """f(x) = (1/N) Σ_j a_j σ(w_j·x) (``scaling="mean-field"``) or (1/√N) Σ_j a_j σ(w_j·x) (``"ntk"``), with
    w_j ~ N(0, init_std²·I_d) and a_j ~ N(0, init_std²) (``weight`` (N, d), ``output`` (N,)); inputs (n, d), output
    (n, 1). ``activation``: a name of :data:`neurones.nn.ntk.ACTIVATIONS`, applied by a submodule (so that
    recorders can watch a ReLU's patterns).

    ``restarts=R`` stacks R independent networks: ``weight`` (R, N, d), ``output`` (R, N), output (R, n, 1), each
    restart drawn in turn from ``rng``; a loss that returns the R losses as a vector trains them in one pass
    (:func:`neurones.train.full_batch_gd`).
    """

    def __init__(self, d: int, N: int, activation: str = "relu", *, scaling: str = "mean-field",
                 restarts: int | None = None, init_std: float = 1.0, dtype=None, rng: Seed = None) -> None:
        super().__init__()
        if d < 1 or N < 1 or (restarts is not None and restarts < 1):
            raise ValueError(f"MeanFieldTwoLayer: d, N and restarts must be ≥ 1, got {d}, {N}, {restarts}")
        if activation not in ACTIVATIONS:
            raise ValueError(f"MeanFieldTwoLayer: activation must be one of {tuple(ACTIVATIONS)}, got {activation!r}")
        if scaling not in SCALINGS:
            raise ValueError(f"MeanFieldTwoLayer: scaling must be one of {SCALINGS}, got {scaling!r}")
        self.d, self.N, self.scaling, self.restarts = d, N, scaling, restarts
        self.activation = ACTIVATIONS[activation]()
        stack = () if restarts is None else (restarts,)
        self.weight = empty_parameter((*stack, N, d), dtype)
        self.output = empty_parameter((*stack, N), dtype)
        rng = as_generator(rng)
        weights, outputs = [], []
        for _ in range(restarts or 1):
            weights.append(init_std * rng.standard_normal((N, d)))
            outputs.append(init_std * rng.standard_normal(N))
        with no_grad():
            self.weight.data[...] = np.stack(weights).reshape(self.weight.shape)
            self.output.data[...] = np.stack(outputs).reshape(self.output.shape)

    @property
    def output_scale(self) -> float:
        """1/N (mean field) or 1/√N (NTK)."""
        return 1 / self.N if self.scaling == "mean-field" else 1 / math.sqrt(self.N)

    def param_groups(self, lr: float) -> list[dict]:
        """Optimizer groups: the per-neuron step N·η of the mean-field limit, or η in the NTK scaling."""
        return [{"params": [self.weight, self.output], "lr": lr * self.N if self.scaling == "mean-field" else lr}]

    def forward(self, x):
        features = self.activation(self.weight @ x.T)  # (N, n) or (R, N, n)
        if self.restarts is None:
            return (self.output @ features)[:, None] * self.output_scale
        return (self.output[:, None, :] @ features).transpose(1, 2) * self.output_scale

    def extra_repr(self) -> str:
        restarts = "" if self.restarts is None else f", restarts={self.restarts}"
        return f"d={self.d}, N={self.N}, scaling={self.scaling!r}{restarts}"


class Centered(Module):
    """α(h(x; θ) − h(x; θ₀)): ``model`` trained, a frozen copy of it at construction (``initial``) subtracted, the
    difference scaled by ``alpha``; train on the loss times ``loss_scale`` = 1/α² (Chizat, Oyallon & Bach's
    construction: the centred model starts at 0 whatever α, and α → ∞ is the lazy limit)."""

    def __init__(self, model: Module, alpha: float) -> None:
        super().__init__()
        if not np.isfinite(alpha) or alpha <= 0:
            raise ValueError(f"Centered: alpha must be a positive number, got {alpha}")
        self.model = model
        self.initial = copy.deepcopy(model).requires_grad_(False)
        self.alpha = float(alpha)

    @property
    def loss_scale(self) -> float:
        return 1 / self.alpha**2

    def forward(self, x):
        with no_grad():
            start = self.initial(x)
        return (self.model(x) - start) * self.alpha

    def extra_repr(self) -> str:
        return f"alpha={self.alpha:g}"
