"""Long training of an ODE-like ResNet: the loss, the Polyak–Łojasiewicz ratio and the trained weights in depth
("Régularisation implicite des réseaux de neurones profonds vers des EDO neuronales", Marion, Wu, Sander & Biau,
ICLR 2024; seed 003, second contribution and Figure 1).

The flow ∂Z_k/∂t = −L ∂R/∂Z_k gives dR/dt = −μ_t R with μ_t = L Σ_k ‖∂R/∂Z_k‖²/R
(:func:`~neurones.analysis.neural_ode.pl_ratio`). The paper's large-time result: if μ_t stays above a floor μ > 0,
then R(t) ≤ R(0) e^{−μ t} — the loss goes to zero linearly on a log scale — and the weights converge to Lipschitz
functions of depth, so the trained network is still a discretized neural ODE. Figure 1 contrasts a coefficient of
the trained weights along depth: smooth after a smooth initialization, rough after an i.i.d. one.

The authors' large-time protocol: n = 50 examples x, y ∈ R^16 with standard Gaussian entries, mean-squared error,
A = B = identity (q = d = 16), inner width m = 64, L = 64, GELU, V = 0 and W_k all equal to one N(0, 1) draw
(smooth) — we add the i.i.d. start (V = 0, W_k i.i.d. N(0, 1)) on the same data for contrast — and 10,000 steps
of full-batch gradient descent with learning rate 0.005·L on the residual weights (flow time T = 50). μ_t is
recorded every ``record_every`` steps (each record costs one pass over the gradients, already computed).
This protocol is outside the paper's PL theorem, which needs a width q larger than a constant times n (here
q = 16 < n = 50): the authors run it to illustrate that the conclusions hold beyond the theorem.

Float32: the losses stay far above float32's resolution here (a loss of 1e-5 means residuals of 3·10⁻³ on targets
of order 1, 10⁴ ulps); over the first 1,500 steps of this protocol, float32 and float64 runs give the same losses
and μ_t to 2·10⁻⁷ relative.

Claims (rules fixed here, before any run, the same at every scale; one deterministic run per initialization, so
standard errors are 0):

- ``003.loss-to-zero``: the smooth runs (``draws`` data draws) reach LOSS_TARGET = 1e-7 within HORIZON = 100,000
  steps. The step at which a run reaches it is observed when it does within the run, and otherwise extrapolated
  from the log-linear decay rate −d ln R/dt fitted over the second half of the run (:func:`steps_to_target`; a rate
  ≤ 0 extrapolates to never). The claim is that the largest of these steps over the draws is ≤ 100,000. Full scale
  runs the 100,000 steps over 3 draws, so it observes; quick scale runs 2,500 steps and extrapolates. An
  independent rerun of the authors' ``infinite_training_time.py`` reaches 1e-5 after ≈ 43k steps and 1e-7 after
  ≈ 77k, with no plateau. This replaces the loss ≤ 1e-5 after the authors' 10,000 steps, a horizon their README
  calls reduced;
- ``003.pl-bounded``: min_t μ_t over the recorded steps of the smooth run is at least the floor μ_floor = ½ μ_init,
  where μ_init = (4/(n q)) λ_min((1/L) Σ_k S_k S_kᵀ), S_k = σ(X W_kᵀ) ∈ R^{n×m}, is the exact PL constant of the
  network at initialization (:func:`initial_pl_constant`: with V = 0 every h_k = x, the gradient in W vanishes and
  μ_0 ≥ μ_init for every target). The factor ½ is the usual margin of the PL arguments the paper builds on (Liu, Zhu
  & Belkin 2022): the PL constant of the initialization's tangent kernel, halved, holds in a neighbourhood of the
  initialization. The floor depends only on the initialization, never on the trained run;
- ``003.long-smooth`` (new meaning; the arbitrary threshold 5/L is gone): the smooth run's roughness after
  training, max_k ‖Z_{k+1} − Z_k‖_F over V and W, is at most 1/20 of the i.i.d. run's. The table also gives the
  median over k of the layer-to-layer steps, to tell a boundary effect from the bulk;
- ``003.large-time.roughness`` and ``003.large-time.loss``: in the theorem's own regime (q ≥ 2n, float64), smooth
  networks of every depth in ``pl_depths`` trained for the same flow time reach a loss ≤ 1e-5, and L × roughness
  stays bounded across the depths: max/min over L of L × roughness ≤ 2.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from neurones.analysis.neural_ode import features_at_zero_V, layer_steps, roughness
from neurones.lab.claims import at_least, at_most
from neurones.lab.config import scales
from neurones.lab.registry import experiment
from neurones.lab.result import Result
from neurones.lab.sweep import sweep
from neurones.nn.depth_functions import ConstantInDepth
from neurones.nn.ode_resnet import ODE_ACTIVATIONS, ODEResNet
from neurones.train.gradient_flow import gradient_flow

SOURCE = "marion-2024"
INITS = ("smooth", "iid")
W_INITS = {"smooth": "constant", "iid": "iid"}
LOSS_TARGET = 1e-7
HORIZON = 100_000
"""``003.loss-to-zero``: the smooth runs reach LOSS_TARGET within this many steps."""
ROUGHNESS_RATIO = 1 / 20
"""``003.long-smooth``: the trained smooth roughness is at most this fraction of the i.i.d. one."""
LARGE_TIME_LOSS = 1e-5
LARGE_TIME_SPREAD = 2.0
"""``003.large-time.*``: every depth reaches LARGE_TIME_LOSS, and max/min of L × roughness is at most this."""
PL_MARGIN = 0.5
"""The floor of ``003.pl-bounded`` is this fraction of the initialization's PL constant."""
OUTSIDE_THE_THEOREM = (
    "The authors' large-time protocol has width $q = 16$ below the $n = 50$ examples, outside the regime "
    "$q \\geq C n$ of their PL theorem: they run it to illustrate the conclusions beyond the theorem."
)


