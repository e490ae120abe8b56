"""Linear over-parameterization in width gives a Polyak–Łojasiewicz floor and a training loss that goes to zero
("Régularisation implicite des réseaux de neurones profonds vers des EDO neuronales", Marion, Wu, Sander & Biau,
ICLR 2024; seed 003, second contribution).

Under the gradient flow ∂Z_k/∂t = −L ∂R/∂Z_k of h_{k+1} = h_k + (1/L) V_{k+1} σ(W_{k+1} h_k), the risk obeys
dR/dt = −μ_t R with μ_t = L Σ_k ‖∂R/∂Z_k‖²/R, so a floor μ_t ≥ μ > 0 gives R(t) ≤ R(0) e^{−μ t}. The paper proves
such a floor when the width q is larger than a constant times the sample size n (A and B fixed, not trained),
under mild conditions on the exact form of the initialization, and then the convergence of the flow to a global
minimum. (The seed is the French summary: it states the condition as q ≥ C·n without the constant or the exact
initialization, so the choices below are ours, argued from the flow at t = 0.)

Why the width must grow with n — the flow at t = 0. We start where the authors' code does: V = 0 and W smooth
(every W_k equal to one Gaussian draw 𝒲). That start makes the network a discretized ODE at every depth (the
trivial one, F(x) = B A x) and makes the first moments of training a random-features regression in V, whose PL
constant is explicit. With V = 0 every hidden state is h_0 = A x, the gradient in W vanishes and the one in V_k
is (1/L) (P B)ᵀ S_k, with P = ∂R/∂F = 2 (F − Y)/(n d′) and S_k = σ(H W_kᵀ) ∈ R^{n×m} the features of the n
examples, so that exactly

    μ_0 = (1/L) Σ_k ‖S_kᵀ P B‖²_F / R  ≥  (4/(n d′)) · λ_min(B Bᵀ) · (1/L) Σ_k λ_min(S_k S_kᵀ)

(:func:`pl_ratio_at_zero_V`). The bound is positive only if the n feature rows are linearly independent, which
needs m ≥ n, and — since GELU is ½u plus an even function, so that its features are dominated by a linear map of
the hidden states — it is large only if the hidden states h_0 = A x_i themselves are independent, which needs
q ≥ n. Hence our choices:

- the inner width follows the hidden width, m = q (``inner_width = None``; a fixed m can be set), so that the
  whole residual perceptron grows with q — the over-parameterization is linear in n for both widths;
- the input dimension is d = 2n (inputs linearly independent and well conditioned), so that the width, not the
  data, limits the rank of the hidden states; one output (d′ = 1), so that B Bᵀ = ‖B‖² > 0 at every q;
- A and B are fixed Gaussian maps of entries N(0, 1/fan_in), so the hidden coordinates have variance ‖x‖²/d ≈ 1;
  the entries of 𝒲 have standard deviation ``w_scale``/√q, so the pre-activations 𝒲 h_0 have variance
  ≈ ‖x‖²/d ≈ 1 at every q: σ works in the same range whatever the width, only dimension counts change;
- float64: the over-parameterized runs drive the loss far below 1e-5, and float32 stalls between 1e-11 and 1e-14
  (its rounding floor, measured at quick scale), where μ_t = ‖∇R‖²·L/R becomes a ratio of rounding errors; at
  these sizes float64 costs no more time than float32.

Claims, for every width q ≥ 2n (the theorem's side; the rule and its constants are fixed here, before any run):

- ``003.overparam[q=…]``: the final loss of every draw (trained for flow time T = ``lr`` × ``steps``) is at most
  LOSS_TARGET = 1e-5 — measured: the largest final loss over the draws (deterministic runs, standard error 0);
- ``003.overparam.pl[q=…]``: min_t μ_t of every draw is at least the floor μ* = ln(R̄_0 / LOSS_TARGET) / T, the
  PL constant that by itself (Grönwall) guarantees the loss target at time T from the expected initial risk
  R̄_0 = 2 (with V = 0, F(x) = B A x and E R(0) = E y² + E (BAx)² = 1 + E‖x‖²/d = 2 for every q) — measured: the
  smallest min_t μ_t over the draws, over the records whose loss is still resolved (≥ RESOLVED_LOSS = 1e-20: there
  the residuals, ≥ 1e-10, are still some 10⁵ float64 ulps of outputs of order 1).

Below 2n the PL condition is sufficient, not necessary: the loss may still go to zero there, more slowly. The
under-parameterized widths are trained and reported (tables, figures) without a claim. The step is small enough
for gradient descent to follow the flow where it matters: the table reports max_t lr·μ_t, which stays ≪ 1 on the
over-parameterized side (μ_t is at most twice the top eigenvalue of the Gauss–Newton curvature, and descent tracks
the flow while lr times that curvature is small).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from matplotlib.ticker import NullFormatter

from neurones.analysis.neural_ode import features_at_zero_V
from neurones.lab.claims import at_least, at_most
from neurones.lab.colors import sequential_colors
from neurones.lab.config import scales
from neurones.lab.registry import experiment
from neurones.lab.result import Result
from neurones.lab.sweep import grid, sweep
from neurones.nn.ode_resnet import ODEResNet
from neurones.train.gradient_flow import gradient_flow

SOURCE = "marion-2024"
LOSS_TARGET = 1e-5
EXPECTED_INITIAL_RISK = 2.0
"""E R(0) with V = 0: E y² + E (B A x)² = 1 + 1, whatever the widths (see the module docstring)."""
RESOLVED_LOSS = 1e-20
"""Below this loss μ_t is not used: residuals under 1e-10 come within 10⁵ float64 ulps of the outputs."""
OVERPARAMETERIZATION = 2.0
"""Claims are made for q ≥ OVERPARAMETERIZATION · n."""
ACTIVATION = "gelu"


@scales(
    quick=dict(samples=16, in_features=32, depth=16, lr=0.01, steps=2000, draws=2),
    smoke=dict(samples=4, in_features=8, width_ratios=(0.5, 2.0), depth=4, lr=0.01, steps=40, draws=1, record_every=5),
)
@dataclass(frozen=True)
class ODEWidthPLConfig:
    """n = ``samples`` examples x ∈ R^d (d = ``in_features``), y ∈ R^{d′}; widths q = round(ratio · n) for each
    ratio in ``width_ratios``, inner width m = q unless ``inner_width`` is set; depth L; ``steps`` gradient steps of
    flow-time step ``lr`` from V = 0 and 𝒲 constant (or a Gaussian process) in depth; ``draws`` independent data
    sets and networks per width."""

    samples: int = 20
    in_features: int = 40
    out_features: int = 1
    width_ratios: tuple[float, ...] = (0.25, 0.5, 1.0, 2.0, 4.0)
    inner_width: int | None = None
    depth: int = 32
    weight_function: Literal["constant", "gp"] = "constant"
    w_scale: float = 1.0
    bandwidth: float = 0.25
    lr: float = 0.005
    steps: int = 10_000
    draws: int = 4
    record_every: int = 10

    def __post_init__(self) -> None:
        if min(self.samples, self.in_features, self.out_features, self.depth, self.draws, self.record_every) < 1:
            raise ValueError("samples, in_features, out_features, depth, draws and record_every must be ≥ 1")
        if not self.width_ratios or min(self.width_ratios) <= 0:
            raise ValueError("width_ratios must be positive")
        if self.inner_width is not None and self.inner_width < 1:
            raise ValueError("inner_width must be ≥ 1 (or None for m = q)")
        if self.lr <= 0 or self.steps < 1 or self.w_scale <= 0 or self.bandwidth <= 0:
            raise ValueError("lr, w_scale and bandwidth must be positive and steps ≥ 1")

    @property
    def flow_time(self) -> float:
        return self.lr * self.steps


def widths(config: ODEWidthPLConfig) -> list[int]:
    """The hidden widths q = round(ratio · n) (at least 1), in the order of ``width_ratios``."""
    return [max(1, round(ratio * config.samples)) for ratio in config.width_ratios]


def is_overparameterized(width: int, samples: int) -> bool:
    """q ≥ 2n: the side of the theorem, where the claims are made."""
    return width >= OVERPARAMETERIZATION * samples


def pl_floor(flow_time: float) -> float:
    """μ* = ln(R̄_0 / LOSS_TARGET) / T: a PL constant that alone brings the expected initial risk R̄_0 = 2 down to
    the target by time T, since R(T) ≤ R(0) e^{−μ* T}."""
    if flow_time <= 0:
        raise ValueError(f"pl_floor: the flow time must be positive, got {flow_time}")
    return math.log(EXPECTED_INITIAL_RISK / LOSS_TARGET) / flow_time


def resolved_minimum(losses, pl_ratios) -> float:
    """min_t μ_t over the records whose loss is at least RESOLVED_LOSS (NaN if there is none)."""
    losses, pl_ratios = np.asarray(losses, dtype=np.float64), np.asarray(pl_ratios, dtype=np.float64)
    kept = pl_ratios[losses >= RESOLVED_LOSS]
    return float(kept.min()) if kept.size else math.nan


def build_network(config: ODEWidthPLConfig, width: int, rng: np.random.Generator) -> ODEResNet:
    """V = 0, 𝒲 smooth of entries N(0, w_scale²/q), A and B fixed random maps; float64."""
    inner = width if config.inner_width is None else config.inner_width
    return ODEResNet(
        config.in_features, width, inner, config.out_features, config.depth, activation=ACTIVATION,
        V_init="zero", W_init=config.weight_function, std=config.w_scale / math.sqrt(width),
        bandwidth=config.bandwidth, embedding="random", readout="random", rng=rng, dtype=np.float64,
    )


def pl_ratio_at_zero_V(model: ODEResNet, X: np.ndarray, Y: np.ndarray) -> tuple[float, float]:
    """(μ_0, its lower bound) for a network with V = 0, in closed form (module docstring):
    μ_0 = (1/L) Σ_k ‖S_kᵀ P B‖²/R and (4/(n d′)) λ_min(B Bᵀ) (1/L) Σ_k λ_min(S_k S_kᵀ), with S_k = σ(H W_kᵀ)."""
    H, features = features_at_zero_V(model, X)  # features: (L, n, m), S_k = σ(H W_kᵀ)
    B = np.eye(model.width) if model.B is None else np.asarray(model.B.data, dtype=np.float64)
    residual = H @ B.T - np.asarray(Y, dtype=np.float64)
    risk = float(np.mean(residual**2))
    P = 2 * residual / residual.size
    exact = float(np.mean([np.sum((S.T @ P @ B) ** 2) for S in features])) / risk
    smallest = np.mean([smallest_gram_eigenvalue(S) for S in features])
    return exact, 4 / residual.size * smallest_gram_eigenvalue(B) * float(smallest)


def smallest_gram_eigenvalue(matrix: np.ndarray) -> float:
    """λ_min(M Mᵀ): the squared smallest singular value of M, and exactly 0 when M (r × c) has c < r, so that its
    rows cannot be independent."""
    rows, columns = matrix.shape
    if columns < rows:
        return 0.0
    return float(np.linalg.svd(matrix, compute_uv=False)[-1] ** 2)


def _train_width(point: Mapping[str, Any], rng: np.random.Generator) -> dict[str, Any]:
    """Train one (width, draw) network for the flow time; record μ_0 in closed form beside the recorded one."""
    config, width, X, Y = point["config"], point["width"], point["X"], point["Y"]
    model = build_network(config, width, rng)
    mu0_exact, mu0_bound = pl_ratio_at_zero_V(model, X, Y)
    history = gradient_flow(model, X, Y, config.lr, config.steps, record_every=config.record_every)
    losses, mus = np.asarray(history.losses), np.asarray(history.pl_ratios)
    reached = np.flatnonzero(losses <= LOSS_TARGET)
    return {
        "width": width,
        "ratio": width / config.samples,
        "inner_width": model.inner_width,
        "draw": point["draw"],
        "initial_loss": float(losses[0]),
        "final_loss": float(losses[-1]),
        "mu_0": float(mus[0]),
        "mu_0_closed_form": mu0_exact,
        "mu_0_lower_bound": mu0_bound,
        "min_mu": resolved_minimum(losses, mus),
        "max_lr_mu": float(config.lr * np.nanmax(mus)),
        "time_to_target": float(history.times[reached[0]]) if reached.size else math.nan,
        "overparameterized": is_overparameterized(width, config.samples),
        "times": np.asarray(history.times),
        "losses": losses,
        "pl_ratios": mus,
    }


@experiment(
    "ode-width-pl",
    config=ODEWidthPLConfig,
    title="Width q ≥ 2n: a Polyak–Łojasiewicz floor and a training loss that goes to zero",
    source=SOURCE,
)
def run(config: ODEWidthPLConfig, rng: np.random.Generator) -> Result:
    result = Result(config)
    data = [(rng.standard_normal((config.samples, config.in_features)),
             rng.standard_normal((config.samples, config.out_features))) for _ in range(config.draws)]
    points = [{**p, "config": config, "X": data[p["draw"]][0], "Y": data[p["draw"]][1]}
              for p in grid(width=widths(config), draw=range(config.draws))]
    runs = sweep(_train_width, points, rng, desc="ODE ResNet width sweep")
    result.table("runs", [{k: v for k, v in r.items() if k not in ("times", "losses", "pl_ratios")} for r in runs])
    summary = _summary(config, runs)
    result.table("widths", summary)
    _claims(result, config, summary)
    _loss_figure(result, config, summary, runs)
    _curves_figure(result, config, runs)
    _pl_figure(result, config, summary, runs)
    return result


def _summary(config: ODEWidthPLConfig, runs: list[dict]) -> list[dict]:
    rows = []
    for width in dict.fromkeys(widths(config)):
        mine = [r for r in runs if r["width"] == width]
        finals = np.array([r["final_loss"] for r in mine])
        rows.append({
            "width": width,
            "ratio": width / config.samples,
            "inner_width": mine[0]["inner_width"],
            "overparameterized": is_overparameterized(width, config.samples),
            "worst_final_loss": float(finals.max()),
            "geometric_mean_final_loss": float(np.exp(np.mean(np.log(np.maximum(finals, 1e-300))))),
            "min_mu": float(np.min([r["min_mu"] for r in mine])),
            "mean_mu_0": float(np.mean([r["mu_0"] for r in mine])),
            "mean_mu_0_lower_bound": float(np.mean([r["mu_0_lower_bound"] for r in mine])),
            "draws_reaching_target": int(sum(r["final_loss"] <= LOSS_TARGET for r in mine)),
            "max_lr_mu": float(np.max([r["max_lr_mu"] for r in mine])),
        })
    return rows


def _claims(result: Result, config: ODEWidthPLConfig, summary: list[dict]) -> None:
    floor, n, T = pl_floor(config.flow_time), config.samples, config.flow_time
    for row in summary:
        if not row["overparameterized"]:
            continue
        q, m = row["width"], row["inner_width"]
        setting = (f"A and B fixed random maps, width q = {q} ≥ 2n = {2 * n}, inner width m = {m}, L = "
                   f"{config.depth}, V = 0 and 𝒲 {config.weight_function} in depth at initialization")
        result.claim(at_most(
            f"003.overparam[q={q}]",
            f"{setting}: after gradient flow for T = {T:g} the training loss of each of the {config.draws} draws "
            f"is below {LOSS_TARGET:g} (measured: the largest final loss).",
            f"{SOURCE}, second contribution, the PL condition holds for q ≥ C·n and the flow reaches a global "
            f"minimum",
            high=LOSS_TARGET, measured=row["worst_final_loss"], stderr=0.0,
        ))
        result.claim(at_least(
            f"003.overparam.pl[q={q}]",
            f"{setting}: the PL ratio μ_t = L Σ_k ‖∂R/∂Z_k‖²/R stays above μ* = ln(2/{LOSS_TARGET:g})/T = "
            f"{floor:.4g} along training, the floor that alone brings the expected initial risk 2 below the "
            f"target by T (measured: the smallest min_t μ_t over the draws, while the loss ≥ {RESOLVED_LOSS:g}).",
            f"{SOURCE}, second contribution, the Polyak–Łojasiewicz condition for a linear over-parameterization "
            f"in width",
            low=floor, measured=row["min_mu"], stderr=0.0,
        ))


def _ratio_axis(ax, config: ODEWidthPLConfig) -> None:
    """A log axis of q/n ticked at the measured ratios, with the claims' side q ≥ 2n shaded."""
    ratios = sorted({w / config.samples for w in widths(config)})
    low, high = ratios[0] / 1.3, ratios[-1] * 1.3
    if high > OVERPARAMETERIZATION:
        ax.axvspan(max(low, OVERPARAMETERIZATION), high, color="#31a354", alpha=0.1, label="q ≥ 2n (claims)")
    ax.set_xscale("log")
    ax.set_xlim(low, high)
    ax.set_xticks(ratios, labels=[f"{r:g}" for r in ratios])
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xlabel("q / n")


