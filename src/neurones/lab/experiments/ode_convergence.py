"""Deep residual networks converge to a neural ODE like 1/L, at initialization and after training
("Régularisation implicite des réseaux de neurones profonds vers des EDO neuronales", Marion, Wu, Sander & Biau,
ICLR 2024; seed 003, first contribution).

A network h_{k+1} = h_k + (1/L) V_{k+1} σ(W_{k+1} h_k) whose weights sample smooth functions of depth,
V_k = 𝒱(k/L), W_k = 𝒲(k/L), is the explicit Euler scheme, step 1/L, of the neural ODE
dH/ds = 𝒱(s) σ(𝒲(s) H(s)) on [0, 1]; Euler's global error gives ‖F_L(x) − F_∞(x)‖ = O(1/L). The paper proves
that gradient flow ∂Z_k/∂t = −L ∂R/∂Z_k keeps this structure for every finite training time T: the trained
weights Z_k^L(T) sample Lipschitz functions 𝒵(·, T) up to O(1/L), and the trained networks converge to the
neural ODE of 𝒵(·, T).

Protocol. One regression problem (the authors' synthetic one: X, Y standard Gaussian, A = B = identity, so
d = q = d′, GELU) and one draw of the weight functions 𝒱, 𝒲 (Gaussian processes in depth, or constants), from
which networks of every depth L are initialized — the same functions sampled on each grid k/L. Then:

(a) at initialization, each network against the ODE of the true 𝒱, 𝒲: max_i ‖F_L(x_i) − F_∞(x_i)‖;
(b) each depth is trained by full-batch gradient descent for the same flow time T (the same step η = ``lr`` and
    the same number of steps T/η at every depth; the residual weights move at rate η·L), then compared with the
    ODE whose weights are the finest trained network's, read as piecewise-linear functions of s. The limit
    𝒵(·, T) is unknown; the finest network is its best available estimate.

𝒱 must not vanish at initialization: with V = 0 (the authors' start) every depth computes F(x) = x and (a) is
zero. Its scale is set so that the flow map is tame: the field's Lipschitz constant in H is at most
‖𝒱‖‖𝒲‖·max σ′ ≈ v_std (√q + √m)² · w_std · 1.13 ≈ 1 for v_std = 0.01, w_std = 1, q = 16, m = 32 — the ODE
moves each input by O(1) without blowing up (its growth factor is at most e ≈ 2.7), so Euler's error constant is
of order 1 and O(1/L) is visible from L = 8 on. A larger 𝒱 makes the error constant grow like e^{Lip}, and
small depths would be outside the asymptotic regime.

Claims (log–log slopes by ordinary least squares, with their OLS standard errors, in the band [−1.3, −0.7]):

- ``003.convergence[init]``: the distance at initialization, over every depth;
- ``003.convergence[trained]``: the distance after training, over every depth *but the finest*. The finest
  network is the reference: its trained weights Z^{L_max} = 𝒵(·, T) + O(1/L_max) define the ODE F̂_∞, so for
  L < L_max the distance is ‖F_L − F̂_∞‖ ≈ ‖c/L + O(1/L_max)‖ — the 1/L law plus a bias of the reference —
  whereas at L_max the network is compared with the ODE of its own weights: that is Euler's error alone, with no
  weight-mismatch term, a different quantity on a different footing. It is tabulated and drawn (as the distance
  to the own-weights ODE of every depth is), but left out of the fit.
- ``003.weight-convergence[t]``: the authors' own measurement (``finite_training_time_convergence.py``), with their
  protocol: V = 0, every W_k one N(0, 1) draw, n = 100, gradient descent at learning rate 0.01·L for 50 iterations
  at L = 2, 4, …, 1024 and at a reference depth 2¹⁴ (4096 at quick scale); after t ∈ {10, 25, 50} iterations the
  RMS distance (Σ_i ‖V_i − V^ref_{i·L_ref/L}‖_F²/L)^{1/2} to the reference's residual weights decreases like 1/L
  (log–log slope in the same band): the trained weights themselves discretize functions of depth.

float32 is enough: the distances are computed in float64 (:func:`~neurones.analysis.neural_ode.
distance_to_neural_ode` casts the network), and float32 training changes them by ~1e-7 relative (checked against
float64 training at quick scale), far below the 1/L effect (≥ 1e-3 here).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from neurones.analysis.neural_ode import (
    PiecewiseLinearInDepth,
    WeightFunction,
    distance_to_neural_ode,
    network_roughness,
)
from neurones.lab.claims import band
from neurones.lab.colors import sequential_colors
from neurones.lab.config import scales
from neurones.lab.registry import experiment
from neurones.lab.result import Result
from neurones.lab.statistics import loglog_slope
from neurones.lab.sweep import sweep
from neurones.nn.depth_functions import ConstantInDepth, GaussianProcessInDepth, depth_grid
from neurones.nn.ode_resnet import ODEResNet
from neurones.train.gradient_flow import gradient_flow

SOURCE = "marion-2024"
SLOPE_BAND = (-1.3, -0.7)
COEFFICIENTS = 3
"""How many coefficients of V and of W the weight-profile figure follows."""
LOSS_RECORDS = 50
"""About how many points of each loss curve are kept."""


@scales(
    quick=dict(samples=32, lr=0.01, authors_depths=(2, 4, 8, 16, 32, 64, 128, 256), authors_reference=4096),
    smoke=dict(depths=(4, 8, 16), samples=6, width=4, inner_width=8, v_std=0.05, lr=0.02, flow_time=0.1,
               authors_depths=(2, 4, 8), authors_reference=32, authors_iterations=(2, 4)),
)
@dataclass(frozen=True)
class ODEConvergenceConfig:
    """Networks of every depth in ``depths`` on ``samples`` Gaussian examples, width q = d = d′ = ``width``, inner
    width m; weights sampled from one draw of 𝒱, 𝒲 (``"gp"``: Gaussian processes in depth with RBF ``bandwidth``,
    ``"constant"``: one matrix repeated), entries of standard deviation ``v_std`` and ``w_std``; trained
    ``flow_time / lr`` steps of flow-time step ``lr``."""

    depths: tuple[int, ...] = (8, 16, 32, 64, 128, 256)
    samples: int = 100
    width: int = 16
    inner_width: int = 32
    activation: Literal["gelu", "tanh", "identity"] = "gelu"
    weight_functions: Literal["gp", "constant"] = "gp"
    v_std: float = 0.01
    w_std: float = 1.0
    bandwidth: float = 0.25
    lr: float = 0.005
    flow_time: float = 1.0
    authors_depths: tuple[int, ...] = (2, 4, 8, 16, 32, 64, 128, 256, 512, 1024)
    authors_reference: int = 2**14
    authors_iterations: tuple[int, ...] = (10, 25, 50)

    def __post_init__(self) -> None:
        if len(self.authors_depths) < 2 or self.authors_reference % max(self.authors_depths):
            raise ValueError("at least two authors_depths, each dividing authors_reference, are required")
        if len(self.depths) < 3 or list(self.depths) != sorted(set(self.depths)) or self.depths[0] < 1:
            raise ValueError("depths must be at least three increasing positive integers")
        if min(self.samples, self.width, self.inner_width) < 1:
            raise ValueError("samples, width and inner_width must be ≥ 1")
        if self.v_std <= 0 or self.w_std <= 0 or self.bandwidth <= 0:
            raise ValueError("v_std, w_std and bandwidth must be positive (V = 0 makes every depth identical)")
        if self.lr <= 0 or self.flow_time < 0:
            raise ValueError("lr must be positive and flow_time non-negative")
        if not math.isclose(self.flow_time / self.lr, round(self.flow_time / self.lr), abs_tol=1e-9):
            raise ValueError(f"flow_time / lr must be a whole number of steps, got {self.flow_time / self.lr}")

    @property
    def steps(self) -> int:
        """Gradient steps at every depth: T / η."""
        return round(self.flow_time / self.lr)


def weight_functions(config: ODEConvergenceConfig, rng: np.random.Generator) -> tuple[WeightFunction, WeightFunction]:
    """One draw of (𝒱, 𝒲), shapes (q, m) and (m, q): every depth's network samples these same functions."""
    q, m = config.width, config.inner_width
    if config.weight_functions == "gp":
        return (GaussianProcessInDepth((q, m), config.v_std, config.bandwidth, rng),
                GaussianProcessInDepth((m, q), config.w_std, config.bandwidth, rng))
    return ConstantInDepth((q, m), config.v_std, rng), ConstantInDepth((m, q), config.w_std, rng)