@scales(
    quick=dict(steps=2000, draws=1),
    smoke=dict(steps=40, depth=8, features=4, inner_width=8, samples=6, record_every=5, coefficients=2, draws=2,
               pl_depths=(4, 8), pl_samples=3, pl_features=6, pl_inner_width=8, pl_steps=40),
)
@dataclass(frozen=True)
class ODELongTrainingConfig:
    """``steps`` gradient steps of flow-time step ``lr`` (learning rate lr·L on the residual weights) of an L =
    ``depth`` network, d = q = ``features``, m = ``inner_width``, n = ``samples``; the risk and μ_t are recorded
    every ``record_every`` steps; ``coefficients`` entries of V and of W are drawn in depth in the weights figure."""

    steps: int = HORIZON
    draws: int = 3
    lr: float = 0.005
    depth: int = 64
    features: int = 16
    inner_width: int = 64
    samples: int = 50
    record_every: int = 10
    coefficients: int = 4
    activation: Literal["gelu", "tanh", "relu", "identity"] = "gelu"
    dtype: Literal["float32", "float64"] = "float32"
    pl_depths: tuple[int, ...] = (8, 16, 32, 64)
    pl_samples: int = 8
    pl_features: int = 16
    pl_inner_width: int = 64
    pl_steps: int = 4000

    def __post_init__(self) -> None:
        if self.draws < 1 or len(set(self.pl_depths)) < 2 or min(self.pl_depths) < 2 or self.pl_steps < 1:
            raise ValueError("draws ≥ 1, two distinct pl_depths ≥ 2 and pl_steps ≥ 1 are required")
        if self.pl_features < 2 * self.pl_samples:
            raise ValueError("the PL regime needs pl_features ≥ 2·pl_samples (q ≥ 2n)")
        if self.depth < 2 or min(self.features, self.inner_width, self.samples, self.coefficients) < 1:
            raise ValueError("depth ≥ 2 and positive sizes are required")
        if self.lr <= 0 or self.record_every < 1 or self.steps < 4 * self.record_every:
            raise ValueError("lr > 0, record_every ≥ 1 and steps ≥ 4·record_every (two records per half) are required")
        if self.activation not in ODE_ACTIVATIONS:
            raise ValueError(f"activation must be one of {ODE_ACTIVATIONS}")

    @property
    def flow_time(self) -> float:
        return self.lr * self.steps