def _loss_figure(result: Result, config: ODEWidthPLConfig, summary: list[dict], runs: list[dict]) -> None:
    fig = result.figure(
        "final-loss-vs-width",
        f"Final training loss after flow time T = {config.flow_time:g} against q/n (n = {config.samples}, "
        f"{config.draws} draws per width, each dot one draw, the line their geometric mean). The claims cover the "
        f"shaded side q ≥ 2n; dashed: the target {LOSS_TARGET:g}.",
    )
    ax = fig.subplots()
    ratios = [row["ratio"] for row in summary]
    ax.plot(ratios, [row["geometric_mean_final_loss"] for row in summary], color="#2c7fb8", marker="o")
    for r in runs:
        ax.scatter(r["ratio"], max(r["final_loss"], 1e-300), color="#2c7fb8", s=12, alpha=0.6)
    ax.axhline(LOSS_TARGET, color="black", linestyle="--", linewidth=1)
    _ratio_axis(ax, config)
    ax.set(yscale="log", ylabel="final training loss")
    ax.legend()


def _curves_figure(result: Result, config: ODEWidthPLConfig, runs: list[dict]) -> None:
    floor = pl_floor(config.flow_time)
    fig = result.figure(
        "loss-curves",
        f"Training loss against flow time t, one colour per width q (every draw). Dashed: the Grönwall bound "
        f"2·e^(−μ* t) of the PL floor μ* = {floor:.3g}; the over-parameterized widths fall at least as fast.",
    )
    ax = fig.subplots()
    colors = sequential_colors(widths(config))
    for r in runs:
        ax.plot(r["times"], r["losses"], color=colors[r["width"]], linewidth=1,
                label=f"q = {r['width']}" if r["draw"] == 0 else None)
    t = np.linspace(0.0, config.flow_time, 100)
    ax.plot(t, EXPECTED_INITIAL_RISK * np.exp(-floor * t), color="black", linestyle="--", linewidth=1)
    ax.axhline(LOSS_TARGET, color="black", linestyle=":", linewidth=1)
    ax.set(yscale="log", xlabel="flow time t", ylabel="training loss")
    ax.legend(fontsize="small")


