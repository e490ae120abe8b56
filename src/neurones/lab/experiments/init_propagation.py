"""Signal propagation in deep MLPs under the classical initializations ("Rien ne sert de courir", Lopès-Quintas).

"Une meilleure initialisation" writes a layer as z^l = W^l x^l with x^l = f(z^{l−1}) and derives

    Var[z^l] = n_in · Var[w] · E[(x^l)²].

Keeping Var[z^l] constant needs n_in Var[w] E[f(z)²] = Var[z]: for odd f in its linear regime E[f(z)²] = Var[z]
(Exercise 2: Var[w] = 1/n_in, LeCun; Glorot averages it with the backward condition 1/n_out); for ReLU
E[f(z)²] = ½ Var[z] (Exercise 4: Var[w] = 2/n, He); for a leaky ReLU of slope α, (1 + α²)/2 · Var[z] (annex:
Var[w] = 2/((1 + α²) n)). We draw 50-layer networks under each initialization and activation, measure Var[z^l] and
the variance of the backpropagated δ^l = ∂L/∂z^l layer by layer (loss ⟨u, z^50⟩, u ~ N(0, I)), in float64
because the naive initializations overflow float32, and compare with these conditions.

Ratios are ratios of Monte Carlo means over network draws (e.g. E[Var z^50] / E[Var z^1]); their standard errors
come from a bootstrap over draws.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

import neurones as nr
from neurones import nn
from neurones.analysis.propagation import layer_statistics
from neurones.lab.claims import at_least, at_most, band, equality
from neurones.lab.config import scales
from neurones.lab.registry import experiment
from neurones.lab.result import Result
from neurones.lab.statistics import log10_ratio_of_means, mean_and_stderr, ratio_of_means
from neurones.lab.sweep import sweep

SOURCE = "lopes-quintas-2025"
ACTIVATIONS = ("tanh", "relu", "leaky_relu_0.01", "leaky_relu_0.2", "leaky_relu_0.5", "sigmoid")
INITS = (
    "normal_1",
    "normal_0.01",
    "glorot_normal",
    "glorot_uniform",
    "he_normal_fan_in",
    "he_uniform_fan_in",
    "he_normal_fan_out",
    "he_uniform_fan_out",
    "lecun_normal",
)


@scales(quick=dict(draws=6, batch=32), smoke=dict(depth=6, width=16, wide=32, draws=3, batch=4))
@dataclass(frozen=True)
class InitPropagationConfig:
    """``draws`` networks of ``depth`` layers per (activation, initialization); ``batch`` Gaussian inputs each."""

    depth: int = 50
    width: int = 256
    wide: int = 512
    draws: int = 20
    batch: int = 128
    linear_regime_variance: float = 1e-3

    def __post_init__(self) -> None:
        if self.depth < 2 or self.draws < 3 or self.batch < 1 or self.width < 1 or self.wide < 1:
            raise ValueError("depth ≥ 2, draws ≥ 3 and positive sizes are required")


def _activation(name: str) -> tuple[nn.Module, float]:
    """The activation module and its negative slope (0 where it is not a leaky ReLU)."""
    if name.startswith("leaky_relu_"):
        slope = float(name.rsplit("_", 1)[1])
        return nn.LeakyReLU(slope), slope
    return {"tanh": nn.Tanh(), "relu": nn.ReLU(), "sigmoid": nn.Sigmoid()}[name], 0.0


def _initialize(weight, init: str, slope: float, rng: np.random.Generator) -> None:
    """Apply ``init``; He uses the ReLU gain, or the leaky-ReLU gain √(2/(1 + α²)) when the slope is α > 0."""
    if init == "normal_1":
        nn.init.normal_(weight, 0.0, 1.0, rng=rng)
    elif init == "normal_0.01":
        nn.init.normal_(weight, 0.0, 0.01, rng=rng)
    elif init == "glorot_normal":
        nn.init.xavier_normal_(weight, rng=rng)
    elif init == "glorot_uniform":
        nn.init.xavier_uniform_(weight, rng=rng)
    elif init == "lecun_normal":
        nn.init.lecun_normal_(weight, rng=rng)
    else:
        form, mode = init.split("_", 2)[1], "fan_in" if init.endswith("fan_in") else "fan_out"
        nonlinearity = "leaky_relu" if slope > 0 else "relu"
        draw = nn.init.kaiming_normal_ if form == "normal" else nn.init.kaiming_uniform_
        draw(weight, a=slope, mode=mode, nonlinearity=nonlinearity, rng=rng)


def _network(widths: list[int], activation: str, init: str, rng: np.random.Generator) -> nn.Sequential:
    """Linear layers without bias between ``widths``, the activation between them (none after the last)."""
    modules: list[nn.Module] = []
    for layer, (fan_in, fan_out) in enumerate(itertools.pairwise(widths)):
        linear = nn.Linear(fan_in, fan_out, bias=False, dtype=np.float64, rng=rng)
        module, slope = _activation(activation)
        _initialize(linear.weight, init, slope, rng)
        modules.append(linear)
        if layer < len(widths) - 2:
            modules.append(module)
    return nn.Sequential(*modules)


def _measure(point: Mapping[str, Any], rng: np.random.Generator) -> dict[str, Any]:
    """Per draw and layer: Var[z^l], E[(x^l)²] and Var[δ^l]."""
    widths = point["widths"]
    z_var, x_sq, z_sq, grad_var, grad_norm, spectral = [], [], [], [], [], []
    for _ in range(point["draws"]):
        net = _network(widths, point["activation"], point["init"], rng)
        x = nr.tensor(rng.standard_normal((point["batch"], widths[0])) * math.sqrt(point["input_variance"]))
        u = rng.standard_normal((point["batch"], widths[-1]))
        stats = layer_statistics(net, x, u)
        z_var.append(stats.z_var)
        z_sq.append(stats.z_var + stats.z_mean**2)
        x_sq.append(stats.input_second_moment)
        grad_var.append(stats.grad_z_var)
        grad_norm.append(stats.grad_z_norm)
        if point.get("spectral"):
            spectral.append([np.linalg.norm(m.weight.data, 2) for m in net if isinstance(m, nn.Linear)])
    record = {
        **{k: v for k, v in point.items() if k != "widths"},
        "z_var": np.array(z_var),
        "z_second_moment": np.array(z_sq),
        "input_second_moment": np.array(x_sq),
        "grad_var": np.array(grad_var),
        "grad_norm": np.array(grad_norm),
    }
    if spectral:
        record["spectral_norms"] = np.array(spectral)
    return record


@experiment(
    "init-propagation",
    config=InitPropagationConfig,
    title="Signal and gradient propagation in deep MLPs under Glorot, He and LeCun initializations",
    source=SOURCE,
)
def run(config: InitPropagationConfig, rng: np.random.Generator) -> Result:
    result = Result(config)
    constant = [config.width] * (config.depth + 1)
    alternating = [config.width if l % 2 == 0 else config.wide for l in range(config.depth + 1)]
    common = {"draws": config.draws, "batch": config.batch}
    points = [
        {"activation": a, "init": i, "widths": constant, "input_variance": 1.0, **common}
        for a in ACTIVATIONS for i in INITS
    ]
    points.append({"activation": "tanh", "init": "glorot_normal", "widths": constant,
                   "input_variance": config.linear_regime_variance, **common})
    points += [
        {"activation": "relu", "init": "he_normal_fan_in", "widths": alternating, "input_variance": 1.0, **common},
        {"activation": "relu", "init": "he_normal_fan_out", "widths": alternating, "input_variance": 1.0, **common},
        {"activation": "tanh", "init": "glorot_normal", "widths": alternating,
         "input_variance": config.linear_regime_variance, **common},
        {"activation": "sigmoid", "init": "glorot_normal", "widths": constant, "input_variance": 1.0,
         "spectral": True, **common},
    ]
    measured = sweep(_measure, points, rng, desc="initialization propagation")
    constant_runs = {(m["activation"], m["init"]): m for m in measured[: len(ACTIVATIONS) * len(INITS)]}
    linear_regime = measured[len(ACTIVATIONS) * len(INITS)]
    fan_in_run, fan_out_run, glorot_alternating = measured[-4:-1]

    _constant_width_claims(result, config, constant_runs, linear_regime, rng)
    _fan_mode_claims(result, config, alternating, fan_in_run, fan_out_run, glorot_alternating, rng)
    result.table("variance_by_layer", [
        {"activation": m["activation"], "init": m["init"], "input_variance": m["input_variance"], "layer": l + 1,
         "var_z": float(np.mean(m["z_var"][:, l])), "var_grad": float(np.mean(m["grad_var"][:, l]))}
        for m in measured[:-1] for l in range(config.depth)
    ])
    _figures(result, config, constant_runs)
    return result


def _constant_width_claims(result, config, runs, linear_regime, rng) -> None:
    depth, width = config.depth, config.width
    last = depth - 1

    he = runs[("relu", "he_normal_fan_in")]
    measured, stderr = ratio_of_means(he["z_var"][:, last], he["z_var"][:, 0], rng)
    result.claim(band(
        "002.he.forward",
        f"He initialization (normal, Var[w] = 2/fan_in) keeps the pre-activation variance of a {depth}-layer ReLU "
        f"network of width {width}: Var[z^{depth}]/Var[z^1] ∈ [0.5, 2].",
        f"{SOURCE}, Une meilleure initialisation, Exercice 4–5 (initialisation He)",
        low=0.5, high=2.0, measured=measured, stderr=stderr,
    ))

    # Exercise 4: E[(x^l)²] = ½ E[(z^{l−1})²] for ReLU; the input of layer l is ReLU(z^{l−1}), layers 2..L.
    per_draw = np.mean(he["input_second_moment"][:, 1:] / he["z_second_moment"][:, :-1], axis=1)
    mean, stderr = mean_and_stderr(per_draw)
    result.claim(equality(
        "002.ex4",
        "For ReLU, E[(x^l)²] = ½ Var[z^{l−1}] (z^{l−1} centred and symmetric); measured as the layer-averaged "
        "ratio E[(x^l)²]/E[(z^{l−1})²] under He initialization; tol 0.01 covers the finite-sample ratio bias.",
        f"{SOURCE}, Exercice 4",
        predicted=0.5, measured=mean, stderr=stderr, tol=0.01,
    ))

    for slope in (0.01, 0.2, 0.5):
        run_ = runs[(f"leaky_relu_{slope:g}", "he_normal_fan_in")]
        measured, stderr = ratio_of_means(run_["z_var"][:, last], run_["z_var"][:, 0], rng)
        result.claim(band(
            f"002.leaky-gain[alpha={slope:g}]",
            f"Leaky ReLU of slope α = {slope:g} with σ² = 2/((1 + α²)·fan_in): Var[z^{depth}]/Var[z^1] ∈ [0.5, 2].",
            f"{SOURCE}, Annexe Leaky ReLU",
            low=0.5, high=2.0, measured=measured, stderr=stderr,
        ))

    measured, stderr = ratio_of_means(linear_regime["z_var"][:, last], linear_regime["z_var"][:, 0], rng)
    result.claim(band(
        "002.glorot.tanh-linear",
        f"Glorot keeps tanh's pre-activation variance over {depth} layers where tanh is near-linear "
        f"(Var[z^1] = {config.linear_regime_variance:g}): Exercise 2's E[f(z)²] = Var[z] holds only in that regime.",
        f"{SOURCE}, Exercice 2–3 (initialisation Glorot)",
        low=0.5, high=2.0, measured=measured, stderr=stderr,
    ))
    unit = runs[("tanh", "glorot_normal")]
    measured, stderr = ratio_of_means(unit["z_var"][:, last], unit["z_var"][:, 0], rng)
    result.claim(at_most(
        "002.glorot.tanh-saturating",
        f"At unit input variance tanh is not linear (E[tanh(z)²] < Var[z]) and, under Glorot, the variance decays: "
        f"Var[z^{depth}]/Var[z^1] < 0.5.",
        f"{SOURCE}, Exercice 2 (hypothèse de régime linéaire)",
        high=0.5, measured=measured, stderr=stderr,
    ))

    explode, vanish = runs[("relu", "normal_1")], runs[("relu", "normal_0.01")]
    measured, stderr = log10_ratio_of_means(explode["z_var"][:, last], explode["z_var"][:, 0], rng)
    result.claim(at_least(
        "002.naive.explodes",
        f"N(0, 1) weights make a ReLU network explode: log10 Var[z^{depth}]/Var[z^1] > 6 (each layer multiplies "
        f"the variance by fan_in/2 = {width / 2:g}).",
        f"{SOURCE}, Explosion et disparition des gradients",
        low=6.0, measured=measured, stderr=stderr,
    ))
    measured, stderr = log10_ratio_of_means(vanish["z_var"][:, last], vanish["z_var"][:, 0], rng)
    result.claim(at_most(
        "002.naive.vanishes",
        f"N(0, 0.01²) weights make it vanish: log10 Var[z^{depth}]/Var[z^1] < −6 (factor fan_in·10⁻⁴/2 = "
        f"{width * 1e-4 / 2:g} per layer).",
        f"{SOURCE}, Explosion et disparition des gradients",
        high=-6.0, measured=measured, stderr=stderr,
    ))


def _fan_mode_claims(result, config, widths, fan_in_run, fan_out_run, glorot_run, rng) -> None:
    depth, last = config.depth, config.depth - 1
    forward, forward_stderr = ratio_of_means(fan_in_run["z_var"][:, last], fan_in_run["z_var"][:, 0], rng)
    backward, backward_stderr = ratio_of_means(fan_out_run["grad_var"][:, 0], fan_out_run["grad_var"][:, last], rng)
    result.claim(band(
        "002.fan-modes[he-fan_in-forward]",
        f"Widths alternating {config.width}/{config.wide} (fan_in ≠ fan_out): He with mode fan_in keeps the "
        f"forward variance, Var[z^{depth}]/Var[z^1] ∈ [0.5, 2].",
        f"{SOURCE}, Initialisation He (fan in / fan out)",
        low=0.5, high=2.0, measured=forward, stderr=forward_stderr,
    ))
    result.claim(band(
        "002.fan-modes[he-fan_out-backward]",
        f"Same widths: He with mode fan_out keeps the backward variance, Var[δ^1]/Var[δ^{depth}] ∈ [0.5, 2].",
        f"{SOURCE}, Initialisation He (fan in / fan out)",
        low=0.5, high=2.0, measured=backward, stderr=backward_stderr,
    ))
    # Glorot: each layer multiplies the variance by fan_in · 2/(fan_in + fan_out) (tanh's gain is 1 in its linear
    # regime), which is neither the forward (1) nor the backward condition.
    fans = list(itertools.pairwise(widths))
    predicted = float(np.prod([2 * fi / (fi + fo) for fi, fo in fans[1:]]))
    measured, stderr = ratio_of_means(glorot_run["z_var"][:, last], glorot_run["z_var"][:, 0], rng)
    result.claim(equality(
        "002.fan-modes[glorot]",
        f"Same widths, tanh near-linear (Var[z^1] = {config.linear_regime_variance:g}), Glorot: Var[z^{depth}]/"
        f"Var[z^1] = ∏_l 2·fan_in/(fan_in + fan_out), a compromise that meets neither condition exactly; tol = 5% "
        f"of the prediction for tanh's cubic correction.",
        f"{SOURCE}, Initialisation Glorot (moyenne des deux conditions)",
        predicted=predicted, measured=measured, stderr=stderr, tol=0.05 * predicted,
    ))


def _figures(result, config, runs) -> None:
    layers = np.arange(1, config.depth + 1)
    for key, name, label in (("z_var", "forward-variance", "Var[z^l]"), ("grad_var", "gradient-variance",
                                                                          "Var[∂L/∂z^l]")):
        fig = result.figure(
            f"{name}-by-layer",
            f"{label} across the {config.depth} layers (width {config.width}, mean over {config.draws} networks, "
            f"unit input variance), one panel per activation, one line per initialization. He/LeCun/Glorot stay "
            f"flat where their condition matches the activation; N(0, 1) explodes and N(0, 0.01²) vanishes.",
            figsize=(15.0, 8.0),
        )
        axes = fig.subplots(2, 3, sharex=True).ravel()
        for ax, activation in zip(axes, ACTIVATIONS):
            for init in INITS:
                values = np.mean(runs[(activation, init)][key], axis=0)
                ax.plot(layers, values, label=init.replace("_", " "))
            ax.set(yscale="log", title=activation.replace("_", " "), xlabel="layer l", ylabel=label)
        axes[0].legend(fontsize=7)