def initial_pl_constant(model: ODEResNet, X: np.ndarray) -> float:
    """μ_init = (4/(n q)) λ_min((1/L) Σ_k S_k S_kᵀ), S_k = σ(X W_kᵀ): the PL constant of a network with V = 0 and
    A = B = identity, i.e. the smallest μ_0 = L Σ_k ‖∂R/∂V_k‖²/R over all targets.

    Why: with V = 0 every h_k = x, so F(x) = x, ∂R/∂W_k = 0 and ∂R/∂V_k = (1/L) Pᵀ S_k with P = 2(F − Y)/(n q);
    then μ_0 = (1/L) Σ_k ‖S_kᵀ P‖²/R = (4/(n q)²) tr(Eᵀ K̄ E)/R ≥ (4/(n q)) λ_min(K̄), with E = F − Y,
    K̄ = (1/L) Σ_k S_k S_kᵀ and R = ‖E‖²/(n q); equality when every column of E lies along K̄'s bottom eigenvector.
    """
    if model.A is not None or model.B is not None:
        raise ValueError("initial_pl_constant: the network needs identity A and B")
    X, features = features_at_zero_V(model, X)  # features: (L, n, m)
    gram = np.mean(features @ np.swapaxes(features, 1, 2), axis=0)
    smallest = max(float(np.linalg.eigvalsh(gram)[0]), 0.0)  # a rank-deficient K̄ may round to −1e-16
    return 4.0 * smallest / (X.shape[0] * model.width)


def decay_rate(times: Sequence[float], losses: Sequence[float]) -> float:
    """−d ln R/dt fitted by least squares: the rate of a linear trend of the loss on a log scale."""
    times, logs = np.asarray(times, dtype=np.float64), np.log(np.asarray(losses, dtype=np.float64))
    centred = times - times.mean()
    return float(-(centred @ (logs - logs.mean())) / (centred @ centred))


def half_decay_rates(times: Sequence[float], losses: Sequence[float]) -> tuple[float, float]:
    """The decay rates over the first and the second half of the flow time (the midpoint belongs to both)."""
    times, losses = np.asarray(times, dtype=np.float64), np.asarray(losses, dtype=np.float64)
    middle = 0.5 * (times[0] + times[-1])
    first, second = times <= middle, times >= middle
    return decay_rate(times[first], losses[first]), decay_rate(times[second], losses[second])


def steps_to_target(steps: Sequence[int], times: Sequence[float], losses: Sequence[float], lr: float,
                    target: float) -> tuple[float, bool]:
    """(the step at which the loss reaches ``target``, whether it was observed): the first recorded step at or
    below it, or else the last step plus ln(R_end/target)/(rate·lr) for the decay rate −d ln R/dt fitted over the
    second half of the run (∞ when the loss is not decreasing)."""
    losses = np.asarray(losses, dtype=np.float64)
    reached = np.flatnonzero(losses <= target)
    if reached.size:
        return float(steps[reached[0]]), True
    rate = half_decay_rates(times, losses)[1]
    if not math.isfinite(rate) or rate <= 0:
        return math.inf, False
    return float(steps[-1]) + math.log(losses[-1] / target) / (rate * lr), False


def _train_large_time(point: Mapping[str, Any], rng: np.random.Generator) -> dict[str, Any]:
    """One smooth network of the PL regime (q ≥ 2n, float64) at one depth, trained for the shared flow time."""
    config, depth = point["config"], point["depth"]
    model = ODEResNet(config.pl_features, config.pl_features, config.pl_inner_width, config.pl_features, depth,
                      activation=config.activation, V_init="zero", W_init=point["W"], rng=rng, dtype="float64")
    history = gradient_flow(model, point["X"], point["Y"], lr=config.lr, steps=config.pl_steps,
                            record_every=config.pl_steps)
    V, W = model.stacked_weights()
    rough = max(roughness(V), roughness(W))
    return {"depth": depth, "final_loss": float(history.losses[-1]), "roughness": rough,
            "depth_times_roughness": depth * rough}  # fmt: skip


def _train(point: Mapping[str, Any], rng: np.random.Generator) -> dict[str, Any]:
    """Train one initialization on the shared data; its history, trained weights and PL constant at t = 0."""
    config, init = point["config"], point["init"]
    model = ODEResNet(config.features, config.features, config.inner_width, config.features, config.depth,
                      activation=config.activation, V_init="zero", W_init=W_INITS[init], rng=rng,
                      dtype=config.dtype)
    mu_init = initial_pl_constant(model, point["X"])
    history = gradient_flow(model, point["X"], point["Y"], lr=config.lr, steps=config.steps,
                            record_every=config.record_every)
    V, W = model.stacked_weights()
    return {"init": init, "draw": point["draw"], "mu_init": mu_init, "V": V, "W": W, **history.as_arrays()}


