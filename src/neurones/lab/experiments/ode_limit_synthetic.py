"""Smooth initializations stay smooth under training, i.i.d. ones stay rough ("Régularisation implicite des réseaux
de neurones profonds vers des EDO neuronales", Marion, Wu, Sander & Biau, ICLR 2024; seed 003, first contribution).

For h_{k+1} = h_k + (1/L) V_{k+1} σ(W_{k+1} h_k) trained by the gradient flow ∂Z_k/∂t = −L ∂R/∂Z_k, the paper proves
that weights initialized as samples Z_k = 𝒵(k/L) of Lipschitz functions of depth remain such samples after training,
uniformly in L: their roughness in depth max_k ‖Z_{k+1} − Z_k‖_F stays O(1/L). Weights drawn i.i.d. across layers
start with a roughness of order √(2 m q) at every depth and nothing in the flow smooths them.

The authors' synthetic protocol: n = 100 examples x, y ∈ R^16 with standard Gaussian entries, mean-squared error,
A = B = identity (h_0 = x, F = h_L, so q = d = 16), inner width m = 32, GELU, V = 0 at initialization, and W_k all
equal to one N(0, 1) draw (smooth) or i.i.d. N(0, 1) draws (i.i.d.); 50 steps of full-batch gradient descent with
learning rate 0.01·L on the residual weights (:func:`~neurones.train.gradient_flow.gradient_flow` with lr = 0.01,
flow time 0.5); roughness after training, against L.

Design of the measurement. One *draw* is a data set (X, Y) and one matrix 𝒲: the smooth networks of every depth of
that draw are initialized from the same weight function (every W_k = 𝒲) and trained on the same data, so the depths
are compared on the same problem, as the theorem compares them (L → ∞ at fixed weight functions); the i.i.d.
networks of that draw share its data and draw fresh weights at each depth. Per draw we fit the least-squares slope
of log roughness against log L (:func:`roughness_slopes`); the claims use the mean of these slopes over the draws,
with the standard error of that mean — the draws are the independent units, and pairing the depths within a draw
removes the draw-to-draw spread of the prefactor (some 25 % of L × roughness) from the slope. The table also gives
the slope of the mean roughness over draws, for comparison.

Roughness is the maximum over k (:func:`~neurones.analysis.neural_ode.network_roughness`, the larger of V's and
W's), as the paper defines it. The authors' plotting script instead sums the squared differences over k and over the
training iterations; we do not copy that.

Precision: float32. The smallest roughness measured, about 2·10⁻⁴ at L = 1024, is a difference of weights of order 1
spread over 512 entries (about 10⁻⁵ per entry, some 80 float32 ulps); float64 runs of this protocol agree with
float32 to 5 significant digits of L × roughness at L = 64, 256 and 1024.

Claims (rules fixed here, before any run, the same at every scale):

- ``003.smooth-stays-smooth``: the mean per-draw slope for the smooth initialization lies in [−1.2, −0.8], up to
  three standard errors (roughness ∝ 1/L);
- ``003.iid-stays-rough``: the mean per-draw slope for the i.i.d. initialization is at least −0.2, up to three
  standard errors (roughness does not decrease with L);
- ``003.general-f[σ]``: the paper's result holds for a general residual f(h, Z); the smooth protocol is repeated on
  the same data with σ = tanh and with the identity (the linear case of Sander et al.), each slope in the band of
  ``003.smooth-stays-smooth``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from neurones.analysis.neural_ode import roughness
from neurones.lab.claims import at_least, band
from neurones.lab.config import scales
from neurones.lab.registry import experiment
from neurones.lab.result import Result
from neurones.lab.statistics import loglog_slope, mean_and_stderr
from neurones.lab.sweep import sweep
from neurones.nn.depth_functions import ConstantInDepth
from neurones.nn.ode_resnet import ODE_ACTIVATIONS, ODEResNet
from neurones.train.gradient_flow import gradient_flow

SOURCE = "marion-2024"
INITS = ("smooth", "iid")
SMOOTH_SLOPE = (-1.2, -0.8)
IID_SLOPE_FLOOR = -0.2


@scales(
    quick=dict(depths=(4, 16, 64, 256), draws=6),
    smoke=dict(depths=(2, 4, 8), draws=3, steps=5, features=4, inner_width=8, samples=10),
)
@dataclass(frozen=True)
class ODELimitSyntheticConfig:
    """``draws`` independent (data, 𝒲) draws; for each, smooth and i.i.d. networks of every depth in ``depths``,
    trained for ``steps`` gradient steps of flow-time step ``lr`` (learning rate lr·L on the residual weights).
    ``features`` is d = q, ``inner_width`` is m, ``samples`` is n."""

    depths: tuple[int, ...] = (2, 16, 64, 256, 1024)
    draws: int = 8
    steps: int = 50
    lr: float = 0.01
    features: int = 16
    inner_width: int = 32
    samples: int = 100
    activation: Literal["gelu", "tanh", "relu", "identity"] = "gelu"
    general_activations: tuple[str, ...] = ("tanh", "identity")
    dtype: Literal["float32", "float64"] = "float32"

    def __post_init__(self) -> None:
        if len(set(self.depths)) < 2 or min(self.depths) < 2:
            raise ValueError("at least two distinct depths, each ≥ 2 (roughness needs two layers), are required")
        if self.draws < 2:
            raise ValueError("draws ≥ 2 are required for a standard error")
        if self.steps < 0 or self.lr <= 0 or min(self.features, self.inner_width, self.samples) < 1:
            raise ValueError("steps ≥ 0, lr > 0 and positive sizes are required")
        if self.activation not in ODE_ACTIVATIONS or not set(self.general_activations) <= set(ODE_ACTIVATIONS):
            raise ValueError(f"activations must be among {ODE_ACTIVATIONS}")


def train_network(config: ODELimitSyntheticConfig, X: np.ndarray, Y: np.ndarray, depth: int, W_init,
                  rng: np.random.Generator) -> dict[str, float]:
    """Train one network (V = 0, W from ``W_init``) by the protocol; its roughness and losses after training."""
    model = ODEResNet(config.features, config.features, config.inner_width, config.features, depth,
                      activation=config.activation, V_init="zero", W_init=W_init, rng=rng, dtype=config.dtype)
    history = gradient_flow(model, X, Y, lr=config.lr, steps=config.steps, record_every=max(config.steps, 1))
    V, W = model.stacked_weights()
    rough_V, rough_W = roughness(V), roughness(W)
    return {
        "roughness": max(rough_V, rough_W),
        "roughness_V": rough_V,
        "roughness_W": rough_W,
        "initial_loss": history.losses[0],
        "final_loss": history.losses[-1],
    }


def _measure_draw(point: Mapping[str, Any], rng: np.random.Generator) -> list[dict[str, Any]]:
    """One draw: its data and 𝒲, and the trained smooth and i.i.d. networks of every depth."""
    config = point["config"]
    shape = (config.samples, config.features)
    X = rng.standard_normal(shape).astype(config.dtype)
    Y = rng.standard_normal(shape).astype(config.dtype)
    smooth_W = ConstantInDepth((config.inner_width, config.features), std=1.0, rng=rng)
    records = []
    for init in INITS:
        for depth in config.depths:
            W_init = smooth_W if init == "smooth" else "iid"
            trained = train_network(config, X, Y, depth, W_init, rng)
            records.append({"init": init, "activation": config.activation, "depth": depth, "draw": point["draw"],
                            **trained, "depth_times_roughness": depth * trained["roughness"]})
    # The general residual f(h, Z) of the paper: the smooth networks again, with other activations on the same data.
    for activation in config.general_activations:
        other = dataclasses.replace(config, activation=activation)
        for depth in config.depths:
            trained = train_network(other, X, Y, depth, smooth_W, rng)
            records.append({"init": "smooth", "activation": activation, "depth": depth, "draw": point["draw"],
                            **trained, "depth_times_roughness": depth * trained["roughness"]})
    return records


def roughness_slopes(depths: Sequence[int], per_draw: np.ndarray) -> dict[str, float]:
    """Slopes of log roughness against log L for ``per_draw`` of shape (draws, depths): the mean of the per-draw
    slopes and its standard error (what the claims use), and the slope of the mean roughness with its OLS error."""
    per_draw = np.asarray(per_draw, dtype=np.float64)
    slopes = np.array([loglog_slope(depths, row)[0] for row in per_draw])
    mean_slope, stderr = mean_and_stderr(slopes)
    slope_of_mean, slope_of_mean_stderr = loglog_slope(depths, per_draw.mean(axis=0))
    return {"mean_slope": mean_slope, "stderr": stderr, "slope_of_mean": slope_of_mean,
            "slope_of_mean_stderr": slope_of_mean_stderr, "per_draw": slopes}


@experiment(
    "ode-limit-synthetic",
    config=ODELimitSyntheticConfig,
    title="Roughness in depth after training: smooth initializations stay smooth (∝ 1/L), i.i.d. ones stay rough",
    source=SOURCE,
)
def run(config: ODELimitSyntheticConfig, rng: np.random.Generator) -> Result:
    result = Result(config)
    points = [{"draw": draw, "config": config} for draw in range(config.draws)]
    records = [record for draw in sweep(_measure_draw, points, rng, desc="ODE limit (synthetic)") for record in draw]
    depths = sorted(config.depths)
    main = [r for r in records if r["activation"] == config.activation]
    roughness_by_init = {init: _per_draw(main, init, depths, config.draws) for init in INITS}
    slopes = {init: roughness_slopes(depths, roughness_by_init[init]) for init in INITS}
    _claims(result, config, slopes)
    _general_f_claims(result, config, records, depths)
    result.table("roughness", records)
    result.table("roughness_summary", _summary(main, depths))
    result.table("slopes", [
        {"init": init, "mean_slope": s["mean_slope"], "stderr": s["stderr"], "slope_of_mean": s["slope_of_mean"],
         "slope_of_mean_stderr": s["slope_of_mean_stderr"], "draws": config.draws}
        for init, s in slopes.items()
    ])
    result.table("slopes_per_draw", [
        {"init": init, "draw": draw, "slope": float(slope)}
        for init, s in slopes.items() for draw, slope in enumerate(s["per_draw"])
    ])
    _figure(result, config, depths, roughness_by_init, slopes)
    return result


def _per_draw(records: list[dict], init: str, depths: list[int], draws: int) -> np.ndarray:
    """The roughness of ``init`` as an array (draws, depths)."""
    by_key = {(r["draw"], r["depth"]): r["roughness"] for r in records if r["init"] == init}
    return np.array([[by_key[(draw, depth)] for depth in depths] for draw in range(draws)])


def _summary(records: list[dict], depths: list[int]) -> list[dict]:
    rows = []
    for init in INITS:
        for depth in depths:
            chosen = [r for r in records if r["init"] == init and r["depth"] == depth]
            mean, stderr = mean_and_stderr([r["roughness"] for r in chosen])
            loss, loss_stderr = mean_and_stderr([r["final_loss"] for r in chosen])
            rows.append({"init": init, "depth": depth, "mean_roughness": mean, "stderr_roughness": stderr,
                         "mean_depth_times_roughness": depth * mean, "mean_final_loss": loss,
                         "stderr_final_loss": loss_stderr})
    return rows


def _claims(result: Result, config: ODELimitSyntheticConfig, slopes: Mapping[str, dict]) -> None:
    depths = sorted(config.depths)
    span = f"L ∈ {{{', '.join(map(str, depths))}}}"
    protocol = (f"V = 0, {config.steps} gradient steps of learning rate {config.lr:g}·L, n = {config.samples}, "
                f"d = q = {config.features}, m = {config.inner_width}, {config.activation}")
    smooth, iid = slopes["smooth"], slopes["iid"]
    result.claim(band(
        "003.smooth-stays-smooth",
        f"Smooth initialization (every W_k equal to one N(0, 1) draw; {protocol}): after training, the roughness "
        f"max_k ‖Z_{{k+1}} − Z_k‖_F scales like 1/L — the log–log slope over {span}, fitted per draw and averaged "
        f"over {config.draws} draws, lies in [{SMOOTH_SLOPE[0]:g}, {SMOOTH_SLOPE[1]:g}] (slope of the mean "
        f"roughness: {smooth['slope_of_mean']:.3f}).",
        f"{SOURCE}, first contribution (the trained network stays a discretized neural ODE)",
        low=SMOOTH_SLOPE[0], high=SMOOTH_SLOPE[1], measured=smooth["mean_slope"], stderr=smooth["stderr"],
    ))
    result.claim(at_least(
        "003.iid-stays-rough",
        f"I.i.d. initialization (every entry of every W_k drawn N(0, 1); {protocol}): after training, the roughness "
        f"does not decrease with L — the log–log slope over {span}, fitted per draw and averaged over "
        f"{config.draws} draws, is at least {IID_SLOPE_FLOOR:g} (slope of the mean roughness: "
        f"{iid['slope_of_mean']:.3f}).",
        f"{SOURCE}, Figure 1, right (i.i.d. initialization gives non-smooth trained weights)",
        low=IID_SLOPE_FLOOR, measured=iid["mean_slope"], stderr=iid["stderr"],
    ))


def _general_f_claims(result: Result, config: ODELimitSyntheticConfig, records: list[dict], depths: list[int]) -> None:
    """``003.general-f[σ]``: the smooth-stays-smooth law for other residual functions f(h, Z) = V σ(W h)."""
    span = f"L ∈ {{{', '.join(map(str, depths))}}}"
    for activation in config.general_activations:
        chosen = [r for r in records if r["activation"] == activation]
        slopes = roughness_slopes(depths, _per_draw(chosen, "smooth", depths, config.draws))
        linear = " (the linear case of Sander et al.)" if activation == "identity" else ""
        result.claim(band(
            f"003.general-f[{activation}]",
            f"The same smooth protocol with σ = {activation}{linear}: after training, the roughness scales like "
            f"1/L — the mean per-draw log–log slope over {span} lies in [{SMOOTH_SLOPE[0]:g}, {SMOOTH_SLOPE[1]:g}].",
            f"{SOURCE}, first contribution, for a general residual f(h, Z)",
            low=SMOOTH_SLOPE[0], high=SMOOTH_SLOPE[1], measured=slopes["mean_slope"], stderr=slopes["stderr"],
        ))


def _figure(result: Result, config: ODELimitSyntheticConfig, depths: list[int],
            roughness_by_init: Mapping[str, np.ndarray], slopes: Mapping[str, dict]) -> None:
    fig = result.figure(
        "roughness-vs-depth",
        f"Roughness in depth max_k ‖Z_{{k+1}} − Z_k‖_F (max over V and W) after {config.steps} steps of gradient "
        f"descent (learning rate {config.lr:g}·L), against the depth L: mean over {config.draws} draws ± one "
        f"standard error, each draw a faint dot. Smooth initialization (every W_k equal) against i.i.d. "
        f"initialization; the dashed line is c/L through the smooth means. Slopes (mean over draws ± stderr): "
        f"smooth {slopes['smooth']['mean_slope']:.3f} ± {slopes['smooth']['stderr']:.3f}, i.i.d. "
        f"{slopes['iid']['mean_slope']:.3f} ± {slopes['iid']['stderr']:.3f}.",
    )
    ax = fig.subplots()
    L = np.array(depths, dtype=np.float64)
    colors = {"smooth": "#2c7fb8", "iid": "#c0392b"}
    labels = {"smooth": "smooth (W_k all equal)", "iid": "i.i.d."}
    for init in INITS:
        values = roughness_by_init[init]
        stats = [mean_and_stderr(column) for column in values.T]
        for row in values:
            ax.plot(L, row, linestyle="none", marker=".", color=colors[init], alpha=0.3)
        ax.errorbar(L, [s[0] for s in stats], yerr=[s[1] for s in stats], marker="o", capsize=3,
                    color=colors[init], label=f"{labels[init]}: slope {slopes[init]['mean_slope']:.2f}")
    smooth_means = roughness_by_init["smooth"].mean(axis=0)
    prefactor = float(np.exp(np.mean(np.log(smooth_means * L))))
    ax.plot(L, prefactor / L, linestyle="--", color="0.4", label="c/L")
    ax.set(xscale="log", yscale="log", xlabel="depth L", ylabel="roughness after training")
    ax.legend()