def _pl_figure(result: Result, config: ODEWidthPLConfig, summary: list[dict], runs: list[dict]) -> None:
    floor = pl_floor(config.flow_time)
    fig = result.figure(
        "pl-ratio-vs-width",
        f"Left: min_t μ_t against q/n (each dot one draw, the line the minimum over draws), with the floor "
        f"μ* = {floor:.3g} (dashed) and the closed-form lower bound of μ_0 (4/(n d′)) λ_min(BBᵀ) λ_min(SSᵀ) "
        f"(crosses, 0 when the features are rank-deficient). Right: μ_t along training, one colour per width.",
        figsize=(10.0, 4.0),
    )
    left, right = fig.subplots(1, 2)
    ratios = [row["ratio"] for row in summary]
    left.plot(ratios, [row["min_mu"] for row in summary], color="#c0392b", marker="o", label="min over draws")
    for r in runs:
        left.scatter(r["ratio"], r["min_mu"], color="#c0392b", s=12, alpha=0.6)
        if r["mu_0_lower_bound"] > 0:
            left.scatter(r["ratio"], r["mu_0_lower_bound"], color="#7f7f7f", marker="x", s=20)
    left.axhline(floor, color="black", linestyle="--", linewidth=1)
    _ratio_axis(left, config)
    left.set(yscale="log", ylabel="min_t μ_t")
    left.legend(fontsize="small")
    colors = sequential_colors(widths(config))
    for r in runs:
        kept = r["losses"] >= RESOLVED_LOSS
        right.plot(r["times"][kept], r["pl_ratios"][kept], color=colors[r["width"]], linewidth=1,
                   label=f"q = {r['width']}" if r["draw"] == 0 else None)
    right.axhline(floor, color="black", linestyle="--", linewidth=1)
    right.set(yscale="log", xlabel="flow time t", ylabel="μ_t")
    right.legend(fontsize="small")
