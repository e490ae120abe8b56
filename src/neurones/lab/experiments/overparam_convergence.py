r"""Over-parameterized convergence: a wide deep ReLU network trained by gradient descent reaches zero loss at a
linear rate while barely moving (seed 000 §7; Allen-Zhu, Li & Song 2019, "A convergence theory for deep learning
via over-parameterization").

Allen-Zhu et al.'s network: h₀ = ReLU(A x), h_l = ReLU(W_l h_{l−1}) for l = 1…L, f(x) = B h_L, with A and W_l
entries N(0, 2/m) and B entries N(0, 1); only the W_l are trained, on F(W) = ½ Σᵢ (f(xᵢ) − yᵢ)², for n unit inputs
δ-separated on the sphere (:func:`~neurones.data.sphere_separated`) with random targets, by full-batch gradient
descent with step η = η₀/m (:func:`~neurones.train.full_batch_gd`). Writing r the residuals and K = J Jᵀ the
tangent kernel of the trained weights, ‖∇F‖² = rᵀKr and F = ½‖r‖², so

    2 λ_min(K_t) ≤ ‖∇F‖²/F ≤ 2 λ_max(K_t),

the gradient sandwich of their eq. (6) with the eigenvalues of K, which grow like m; and while K stays near K₀
(the over-parameterized regime), F_t follows the linearized model's closed-form trajectory
(:func:`~neurones.analysis.ntk.gradient_descent_mse`), whose rate is set by η λ_min(K₀) = O(1). Claims:

- ``000.allen-zhu.forward-norm``: at initialization the hidden norms ‖h_l(xᵢ)‖ stay near 1, and their RMS
  deviation from 1 (over inputs and layers) decays like m^{−1/2}: log–log slope in [−0.65, −0.35];
- ``000.allen-zhu.grad-bounds[slope]``: ‖∇F‖²/F at initialization scales like m: slope in [0.85, 1.15];
  ``[sandwich]``: along training at the largest width, ‖∇F‖²/F stays within [2λ_min(K₀), 2λ_max(K₀)] up to a
  kernel drift of 20% (the worst factor by which a recorded value leaves the interval ≤ 1.2);
- ``000.allen-zhu.linear-rate``: at the largest width the loss falls linearly on a log scale at the linearized
  model's rate: the log-loss slope over the second half of training over the same slope of the closed-form
  linearized trajectory = 1 ± 0.1;
- ``000.allen-zhu.stability``: ``[displacement]`` ‖θ_T − θ₀‖/‖θ₀‖ shrinks like 1/m (the weights move by O(m^{−1/2})
  against ‖θ₀‖ ∝ m^{1/2}): slope in [−1.2, −0.8]; ``[flips]`` the fraction of ReLU signs that change shrinks like
  m^{−1/2} (a pre-activation of scale m^{−1/2} moves by O(1/m)): slope in [−0.7, −0.3];
- ``000.allen-zhu.sgd``: minibatch SGD (batches of n/4, the same η, the unbiased loss (n/b)·½Σ_batch) reaches
  the final GD loss within 4× the GD steps, at the largest width;
- ``000.allen-zhu.width-needed`` (full scale): the smallest width of the grid reaching F ≤ 10⁻⁶·F₀ in the step
  budget, against n: its log–log slope is at most 2 (Oymak & Soltanolkotabi's quadratic over-parameterization),
  against the theorem's sufficient n²⁴L¹²/δ⁸.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

import neurones as nr
from neurones import nn
from neurones.analysis.ntk import empirical_ntk, gradient_descent_mse
from neurones.data import sphere_separated
from neurones.lab.claims import at_most, band, equality
from neurones.lab.config import scales
from neurones.lab.registry import experiment
from neurones.lab.result import Result
from neurones.lab.statistics import loglog_slope, mean_and_stderr, mean_loglog_slope
from neurones.lab.sweep import sweep
from neurones.optim import SGD
from neurones.train import Displacement, GradientNormSquared, PatternStability, full_batch_gd, relu_inputs

SOURCE = "merad-2020, §7 (Allen-Zhu, Li & Song 2019)"
DRIFT = 1.2
RATE_TOLERANCE = 0.1
SGD_FACTOR = 4
LOSS_FLOOR = 1e-12  # relative to F₀: below it the records are rounding noise
NEEDED = 1e-6


@scales(quick=dict(widths=(64, 128, 256, 512), draws=4, needed_points=()),
        smoke=dict(widths=(16, 32, 64), draws=2, points=8, steps=30, needed_points=(4, 8), needed_widths=(8, 16)))
@dataclass(frozen=True)
class OverparamConfig:
    widths: tuple[int, ...] = (64, 128, 256, 512, 1024, 2048, 4096)
    draws: int = 4
    points: int = 32
    dimension: int = 16
    separation: float = 0.5
    layers: int = 3
    eta0: float = 0.05
    steps: int = 500
    needed_points: tuple[int, ...] = (8, 16, 32, 64)
    needed_widths: tuple[int, ...] = (16, 32, 64, 128, 256, 512, 1024, 2048)

    def __post_init__(self) -> None:
        if len(self.widths) < 3 or list(self.widths) != sorted(self.widths):
            raise ValueError("at least three increasing widths are required")
        if self.draws < 2 or self.points < 4 or self.layers < 1 or self.steps < 10 or self.eta0 <= 0:
            raise ValueError("draws ≥ 2, points ≥ 4, layers ≥ 1, steps ≥ 10 and eta0 > 0 are required")


def allen_zhu_network(d: int, m: int, layers: int, rng: np.random.Generator) -> nn.Sequential:
    """ReLU(A·) – [Linear(m, m) – ReLU] × L – B·, A and W_l ~ N(0, 2/m), B ~ N(0, 1); A and B frozen."""
    linears = [nn.Linear(d, m, bias=False, dtype=np.float64)]
    linears += [nn.Linear(m, m, bias=False, dtype=np.float64) for _ in range(layers)]
    readout = nn.Linear(m, 1, bias=False, dtype=np.float64)
    with nr.no_grad():
        for linear in linears:
            linear.weight.data[...] = rng.standard_normal(linear.weight.shape) * np.sqrt(2 / m)
        readout.weight.data[...] = rng.standard_normal(readout.weight.shape)
    linears[0].weight.requires_grad_(False)
    readout.weight.requires_grad_(False)
    body = [module for linear in linears for module in (linear, nn.ReLU())]
    return nn.Sequential(*body, readout)


def _half_sum(output, target):
    return ((output - target) ** 2).sum() / 2


def _data(point: Mapping[str, Any]):
    data = sphere_separated(point["points"], point["dimension"], point["separation"],
                            np.random.default_rng(point["data_seed"]), dtype=np.float64)
    return data.tensors


def _trained(model) -> list:
    return [p for p in model.parameters() if p.requires_grad]


def _train(point: Mapping[str, Any], rng: np.random.Generator) -> dict[str, Any]:
    x, y = _data(point)
    m = point["width"]
    model = allen_zhu_network(x.shape[1], m, point["layers"], np.random.default_rng(point["init_seed"]))
    norms = np.array([np.linalg.norm(np.maximum(h, 0), axis=1) for h in relu_inputs(model, x)])
    with nr.no_grad():
        f0 = model(x).data.copy()
    kernel = empirical_ntk(model, x)
    eigenvalues = np.linalg.eigvalsh(kernel)
    eta = point["eta0"] / m
    history = full_batch_gd(model, x, y, eta, point["steps"],
                            [GradientNormSquared(), Displacement(relative=True), PatternStability()],
                            loss_fn=_half_sum, param_groups=_trained(model))
    losses = np.array(history.losses)
    linear = gradient_descent_mse(kernel, y.data, eta)(np.array(history.steps), f0)
    linear_losses = 0.5 * np.sum((linear - y.data[None]) ** 2, axis=(1, 2))
    result = {"width": m, "norm_deviation": float(np.sqrt(np.mean((norms - 1) ** 2))),
              "grad_over_loss": np.array(history.records["grad_norm_squared"]) / losses, "losses": losses,
              "linear_losses": linear_losses, "lambda_min": float(eigenvalues[0]),
              "lambda_max": float(eigenvalues[-1]),
              "displacement": history.records["relative_displacement"][-1],
              "flips": 1 - history.records["pattern_stability"][-1]}
    if point["sgd"]:
        result["sgd_steps"] = _sgd_steps(point, losses[-1], rng)
    return result


def _sgd_steps(point: Mapping[str, Any], target: float, rng: np.random.Generator) -> int:
    """Steps of minibatch SGD (batches of n/4 without replacement within an epoch, loss (n/b)·½Σ_batch, the same
    η and the same initialization) until the full loss reaches ``target``; 4× the GD budget plus one if never."""
    x, y = _data(point)
    model = allen_zhu_network(x.shape[1], point["width"], point["layers"], np.random.default_rng(point["init_seed"]))
    n = x.shape[0]
    batch = max(1, n // 4)
    optimizer = SGD(_trained(model), lr=point["eta0"] / point["width"])
    budget = SGD_FACTOR * point["steps"]
    for step in range(budget):
        if step % (n // batch) == 0:  # a new epoch: a new order
            order = rng.permutation(n)
        picked = order[(step % (n // batch)) * batch:][:batch]
        optimizer.zero_grad()
        (_half_sum(model(x[picked]), y[picked]) * (n / batch)).backward()
        optimizer.step()
        if step % 10 == 9:
            with nr.no_grad():
                if float(_half_sum(model(x), y).data) <= target:
                    return step + 1
    return budget + 1


def _needed(point: Mapping[str, Any], rng: np.random.Generator) -> dict[str, Any]:
    """Whether width m brings F below 10⁻⁶ F₀ within the step budget, on n points."""
    x, y = _data(point)
    model = allen_zhu_network(x.shape[1], point["width"], point["layers"], rng)
    history = full_batch_gd(model, x, y, point["eta0"] / point["width"], point["steps"], loss_fn=_half_sum,
                            param_groups=_trained(model), record_every=point["steps"])
    return {"points": point["points"], "width": point["width"],
            "reached": bool(history.losses[-1] <= NEEDED * history.losses[0])}


@experiment(
    "overparam-convergence",
    config=OverparamConfig,
    title="Over-parameterized convergence: the gradient sandwich, a linear rate, and weights that barely move",
    source=SOURCE,
)
def run(config: OverparamConfig, rng: np.random.Generator) -> Result:
    result = Result(config)
    data_seed = int(rng.integers(2**31))
    base = {"points": config.points, "dimension": config.dimension, "separation": config.separation,
            "layers": config.layers, "eta0": config.eta0, "steps": config.steps, "data_seed": data_seed}
    points = [{**base, "width": m, "sgd": m == config.widths[-1], "init_seed": int(rng.integers(2**31))}
              for _ in range(config.draws) for m in config.widths]
    runs = sweep(_train, points, rng, desc="widths")
    widths = list(config.widths)
    per_width = {key: np.array([[r[key] for r in runs if r["width"] == m] for m in widths]).T
                 for key in ("norm_deviation", "displacement", "flips")}
    per_width["initial_ratio"] = np.array([[r["grad_over_loss"][0] for r in runs if r["width"] == m]
                                           for m in widths]).T
    setting = (f"Allen-Zhu et al.'s network (L = {config.layers} trained ReLU layers, A, W ~ N(0, 2/m), "
               f"B ~ N(0, 1)) on {config.points} unit inputs {config.separation}-separated in ℝ^{config.dimension} "
               f"with random targets, GD with η = {config.eta0}/m for {config.steps} steps, {config.draws} draws, "
               f"m ∈ {widths}")

    for claim_id, key, low, high, text in (
        ("000.allen-zhu.forward-norm", "norm_deviation", -0.65, -0.35,
         "the RMS deviation of the hidden norms ‖h_l(x)‖ from 1 at initialization decays like m^(−1/2)"),
        ("000.allen-zhu.grad-bounds[slope]", "initial_ratio", 0.85, 1.15,
         "‖∇F‖²/F at initialization grows like m"),
        ("000.allen-zhu.stability[displacement]", "displacement", -1.2, -0.8,
         "the relative displacement ‖θ_T − θ₀‖/‖θ₀‖ shrinks like 1/m"),
        ("000.allen-zhu.stability[flips]", "flips", -0.7, -0.3,
         "the fraction of ReLU signs changed by training shrinks like m^(−1/2)"),
    ):
        measured, stderr = mean_loglog_slope(widths, per_width[key], rng)
        result.claim(band(claim_id, f"For {setting}, {text}: log–log slope in [{low}, {high}].", SOURCE,
                          low=low, high=high, measured=measured, stderr=stderr))
    widest = [r for r in runs if r["width"] == widths[-1]]
    leaves = []
    for r in widest:
        usable = r["losses"] >= LOSS_FLOOR * r["losses"][0]
        ratio = r["grad_over_loss"][usable]
        leaves.append(max(np.max(2 * r["lambda_min"] / ratio), np.max(ratio / (2 * r["lambda_max"]))))
    mean, stderr = mean_and_stderr(leaves)
    result.claim(at_most(
        "000.allen-zhu.grad-bounds[sandwich]",
        f"For {setting}, at m = {widths[-1]}, ‖∇F‖²/F = 2rᵀKr/rᵀr stays within [2λ_min(K₀), 2λ_max(K₀)] along training "
        f"(while F ≥ {LOSS_FLOOR:g}·F₀): the worst factor by which it leaves the interval ≤ {DRIFT} (kernel drift).",
        SOURCE, high=DRIFT, measured=mean, stderr=stderr,
    ))
    rates = []
    for r in widest:
        usable = np.flatnonzero(r["losses"] >= LOSS_FLOOR * r["losses"][0])
        window = usable[usable >= usable[-1] // 2]
        steps = np.arange(len(r["losses"]))[window]
        measured_slope = np.polyfit(steps, np.log(r["losses"][window]), 1)[0]
        linear_slope = np.polyfit(steps, np.log(r["linear_losses"][window]), 1)[0]
        rates.append(measured_slope / linear_slope)
    mean, stderr = mean_and_stderr(rates)
    result.claim(equality(
        "000.allen-zhu.linear-rate",
        f"For {setting}, at m = {widths[-1]}, the loss decreases linearly on a log scale at the rate of the "
        f"linearized model (kernel K₀, closed form): log-loss slope over the second half of training (above "
        f"{LOSS_FLOOR:g}·F₀) / the linearized trajectory's slope over the same steps = 1 ± {RATE_TOLERANCE}.",
        SOURCE, predicted=1.0, measured=mean, stderr=stderr, tol=RATE_TOLERANCE,
    ))
    sgd = np.array([r["sgd_steps"] for r in widest], dtype=float) / config.steps
    mean, stderr = mean_and_stderr(sgd)
    result.claim(at_most(
        "000.allen-zhu.sgd",
        f"For {setting}, at m = {widths[-1]}, SGD (batches of {max(1, config.points // 4)}, same η) reaches GD's final "
        f"loss within {SGD_FACTOR}× GD's {config.steps} steps: SGD steps / GD steps ≤ {SGD_FACTOR} (never: "
        f"{SGD_FACTOR} + 1/{config.steps}).",
        SOURCE, high=SGD_FACTOR, measured=mean, stderr=stderr,
    ))
    result.table("runs", [{k: r[k] for k in ("width", "norm_deviation", "lambda_min", "lambda_max", "displacement",
                                             "flips")} | {"initial_grad_over_loss": float(r["grad_over_loss"][0]),
                                                          "final_loss": float(r["losses"][-1])} for r in runs])
    needed = _width_needed(result, config, base, rng)
    _figure(result, config, runs, needed)
    return result


def _width_needed(result: Result, config: OverparamConfig, base: dict, rng: np.random.Generator) -> list[dict]:
    if not config.needed_points:
        return []
    runs = sweep(_needed, [{**base, "points": n, "width": m} for n in config.needed_points
                           for m in config.needed_widths], rng, desc="width needed")
    rows = []
    for n in config.needed_points:
        reached = [r["width"] for r in runs if r["points"] == n and r["reached"]]
        rows.append({"points": n, "width_needed": min(reached) if reached else None})
    result.table("width_needed", rows)
    found = [(row["points"], row["width_needed"]) for row in rows if row["width_needed"] is not None]
    measured = loglog_slope(*zip(*found))[0] if len(found) >= 2 else float("nan")
    found_text = ", ".join(f"n = {row['points']}: {row['width_needed']}" for row in rows)
    result.claim(at_most(
        "000.allen-zhu.width-needed",
        f"The smallest width of {list(config.needed_widths)} that brings F below {NEEDED:g}·F₀ in {config.steps} "
        f"steps grows with n at most like n² (log–log slope ≤ 2; widths needed: "
        f"{found_text}), far below the theorem's "
        f"sufficient n²⁴L¹²/δ⁸.",
        SOURCE, high=2.0, measured=measured, stderr=0.0,
    ))
    return rows


def _figure(result: Result, config: OverparamConfig, runs: list[dict], needed: list[dict]) -> None:
    fig = result.figure(
        "convergence",
        "Left: training loss over the steps for one draw per width (solid) and the linearized model's closed-form "
        "trajectory (dashed). Middle: ‖∇F‖²/(F·m) along training, per width. Right: relative displacement and "
        "fraction of ReLU sign flips against m (mean over draws).",
    )
    left, middle, right = fig.subplots(1, 3)
    for index, m in enumerate(config.widths):
        r = next(r for r in runs if r["width"] == m)
        left.plot(r["losses"], color=f"C{index}", label=f"m = {m}")
        left.plot(r["linear_losses"], color=f"C{index}", linestyle="--")
        middle.plot(r["grad_over_loss"] / m, color=f"C{index}")
    left.set(yscale="log", xlabel="step", ylabel="F")
    left.legend(fontsize=6)
    middle.set(yscale="log", xlabel="step", ylabel="‖∇F‖²/(F·m)")
    widths = np.array(config.widths)
    for key, label in (("displacement", "‖θ_T − θ₀‖/‖θ₀‖"), ("flips", "sign flips")):
        right.plot(widths, [np.mean([r[key] for r in runs if r["width"] == m]) for m in widths], marker="o",
                   label=label)
    right.set(xscale="log", yscale="log", xlabel="m")
    right.legend(fontsize=7)