def _large_time(config: ODELongTrainingConfig, rng: np.random.Generator) -> list[dict[str, Any]]:
    """The PL regime: one data set and one constant-in-depth 𝒲, shared by the networks of every depth."""
    shape = (config.pl_samples, config.pl_features)
    X, Y = rng.standard_normal(shape), rng.standard_normal(shape)
    W = ConstantInDepth((config.pl_inner_width, config.pl_features), std=1.0, rng=rng)
    points = [{"config": config, "depth": depth, "X": X, "Y": Y, "W": W} for depth in sorted(config.pl_depths)]
    return sweep(_train_large_time, points, rng, desc="ODE large time, PL regime")


@experiment(
    "ode-long-training",
    config=ODELongTrainingConfig,
    title="Long training: loss, Polyak–Łojasiewicz ratio and trained weights in depth, smooth vs i.i.d. init",
    source=SOURCE,
)
def run(config: ODELongTrainingConfig, rng: np.random.Generator) -> Result:
    result = Result(config)
    shape = (config.samples, config.features)
    data = [(rng.standard_normal(shape).astype(config.dtype), rng.standard_normal(shape).astype(config.dtype))
            for _ in range(config.draws)]  # fmt: skip
    entries = {
        "V": _entries(rng, (config.features, config.inner_width), config.coefficients),
        "W": _entries(rng, (config.inner_width, config.features), config.coefficients),
    }
    # Draw 0 trains both initializations (the figures, the PL ratio, the roughness comparison); the other draws
    # train the smooth one again on new data, for the loss claim.
    points = [{"init": init, "draw": draw, "config": config, "X": X, "Y": Y}
              for draw, (X, Y) in enumerate(data) for init in (INITS if draw == 0 else ("smooth",))]  # fmt: skip
    trained = sweep(_train, points, rng, desc="ODE long training")
    runs = {r["init"]: r for r in trained if r["draw"] == 0}
    summary = {init: _summary(config, runs[init]) for init in INITS}
    reach = [(r["draw"], *steps_to_target(r["steps"], r["times"], r["losses"], config.lr, LOSS_TARGET))
             for r in trained if r["init"] == "smooth"]  # fmt: skip
    large_time = _large_time(config, rng)
    _claims(result, config, summary, reach, large_time)
    result.table("summary", list(summary.values()))
    result.table("steps_to_target", [{"draw": draw, "steps": step, "observed": observed, "target": LOSS_TARGET}
                                     for draw, step, observed in reach])  # fmt: skip
    result.table("large_time", large_time)
    result.table("trajectory", [
        {"init": init, "step": int(step), "time": float(time), "loss": float(loss), "pl_ratio": float(mu)}
        for init in INITS
        for step, time, loss, mu in zip(runs[init]["steps"], runs[init]["times"], runs[init]["losses"],
                                        runs[init]["pl_ratios"])
    ])
    result.table("coefficients", [
        {"init": init, "matrix": matrix, "row": int(i), "column": int(j), "layer": k + 1,
         "depth_s": (k + 1) / config.depth, "value": float(value)}
        for init in INITS for matrix, pairs in entries.items() for i, j in pairs
        for k, value in enumerate(runs[init][matrix][:, i, j])
    ])
    _loss_figure(result, config, runs)
    _weights_figure(result, config, runs, entries)
    _pl_figure(result, config, runs, summary)
    return result


