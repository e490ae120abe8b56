"""Vanishing gradients in deep sigmoid networks, and the two cures: ReLU with He, and skip connections.

"Rien ne sert de courir", § Explosion et disparition des gradients: backpropagation multiplies the error by one
Jacobian per layer, δ^l = f′(z^l) ⊙ (W^{l+1})ᵀ δ^{l+1}, so with γ = max f′

    ‖δ^l‖ ≤ ‖δ^L‖ · ∏_{k=l+1}^{L} γ ‖W^k‖₂.

For the sigmoid γ = ¼ and the gradient of the first layers vanishes geometrically. The document writes the
factor (¼)^{L−l}, which alone is not a bound: the operator norms ‖W^k‖₂ (about 2 for a square Glorot matrix)
multiply it. ReLU networks with He initialization keep E‖δ^l‖² constant (Exercise 4's condition applied to the
backward pass), and residual connections h_l = h_{l−1} + f(h_{l−1}) ("Théorie de l'Apprentissage par Réseaux de
Neurones", §2.2, réseaux résiduels) give p_{l−1} = (I + J_l)ᵀ p_l: since E[J_lᵀ p_l] = 0 (σ′ is even and the
weights symmetric), E‖p_{l−1}‖² = E‖p_l‖² + E‖J_lᵀ p_l‖² ≥ E‖p_l‖², and the gradient cannot vanish.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

import neurones as nr
from neurones import nn
from neurones.analysis.propagation import layer_statistics
from neurones.lab.claims import at_least, at_most, band
from neurones.lab.config import scales
from neurones.lab.registry import experiment
from neurones.lab.result import Result
from neurones.lab.statistics import ratio_of_means
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


def _residual_gradient_norms(depth: int, width: int, batch: int, rng: np.random.Generator) -> np.ndarray:
    """‖p_l‖ for l = 0..L in the sigmoid network h_l = h_{l−1} + σ(W_l h_{l−1}) (Glorot), loss ⟨u, h_L⟩."""
    blocks = []
    for _ in range(depth):
        linear = nn.Linear(width, width, bias=False, dtype=np.float64, rng=rng)
        nn.init.xavier_normal_(linear.weight, rng=rng)
        blocks.append(nn.Residual(nn.Sequential(linear, nn.Sigmoid())))
    h = nr.tensor(rng.standard_normal((batch, width)), requires_grad=True)
    states = [h]
    for block in blocks:
        h = block(h)
        h.retain_grad()
        states.append(h)
    h.backward(rng.standard_normal(h.shape))
    return np.array([np.linalg.norm(s.grad.data) for s in states])


def _measure(point: Mapping[str, Any], rng: np.random.Generator) -> dict[str, Any]:
    depth, width, batch = point["depth"], point["width"], point["batch"]
    if point["network"] == "residual-sigmoid":
        norms = [_residual_gradient_norms(depth, width, batch, rng) for _ in range(point["draws"])]
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
    L = config.depth
    worst = float(np.max(sigmoid["grad_norm"][:, :-1] / sigmoid["bound"][:, :-1]))  # at l = L it is 1 by definition
    decay = np.mean(sigmoid["grad_norm"][:, 0] / sigmoid["grad_norm"][:, -1])
    result.claim(at_most(
        "002.vanishing.bound",
        f"Sigmoid network ({L} layers, width {config.width}, Glorot): at every layer and in every draw, "
        f"‖δ^l‖ ≤ ‖δ^L‖ ∏_{{k>l}} γ‖W^k‖₂ with γ = ¼ (measured: the largest ratio of ‖δ^l‖ to this bound over l < L; a "
        f"deterministic inequality, so no standard error). The gradient of the first layer is "
        f"{decay:.2g} times that of the last.",
        f"{SOURCE}, majoration |δ_j^l| ≤ γ^(L−l+1)|…|",
        high=1.0, measured=worst, stderr=0.0,
    ))
    measured, stderr = ratio_of_means(relu["grad_norm"][:, 0] ** 2, relu["grad_norm"][:, -1] ** 2, rng)
    result.claim(band(
        "002.vanishing.relu-he",
        f"ReLU with He initialization does not vanish: E‖δ^1‖²/E‖δ^{L}‖² ∈ [0.5, 2].",
        f"{SOURCE}, Une meilleure initialisation, Exercice 4",
        low=0.5, high=2.0, measured=measured, stderr=stderr,
    ))
    measured, stderr = ratio_of_means(residual["grad_norm"][:, 0] ** 2, residual["grad_norm"][:, -1] ** 2, rng)
    result.claim(at_least(
        "000.residual-gradient",
        f"The same sigmoid network with skip connections h_l = h_{{l−1}} + σ(W_l h_{{l−1}}) keeps the gradient: "
        f"E‖p_0‖²/E‖p_{L}‖² ≥ 1 (cross terms vanish in expectation).",
        SOURCE_000,
        low=1.0, measured=measured, stderr=stderr,
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
