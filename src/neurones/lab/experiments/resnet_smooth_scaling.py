"""Smooth weights move the critical scaling of deep ResNets from β = ½ to β = 1 (Marion, Fermanian, Biau & Vert,
"Scaling ResNets in the large-depth regime", 2022 — the paper behind "Facteur de régulation des ResNets profonds").

Shen & Vin's critical β = ½ rests on i.i.d. weights: the L increments α V_k g(h_k) are independent, so their sum
grows like √L·α. If instead the weights sample smooth functions of depth, V_k = 𝒱(k/L) and W_k = 𝒲(k/L), the
increments are coherent, their sum grows like L·α, and the network is the Euler scheme of the ODE
dh/ds = 𝒱(s) ReLU(𝒲(s) h) exactly when α = 1/L. Hence, for h_{k+1} = h_k + L^{−β} 𝒱(k/L) ReLU(𝒲(k/L) h_k):

- β = 2 (β > 1): ‖h_L − h_0‖/‖h_0‖ ≈ L^{1−β} × (a finite ODE integral) → 0 like 1/L (identity);
- β = 1: it tends to the ODE's value, a non-degenerate limit (the new critical scaling);
- β = ½ (critical for i.i.d. weights): the coherent sum √L·(…) explodes.

We follow the authors' protocol (``PierreMarion23/scaling-resnets``, ``experiment_scaling_initialization.py``):
width d = 40, entries of √d·𝒱 and √d·𝒲 independent Gaussian processes in s with the RBF kernel
(:class:`~neurones.nn.depth_functions.GaussianProcessInDepth`, bandwidth ``bandwidth``), Gaussian inputs, depths up
to 1000. Claims, on the median over networks and inputs, as Corollary 1's: ``004.smooth.identity`` (log–log slope
in [−1.2, −0.8] at β = 2), ``004.smooth.critical`` (a change under 25% between the two deepest L at β = 1) and
``004.smooth.explosion`` (median above 100 at the deepest L at β = ½). The authors' full-scale heat map over
fractional-Brownian increments (Hurst H against β) is not reproduced here.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from neurones.lab.claims import at_least, at_most, band
from neurones.lab.config import scales
from neurones.lab.registry import experiment
from neurones.lab.result import Result
from neurones.lab.statistics import bootstrap_stderr
from neurones.lab.sweep import grid, sweep
from neurones.nn.depth_functions import GaussianProcessInDepth, depth_grid

SOURCE = "marion-2022"
BETAS = (0.5, 1.0, 2.0)
IDENTITY_SLOPE = (-1.2, -0.8)


@scales(quick=dict(depths=(10, 100, 1000), draws=50), smoke=dict(depths=(4, 16, 64), draws=3, width=8, batch=4))
@dataclass(frozen=True)
class SmoothScalingConfig:
    """``draws`` networks per (β, L), each with its own draw of 𝒱 and 𝒲, of width ``width``; ``batch`` inputs."""

    depths: tuple[int, ...] = (10, 32, 100, 316, 1000)
    width: int = 40
    draws: int = 200
    batch: int = 16
    bandwidth: float = 0.25

    def __post_init__(self) -> None:
        if len(set(self.depths)) < 3 or min(self.depths) < 2 or self.draws < 3 or min(self.width, self.batch) < 1:
            raise ValueError("three distinct depths ≥ 2, draws ≥ 3 and positive sizes are required")


def _state_ratios(point: Mapping[str, Any], rng: np.random.Generator) -> dict[str, Any]:
    """‖h_L − h_0‖/‖h_0‖ per (network, input) for smooth weights sampled on the grid k/L."""
    config, depth, beta = point["config"], point["depth"], point["beta"]
    d, alpha = config.width, depth ** -point["beta"]
    ratios = []
    for _ in range(config.draws):
        s = depth_grid(depth)
        V = GaussianProcessInDepth((d, d), 1 / math.sqrt(d), config.bandwidth, rng)(s)
        W = GaussianProcessInDepth((d, d), 1 / math.sqrt(d), config.bandwidth, rng)(s)
        h0 = rng.standard_normal((config.batch, d))
        h = h0
        for V_k, W_k in zip(V, W):
            h = h + alpha * np.maximum(h @ W_k.T, 0.0) @ V_k.T
        ratios.append(np.linalg.norm(h - h0, axis=1) / np.linalg.norm(h0, axis=1))
    return {"beta": beta, "depth": depth, "ratios": np.stack(ratios)}


@experiment(
    "resnet-smooth-scaling",
    config=SmoothScalingConfig,
    title="Smooth weights in depth move the critical depth scaling from β = ½ to β = 1",
    source=SOURCE,
)
def run(config: SmoothScalingConfig, rng: np.random.Generator) -> Result:
    result = Result(config)
    depths = sorted(config.depths)
    points = [{**p, "config": config} for p in grid(beta=BETAS, depth=depths)]
    by_key = {(m["beta"], m["depth"]): m["ratios"] for m in sweep(_state_ratios, points, rng,
                                                                     desc="smooth ResNet scaling")}  # fmt: skip
    protocol = (f"res-3 blocks, width {config.width}, √d·𝒱 and √d·𝒲 RBF Gaussian processes in depth (bandwidth "
                f"{config.bandwidth:g}), {config.draws} networks per (β, L)")

    def slope(*per_depth):
        return float(np.polyfit(np.log(depths), np.log([np.median(a) for a in per_depth]), 1)[0])

    def median(a):
        return float(np.median(a))

    def change(shallow, deeper):
        return abs(np.median(deeper) / np.median(shallow) - 1.0)

    identity = [by_key[(2.0, depth)] for depth in depths]
    result.claim(band(
        "004.smooth.identity",
        f"Smooth weights, β = 2 ({protocol}): the median of ‖h_L − h_0‖/‖h_0‖ decays like 1/L (log–log slope over "
        f"L ∈ {{{', '.join(map(str, depths))}}} in [{IDENTITY_SLOPE[0]:g}, {IDENTITY_SLOPE[1]:g}]): the network "
        f"tends to the identity.",
        f"{SOURCE}, smooth initialization: β > 1 gives the identity",
        low=IDENTITY_SLOPE[0], high=IDENTITY_SLOPE[1], measured=slope(*identity),
        stderr=bootstrap_stderr(slope, identity, rng),
    ))
    pair = [by_key[(1.0, depth)] for depth in depths[-2:]]
    result.claim(at_most(
        "004.smooth.critical",
        f"Smooth weights, β = 1 ({protocol}): the median of ‖h_L − h_0‖/‖h_0‖ changes by less than 25% between "
        f"L = {depths[-2]} and L = {depths[-1]}: a non-degenerate limit, the neural ODE — the critical scaling is "
        f"β = 1, not Shen & Vin's ½.",
        f"{SOURCE}, smooth initialization: the critical scaling is β = 1",
        high=0.25, measured=change(*pair), stderr=bootstrap_stderr(change, pair, rng),
    ))
    deepest = by_key[(0.5, depths[-1])]
    result.claim(at_least(
        "004.smooth.explosion",
        f"Smooth weights, β = ½ ({protocol}): the scaling that is critical for i.i.d. weights explodes, the median "
        f"of ‖h_L − h_0‖/‖h_0‖ exceeds 100 at L = {depths[-1]}.",
        f"{SOURCE}, smooth initialization: β < 1 explodes",
        low=100.0, measured=median(deepest), stderr=bootstrap_stderr(median, [deepest], rng),
    ))
    result.table("medians", [{"beta": beta, "depth": depth, "median_ratio": median(by_key[(beta, depth)])}
                             for beta in BETAS for depth in depths])  # fmt: skip
    fig = result.figure(
        "median-vs-depth",
        f"Median of ‖h_L − h_0‖/‖h_0‖ against depth for smooth weights ({protocol}): β = 2 decays like 1/L, "
        f"β = 1 settles, β = ½ explodes.",
    )
    ax = fig.subplots()
    for beta, color in zip(BETAS, ("#c0392b", "#2c7fb8", "#31a354")):
        ax.plot(depths, [median(by_key[(beta, depth)]) for depth in depths], marker="o", color=color,
                label=f"β = {beta:g}")  # fmt: skip
    ax.set(xscale="log", yscale="log", xlabel="depth L", ylabel="median ‖h_L − h_0‖/‖h_0‖")
    ax.legend()
    return result