def _entries(rng: np.random.Generator, shape: tuple[int, int], count: int) -> list[tuple[int, int]]:
    """``count`` distinct (row, column) positions of a matrix of ``shape``, chosen at random (the paper plots "a
    random coefficient"); the same positions are drawn for both initializations."""
    flat = rng.choice(shape[0] * shape[1], size=min(count, shape[0] * shape[1]), replace=False)
    return [(int(index) // shape[1], int(index) % shape[1]) for index in flat]


def _summary(config: ODELongTrainingConfig, r: Mapping[str, Any]) -> dict[str, Any]:
    losses, mus = r["losses"], r["pl_ratios"]
    first, second = half_decay_rates(r["times"], losses)
    steps_V, steps_W = layer_steps(r["V"]), layer_steps(r["W"])
    rough = max(roughness(r["V"]), roughness(r["W"]))
    return {
        "init": r["init"],
        "initial_loss": float(losses[0]),
        "final_loss": float(losses[-1]),
        "decay_rate_first_half": first,
        "decay_rate_second_half": second,
        "mu_initial": float(mus[0]),
        "mu_min": float(mus.min()),
        "mu_final": float(mus[-1]),
        "mu_init_constant": r["mu_init"],
        "pl_floor": PL_MARGIN * r["mu_init"],
        "roughness": rough,
        "depth_times_roughness": config.depth * rough,
        "roughness_V": float(steps_V.max()),
        "roughness_W": float(steps_W.max()),
        "median_step_V": float(np.median(steps_V)),
        "median_step_W": float(np.median(steps_W)),
        "roughest_layer_V": int(steps_V.argmax()) + 1,
    }


def _claims(result: Result, config: ODELongTrainingConfig, summary: Mapping[str, dict], reach: list[tuple],
            large_time: list[dict]) -> None:
    smooth, iid = summary["smooth"], summary["iid"]
    protocol = (f"L = {config.depth}, n = {config.samples}, d = q = {config.features}, m = {config.inner_width}, "
                f"V = 0 and every W_k equal to one N(0, 1) draw, {config.steps} steps of learning rate "
                f"{config.lr:g}·L (flow time {config.flow_time:g})")
    worst = max(step for _, step, _ in reach)
    how = ", ".join(f"{step:.3g} ({'observed' if observed else 'extrapolated'})" for _, step, observed in reach)
    result.claim(at_most(
        "003.loss-to-zero",
        f"Smooth initialization ({protocol}; {config.draws} data draw(s)): the training loss reaches "
        f"{LOSS_TARGET:g} within {HORIZON:,} steps, linearly on a log scale. The step at which each draw reaches it: "
        f"{how} — extrapolated from the decay rate −d ln R/dt over the second half of the run when the run is "
        f"shorter (draw 0: {smooth['decay_rate_first_half']:.3g} over the first half, "
        f"{smooth['decay_rate_second_half']:.3g} over the second).",
        f"{SOURCE}, second contribution (under a PL condition the flow converges to a global minimum)",
        high=HORIZON, measured=worst, stderr=0.0,
        notes=OUTSIDE_THE_THEOREM + " The authors' own 10,000 steps are a reduced horizon by their README's account;"
        " an independent rerun of their script reaches 1e-5 after ≈ 43k steps and 1e-7 after ≈ 77k. An "
        "extrapolation from a short run assumes the rate of its second half persists; the full scale observes.",
    ))
    result.claim(at_least(
        "003.pl-bounded",
        f"Smooth initialization ({protocol}): the PL ratio μ_t = L Σ_k ‖∂R/∂Z_k‖²/R, recorded every "
        f"{config.record_every} steps, stays above the floor ½ μ_init = {smooth['pl_floor']:.3g}, half the exact PL "
        f"constant of the initialization (μ_0 = {smooth['mu_initial']:.3g}, final μ = {smooth['mu_final']:.3g}).",
        f"{SOURCE}, second contribution (Polyak–Łojasiewicz condition along the flow)",
        low=smooth["pl_floor"], measured=smooth["mu_min"], stderr=0.0,
    ))
    result.claim(at_most(
        "003.long-smooth",
        f"After the same training ({protocol}), the smooth-init weights stay smooth in depth next to the i.i.d. "
        f"ones: the roughness max_k ‖Z_{{k+1}} − Z_k‖_F over V and W of the smooth run is at most "
        f"{ROUGHNESS_RATIO:g} of the i.i.d. run's (smooth {smooth['roughness']:.3g}, i.i.d. {iid['roughness']:.3g}; "
        f"median step of the smooth V {smooth['median_step_V']:.3g}, W {smooth['median_step_W']:.3g}).",
        f"{SOURCE}, first contribution and Figure 1 (smooth against i.i.d. trained weights)",
        high=ROUGHNESS_RATIO, measured=smooth["roughness"] / iid["roughness"], stderr=0.0,
    ))
    depths = ", ".join(str(r["depth"]) for r in large_time)
    regime = (f"q = {config.pl_features} ≥ 2n = {2 * config.pl_samples}, m = {config.pl_inner_width}, float64, "
              f"smooth init, {config.pl_steps} steps of learning rate {config.lr:g}·L at every L ∈ {{{depths}}}")
    scaled = [r["depth_times_roughness"] for r in large_time]
    result.claim(at_most(
        "003.large-time.roughness",
        f"In the PL regime ({regime}), L × roughness stays bounded across depths: max/min over L of "
        f"L·max_k ‖Z_{{k+1}} − Z_k‖_F is at most {LARGE_TIME_SPREAD:g} (values: "
        f"{', '.join(f'{value:.3g}' for value in scaled)}).",
        f"{SOURCE}, first and second contributions (the trained network stays a discretized ODE as t grows)",
        high=LARGE_TIME_SPREAD, measured=max(scaled) / min(scaled), stderr=0.0,
    ))
    result.claim(at_most(
        "003.large-time.loss",
        f"In the same regime ({regime}), the loss reaches {LARGE_TIME_LOSS:g} at every depth: the largest final "
        f"loss over L.",
        f"{SOURCE}, second contribution (the PL condition holds for q ≥ C·n and the flow reaches a global minimum)",
        high=LARGE_TIME_LOSS, measured=max(r["final_loss"] for r in large_time), stderr=0.0,
    ))


COLORS = {"smooth": "#2c7fb8", "iid": "#c0392b"}
LABELS = {"smooth": "smooth init (W_k all equal)", "iid": "i.i.d. init"}


def _loss_figure(result: Result, config: ODELongTrainingConfig, runs: Mapping[str, dict]) -> None:
    fig = result.figure(
        "loss",
        f"Training loss (mean-squared error) against the gradient step, on a log scale, L = {config.depth}, "
        f"learning rate {config.lr:g}·L, V = 0 at initialization, W_k all equal (smooth) or i.i.d.; the dotted line "
        f"is the claim's target {LOSS_TARGET:g}. A straight line would be a linear trend (R(t) ≈ R(0) e^(−μt)).",
    )
    ax = fig.subplots()
    for init in INITS:
        ax.plot(runs[init]["steps"], runs[init]["losses"], color=COLORS[init], label=LABELS[init])
    ax.axhline(LOSS_TARGET, color="0.4", linestyle=":", label=f"target {LOSS_TARGET:g}")
    ax.set(yscale="log", xlabel="gradient step", ylabel="training loss")
    ax.legend()


def _weights_figure(result: Result, config: ODELongTrainingConfig, runs: Mapping[str, dict],
                    entries: Mapping[str, list[tuple[int, int]]]) -> None:
    fig = result.figure(
        "weights-in-depth",
        f"The paper's Figure 1: {config.coefficients} randomly chosen coefficients of V_k (top) and W_k (bottom) "
        f"against k/L after {config.steps} steps (L = {config.depth}), the same coefficients for a smooth "
        f"initialization (left: V = 0, W_k all equal) and an i.i.d. one (right: V = 0, W_k i.i.d.).",
        figsize=(9.0, 6.0),
    )
    axes = fig.subplots(2, 2, sharex=True)
    s = np.arange(1, config.depth + 1) / config.depth
    for row, matrix in enumerate(("V", "W")):
        for column, init in enumerate(INITS):
            ax = axes[row, column]
            for i, j in entries[matrix]:
                ax.plot(s, runs[init][matrix][:, i, j], marker=".", markersize=3, linewidth=1,
                        label=f"{matrix}[{i}, {j}]")
            ax.set(title=f"{matrix}_k, {LABELS[init]}", ylabel=f"coefficient of {matrix}_k")
            ax.legend(fontsize="small")
    for ax in axes[1]:
        ax.set_xlabel("depth k/L")


def _pl_figure(result: Result, config: ODELongTrainingConfig, runs: Mapping[str, dict],
               summary: Mapping[str, dict]) -> None:
    fig = result.figure(
        "pl-ratio",
        f"The Polyak–Łojasiewicz ratio μ_t = L Σ_k ‖∂R/∂Z_k‖²/R along training (recorded every {config.record_every} "
        f"steps, log scale; dR/dt = −μ_t R). Dashed: the floor ½ μ_init of each run, half the exact PL constant "
        f"of its initialization.",
    )
    ax = fig.subplots()
    for init in INITS:
        ax.plot(runs[init]["steps"], runs[init]["pl_ratios"], color=COLORS[init], label=LABELS[init])
        ax.axhline(summary[init]["pl_floor"], color=COLORS[init], linestyle="--", linewidth=1,
                   label=f"floor ½ μ_init ({init})")
    ax.set(yscale="log", xlabel="gradient step", ylabel="μ_t")
    ax.legend()
