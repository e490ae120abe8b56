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
``004.smooth.explosion`` (median above 100 at the deepest L at β = ½).

Between i.i.d. and smooth weights, the authors draw each entry of V_k as the increments of a fractional Brownian
motion of Hurst index H (fractional Gaussian noise, normalized to unit variance; :func:`fractional_noise`): the
sum of L of them grows like L^H, so the critical scaling is β = H (½ for i.i.d., → 1 for smooth). The heat map
``hurst-heat-map`` shows the median ratio at the deepest L over a grid of (H, β), with W_k i.i.d.; it is reported
as a figure and a table, without a claim.
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
from neurones.lab.statistics import bootstrap_stderr, median, median_change, median_loglog_slope
from neurones.lab.sweep import grid, sweep
from neurones.nn.depth_functions import GaussianProcessInDepth, depth_grid

SOURCE = "marion-2022"
BETAS = (0.5, 1.0, 2.0)
IDENTITY_SLOPE = (-1.2, -0.8)


@scales(
    quick=dict(depths=(10, 100, 1000), draws=50, hursts=(0.5, 0.75), heat_betas=(0.25, 0.5, 0.75, 1.0), heat_draws=3),
    smoke=dict(depths=(4, 16, 64), draws=3, width=8, batch=4, hursts=(0.5, 0.75), heat_betas=(0.5, 1.0),
               heat_draws=1),
)
@dataclass(frozen=True)
class SmoothScalingConfig:
    """``draws`` networks per (β, L), each with its own draw of 𝒱 and 𝒲, of width ``width``; ``batch`` inputs."""

    depths: tuple[int, ...] = (10, 32, 100, 316, 1000)
    width: int = 40
    draws: int = 200
    batch: int = 16
    bandwidth: float = 0.25
    hursts: tuple[float, ...] = (0.5, 0.6, 0.7, 0.8, 0.9)
    heat_betas: tuple[float, ...] = (0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.1)
    heat_draws: int = 10

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


def fractional_noise(hurst: float, steps: int, paths: int, rng: np.random.Generator) -> np.ndarray:
    """``paths`` independent sequences of ``steps`` unit-variance increments of a fractional Brownian motion of
    Hurst index ``hurst`` (fractional Gaussian noise), as an array (steps, paths): the Cholesky factor of the
    Toeplitz covariance γ(k) = ½(|k + 1|^{2H} − 2|k|^{2H} + |k − 1|^{2H}) times standard normals."""
    lags = np.arange(steps, dtype=np.float64)
    gamma = 0.5 * (np.abs(lags + 1) ** (2 * hurst) - 2 * lags ** (2 * hurst) + np.abs(lags - 1) ** (2 * hurst))
    covariance = gamma[np.abs(np.subtract.outer(np.arange(steps), np.arange(steps)))]
    return np.linalg.cholesky(covariance) @ rng.standard_normal((steps, paths))


def _hurst_point(point: Mapping[str, Any], rng: np.random.Generator) -> dict[str, Any]:
    """The median ratio at the deepest L for V_k the fractional noise of Hurst ``hurst``, W_k i.i.d."""
    config, hurst, beta = point["config"], point["hurst"], point["beta"]
    d, depth = config.width, max(config.depths)
    alpha = depth**-beta
    ratios = []
    for _ in range(config.heat_draws):
        V = fractional_noise(hurst, depth, d * d, rng).reshape(depth, d, d) / math.sqrt(d)
        h0 = rng.standard_normal((config.batch, d))
        h = h0
        for V_k in V:
            W_k = rng.standard_normal((d, d)) / math.sqrt(d)
            h = h + alpha * np.maximum(h @ W_k.T, 0.0) @ V_k.T
        ratios.append(np.linalg.norm(h - h0, axis=1) / np.linalg.norm(h0, axis=1))
    return {"hurst": hurst, "beta": beta, "median_ratio": float(np.median(ratios))}


def _hurst_heat_map(result: Result, config: SmoothScalingConfig, rng: np.random.Generator) -> None:
    points = [{**p, "config": config} for p in grid(hurst=config.hursts, beta=config.heat_betas)]
    rows = sweep(_hurst_point, points, rng, desc="fractional-noise weights")
    result.table("hurst_heat_map", rows)
    values = np.array([[r["median_ratio"] for r in rows if r["hurst"] == hurst] for hurst in config.hursts])
    fig = result.figure(
        "hurst-heat-map",
        f"log10 of the median ‖h_L − h_0‖/‖h_0‖ at L = {max(config.depths)} when the entries of V_k are fractional "
        f"Gaussian noise of Hurst index H (rows) and α = L^(−β) (columns), W_k i.i.d., width {config.width}: the "
        f"boundary between explosion and identity follows β = H (dashed), ½ for i.i.d. weights.",
    )
    ax = fig.subplots()
    image = ax.imshow(np.log10(values), aspect="auto", origin="lower", cmap="coolwarm",
                      extent=(min(config.heat_betas), max(config.heat_betas), min(config.hursts),
                              max(config.hursts)))  # fmt: skip
    ax.plot(config.hursts, config.hursts, linestyle="--", color="black", label="β = H")
    ax.set(xlabel="β", ylabel="Hurst index H")
    ax.legend()
    fig.colorbar(image, ax=ax, label="log10 median ratio")


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

    slope = median_loglog_slope(depths)
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
        high=0.25, measured=median_change(*pair), stderr=bootstrap_stderr(median_change, pair, rng),
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
    _hurst_heat_map(result, config, rng)
    return result
