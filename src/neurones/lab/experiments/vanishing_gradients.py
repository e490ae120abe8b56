"""Vanishing gradients in deep sigmoid networks, and the two cures: ReLU with He, and skip connections.

"Rien ne sert de courir", § Explosion et disparition des gradients: backpropagation multiplies the error by one
Jacobian per layer, δ^l = f′(z^l) ⊙ (W^{l+1})ᵀ δ^{l+1}, so with γ = max f′

    ‖δ^l‖ ≤ ‖δ^L‖ · ∏_{k=l+1}^{L} γ ‖W^k‖₂.

That bound follows from sub-multiplicativity alone, so it tests backpropagation, not the theory: it is checked
in the tests (and drawn in the figure) rather than claimed. The claims test the *rate*: in the wide limit each
layer multiplies E‖δ‖² by χ(q_l) = c·E[f′(√q_l Z)²] along the mean-field variances q_l
(:mod:`neurones.analysis.meanfield`), about −36.5 decades over 29 sigmoid layers under Glorot (χ* = 0.0557 at the
fixed point), against −34.9 for the slides' heuristic γ² = 1/16 per layer (``002.vanishing.rate``, which replaces
``002.vanishing.bound``, now retired). ReLU with He has χ = 1 exactly (``002.vanishing.relu-he``, now an equality
with 0 decades instead of the band [0.5, 2]).

"Théorie de l'Apprentissage par Réseaux de Neurones", §2.2, defines residual layers h_i = σ(W_i h_{i−1} + b_i +
h_j) with j < i − 1, and says they attenuate the vanishing gradient. We build exactly that (j = i − 2, b = 0): the
skip path gives p_{i−1} = W_iᵀ(σ′(a_i) ⊙ p_i) + σ′(a_{i+1}) ⊙ p_{i+1}. Both terms still cross σ′ ≤ ¼, so the
gradient still vanishes, at about half the rate in decades: ``000.residual-gradient`` claims the wide-limit value
computed by :func:`~neurones.analysis.meanfield.skip_gradient_ratio` (the pre-activations are not Gaussian there,
their laws are carried on a grid). The cross term E[(W_iᵀ g_i)·g_{i+1}] vanishes only under the usual assumption
that the backward weights are independent of the forward ones; it is not an exact identity at finite width, and
the finite-width allowance of every claim (2/n per layer) covers it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

import neurones as nr
from neurones import nn
from neurones.analysis.meanfield import (
    finite_width_decades,
    fixed_point,
    gradient_factor,
    skip_gradient_ratio,
    variance_iterates,
)  # fmt: skip
from neurones.analysis.propagation import layer_statistics
from neurones.lab.claims import equality
from neurones.lab.config import scales
from neurones.lab.registry import experiment
from neurones.lab.result import Result
from neurones.lab.statistics import log10_ratio_of_means
from neurones.lab.sweep import sweep

SOURCE = "lopes-quintas-2025, Explosion et disparition des gradients"
SOURCE_000 = "merad-2020, §2.2, réseaux résiduels"
SIGMOID_SLOPE = 0.25  # γ = max σ′ = σ′(0) = ¼


@scales(quick=dict(draws=10), smoke=dict(depth=5, width=8, draws=3, batch=4))
@dataclass(frozen=True)
class VanishingConfig:
    depth: int = 30
    width: int = 128
    draws: int = 20
    batch: int = 32

    def __post_init__(self) -> None:
        if self.depth < 2 or self.draws < 3 or self.width < 1 or self.batch < 1:
            raise ValueError("depth ≥ 2, draws ≥ 3 and positive sizes are required")


def _plain(depth: int, width: int, activation: str, rng: np.random.Generator) -> nn.Sequential:
    modules: list[nn.Module] = []
    for layer in range(depth):
        linear = nn.Linear(width, width, bias=False, dtype=np.float64, rng=rng)
        if activation == "sigmoid":
            nn.init.xavier_normal_(linear.weight, rng=rng)
        else:
            nn.init.kaiming_normal_(linear.weight, nonlinearity="relu", rng=rng)
        modules.append(linear)
        if layer < depth - 1:
            modules.append(nn.Sigmoid() if activation == "sigmoid" else nn.ReLU())
    return nn.Sequential(*modules)


def _skip_gradient_norms(depth: int, width: int, batch: int, rng: np.random.Generator) -> np.ndarray:
    """‖p_i‖ for i = 0..L in seed 000's residual network h_i = σ(W_i h_{i−1} + h_{i−2}) (h_1 = σ(W_1 h_0); Glorot,
    no bias), loss ⟨u, h_L⟩."""
    layers = []
    for _ in range(depth):
        linear = nn.Linear(width, width, bias=False, dtype=np.float64, rng=rng)
        nn.init.xavier_normal_(linear.weight, rng=rng)
        layers.append(linear)
    states = [nr.tensor(rng.standard_normal((batch, width)), requires_grad=True)]
    for i, linear in enumerate(layers, start=1):
        pre_activation = linear(states[i - 1]) + (states[i - 2] if i >= 2 else 0.0)
        state = nr.sigmoid(pre_activation)
        state.retain_grad()
        states.append(state)
    states[-1].backward(rng.standard_normal(states[-1].shape))
    return np.array([np.linalg.norm(s.grad.data) for s in states])


def _measure(point: Mapping[str, Any], rng: np.random.Generator) -> dict[str, Any]:
    depth, width, batch = point["depth"], point["width"], point["batch"]
    if point["network"] == "residual-sigmoid":
        norms = [_skip_gradient_norms(depth, width, batch, rng) for _ in range(point["draws"])]
        return {"network": point["network"], "grad_norm": np.array(norms)}
    activation = "sigmoid" if point["network"] == "sigmoid-glorot" else "relu"
    norms, bounds = [], []
    for _ in range(point["draws"]):
        net = _plain(depth, width, activation, rng)
        x = nr.tensor(rng.standard_normal((batch, width)))
        stats = layer_statistics(net, x, rng.standard_normal((batch, width)))
        spectral = np.array([np.linalg.norm(m.weight.data, 2) for m in net if isinstance(m, nn.Linear)])
        # bound_l = ‖δ^L‖ ∏_{k=l+1}^{L} γ‖W^k‖₂, built from the last layer backwards.
        factors = SIGMOID_SLOPE * spectral[1:]
        tail_products = np.append(np.cumprod(factors[::-1])[::-1], 1.0)
        norms.append(stats.grad_z_norm)
        bounds.append(stats.grad_z_norm[-1] * tail_products)
    return {"network": point["network"], "grad_norm": np.array(norms), "bound": np.array(bounds)}


@experiment(
    "vanishing-gradients",
    config=VanishingConfig,
    title="Vanishing gradients with the sigmoid, and how ReLU + He and skip connections avoid them",
    source=SOURCE,
)
def run(config: VanishingConfig, rng: np.random.Generator) -> Result:
    result = Result(config)
    common = {"depth": config.depth, "width": config.width, "batch": config.batch, "draws": config.draws}
    sigmoid, relu, residual = sweep(
        _measure,
        [{"network": name, **common} for name in ("sigmoid-glorot", "relu-he", "residual-sigmoid")],
        rng,
        desc="vanishing gradients",
    )
    L, n = config.depth, config.width
    tol = finite_width_decades(L, n)
    # Plain sigmoid network: Var δ^l = χ(q_l) Var δ^{l+1}, χ(q) = E σ′(√q Z)² (Glorot, square: c = 1), q_l the
    # mean-field iterates from q_1 = 1 (unit-variance inputs).
    iterates = variance_iterates("sigmoid", 1.0, [1.0] * (L - 2))
    predicted = sum_plain = float(sum(math.log10(gradient_factor("sigmoid", q)) for q in iterates))
    fixed = gradient_factor("sigmoid", fixed_point("sigmoid"))
    measured, stderr = log10_ratio_of_means(sigmoid["grad_norm"][:, 0] ** 2, sigmoid["grad_norm"][:, -1] ** 2, rng)
    result.claim(equality(
        "002.vanishing.rate",
        f"Sigmoid network ({L} layers, width {n}, Glorot): each layer multiplies E‖δ‖² by "
        f"$\\chi(q_l) = \\mathbb{{E}}[\\sigma'(\\sqrt{{q_l}} Z)^2]$ along the mean-field variances $q_l$, so "
        f"$\\log_{{10}} \\mathbb{{E}}\\|\\delta^1\\|^2/\\mathbb{{E}}\\|\\delta^{{{L}}}\\|^2 = "
        f"\\sum_l \\log_{{10}} \\chi(q_l) = {predicted:.3g}$ (at the fixed point $\\chi^* = {fixed:.4g}$ per layer; "
        f"the slides' heuristic $\\gamma^2 = 1/16$ per layer would give {(L - 1) * math.log10(SIGMOID_SLOPE**2):.3g}); "
        f"tol {tol:.2g} decade, a relative error of 2/n per layer for finite width.",
        f"{SOURCE}, majoration |δ_j^l| ≤ γ^(L−l+1)|…|",
        predicted=predicted, measured=measured, stderr=stderr, tol=tol,
    ))
    measured, stderr = log10_ratio_of_means(relu["grad_norm"][:, 0] ** 2, relu["grad_norm"][:, -1] ** 2, rng)
    result.claim(equality(
        "002.vanishing.relu-he",
        f"ReLU with He initialization does not vanish: $\\chi = 2\\,\\mathbb{{E}}[\\mathrm{{relu}}'(z)^2] = 1$ "
        f"per layer, so $\\log_{{10}} \\mathbb{{E}}\\|\\delta^1\\|^2/\\mathbb{{E}}\\|\\delta^{{{L}}}\\|^2 = 0$ "
        f"(tol {tol:.2g} decade as above).",
        f"{SOURCE}, Une meilleure initialisation, Exercice 4",
        predicted=0.0, measured=measured, stderr=stderr, tol=tol,
    ))
    predicted = math.log10(skip_gradient_ratio("sigmoid", L))
    measured, stderr = log10_ratio_of_means(residual["grad_norm"][:, 0] ** 2, residual["grad_norm"][:, -1] ** 2, rng)
    result.claim(equality(
        "000.residual-gradient",
        f"The seed's residual network $h_i = \\sigma(W_i h_{{i-1}} + h_{{i-2}})$ ({L} sigmoid layers, width {n}, "
        f"Glorot): the skip path adds $\\sigma'(a_{{i+1}}) \\odot p_{{i+1}}$ to every $p_{{i-1}}$, so in the wide "
        f"limit $P_{{i-1}} = S_i P_i + S_{{i+1}} P_{{i+1}}$ with $S_i = \\mathbb{{E}}\\,\\sigma'(a_i)^2$ along the "
        f"(non-Gaussian) laws of the $a_i$, and "
        f"$\\log_{{10}} \\mathbb{{E}}\\|p_0\\|^2/\\mathbb{{E}}\\|p_{{{L}}}\\|^2 = {predicted:.3g}$: "
        f"the skip connections attenuate the vanishing (against {sum_plain:.3g} decades without them) but do not "
        f"stop it, since every path still crosses σ′ ≤ ¼. Tol {tol:.2g} decade as above.",
        SOURCE_000,
        predicted=predicted, measured=measured, stderr=stderr, tol=tol,
    ))
    layers = np.arange(1, L + 1)
    result.table("gradient_norms", [
        {"layer": int(l), "sigmoid_glorot": float(np.mean(sigmoid["grad_norm"][:, l - 1])),
         "sigmoid_bound": float(np.mean(sigmoid["bound"][:, l - 1])),
         "relu_he": float(np.mean(relu["grad_norm"][:, l - 1])),
         "residual_sigmoid": float(np.mean(residual["grad_norm"][:, l]))}
        for l in layers
    ])
    fig = result.figure(
        "gradient-norms",
        f"Norm of the backpropagated gradient per layer (mean over {config.draws} networks of width "
        f"{config.width}): the sigmoid network (Glorot) vanishes geometrically, below the bound ‖δ^L‖∏γ‖W^k‖₂ "
        f"(dashed); ReLU with He stays flat; the residual sigmoid network (h_l = h_(l−1) + σ(W_l h_(l−1))) keeps "
        f"and even amplifies it.",
    )
    ax = fig.subplots()
    ax.plot(layers, np.mean(sigmoid["grad_norm"], axis=0), marker="o", label="sigmoid, Glorot")
    ax.plot(layers, np.mean(sigmoid["bound"], axis=0), linestyle="--", label="bound ‖δ^L‖ ∏ γ‖W^k‖₂")
    ax.plot(layers, np.mean(relu["grad_norm"], axis=0), marker="s", label="ReLU, He")
    ax.plot(np.arange(0, L + 1), np.mean(residual["grad_norm"], axis=0), marker="^", label="residual sigmoid")
    ax.set(yscale="log", xlabel="layer l", ylabel="‖∂L/∂z^l‖ (batch Frobenius norm)")
    ax.legend()
    return result