def build_network(config: ODEConvergenceConfig, depth: int, V: WeightFunction, W: WeightFunction) -> ODEResNet:
    """The depth-L network with V_k = 𝒱(k/L), W_k = 𝒲(k/L), A = B = identity (nothing else is random)."""
    q = config.width
    return ODEResNet(q, q, config.inner_width, q, depth, activation=config.activation, V_init=V, W_init=W)


def _train_at_depth(point: Mapping[str, Any], _rng: np.random.Generator) -> dict[str, Any]:
    """Initialize one depth from the shared functions, measure it against their ODE, train it for the flow time,
    and measure it against the ODE of its own trained weights."""
    config, depth, V, W, X, Y = (point[key] for key in ("config", "depth", "V", "W", "X", "Y"))
    model = build_network(config, depth, V, W)
    distance_init = distance_to_neural_ode(model, X, V, W)
    roughness_init = network_roughness(model)
    history = gradient_flow(model, X.astype(np.float32), Y.astype(np.float32), config.lr, config.steps,
                            record_every=max(1, config.steps // LOSS_RECORDS))
    return {
        "depth": depth,
        "model": model,
        "distance_init": distance_init,
        "distance_own_ode": distance_to_neural_ode(model, X),
        "roughness_init": roughness_init,
        "roughness_trained": network_roughness(model),
        "times": np.asarray(history.times),
        "losses": np.asarray(history.losses),
    }


def fit_slopes(depths: Sequence[int], distance_init: Sequence[float],
               distance_trained: Sequence[float]) -> dict[str, tuple[float, float, tuple[int, ...]]]:
    """Log–log slopes (with OLS standard errors) of the distances against L, and the depths each fit uses: every
    depth at initialization, every depth but the finest (the reference) after training."""
    depths = tuple(int(d) for d in depths)
    init = loglog_slope(depths, distance_init)
    trained = loglog_slope(depths[:-1], list(distance_trained)[:-1])
    return {"init": (*init, depths), "trained": (*trained, depths[:-1])}


def weight_gap(model: ODEResNet, V: WeightFunction, W: WeightFunction) -> float:
    """max_k max(‖V_k − 𝒱(k/L)‖_F, ‖W_k − 𝒲(k/L)‖_F): how far a network's weights are from given functions."""
    V_stack, W_stack = model.stacked_weights()
    grid = depth_grid(model.depth)
    gaps = [np.linalg.norm((stack - fn(grid)).reshape(model.depth, -1), axis=1).max()
            for stack, fn in ((V_stack, V), (W_stack, W))]
    return float(max(gaps))


AUTHORS_SAMPLES, AUTHORS_LR = 100, 0.01
"""The authors' ``finite_training_time_convergence.py``: n = 100 examples, SGD at learning rate 0.01·L."""


def _authors_run(point: Mapping[str, Any], _rng: np.random.Generator) -> dict[str, Any]:
    """The authors' protocol at one depth: V = 0, every W_k the shared draw, gradient descent for the largest of
    ``authors_iterations`` steps; V at each of those iterations, sampled at the ``positions`` (fractions of depth)
    where the finest non-reference depth has its layers."""
    config, depth = point["config"], point["depth"]
    q = config.width
    model = ODEResNet(q, q, config.inner_width, q, depth, activation=config.activation, V_init="zero",
                      W_init=point["W"])  # fmt: skip
    wanted = set(config.authors_iterations)
    snapshots = {}

    def keep(step: int, network: ODEResNet) -> None:
        if step in wanted:
            V = network.stacked_weights()[0]
            snapshots[step] = V[(np.asarray(point["positions"]) * depth).astype(int)] if point["sample"] else V

    gradient_flow(model, point["X"], point["Y"], lr=AUTHORS_LR, steps=max(wanted), record_every=1, callback=keep)
    return {"depth": depth, "snapshots": snapshots}


def authors_weight_distances(config: ODEConvergenceConfig, rng: np.random.Generator) -> list[dict[str, Any]]:
    """RMS distance of each depth's V to the reference depth's, (Σ_i ‖V_i − V^ref_{i·L_ref/L}‖_F² / L)^{1/2}, at
    each iteration (the authors' measure)."""
    q, m = config.width, config.inner_width
    X, Y = rng.standard_normal((AUTHORS_SAMPLES, q)), rng.standard_normal((AUTHORS_SAMPLES, q))
    W = ConstantInDepth((m, q), 1.0, rng)
    finest = max(config.authors_depths)
    positions = np.arange(finest) / finest
    common = {"config": config, "X": X, "Y": Y, "W": W, "positions": positions}
    points = [{**common, "depth": config.authors_reference, "sample": True}]
    points += [{**common, "depth": depth, "sample": False} for depth in config.authors_depths]
    runs = sweep(_authors_run, points, rng, desc="ODE convergence, the authors' weight protocol")
    reference = runs[0]["snapshots"]
    rows = []
    for r in runs[1:]:
        depth = r["depth"]
        for t in config.authors_iterations:
            V, V_ref = r["snapshots"][t], reference[t][:: finest // depth]
            rows.append({"depth": depth, "iteration": t,
                         "rms_distance": float(np.sqrt(np.sum((V - V_ref) ** 2) / depth))})  # fmt: skip
    return rows


@experiment(
    "ode-convergence",
    config=ODEConvergenceConfig,
    title="ResNets → neural ODE at rate 1/L, at initialization and after training for a fixed flow time",
    source=SOURCE,
)
def run(config: ODEConvergenceConfig, rng: np.random.Generator) -> Result:
    result = Result(config)
    V, W = weight_functions(config, rng)
    X = rng.standard_normal((config.samples, config.width))
    Y = rng.standard_normal((config.samples, config.width))
    points = [{"config": config, "depth": depth, "V": V, "W": W, "X": X, "Y": Y} for depth in config.depths]
    runs = sweep(_train_at_depth, points, rng, desc="ODE convergence in depth")
    finest = runs[-1]["model"]
    V_ref, W_ref = (PiecewiseLinearInDepth(stack) for stack in finest.stacked_weights())
    for r in runs:
        r["distance_trained"] = distance_to_neural_ode(r["model"], X, V_ref, W_ref)
        r["weight_gap_trained"] = weight_gap(r["model"], V_ref, W_ref)
    slopes = fit_slopes(config.depths, [r["distance_init"] for r in runs], [r["distance_trained"] for r in runs])
    distances = authors_weight_distances(config, rng)
    for t in config.authors_iterations:
        chosen = [r for r in distances if r["iteration"] == t]
        slopes[f"weights t={t}"] = (*loglog_slope([r["depth"] for r in chosen], [r["rms_distance"] for r in chosen]),
                                    tuple(r["depth"] for r in chosen))  # fmt: skip
    _claims(result, config, slopes)
    result.table("authors_weight_distances", distances)
    result.table("depths", [_record(config, r) for r in runs])
    result.table("slopes", [{"state": state, "slope": slope, "stderr": stderr, "depths": ",".join(map(str, used))}
                            for state, (slope, stderr, used) in slopes.items()])
    _distance_figure(result, config, runs, slopes)
    _weights_figure(result, config, runs, V, W)
    _loss_figure(result, config, runs)
    return result


def _record(config: ODEConvergenceConfig, r: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "depth": r["depth"],
        "steps": config.steps,
        "flow_time": config.flow_time,
        "initial_loss": float(r["losses"][0]),
        "final_loss": float(r["losses"][-1]),
        "distance_init": r["distance_init"],
        "distance_trained": r["distance_trained"],
        "distance_own_ode": r["distance_own_ode"],
        "weight_gap_trained": r["weight_gap_trained"],
        "roughness_init": r["roughness_init"],
        "roughness_trained": r["roughness_trained"],
        "reference": r["depth"] == config.depths[-1],
    }


def _claims(result: Result, config: ODEConvergenceConfig, slopes: Mapping[str, tuple]) -> None:
    low, high = SLOPE_BAND
    functions = "Gaussian processes in depth" if config.weight_functions == "gp" else "constant in depth"
    slope, stderr, used = slopes["init"]
    result.claim(band(
        "003.convergence[init]",
        f"At initialization (V_k = 𝒱(k/L), W_k = 𝒲(k/L), 𝒱 and 𝒲 {functions}, shared by every depth), "
        f"max_i ‖F_L(x_i) − F_∞(x_i)‖ against the neural ODE of 𝒱, 𝒲 decreases like 1/L: fitted log–log slope "
        f"over L ∈ {{{', '.join(map(str, used))}}} (Euler's global error).",
        f"{SOURCE}, the network initialized as a discretization of the ODE (1) converges to it",
        low=low, high=high, measured=slope, stderr=stderr,
    ))
    slope, stderr, used = slopes["trained"]
    result.claim(band(
        "003.convergence[trained]",
        f"After gradient flow for the same time T = {config.flow_time:g} at every depth, max_i ‖F_L(x_i) − "
        f"F̂_∞(x_i)‖ decreases like 1/L, where F̂_∞ is the neural ODE of the L = {config.depths[-1]} trained "
        f"network's weights read as functions of s: fitted log–log slope over L ∈ {{{', '.join(map(str, used))}}}.",
        f"{SOURCE}, first contribution, the convergence to a neural ODE holds after training, for every finite T",
        low=low, high=high, measured=slope, stderr=stderr,
    ))
    for t in config.authors_iterations:
        slope, stderr, used = slopes[f"weights t={t}"]
        result.claim(band(
            f"003.weight-convergence[t={t}]",
            f"The authors' protocol (V = 0, every W_k one N(0, 1) draw, n = {AUTHORS_SAMPLES}, gradient descent at "
            f"learning rate {AUTHORS_LR:g}·L): after {t} iterations, the RMS distance "
            f"(Σ_i ‖V_i − V^ref_(i·L_ref/L)‖_F²/L)^(1/2) of each depth's residual weights to those of the "
            f"L = {config.authors_reference} network decreases like 1/L: fitted log–log slope over "
            f"L ∈ {{{', '.join(map(str, used))}}}.",
            f"{SOURCE}, first contribution (finite_training_time_convergence.py: the weights converge to functions)",
            low=low, high=high, measured=slope, stderr=stderr,
        ))


def _distance_figure(result: Result, config: ODEConvergenceConfig, runs: list[dict],
                     slopes: Mapping[str, tuple]) -> None:
    depths = np.array(config.depths, dtype=np.float64)
    fig = result.figure(
        "distance-vs-depth",
        f"max_i ‖F_L(x_i) − F_∞(x_i)‖ against depth L: at initialization against the ODE of the true weight "
        f"functions (slope {slopes['init'][0]:.3f} ± {slopes['init'][1]:.3f}), after training for T = "
        f"{config.flow_time:g} against the ODE of the L = {config.depths[-1]} trained weights (slope "
        f"{slopes['trained'][0]:.3f} ± {slopes['trained'][1]:.3f}, fitted without the reference depth, drawn "
        f"hollow), and after training against each network's own-weights ODE (Euler's error alone). Dotted: 1/L.",
    )
    ax = fig.subplots()
    series = (("distance_init", "initialization", "#2c7fb8"), ("distance_trained", "trained", "#c0392b"),
              ("distance_own_ode", "trained, own-weights ODE", "#7f7f7f"))
    for key, label, color in series:
        values = np.array([r[key] for r in runs])
        fitted = values if key != "distance_trained" else values[:-1]
        ax.plot(depths[:fitted.size], fitted, marker="o", color=color, label=label,
                linestyle="--" if key == "distance_own_ode" else "-")
        if key == "distance_trained":
            ax.plot(depths[-1:], values[-1:], marker="o", markerfacecolor="none", color=color, linestyle="none")
        ax.plot(depths, values[0] * depths[0] / depths, linestyle=":", color=color, linewidth=1)
    ax.set(xscale="log", yscale="log", xlabel="depth L", ylabel="max_i ‖F_L(x_i) − F_∞(x_i)‖")
    ax.legend()


def _weights_figure(result: Result, config: ODEConvergenceConfig, runs: list[dict], V: WeightFunction,
                    W: WeightFunction) -> None:
    fig = result.figure(
        "trained-weights-vs-depth",
        f"{COEFFICIENTS} coefficients of V_k (left) and W_k (right) against s = k/L after training for T = "
        f"{config.flow_time:g}, one colour per depth L: the networks of every depth sample one curve per "
        f"coefficient, the trained weight function 𝒵(·, T). Dashed black: the initial functions 𝒱, 𝒲.",
        figsize=(10.0, 4.0),
    )
    axes = fig.subplots(1, 2)
    fine = np.linspace(0.0, 1.0, 201)
    colors = sequential_colors(config.depths)
    for ax, index, name, function in ((axes[0], 0, "V", V), (axes[1], 1, "W", W)):
        initial = function(fine)
        for c in range(COEFFICIENTS):
            i, j = c % initial.shape[1], c % initial.shape[2]
            ax.plot(fine, initial[:, i, j], color="black", linestyle="--", linewidth=1)
            for r in runs:
                stack = r["model"].stacked_weights()[index]
                ax.plot(depth_grid(r["depth"]), stack[:, i, j], color=colors[r["depth"]], linewidth=1,
                        label=f"L = {r['depth']}" if c == 0 else None)
        ax.set(xlabel="s = k/L", ylabel=f"coefficients of {name}_k", title=name)
    axes[0].legend(fontsize="small")


def _loss_figure(result: Result, config: ODEConvergenceConfig, runs: list[dict]) -> None:
    fig = result.figure(
        "loss-vs-flow-time",
        f"Training loss against flow time t = step × {config.lr:g} for every depth: the same flow time and "
        f"learning rate at every depth give nearly the same loss curve (the training dynamics have a large-depth "
        f"limit too).",
    )
    ax = fig.subplots()
    colors = sequential_colors(config.depths)
    for r in runs:
        ax.plot(r["times"], r["losses"], color=colors[r["depth"]], label=f"L = {r['depth']}")
    ax.set(yscale="log", xlabel="flow time t", ylabel="mean squared error")
    ax.legend(fontsize="small")
