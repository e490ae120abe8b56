"""The "fourth model" of "Facteur de régulation des ResNets profonds" (Shen & Vin, §2.1): blocks with several layers.

The seed studies three one-layer blocks (Table 2.1) and suggests "a fourth model with several linear or
convolutional layers". We take the two-layer perceptron block

    h_{k+1} = h_k + α_L V_{k+1} ReLU(W²_{k+1} ReLU(W¹_{k+1} h_k)),

with Gaussian weights: √d·V and √d·W² of unit variance (Hypothesis 1), √d·W¹ of variance 2 (He), so that the inner
ReLU keeps E‖·‖² and the block satisfies Hypothesis 2 with E‖g(h)‖²/‖h‖² = ½ exactly (each ReLU sees a symmetric
pre-activation, independent of its size). The argument of Lemma 1 then gives, as for res-3,

    E‖h_L − h_0‖²/‖h_0‖² = (1 + α²/2)^L − 1,

Lemma 1's lower bound, exactly. Claims: ``004.block4.lemma1[β, L]`` (equality, tol 0) at every depth for
β ∈ {½, 1}, and ``004.block4.critical``: at β = ½ the median of ‖h_L − h_0‖/‖h_0‖ changes by less than 25% between
the two deepest depths (Corollary 1 (iii)). β = ¼ is left out: its ratio is nearly log-normal (see
resnet-depth-scaling) and the mean needs thousands of networks.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

import neurones as nr
from neurones import functional as F
from neurones.autodiff.grad_mode import no_grad
from neurones.lab.claims import at_most, equality
from neurones.lab.config import scales
from neurones.lab.registry import experiment
from neurones.lab.result import Result
from neurones.lab.statistics import bootstrap_stderr, mean_and_stderr, median_change
from neurones.lab.sweep import grid, sweep

SOURCE = "shen-vin-2023"
BETAS = (0.5, 1.0)


@scales(quick=dict(depths=(10, 100, 1000), draws=50), smoke=dict(depths=(4, 16), draws=3, width=8, batch=4))
@dataclass(frozen=True)
class MultilayerBlocksConfig:
    """``draws`` networks per (β, L) of width ``width``, each with ``batch`` Gaussian inputs."""

    depths: tuple[int, ...] = (10, 100, 1000)
    width: int = 64
    draws: int = 200
    batch: int = 16

    def __post_init__(self) -> None:
        if len(self.depths) < 2 or min(self.depths) < 1 or self.draws < 3 or min(self.width, self.batch) < 1:
            raise ValueError("two depths ≥ 1, draws ≥ 3 and positive sizes are required")


def _state_ratios(depth: int, beta: float, width: int, batch: int, rng: np.random.Generator) -> np.ndarray:
    """‖h_L − h_0‖/‖h_0‖ per input for one network of two-layer blocks (float64, no graph)."""
    alpha = depth**-beta
    scale = 1 / math.sqrt(width)
    h0 = nr.tensor(rng.standard_normal((batch, width)))
    h = h0
    with no_grad():
        for _ in range(depth):
            W1 = nr.tensor(rng.standard_normal((width, width)) * scale * math.sqrt(2))
            W2 = nr.tensor(rng.standard_normal((width, width)) * scale)
            V = nr.tensor(rng.standard_normal((width, width)) * scale)
            h = h + alpha * F.linear(F.relu(F.linear(F.relu(F.linear(h, W1)), W2)), V)
    return np.linalg.norm((h - h0).numpy(), axis=1) / np.linalg.norm(h0.numpy(), axis=1)


def _measure(point: Mapping[str, Any], rng: np.random.Generator) -> dict[str, Any]:
    config = point["config"]
    ratios = np.stack([_state_ratios(point["depth"], point["beta"], config.width, config.batch, rng)
                       for _ in range(config.draws)])  # fmt: skip
    return {"beta": point["beta"], "depth": point["depth"], "ratios": ratios}


@experiment(
    "resnet-multilayer-blocks",
    config=MultilayerBlocksConfig,
    title="The seed's fourth model: ResNet blocks with two layers, Lemma 1 and the critical scaling β = ½",
    source=f"{SOURCE}, §2.1",
)
def run(config: MultilayerBlocksConfig, rng: np.random.Generator) -> Result:
    result = Result(config)
    points = [{**p, "config": config} for p in grid(beta=BETAS, depth=sorted(config.depths))]
    measured = sweep(_measure, points, rng, desc="two-layer ResNet blocks")
    rows = []
    for m in measured:
        alpha = m["depth"] ** -m["beta"]
        predicted = math.expm1(m["depth"] * math.log1p(alpha**2 / 2))
        mean, stderr = mean_and_stderr(np.mean(m["ratios"] ** 2, axis=1))
        result.claim(equality(
            f"004.block4.lemma1[beta={m['beta']:g},L={m['depth']}]",
            f"Two-layer blocks $V\\,\\mathrm{{ReLU}}(W^2 \\mathrm{{ReLU}}(W^1 h))$, $\\beta = {m['beta']:g}$, "
            f"$L = {m['depth']}$: "
            r"$\mathbb{E}\|h_L - h_0\|^2/\|h_0\|^2 = (1 + \alpha^2/2)^L - 1$" + f" $= {predicted:.4g}$ exactly "
            "(Lemma 1's lower bound: the block has E‖g‖²/‖h‖² = ½).",
            f"{SOURCE}, Lemme 1 (quatrième modèle, §2.1)",
            predicted=predicted, measured=mean, stderr=stderr, tol=0.0,
        ))
        rows.append({"beta": m["beta"], "depth": m["depth"], "predicted": predicted, "mean_ratio_sq": mean,
                     "stderr": stderr, "median_ratio": float(np.median(m["ratios"]))})  # fmt: skip
    deep = sorted(config.depths)[-2:]
    pair = [next(m["ratios"] for m in measured if m["beta"] == 0.5 and m["depth"] == depth) for depth in deep]

    result.claim(at_most(
        "004.block4.critical",
        f"Two-layer blocks, β = ½: the median of ‖h_L − h_0‖/‖h_0‖ changes by less than 25% between L = {deep[0]} "
        f"and L = {deep[1]} (Corollary 1 (iii): a non-degenerate limit).",
        f"{SOURCE}, Corollaire 1 (iii) (quatrième modèle)",
        high=0.25, measured=median_change(*pair), stderr=bootstrap_stderr(median_change, pair, rng),
    ))
    result.table("ratios", rows)
    fig = result.figure(
        "ratio-vs-depth",
        f"E‖h_L − h_0‖²/‖h_0‖² against depth for two-layer blocks (mean over {config.draws} networks ± 3 standard "
        f"errors) with the exact (1 + α²/2)^L − 1 (lines), α = L^(−β).",
    )
    ax = fig.subplots()
    for beta, color in zip(BETAS, ("#2c7fb8", "#c0392b")):
        chosen = [r for r in rows if r["beta"] == beta]
        depths = [r["depth"] for r in chosen]
        ax.errorbar(depths, [r["mean_ratio_sq"] for r in chosen], yerr=[3 * r["stderr"] for r in chosen],
                    marker="o", linestyle="none", capsize=3, color=color, label=f"β = {beta:g}")  # fmt: skip
        ax.plot(depths, [r["predicted"] for r in chosen], color=color)
    ax.set(xscale="log", yscale="log", xlabel="depth L", ylabel="E‖h_L − h_0‖²/‖h_0‖²")
    ax.legend()
    return result
